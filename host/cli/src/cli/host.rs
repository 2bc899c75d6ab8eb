//! Arguments of the commands that run a host (`up`, `start`) or look at apps (`plugins`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Default address of the API.
pub const DEFAULT_API_ADDR: &str = "127.0.0.1:8916";

/// Where compiled apps are cached (`hops up`, `hops start`).
#[derive(Debug, Clone, Args)]
pub struct CacheArgs {
    /// Where compiled apps are cached across restarts (default: `wasm-cache` in the data
    /// directory). Several hosts on one machine may share one.
    #[arg(long, env = "HOPS_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// Where a host's API listens and what it asks of callers (`hops up`, `hops start`).
#[derive(Debug, Clone, Args)]
pub struct ServeApiArgs {
    /// Where the API listens.
    #[arg(long, env = "HOPS_API_ADDR", default_value = DEFAULT_API_ADDR, value_name = "ADDR")]
    pub api_addr: SocketAddr,
    /// Require `Authorization: Bearer <token>` on `/api/*`.
    #[arg(
        long = "api-token",
        env = "HOPS_API_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub api_token: Option<String>,
    /// Trust this header, set by an authenticating proxy in front of the host (e.g.
    /// `x-forwarded-user`), as who the caller is: it is recorded on inputs it answers. Only
    /// when nothing but that proxy can reach the API, since anyone else could send it.
    #[arg(long, env = "HOPS_AUTH_PROXY_HEADER", value_name = "HEADER", value_parser = parse_header_name)]
    pub auth_proxy_header: Option<String>,
    /// An origin (`https://ops.example.com`) whose pages may call the API from a browser
    /// (CORS); repeat, or separate with commas. None: CORS is off.
    #[arg(long = "cors-origin", env = "HOPS_CORS_ORIGINS", value_name = "ORIGIN", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
}

fn parse_header_name(text: &str) -> Result<String, String> {
    let name = text.trim().to_ascii_lowercase();
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b));
    if token {
        Ok(name)
    } else {
        Err(format!(
            "{text:?} is not an HTTP header name (e.g. x-forwarded-user)"
        ))
    }
}

fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim().trim_end_matches('/');
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains('/') && !host.contains('*') => {
            Ok(origin.to_owned())
        }
        _ => Err(format!(
            "{text:?} is not an origin: write scheme and host only, e.g. https://ops.example.com or http://localhost:3000"
        )),
    }
}

/// How a host stops on SIGTERM or Ctrl-C (`hops up`, `hops start`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Shutdown")]
pub struct ShutdownArgs {
    /// How long calls in flight may take to finish once the host is told to stop; what still
    /// runs then is handed back to another host. Keep it below the orchestrator's grace
    /// period (Kubernetes: 30 s). A second signal hands back at once.
    #[arg(long, env = "HOPS_DRAIN_TIMEOUT", default_value = "25s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub drain_timeout: std::time::Duration,
    /// How long `/ready` answers 503 before the API closes, so load balancers see the host go.
    #[arg(long, env = "HOPS_READY_GRACE", default_value = "2s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub ready_grace: std::time::Duration,
}

/// `hops up`: local mode.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The project directory: pipelines (`*.hops`), `plugins/`, and `.hops/` for local data.
    #[arg(default_value = ".", env = "HOPS_PIPELINES")]
    pub dir: PathBuf,
    /// The plugins directory (default: `DIR/plugins`).
    #[arg(long, env = "HOPS_PLUGINS", value_name = "DIR")]
    pub plugins: Option<PathBuf>,
    /// Use this NATS server instead of starting one (e.g. `nats://127.0.0.1:4222`).
    #[arg(long, env = "HOPS_NATS_URL", value_name = "URL")]
    pub nats_url: Option<String>,
    /// The compiled-apps cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The API's address and token.
    #[command(flatten)]
    pub api: ServeApiArgs,
    /// Pipeline evaluation.
    #[command(flatten)]
    pub eval: super::limits::EvalArgs,
    /// Limits.
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
    /// The Kubernetes runner.
    #[command(flatten)]
    pub k8s: super::k8s::K8sArgs,
    /// Stopping.
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
}

