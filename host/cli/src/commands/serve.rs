//! Running a host in this process: shared by `hops up` and `hops start`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use hops_api::ApiConfig;
use hops_bus::{Bus, BusConfig, redact_url};
use hops_core::{EventSink, Listeners, Workers};
use hops_pipeline::PipelineSet;
use hops_runtime::{
    AppListing, BusEvents, DrainOptions, EvalSettings, Host, HostConfig, ReloadHook, Roles,
    RunnerOptions,
};
use hops_wasm::{AppsDir, AppsDirOptions};

use crate::cli::host::{ServeApiArgs, ShutdownArgs};
use crate::cli::k8s::K8sArgs;
use crate::cli::limits::LimitArgs;
use crate::output;

/// What to run.
pub struct ServeSpec {
    /// Pipelines directory.
    pub pipelines: PathBuf,
    /// Plugins directory, if apps are served.
    pub plugins: Option<PathBuf>,
    /// Where the compiled-apps cache lives.
    pub cache_dir: Option<PathBuf>,
    /// The NATS connection.
    pub bus: BusConfig,
    /// Roles of this process.
    pub roles: Roles,
    /// Where the API listens and the token it requires.
    pub api: ServeApiArgs,
    /// What pipelines may read and spend.
    pub eval: EvalSettings,
    /// Limits on runaway work and clients.
    pub limits: LimitArgs,
    /// The Kubernetes runner.
    pub k8s: K8sArgs,
    /// How it stops.
    pub shutdown: ShutdownArgs,
}

/// What a host logs without `HOPS_LOG`: warnings, plus what apps say (`hops::app`: their
/// `log.*` calls, stdout and stderr, with the app and run named) and apps coming and going
/// (`hops::apps`: ready, replaced, removed, failed to load).
pub const DEFAULT_LOG: &str = "warn,hops::app=info,hops::apps=info";

/// Sets up logging: `HOPS_LOG` (an `EnvFilter`: `info`, `hops_runtime=debug,warn`, …), else
/// [`DEFAULT_LOG`].
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOPS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .ok();
}

