//! [`AppRegistry`]: the apps of a plugins directory, loaded, checked and registered into
//! the runtime's `Workers` and `Listeners`; reloaded one by one as files change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use hops_core::{EventSink, Listeners, Workers, is_valid_app_name};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::app::{Compiled, LoadedApp};
use crate::engine::WasmEngine;
use crate::error::LoadError;

/// Names of the apps built into the host (`input`: human input mid-run), which no `.wasm`
/// may take over.
pub const RESERVED_APP_NAMES: &[&str] = &["input"];
use crate::listener::{ListenerHealth, RestartPolicy, WasmListener};
use crate::settings::{AppSettings, Defaults, SettingsSummary};
use crate::surface::World;
use crate::worker::WasmWorker;

/// Looks up a host environment variable (for `[secrets]`).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the host lets any app do, whatever its toml says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppLimits {
    /// Events one call, webhook or tick may emit.
    pub max_emits: u32,
    /// How deep a chain of runs started by emitted events may go (an outside event is depth
    /// 0, an event emitted during one of its calls depth 1, …): a pipeline that triggers itself
    /// is stopped here.
    pub max_event_depth: u32,
}

impl Default for AppLimits {
    fn default() -> Self {
        AppLimits {
            max_emits: 100,
            max_event_depth: 8,
        }
    }
}

/// Where the apps live and how they run when their toml says nothing.
#[derive(Clone)]
pub struct RegistryConfig {
    /// The plugins directory: `<name>.wasm` (+ optional `<name>.toml`) per app.
    pub dir: PathBuf,
    /// Limits for apps whose toml does not set them.
    pub defaults: Defaults,
    /// How failing listeners are restarted.
    pub restart: RestartPolicy,
    /// How long the watcher waits for a burst of file events to settle.
    pub debounce: Duration,
    /// Where listener (and worker) apps' `events.emit` goes; without one, emit fails.
    pub event_sink: Option<Arc<dyn EventSink>>,
    /// Resolves `[secrets]`: the host's environment unless replaced (tests).
    pub env: EnvLookup,
    /// What every app may do at most.
    pub limits: AppLimits,
}

impl RegistryConfig {
    /// Defaults for `dir`: default limits, 150 ms debounce, no event sink, the process env.
    pub fn new(dir: impl Into<PathBuf>) -> RegistryConfig {
        RegistryConfig {
            dir: dir.into(),
            defaults: Defaults::default(),
            restart: RestartPolicy::default(),
            debounce: Duration::from_millis(150),
            event_sink: None,
            env: Arc::new(|name| std::env::var(name).ok()),
            limits: AppLimits::default(),
        }
    }

    /// Sends apps' events to `sink`.
    pub fn event_sink(mut self, sink: Arc<dyn EventSink>) -> RegistryConfig {
        self.event_sink = Some(sink);
        self
    }
}

/// An app's state in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum AppStatus {
    /// Serving its current files.
    Ready,
    /// Its current files could not be loaded; `serving` says whether an older version still
    /// answers.
    Error {
        /// Short kind: `not-a-component`, `wrong-world`, `bad-settings`, …
        kind: String,
        /// What is wrong.
        message: String,
    },
    /// A listener that failed too often and is stopped until its files change.
    Quarantined {
        /// The last failure.
        message: String,
    },
    /// Being compiled (its first version, or a new one while the old one serves).
    Loading {
        /// For how long so far, in milliseconds.
        for_ms: u64,
    },
}

/// One app in a listing (`hops plugins list --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppInfo {
    /// App name (file stem).
    pub name: String,
    /// Its world, when a version is serving.
    pub world: Option<World>,
    /// Ready, error or quarantined.
    pub status: AppStatus,
    /// Whether some version answers calls/webhooks right now.
    pub serving: bool,
    /// Version serving: the first 12 hex digits of the `.wasm`'s SHA-256.
    pub version: Option<String>,
    /// Size of the serving `.wasm`.
    pub size_bytes: Option<usize>,
    /// Grants and limits of the serving version.
    pub settings: Option<SettingsSummary>,
    /// Listener state, for listener apps.
    pub listener: Option<ListenerHealth>,
}

/// What serves one app right now.
struct Serving {
    app: Arc<LoadedApp>,
    worker: Option<Arc<WasmWorker>>,
    listener: Option<Arc<WasmListener>>,
}

#[derive(Default)]
struct Entry {
    serving: Option<Serving>,
    error: Option<LoadError>,
    /// SHA-256 of the `.wasm` and text of the `.toml` last tried, so spurious file events
    /// do not recompile.
    last_attempt: Option<(String, Option<String>)>,
    /// Since when a version is being compiled.
    loading_since: Option<std::time::Instant>,
}

