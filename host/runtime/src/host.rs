//! [`Host`]: a running Hops host — runner, worker loops, schedules, listener polls and the HTTP
//! API over one bus connection, each role optional so production replicas can split them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hops_api::ApiConfig;
use hops_bus::{Bus, WorkerConsumerOptions};
use hops_core::{EventSink, Listeners, Workers};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::api::{AppListing, HostServices};
use crate::bus_adapters::{BusEvents, BusVersions};
use crate::evaluation::EvalSettings;
use crate::pipelines::{PipelineStore, ReloadHook};
use crate::runner::RunnerOptions;

/// Which parts of a host run in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// Evaluate runs, dispatch calls, fire schedules.
    pub runner: bool,
    /// Serve the apps of this process (worker loops and listener polls).
    pub workers: bool,
    /// Serve the HTTP API and webhooks.
    pub api: bool,
}

impl Roles {
    /// Every role.
    pub const ALL: Roles = Roles {
        runner: true,
        workers: true,
        api: true,
    };
}

impl FromStr for Roles {
    type Err = String;

    /// `all`, or a comma-separated list of `runner`, `workers`, `api`.
    fn from_str(text: &str) -> Result<Roles, String> {
        let mut roles = Roles {
            runner: false,
            workers: false,
            api: false,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => roles = Roles::ALL,
                "runner" => roles.runner = true,
                "workers" | "worker" => roles.workers = true,
                "api" => roles.api = true,
                other => {
                    return Err(format!(
                        "unknown role {other:?}; roles are runner, workers, api (or all)"
                    ));
                }
            }
        }
        if roles
            == (Roles {
                runner: false,
                workers: false,
                api: false,
            })
        {
            return Err("no role given; use runner, workers, api or all".to_owned());
        }
        Ok(roles)
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.runner, "runner"),
            (self.workers, "workers"),
            (self.api, "api"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(","))
    }
}

/// Everything a host is made of.
pub struct HostConfig {
    /// The connected bus.
    pub bus: Arc<Bus>,
    /// The pipelines directory.
    pub pipelines_dir: PathBuf,
    /// Roles of this process.
    pub roles: Roles,
    /// The apps this process serves.
    pub workers: Workers,
    /// The listeners this process serves.
    pub listeners: Listeners,
    /// The app listing for `GET /api/apps`.
    pub app_listing: Option<AppListing>,
    /// Runner settings.
    pub runner: RunnerOptions,
    /// Worker consumer settings.
    pub worker_consumer: WorkerConsumerOptions,
    /// Where the API listens (with the api role); port 0 picks a free port.
    pub api_addr: SocketAddr,
    /// API settings (token, body limit).
    pub api: ApiConfig,
    /// What clients may take of the API server (timeouts, connections).
    pub api_limits: hops_api::ServeLimits,
    /// Reload the pipelines when their files change.
    pub watch_pipelines: bool,
    /// Called after every pipeline (re)load with its diagnostics.
    pub on_reload: ReloadHook,
    /// What pipelines may read from the environment, and the budget of each evaluation.
    pub eval: EvalSettings,
    /// The apps calls can go to, for load-time warnings about calls nothing serves.
    pub known_apps: Option<hops_pipeline::AppsProvider>,
    /// How long this process has been compiling an app (run views say "loading X.wasm").
    pub app_loading: Option<crate::presence::AppLoading>,
    /// How to get an app served when nobody does, by app, for apps that are not a `.wasm`
    /// (e.g. `k8s`: "start a host that reaches a cluster").
    pub app_hints: std::collections::BTreeMap<String, String>,
}

impl HostConfig {
    /// A config with every role, no apps, the API on a free loopback port and default settings.
    pub fn new(bus: Arc<Bus>, pipelines_dir: impl Into<PathBuf>) -> HostConfig {
        HostConfig {
            bus,
            pipelines_dir: pipelines_dir.into(),
            roles: Roles::ALL,
            workers: Workers::new(),
            listeners: Listeners::new(),
            app_listing: None,
            runner: RunnerOptions::default(),
            worker_consumer: WorkerConsumerOptions::default(),
            api_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api: ApiConfig::default(),
            api_limits: hops_api::ServeLimits::default(),
            watch_pipelines: true,
            on_reload: Arc::new(|_, _| {}),
            eval: EvalSettings::default(),
            known_apps: None,
            app_loading: None,
            app_hints: std::collections::BTreeMap::new(),
        }
    }
}