/// Runs the host until Ctrl-C or SIGTERM.
pub async fn serve(spec: ServeSpec) -> anyhow::Result<ExitCode> {
    let url = redact_url(&spec.bus.url);
    let bus = Arc::new(
        Bus::connect(spec.bus)
            .await
            .with_context(|| format!("connecting to NATS at {url}"))?,
    );
    let sink: Arc<dyn EventSink> = Arc::new(BusEvents(Arc::clone(&bus)));
    let workers = Workers::new();
    let listeners = Listeners::new();
    let mut app_listing: Option<AppListing> = None;
    let mut known_apps: Option<hops_pipeline::AppsProvider> = None;
    let mut loading: Option<hops_runtime::AppLoading> = None;
    let mut _apps_dir = None;
    if let Some(dir) = &spec.plugins {
        let apps = AppsDir::open(
            AppsDirOptions {
                dir: dir.clone(),
                cache_dir: spec.cache_dir.clone(),
                event_sink: Some(Arc::clone(&sink)),
                limits: spec.limits.app_limits(),
                watch: true,
            },
            &workers,
            &listeners,
        )
        .await?;
        for app in apps.list() {
            match &app.status {
                hops_wasm::AppStatus::Ready => eprintln!(
                    "  app {} ({}) ready",
                    app.name,
                    app.world.map(|w| w.to_string()).unwrap_or_default()
                ),
                hops_wasm::AppStatus::Error { message, .. } => {
                    eprintln!("{} app {}: {message}", output::error_label(), app.name)
                }
                other => eprintln!(
                    "  app {}: {}",
                    app.name,
                    serde_json::to_string(other).unwrap_or_default()
                ),
            }
        }
        app_listing = Some(apps.listing());
        let registry = apps.registry().clone();
        let source = format!("the plugins directory {}", dir.display());
        known_apps = Some(Arc::new(move || hops_pipeline::KnownApps {
            source: source.clone(),
            apps: registry.known(),
        }));
        let registry = apps.registry().clone();
        loading = Some(Arc::new(move |app: &str| {
            registry
                .loading_for(app)
                .map(hops_runtime::AppLoad::Compiling)
                .or_else(|| registry.refusal(app).map(hops_runtime::AppLoad::Refused))
        }));
        _apps_dir = Some(apps);
    }
    let k8s = if spec.roles.workers {
        Some(super::k8s::start(&spec.k8s, &bus, &workers).await?)
    } else {
        None
    };
    // Native apps are listed with the wasm ones, and pipelines may call them.
    if let Some(k8s) = &k8s {
        let wasm = app_listing.take();
        let k8s = k8s.clone();
        app_listing = Some(Arc::new(move || {
            let mut apps = wasm.as_ref().map(|l| l()).unwrap_or(serde_json::json!([]));
            if let Some(list) = apps.as_array_mut() {
                list.push(k8s.listing());
            }
            apps
        }));
    }
    // Built-in apps: `input` always, `k8s` where this host runs the Kubernetes runner.
    let k8s_here = k8s.is_some();
    if let Some(wasm_known) = known_apps.take() {
        known_apps = Some(Arc::new(move || {
            let mut known = wasm_known();
            for (name, handlers) in crate::builtin_apps() {
                if *name == hops_k8s::APP && !k8s_here {
                    continue;
                }
                known
                    .apps
                    .entry((*name).to_owned())
                    .or_insert_with(|| Some(handlers.iter().map(|h| (*h).to_owned()).collect()));
            }
            known
        }));
    }
    let mut config = HostConfig::new(bus, &spec.pipelines);
    config.roles = spec.roles;
    config.workers = workers;
    config.listeners = listeners;
    config.app_listing = app_listing;
    config.known_apps = known_apps;
    config.app_loading = loading;
    config.app_hints = [(
        hops_k8s::APP.to_owned(),
        "start a host that reaches a Kubernetes cluster (--kubeconfig, KUBECONFIG, or in a cluster)".to_owned(),
    )]
    .into();
    config.api_addr = spec.api.api_addr;
    config.api = ApiConfig {
        token: spec.api.api_token,
        trusted_user_header: spec.api.auth_proxy_header,
        cors_origins: spec.api.cors_origins,
        ..ApiConfig::default()
    };
    config.on_reload = print_reloads();
    config.eval = spec.eval;
    config.api_limits = spec.limits.serve_limits();
    config.runner = RunnerOptions {
        run_rate: spec.limits.run_rate(),
        concurrency: usize::try_from(spec.limits.max_in_flight).unwrap_or(usize::MAX),
        app_wait_timeout: spec.limits.app_wait_timeout,
        ..RunnerOptions::default()
    };
    let open_api = config.api.token.is_none()
        && config.api.trusted_user_header.is_none()
        && !config.api_addr.ip().is_loopback();
    let host = Host::start(config).await?;
    if open_api && host.api_addr().is_some() {
        eprintln!(
            "{} the API listens on {} without a token: anyone who reaches it can start runs and read their data; set HOPS_API_TOKEN (or --api-token)",
            crate::output::warning_label(),
            spec.api.api_addr
        );
    }
    match host.api_addr() {
        Some(addr) => eprintln!(
            "hops is up: roles {}, console and API http://{addr}, NATS {url}. Ctrl-C stops it.",
            spec.roles
        ),
        None => eprintln!(
            "hops is up: roles {}, NATS {url}. Ctrl-C stops it.",
            spec.roles
        ),
    }
    let signal = wait_for_signal().await;
    eprintln!(
        "{signal}: stopping; calls in flight get {} to finish (--drain-timeout), a second signal hands them back now",
        humantime::format_duration(spec.shutdown.drain_timeout)
    );
    let report = host
        .drain_until(
            DrainOptions {
                timeout: spec.shutdown.drain_timeout,
                ready_grace: spec.shutdown.ready_grace,
            },
            async {
                wait_for_signal().await;
            },
        )
        .await;
    if report.in_flight > 0 {
        eprintln!(
            "  drained: {} calls in flight, {} finished, {} handed back to another host (not acknowledged, so they run again there)",
            report.in_flight, report.finished, report.handed_back
        );
    }
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Prints pipeline diagnostics on every load and says whether the version was applied.
fn print_reloads() -> ReloadHook {
    Arc::new(|set: &PipelineSet, applied: bool| {
        let color = output::color_stderr();
        for d in &set.diagnostics {
            let source = set.sources.get(&d.file).map(|s| s.text.as_str());
            eprintln!("{}", d.render(source, color));
        }
        if applied {
            eprintln!(
                "  pipelines loaded: {} pipelines, {} tasks, {} schedules (version {})",
                set.ons.len(),
                set.tasks.len(),
                set.schedules.len(),
                hops_runtime::pipelines::short(&set.hash)
            );
        } else {
            eprintln!(
                "{} the pipelines have errors; the last good version keeps running (fix and save to reload)",
                output::error_label()
            );
        }
    })
}

async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut hangup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            // A closed terminal (SIGHUP) stops the host as cleanly as Ctrl-C does.
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return "interrupted",
                _ = term.recv() => return "terminated",
                _ = hangup.recv() => return "hung up",
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "interrupted"
}
