//! `hops start`: production mode against an existing NATS, with selectable roles.

use std::process::ExitCode;

use hops_bus::{Auth, BusConfig, TlsOptions};
use hops_runtime::Roles;

use super::serve::{ServeSpec, init_logging, serve};
use crate::cli::host::{NatsArgs, StartArgs};

/// Runs the host until Ctrl-C or SIGTERM.
pub async fn run(args: StartArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let roles: Roles = args
        .roles
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--roles: {e}"))?;
    let mut bus = bus_config(&args.nats_url, &args.nats)?;
    args.limits.apply_to(&mut bus);
    let spec = ServeSpec {
        pipelines: args.dir,
        plugins: args.plugins,
        cache_dir: args
            .cache
            .cache_dir
            .or_else(|| args.data_dir.map(|d| d.join("wasm-cache"))),
        bus,
        roles,
        api: args.api,
        eval: args.eval.settings()?,
        limits: args.limits,
        shutdown: args.shutdown,
        k8s: args.k8s,
    };
    serve(spec).await
}

/// The bus configuration from the NATS flags; at most one way of authenticating.
pub fn bus_config(url: &str, nats: &NatsArgs) -> anyhow::Result<BusConfig> {
    let mut auths = Vec::new();
    if let (Some(user), Some(password)) = (&nats.user, &nats.password) {
        auths.push(Auth::UserPassword {
            user: user.clone(),
            password: password.clone(),
        });
    }
    if let Some(token) = &nats.token {
        auths.push(Auth::Token(token.clone()));
    }
    if let Some(seed) = &nats.nkey {
        auths.push(Auth::NKeySeedFile(seed.clone()));
    }
    if let Some(creds) = &nats.creds {
        auths.push(Auth::CredsFile(creds.clone()));
    }
    anyhow::ensure!(
        auths.len() <= 1,
        "give one way to authenticate to NATS: user/password, token, NKey or creds (got {})",
        auths.len()
    );
    let mut config = BusConfig::new(url)
        .with_account(nats.account.clone())
        .with_topic(nats.topic.clone())
        .with_auth(auths.pop().unwrap_or_default())
        .with_tls(TlsOptions {
            ca_file: nats.ca.clone(),
            client_cert: nats.cert.clone(),
            client_key: nats.key.clone(),
            required: nats.tls,
        });
    config.stream_replicas = usize::from(nats.stream_replicas);
    config.validate()?;
    Ok(config)
}
