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
use crate::drain::{CallTally, DrainOptions, DrainReport};
use crate::evaluation::EvalSettings;
use crate::metrics::Metrics;
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
    /// What this process knows of apps it does not serve: compiling (run views say "loading
    /// X.wasm") or refused at load (a waiting call says why).
    pub app_loading: Option<crate::presence::AppLoading>,
    /// How to get an app served when nobody does, by app, for apps that are not a `.wasm`
    /// (e.g. `k8s`: "start a host that reaches a cluster").
    pub app_hints: std::collections::BTreeMap<String, String>,
    /// With the runner and workers roles: run a call to an app this process serves right
    /// after its request is stored, instead of waiting for its delivery (local dispatch).
    pub local_dispatch: bool,
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
            local_dispatch: true,
        }
    }
}

/// How long calls handed back get to send their nak before the host stops anyway.
const HAND_BACK_GRACE: Duration = Duration::from_secs(2);

/// A running host.
pub struct Host {
    bus: Arc<Bus>,
    store: Arc<PipelineStore>,
    services: Arc<HostServices>,
    api_addr: Option<SocketAddr>,
    /// Cancelled once the host has stopped.
    cancel: CancellationToken,
    /// Cancelled when the host stops taking work (runner, schedules, worker pulls, listeners).
    intake: CancellationToken,
    /// Cancelled when the API stops, after `/ready` said 503 for a while.
    api_stop: CancellationToken,
    tasks: JoinSet<()>,
    api_task: Option<tokio::task::JoinHandle<()>>,
    tally: Arc<CallTally>,
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
        let intake = CancellationToken::new();
        let api_stop = CancellationToken::new();
        let tally = Arc::new(CallTally::default());
        let metrics = Arc::new(Metrics::new());
        let inputs = Arc::new(crate::inputs::Inputs::new(
            Arc::clone(&bus),
            Arc::clone(&metrics),
        ));
        if config.roles.workers {
            // Built in, and reserved: an app file named input is not loaded over it.
            config
                .workers
                .insert(crate::inputs::INPUT_APP, Arc::new(crate::inputs::InputApp));
        }
        let mut tasks = JoinSet::new();
        if config.watch_pipelines {
            let watcher = store.watch(intake.child_token())?;
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
            .with_app_hints(config.app_hints.clone())
            .with_metrics(Arc::clone(&metrics))
            .with_inputs(Arc::clone(&inputs)),
        );
        tasks.spawn(
            Arc::clone(&services)
                .watch_stream_leader(std::time::Duration::from_secs(2), intake.child_token()),
        );
        let local_calls = (config.roles.runner && config.roles.workers && config.local_dispatch)
            .then(|| {
                Arc::new(crate::local::LocalCalls::new(
                    Arc::clone(&bus),
                    config.workers.clone(),
                    Arc::clone(&tally),
                    Arc::clone(&metrics),
                    &config.worker_consumer,
                    intake.child_token(),
                ))
            });
        if let Some(local) = &local_calls {
            tasks.spawn(crate::local::serve_questions(
                Arc::clone(local),
                intake.child_token(),
            ));
        }
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
                crate::runner::RunnerShared {
                    presence,
                    metrics: Arc::clone(&metrics),
                    local: local_calls.clone(),
                },
                intake.child_token(),
            ));
            let sink: Arc<dyn EventSink> = Arc::new(BusEvents(Arc::clone(&bus)));
            tasks.spawn(crate::schedules::run(
                Arc::clone(&store),
                sink,
                intake.child_token(),
            ));
        }
        if config.roles.workers {
            tasks.spawn(crate::workers::run(
                Arc::clone(&bus),
                config.workers,
                config.worker_consumer,
                intake.child_token(),
                Arc::clone(&tally),
                crate::workers::WorkerShared {
                    metrics: Arc::clone(&metrics),
                    local: local_calls.clone(),
                    inputs: Some(Arc::clone(&inputs)),
                },
            ));
            tasks.spawn(crate::inputs::watch_deadlines(
                Arc::clone(&inputs),
                intake.child_token(),
            ));
            tasks.spawn(crate::listeners::run(
                config.listeners,
                intake.child_token(),
            ));
        }
        let mut api_addr = None;
        let mut api_task = None;
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
            let stop = api_stop.child_token();
            let limits = config.api_limits;
            api_task =
                Some(tokio::spawn(async move {
                    if let Err(err) = hops_api::serve_with(listener, router, limits, async move {
                        stop.cancelled().await
                    })
                    .await
                    {
                        warn!(error = %err, "the API server stopped");
                    }
                }));
        }
        info!(roles = %config.roles, api = ?api_addr, "host started");
        Ok(Host {
            bus,
            store,
            services,
            api_addr,
            cancel,
            intake,
            api_stop,
            tasks,
            api_task,
            tally,
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
    pub async fn shutdown(self, grace: Duration) -> DrainReport {
        self.drain(DrainOptions {
            timeout: grace,
            ready_grace: Duration::ZERO,
        })
        .await
    }

    /// Stops the host without losing work: `/ready` answers 503 from now on; no new
    /// deliveries are taken (runner, schedules, workers, listeners); calls in flight get
    /// `options.timeout` to finish and store their results; what is still running then is
    /// handed back unacknowledged (naked), so another host runs it at once; the API stops
    /// once `/ready` has said 503 for `options.ready_grace`.
    pub async fn drain(self, options: DrainOptions) -> DrainReport {
        self.drain_until(options, std::future::pending()).await
    }

    /// [`Host::drain`], handing back at once when `hurry` completes (a second Ctrl-C).
    pub async fn drain_until(
        mut self,
        options: DrainOptions,
        hurry: impl Future<Output = ()>,
    ) -> DrainReport {
        let began = tokio::time::Instant::now();
        self.services.set_draining();
        let in_flight = self.tally.begin_drain();
        self.intake.cancel();
        if in_flight > 0 {
            info!(
                in_flight,
                timeout = ?options.timeout,
                "stopping: calls in flight get the drain timeout to finish"
            );
        }
        let mut hurry = std::pin::pin!(hurry);
        let finished = tokio::select! {
            done = tokio::time::timeout(options.timeout, async {
                while self.tasks.join_next().await.is_some() {}
            }) => done.is_ok(),
            () = &mut hurry => false,
        };
        if !finished {
            let left = self.tally.in_flight();
            warn!(
                left,
                "the drain timeout ran out: handing back the calls still running (they run again on another host)"
            );
            self.tally.hand_back.cancel();
            let handed = tokio::time::timeout(HAND_BACK_GRACE, async {
                while self.tasks.join_next().await.is_some() {}
            })
            .await;
            if handed.is_err() {
                self.tasks.abort_all();
            }
        }
        // The naks and acks above must reach the server before the connection goes.
        if let Err(err) = self.bus.flush().await {
            warn!(error = %err, "could not flush the last acknowledgements; those requests come back after their ack wait");
        }
        let ready_for = began.elapsed();
        if ready_for < options.ready_grace {
            tokio::time::sleep(options.ready_grace - ready_for).await;
        }
        self.api_stop.cancel();
        if let Some(api) = self.api_task.take() {
            let _ = tokio::time::timeout(HAND_BACK_GRACE, api).await;
        }
        self.cancel.cancel();
        let report = self.tally.report(finished);
        info!(%report, "host stopped");
        report
    }
}