/// `hops start`: production mode against an existing NATS.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// The pipelines directory.
    #[arg(default_value = ".", env = "HOPS_PIPELINES")]
    pub dir: PathBuf,
    /// NATS server URL(s), comma-separated.
    #[arg(long, env = "HOPS_NATS_URL", value_name = "URL")]
    pub nats_url: String,
    /// NATS connection options.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Roles of this process: `all`, or a comma-separated list of runner, workers, api.
    #[arg(long, env = "HOPS_ROLES", default_value = "all")]
    pub roles: String,
    /// The plugins directory (apps served by the workers role).
    #[arg(long, env = "HOPS_PLUGINS", value_name = "DIR")]
    pub plugins: Option<PathBuf>,
    /// Where local data lives (the compiled-apps cache).
    #[arg(long, env = "HOPS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The compiled-apps cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The API's address and token.
    #[command(flatten)]
    pub api: ServeApiArgs,
    /// Pipeline evaluation.
    #[command(flatten)]
    pub eval: super::limits::EvalArgs,
    /// Limits.
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
    /// The Kubernetes runner.
    #[command(flatten)]
    pub k8s: super::k8s::K8sArgs,
    /// Stopping.
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
}

/// How to reach and authenticate to NATS.
#[derive(Debug, Args)]
pub struct NatsArgs {
    /// Account name: the first subject token and the stream name.
    #[arg(long = "nats-account", env = "HOPS_NATS_ACCOUNT", default_value = hops_bus::DEFAULT_ACCOUNT)]
    pub account: String,
    /// Topic: the second subject token (separate environments on one stream).
    #[arg(long = "nats-topic", env = "HOPS_NATS_TOPIC", default_value = hops_bus::DEFAULT_TOPIC)]
    pub topic: String,
    /// Replicas of the stream (and its payload and pinning buckets) when this host creates
    /// them: 3 on a 3-node JetStream cluster, so a node can fail without losing runs.
    #[arg(long = "stream-replicas", env = "HOPS_STREAM_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub stream_replicas: u8,
    /// User name.
    #[arg(long = "nats-user", env = "HOPS_NATS_USER", requires = "password")]
    pub user: Option<String>,
    /// Password.
    #[arg(
        long = "nats-password",
        env = "HOPS_NATS_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Token.
    #[arg(long = "nats-token", env = "HOPS_NATS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding an NKey user seed.
    #[arg(long = "nats-nkey", env = "HOPS_NATS_NKEY", value_name = "FILE")]
    pub nkey: Option<PathBuf>,
    /// JWT credentials file (`.creds`).
    #[arg(long = "nats-creds", env = "HOPS_NATS_CREDS", value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// CA certificate (PEM) for a server certificate signed by a private CA.
    #[arg(long = "nats-ca", env = "HOPS_NATS_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(
        long = "nats-cert",
        env = "HOPS_NATS_CERT",
        value_name = "FILE",
        requires = "key"
    )]
    pub cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS.
    #[arg(long = "nats-key", env = "HOPS_NATS_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Require TLS even for `nats://` URLs.
    #[arg(long = "nats-tls", env = "HOPS_NATS_TLS")]
    pub tls: bool,
}

/// `hops plugins …`.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the apps of a running host (name, world, status, version, grants).
    List(PluginsListArgs),
    /// Show what a `.wasm` file is: its world, imports and exports, and whether it fits hops:app.
    Inspect(PluginsInspectArgs),
}

/// `hops plugins list`.
#[derive(Debug, Args)]
pub struct PluginsListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The host's API.
    #[command(flatten)]
    pub api: super::remote::ApiArgs,
}

/// `hops plugins inspect`.
#[derive(Debug, Args)]
pub struct PluginsInspectArgs {
    /// The `.wasm` file.
    pub file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hops bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Runs per latency measurement.
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
    /// Seconds of the throughput measurement.
    #[arg(long, default_value_t = 5)]
    pub duration: u64,
    /// Parallel calls of the wide shape: one run that fans out to this many calls at once.
    #[arg(long, default_value_t = 1000, value_name = "CALLS", value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub wide: u32,
    /// Sequential steps of the long shape: one run of this many steps, one after another.
    #[arg(long, default_value_t = 200, value_name = "STEPS", value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub long: u32,
    /// Runs of each of the wide and long shapes.
    #[arg(long, default_value_t = 5, value_name = "RUNS", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub shape_runs: u32,
    /// Where the `echo` app (and optionally `pyecho`, `jsecho`) are.
    #[arg(
        long,
        env = "HOPS_PLUGINS",
        default_value = "target/plugins",
        value_name = "DIR"
    )]
    pub plugins: PathBuf,
}
