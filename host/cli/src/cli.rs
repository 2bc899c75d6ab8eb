//! Command-line arguments.

pub mod host;
pub mod k8s;
pub mod limits;
pub mod new;
pub mod remote;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Hops: event-driven automation with WebAssembly apps, over NATS JetStream.
#[derive(Debug, Parser)]
#[command(name = "hops", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Local mode: start nats-server, load DIR's pipelines and DIR/plugins, serve the API.
    Up(Box<host::UpArgs>),
    /// Production mode: run a host (or some of its roles) against an existing NATS.
    Start(Box<host::StartArgs>),
    /// The apps of a running host, and what a `.wasm` file is.
    #[command(subcommand)]
    Plugins(host::PluginsCommand),
    /// Measure event latency, step overhead, throughput, wasm call cost and memory.
    Bench(host::BenchArgs),
    /// Check a pipelines directory and print diagnostics (exit 0 valid, 1 errors, 2 unreadable).
    Validate(ValidateArgs),
    /// Start a new app project in Rust, Python or JavaScript.
    #[command(subcommand)]
    New(new::NewCommand),
    /// Run a task on a running host, optionally waiting for the run to end.
    Run(remote::RunArgs),
    /// Send source events to a running host.
    #[command(subcommand)]
    Event(remote::EventCommand),
    /// Inspect runs: history and timelines.
    #[command(subcommand)]
    Runs(remote::RunsCommand),
    /// Calls waiting for a person's answer (`input_ask`): list them, answer them.
    #[command(subcommand)]
    Input(remote::InputCommand),
    /// Replay a run's event with the current pipelines (`--dry-run`: only show the plan).
    Replay(remote::ReplayArgs),
    /// Ask a running host whether it is alive (`/health`) or ready (`--ready`): exit 0 when it
    /// is, 1 when not. For container health checks, where there is no curl.
    Health(HealthArgs),
}

/// `hops health`.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Ask `/ready` (the host can take work) instead of `/health` (the process answers).
    #[arg(long)]
    pub ready: bool,
    /// Print nothing; only the exit code tells.
    #[arg(long, short)]
    pub quiet: bool,
    /// The host to ask.
    #[command(flatten)]
    pub api: remote::ApiArgs,
}

/// `hops validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The pipelines directory (every `*.hops` below it is loaded).
    #[arg(default_value = ".", env = "HOPS_PIPELINES")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also check calls against the apps of this plugins directory: a call to an app it does
    /// not hold, or to a handler the app's toml does not declare, gets a warning.
    #[arg(long, value_name = "DIR")]
    pub plugins: Option<PathBuf>,
    /// The original engine's way to name the directory (`-H DIR`); deprecated, give it as
    /// the first argument instead.
    #[arg(short = 'H', long = "hops", value_name = "DIR", hide_short_help = true)]
    pub hops: Option<PathBuf>,
    /// The original engine's pretty JSON output; deprecated, use `--format json`.
    #[arg(long, hide_short_help = true)]
    pub pretty: bool,
    /// What `env()` may read and the budget of load-time values, as the host would have them.
    #[command(flatten)]
    pub eval: limits::EvalArgs,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics like rustc, for people.
    Human,
    /// One JSON object, for scripts and editors.
    Json,
}
