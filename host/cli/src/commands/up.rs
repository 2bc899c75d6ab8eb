//! `hops up DIR`: local mode — a nats-server child with its data in `DIR/.hops/`, the host with
//! every role, apps from `DIR/plugins`.

use std::process::ExitCode;

use anyhow::Context as _;
use hops_bus::{BusConfig, LocalNats, LocalNatsOptions};
use hops_runtime::Roles;

use super::serve::{ServeSpec, init_logging, serve};
use crate::cli::host::UpArgs;

/// Runs local mode until Ctrl-C or SIGTERM; the nats-server child always stops with it.
pub async fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    // Flags are checked before anything starts.
    args.eval.settings()?;
    anyhow::ensure!(
        args.dir.is_dir(),
        "{} is not a directory: pass the project directory holding your .hops files",
        args.dir.display()
    );
    // Absolute, so the compile cache and nats-server see the same paths whatever their cwd.
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("resolving {}", args.dir.display()))?;
    let data = dir.join(".hops");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let mut local = None;
    let url = match &args.nats_url {
        Some(url) => url.clone(),
        None => {
            let nats = LocalNats::start(LocalNatsOptions::new(data.join("nats")))
                .await
                .context("starting the local nats-server")?;
            eprintln!(
                "  nats-server (pid {}) on {} with data in {}",
                nats.pid().unwrap_or_default(),
                nats.url(),
                nats.data_dir().display()
            );
            let url = nats.url();
            local = Some(nats);
            url
        }
    };
    let eval = args.eval.settings()?;
    let mut bus = BusConfig::new(url);
    args.limits.apply_to(&mut bus);
    let spec = ServeSpec {
        pipelines: dir.clone(),
        plugins: Some(args.plugins.clone().unwrap_or_else(|| dir.join("plugins"))),
        cache_dir: Some(
            args.cache
                .cache_dir
                .clone()
                .unwrap_or_else(|| data.join("wasm-cache")),
        ),
        bus,
        roles: Roles::ALL,
        api: args.api.clone(),
        eval,
        limits: args.limits.clone(),
        shutdown: args.shutdown.clone(),
        k8s: args.k8s.clone(),
    };
    let outcome = serve(spec).await;
    if let Some(mut nats) = local
        && let Err(err) = nats.stop().await
    {
        eprintln!("could not stop nats-server cleanly: {err}");
    }
    outcome
}