/// A running host.
pub struct Host {
    bus: Arc<Bus>,
    store: Arc<PipelineStore>,
    services: Arc<HostServices>,
    api_addr: Option<SocketAddr>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Host {
    /// Checks the stream, loads the pipelines and starts every role of `config`.
    pub async fn start(config: HostConfig) -> anyhow::Result<Host> {
        let bus = config.bus;
        bus.ensure_stream()
            .await
            .with_context(|| format!("checking stream {}", bus.stream_name()))?;
        let mut load_options = config.eval.load_options();
        load_options.apps = config.known_apps.clone();
        let store = PipelineStore::open_with(
            &config.pipelines_dir,
            Arc::new(BusVersions(Arc::clone(&bus))),
            config.on_reload,
            load_options,
        )
        .await
        .with_context(|| format!("loading pipelines from {}", config.pipelines_dir.display()))?;
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        if config.watch_pipelines {
            let watcher = store.watch(cancel.child_token())?;
            tasks.spawn(async move {
                let _ = watcher.await;
            });
        }
        // Apps count as served here only if this process runs their worker loops; otherwise
        // run views ask the bus whether some other host serves them.
        let served_here = if config.roles.workers {
            config.workers.clone()
        } else {
            Workers::new()
        };
        let services = Arc::new(
            HostServices::new(
                Arc::clone(&bus),
                Arc::clone(&store),
                served_here,
                config.listeners.clone(),
                config.app_listing,
                config.eval.clone(),
                config.app_loading.clone(),
            )
            .with_app_hints(config.app_hints.clone()),
        );
        if config.roles.runner {
            let local = if config.roles.workers {
                config.workers.clone()
            } else {
                Workers::new()
            };
            let presence = Arc::new(
                crate::presence::Presence::new(Arc::clone(&bus), local, config.app_loading.clone())
                    .with_hints(config.app_hints.clone()),
            );
            tasks.spawn(crate::runner::run(
                Arc::clone(&bus),
                Arc::clone(&store),
                config.runner,
                config.eval.clone(),
                presence,
                cancel.child_token(),
            ));
            let sink: Arc<dyn EventSink> = Arc::new(BusEvents(Arc::clone(&bus)));
            tasks.spawn(crate::schedules::run(
                Arc::clone(&store),
                sink,
                cancel.child_token(),
            ));
        }
        if config.roles.workers {
            tasks.spawn(crate::workers::run(
                Arc::clone(&bus),
                config.workers,
                config.worker_consumer,
                cancel.child_token(),
            ));
            tasks.spawn(crate::listeners::run(
                config.listeners,
                cancel.child_token(),
            ));
        }
        let mut api_addr = None;
        if config.roles.api {
            let listener = tokio::net::TcpListener::bind(config.api_addr)
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on {} for the API; pick another address with --api-addr or HOPS_API_ADDR",
                        config.api_addr
                    )
                })?;
            api_addr = Some(listener.local_addr()?);
            let router = hops_api::router(services.clone(), config.api);
            let stop = cancel.child_token();
            let limits = config.api_limits;
            tasks.spawn(async move {
                if let Err(err) =
                    hops_api::serve_with(
                        listener,
                        router,
                        limits,
                        async move { stop.cancelled().await },
                    )
                    .await
                {
                    warn!(error = %err, "the API server stopped");
                }
            });
        }
        info!(roles = %config.roles, api = ?api_addr, "host started");
        Ok(Host {
            bus,
            store,
            services,
            api_addr,
            cancel,
            tasks,
        })
    }

    /// Where the API listens, with the api role.
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api_addr
    }

    /// The bus connection.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// The pipelines.
    pub fn pipelines(&self) -> &Arc<PipelineStore> {
        &self.store
    }

    /// The API surface, for in-process callers (tests, `hops bench`).
    pub fn services(&self) -> &Arc<HostServices> {
        &self.services
    }

    /// A token cancelled when the host stops.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops every role; calls in flight get `grace` to finish and store their results.
    pub async fn shutdown(mut self, grace: Duration) {
        self.cancel.cancel();
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!("some work did not finish within {grace:?}; it is redelivered to the next host");
            self.tasks.abort_all();
        }
        info!("host stopped");
    }
}