struct Inner {
    engine: WasmEngine,
    config: RegistryConfig,
    workers: Workers,
    listeners: Listeners,
    apps: Mutex<BTreeMap<String, Entry>>,
    /// One reload at a time: reloads of different apps would only fight over the CPU.
    reload_lock: tokio::sync::Mutex<()>,
}

/// The apps of one plugins directory. Cheap to clone.
///
/// Loading an app registers a [`WasmWorker`] into `workers` and/or a [`WasmListener`] into
/// `listeners` under the app's name (both are `hops_core` registries whose `subscribe()`
/// tells the runtime to start or stop loops). A replaced app keeps serving its in-flight calls
/// on the old version; a file that fails to load leaves the previous version serving and is
/// reported by [`AppRegistry::list`].
#[derive(Clone)]
pub struct AppRegistry {
    inner: Arc<Inner>,
}

impl AppRegistry {
    /// A registry over `config.dir`; nothing is loaded until [`AppRegistry::load_all`].
    pub fn new(
        engine: WasmEngine,
        config: RegistryConfig,
        workers: Workers,
        listeners: Listeners,
    ) -> AppRegistry {
        AppRegistry {
            inner: Arc::new(Inner {
                engine,
                config,
                workers,
                listeners,
                apps: Mutex::new(BTreeMap::new()),
                reload_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The plugins directory.
    pub fn dir(&self) -> &Path {
        &self.inner.config.dir
    }

    pub(crate) fn inner_debounce(&self) -> Duration {
        self.inner.config.debounce
    }

    /// The engine apps are compiled with.
    pub fn engine(&self) -> &WasmEngine {
        &self.inner.engine
    }

    /// Loads (or reloads) every app in the directory and drops apps whose `.wasm` is gone.
    ///
    /// # Errors
    ///
    /// When the directory cannot be read. Broken apps are not errors: they are listed.
    pub async fn load_all(&self) -> anyhow::Result<Vec<AppInfo>> {
        let mut names = std::collections::BTreeSet::new();
        let mut dir = tokio::fs::read_dir(self.dir())
            .await
            .with_context(|| format!("reading the plugins directory {:?}", self.dir()))?;
        while let Some(entry) = dir.next_entry().await? {
            if let Some(name) = app_name_of(&entry.path()) {
                names.insert(name);
            }
        }
        let known: Vec<String> = self.lock_apps().keys().cloned().collect();
        names.extend(known);
        // Largest first: compiling or loading a component from the cache briefly needs about
        // twice its compiled size (the cache entry is decompressed, then copied into place).
        // Doing the big ones (Python, JavaScript) while little else is resident keeps the
        // process's peak memory near its steady size.
        let mut order: Vec<(u64, String)> = Vec::with_capacity(names.len());
        for name in names {
            let size = tokio::fs::metadata(self.dir().join(format!("{name}.wasm")))
                .await
                .map_or(0, |m| m.len());
            order.push((size, name));
        }
        order.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, name) in &order {
            self.reload(name).await;
        }
        Ok(self.list())
    }

    /// Re-reads `<name>.wasm` and `<name>.toml` and applies what changed: load, replace,
    /// settings-only update (no recompilation), or removal when the `.wasm` is gone.
    pub async fn reload(&self, name: &str) -> Option<AppInfo> {
        let span = tracing::info_span!("hops.wasm.load", app = %name);
        self.reload_inner(name).instrument(span).await;
        self.get(name)
    }

    async fn reload_inner(&self, name: &str) {
        let _one_at_a_time = self.inner.reload_lock.lock().await;
        let dir = self.dir();
        let wasm_path = dir.join(format!("{name}.wasm"));
        let toml_path = dir.join(format!("{name}.toml"));

        let wasm = match tokio::fs::read(&wasm_path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.remove(name);
                return;
            }
            Err(e) => {
                self.record_error(
                    name,
                    LoadError::Io {
                        path: wasm_path,
                        message: e.to_string(),
                    },
                );
                return;
            }
        };
        if !is_valid_app_name(name) {
            self.record_error(name, LoadError::BadName(name.to_owned()));
            return;
        }
        if RESERVED_APP_NAMES.contains(&name) {
            self.record_error(name, LoadError::ReservedName(name.to_owned()));
            return;
        }
        let toml = match tokio::fs::read_to_string(&toml_path).await {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                self.record_error(
                    name,
                    LoadError::Io {
                        path: toml_path,
                        message: e.to_string(),
                    },
                );
                return;
            }
        };

        let sha = hex::encode(Sha256::digest(&wasm));
        let attempt = (sha.clone(), toml.clone());
        let reuse = {
            let mut apps = self.lock_apps();
            let entry = apps.entry(name.to_owned()).or_default();
            if entry.last_attempt.as_ref() == Some(&attempt) {
                return; // nothing changed since the last try (successful or not)
            }
            entry.last_attempt = Some(attempt);
            entry
                .serving
                .as_ref()
                .filter(|s| s.app.compiled.sha256 == sha)
                .map(|s| s.app.compiled.clone())
        };

        let defaults = &self.inner.config.defaults;
        let settings = match &toml {
            None => AppSettings::defaults(defaults),
            Some(text) => {
                match AppSettings::parse(text, defaults, |k| (self.inner.config.env)(k)) {
                    Ok(settings) => settings,
                    Err(message) => {
                        let file = format!("{name}.toml");
                        self.record_error(name, LoadError::BadSettings { file, message });
                        return;
                    }
                }
            }
        };
        if settings.memory > self.inner.engine.max_memory_size() as u64 {
            let message = format!(
                "memory: {} is above this host's maximum of {}",
                crate::settings::format_bytes(settings.memory),
                crate::settings::format_bytes(self.inner.engine.max_memory_size() as u64)
            );
            self.record_error(
                name,
                LoadError::BadSettings {
                    file: format!("{name}.toml"),
                    message,
                },
            );
            return;
        }

        let started = std::time::Instant::now();
        let compiled = match reuse {
            Some(compiled) => compiled,
            None => {
                self.set_loading(name, Some(started));
                let engine = self.inner.engine.clone();
                let compiled = tokio::task::spawn_blocking(move || Compiled::new(&engine, &wasm))
                    .await
                    .map_err(|e| LoadError::Compile(format!("compilation task failed: {e}")))
                    .and_then(|r| r);
                self.set_loading(name, None);
                match compiled {
                    Ok(compiled) => Arc::new(compiled),
                    Err(err) => {
                        self.record_error(name, err);
                        return;
                    }
                }
            }
        };
        self.install(name, compiled, settings, started.elapsed());
    }

    fn set_loading(&self, name: &str, since: Option<std::time::Instant>) {
        self.lock_apps()
            .entry(name.to_owned())
            .or_default()
            .loading_since = since;
    }

    /// How long app `name` has been compiling, while it is.
    pub fn loading_for(&self, name: &str) -> Option<Duration> {
        self.lock_apps()
            .get(name)?
            .loading_since
            .map(|since| since.elapsed())
    }

    /// Why app `name` was refused at load, while no version of it serves.
    pub fn refusal(&self, name: &str) -> Option<String> {
        let apps = self.lock_apps();
        let entry = apps.get(name)?;
        if entry.serving.is_some() || entry.loading_since.is_some() {
            return None;
        }
        entry.error.as_ref().map(|error| error.with_file(name))
    }

    /// The apps that serve calls, or are being compiled to, with the handlers each declares
    /// (`handlers` in its toml).
    pub fn known(&self) -> BTreeMap<String, Option<Vec<String>>> {
        self.lock_apps()
            .iter()
            .filter(|(_, e)| e.serving.is_some() || e.loading_since.is_some())
            .map(|(name, e)| {
                let handlers = e
                    .serving
                    .as_ref()
                    .and_then(|s| s.app.ctx.settings.handlers.clone());
                (name.clone(), handlers)
            })
            .collect()
    }

    /// Puts a new version in service and registers it with the runtime.
    fn install(&self, name: &str, compiled: Arc<Compiled>, settings: AppSettings, took: Duration) {
        let sink = self.inner.config.event_sink.clone();
        let app = Arc::new(LoadedApp::new(
            &self.inner.engine,
            name,
            compiled,
            settings,
            sink,
            self.inner.config.limits,
        ));
        let world = app.compiled.world;
        let worker = world
            .is_worker()
            .then(|| Arc::new(WasmWorker::new(app.clone())));
        let listener = world
            .is_listener()
            .then(|| Arc::new(WasmListener::new(app.clone(), self.inner.config.restart)));

        let previous = {
            let mut apps = self.lock_apps();
            let entry = apps.entry(name.to_owned()).or_default();
            entry.error = None;
            entry.serving.replace(Serving {
                app: app.clone(),
                worker: worker.clone(),
                listener: listener.clone(),
            })
        };
        match &worker {
            Some(worker) => self.inner.workers.insert(name, worker.clone()),
            None => {
                self.inner.workers.remove(name);
            }
        }
        match &listener {
            Some(listener) => self.inner.listeners.insert(name, listener.clone()),
            None => {
                self.inner.listeners.remove(name);
            }
        }
        let version = &app.ctx.version;
        let took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        // `hops::apps` is shown by `hops up` by default: one line per app that comes or goes.
        match previous {
            Some(old) if old.app.ctx.version != *version => {
                tracing::info!(target: "hops::apps", app = name, %world, %version, old_version = %old.app.ctx.version, took_ms, "app {name} replaced (ready in {took_ms} ms); in-flight calls finish on the old version");
            }
            Some(_) => {
                tracing::info!(target: "hops::apps", app = name, %world, %version, "app {name}: settings reloaded")
            }
            None => {
                tracing::info!(target: "hops::apps", app = name, %world, %version, took_ms, "app {name} ready ({world}, loaded in {took_ms} ms)")
            }
        }
    }

    fn record_error(&self, name: &str, error: LoadError) {
        let why = error.with_file(name);
        let serving = {
            let mut apps = self.lock_apps();
            let entry = apps.entry(name.to_owned()).or_default();
            entry.error = Some(error.clone());
            entry.serving.as_ref().map(|s| s.app.ctx.clone())
        };
        match serving {
            Some(ctx) => {
                tracing::warn!(target: "hops::apps", app = name, error = %why, "app {name} not reloaded: {why}; version {} keeps serving", ctx.version);
                if let Ok(mut superseded) = ctx.superseded.write() {
                    *superseded = Some(why);
                }
            }
            None => {
                tracing::warn!(target: "hops::apps", app = name, error = %why, "app {name} not loaded: {why}")
            }
        }
    }

    fn remove(&self, name: &str) {
        let removed = self.lock_apps().remove(name);
        if removed.is_some_and(|entry| entry.serving.is_some()) {
            self.inner.workers.remove(name);
            self.inner.listeners.remove(name);
            tracing::info!(target: "hops::apps", app = name, "app {name} removed; in-flight calls finish on the old version");
        }
    }

    fn lock_apps(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        // A panic while holding this lock cannot leave the map half-updated (every update is
        // a single insert/replace), so a poisoned lock is still usable.
        self.inner
            .apps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every app found in the directory, sorted by name.
    pub fn list(&self) -> Vec<AppInfo> {
        self.lock_apps()
            .iter()
            .map(|(name, entry)| info(name, entry))
            .collect()
    }

    /// One app.
    pub fn get(&self, name: &str) -> Option<AppInfo> {
        self.lock_apps().get(name).map(|entry| info(name, entry))
    }

    /// The worker serving `name`, if any (the same one registered in `workers`).
    pub fn worker(&self, name: &str) -> Option<Arc<WasmWorker>> {
        self.lock_apps().get(name)?.serving.as_ref()?.worker.clone()
    }

    /// The listener serving `name`, if any (the same one registered in `listeners`).
    pub fn listener(&self, name: &str) -> Option<Arc<WasmListener>> {
        self.lock_apps()
            .get(name)?
            .serving
            .as_ref()?
            .listener
            .clone()
    }
}

fn info(name: &str, entry: &Entry) -> AppInfo {
    let serving = entry.serving.as_ref();
    let listener = serving
        .and_then(|s| s.listener.as_ref())
        .map(|l| l.health());
    let status = match (&entry.error, &listener) {
        _ if entry.loading_since.is_some() => AppStatus::Loading {
            for_ms: entry.loading_since.map_or(0, |s| {
                u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX)
            }),
        },
        (Some(err), _) => AppStatus::Error {
            kind: err.kind().to_owned(),
            message: err.with_file(name),
        },
        (None, Some(ListenerHealth::Quarantined { last_error, .. })) => AppStatus::Quarantined {
            message: last_error.clone(),
        },
        (None, _) => AppStatus::Ready,
    };
    AppInfo {
        name: name.to_owned(),
        world: serving.map(|s| s.app.compiled.world),
        status,
        serving: serving.is_some(),
        version: serving.map(|s| s.app.ctx.version.clone()),
        size_bytes: serving.map(|s| s.app.compiled.size),
        settings: serving.map(|s| s.app.ctx.settings.summary()),
        listener,
    }
}

/// The app a plugins-directory file belongs to: `foo` for `…/foo.wasm` and `…/foo.toml`;
/// other files, and editors' hidden temporaries, are not apps.
pub fn app_name_of(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    if ext != "wasm" && ext != "toml" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    // Editors' and copy tools' temporaries (".foo.wasm.swp", ".#foo") are not apps.
    if stem.is_empty() || stem.starts_with('.') {
        return None;
    }
    Some(stem.to_owned())
}
