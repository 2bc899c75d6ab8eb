//! [`AppsDir`]: one plugins directory wired into a host — its apps loaded into the host's
//! `Workers` and `Listeners`, the directory watched for changes, and the apps listed for the
//! API and for the pipeline checks. `hops up`, `hops start`, `hops bench` and the in-process
//! tests all open their apps this way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use hops_core::{EventSink, Listeners, Workers};

use crate::engine::{EngineConfig, WasmEngine};
use crate::registry::{AppInfo, AppLimits, AppRegistry, RegistryConfig};
use crate::watch::WatchHandle;

/// How to open an [`AppsDir`].
#[derive(Clone)]
pub struct AppsDirOptions {
    /// The plugins directory (created when missing).
    pub dir: PathBuf,
    /// Where compiled apps are cached across restarts (`None`: no cache). Several hosts may
    /// share one.
    pub cache_dir: Option<PathBuf>,
    /// Where apps' `events.emit` goes.
    pub event_sink: Option<Arc<dyn EventSink>>,
    /// What every app may do at most.
    pub limits: AppLimits,
    /// Reload apps as their files change.
    pub watch: bool,
}

impl AppsDirOptions {
    /// `dir`, no cache, no event sink, default limits, watched.
    pub fn new(dir: impl Into<PathBuf>) -> AppsDirOptions {
        AppsDirOptions {
            dir: dir.into(),
            cache_dir: None,
            event_sink: None,
            limits: AppLimits::default(),
            watch: true,
        }
    }
}

/// A plugins directory in service. Keep it alive as long as the host runs: dropping it stops
/// the watcher (the apps stay registered).
pub struct AppsDir {
    registry: AppRegistry,
    _watch: Option<WatchHandle>,
}

impl AppsDir {
    /// Loads every app of `options.dir` into `workers` and `listeners` (largest first), and
    /// watches the directory when asked. Broken apps do not fail this: they are listed with
    /// their error, and [`AppsDir::list`] says so.
    ///
    /// # Errors
    ///
    /// When the directory cannot be created, read or watched, or the engine cannot start.
    pub async fn open(
        options: AppsDirOptions,
        workers: &Workers,
        listeners: &Listeners,
    ) -> anyhow::Result<AppsDir> {
        std::fs::create_dir_all(&options.dir)
            .with_context(|| format!("creating the plugins directory {}", options.dir.display()))?;
        let engine_config = EngineConfig {
            cache_dir: match &options.cache_dir {
                Some(cache) => Some(
                    std::path::absolute(cache)
                        .with_context(|| format!("resolving {}", cache.display()))?,
                ),
                None => None,
            },
            ..EngineConfig::default()
        };
        let engine = WasmEngine::new(&engine_config).context("starting the WebAssembly engine")?;
        let mut config = RegistryConfig::new(&options.dir);
        config.event_sink = options.event_sink.clone();
        config.limits = options.limits;
        let registry = AppRegistry::new(engine, config, workers.clone(), listeners.clone());
        registry.load_all().await?;
        let watch = if options.watch {
            Some(registry.watch()?)
        } else {
            None
        };
        Ok(AppsDir {
            registry,
            _watch: watch,
        })
    }

    /// The registry behind it.
    pub fn registry(&self) -> &AppRegistry {
        &self.registry
    }

    /// Every app with its state.
    pub fn list(&self) -> Vec<AppInfo> {
        self.registry.list()
    }

    /// A listing function for the API (`GET /api/apps`).
    pub fn listing(&self) -> Arc<dyn Fn() -> serde_json::Value + Send + Sync> {
        let registry = self.registry.clone();
        Arc::new(move || serde_json::to_value(registry.list()).unwrap_or_default())
    }

    /// The apps that serve calls now (or are loading), each with its declared handlers:
    /// what the pipeline checks compare calls against.
    pub fn known(&self) -> BTreeMap<String, Option<Vec<String>>> {
        self.registry.known()
    }
}
