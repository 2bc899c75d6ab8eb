//! Arguments of the commands that talk to a running host over its HTTP API.

use std::time::Duration;

/// Where the host's API is and how to authenticate; shared by every remote command.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// Address of the Hops host's HTTP API.
    #[arg(long = "api", env = "HOPS_API", value_name = "URL", default_value = hops_api::DEFAULT_API_URL)]
    pub url: String,
    /// Bearer token for the API. Prefer the environment variable: it stays out of `ps`.
    #[arg(
        long = "api-token",
        env = "HOPS_API_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// `--wait` and `--timeout`.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Follow the run until it ends: exit 0 when it completed, 1 when it errored.
    #[arg(long)]
    pub wait: bool,
    /// Stop waiting after this long (e.g. `30s`, `5m`) and exit 3.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "wait")]
    pub timeout: Option<Duration>,
}

/// `hops run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The task to run (see `GET /api/tasks`, or the `task` blocks of your pipelines).
    pub task: String,
    /// A parameter as NAME=VALUE; repeat for more. Values are converted to the parameter's
    /// type: numbers, bools (true/false, yes/no, 1/0), strings.
    #[arg(short, long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Waiting for the run.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Print `{"run_id": …, "status": …}` instead of text.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `hops event …`.
#[derive(Debug, clap::Subcommand)]
pub enum EventCommand {
    /// Publish a source event as a new run.
    Send(EventSendArgs),
}

/// `hops event send`.
#[derive(Debug, clap::Args)]
pub struct EventSendArgs {
    /// `hops.source`: who produced the event.
    #[arg(long)]
    pub source: String,
    /// `hops.event`: matched by `on "<event>"` pipelines.
    #[arg(long)]
    pub event: String,
    /// `hops.action`: matched by `on "<event>_<action>"` pipelines.
    #[arg(long)]
    pub action: Option<String>,
    /// The payload: a JSON object, `@FILE` to read one from a file, or `-` for stdin. Its
    /// `hops` key, if any, is replaced by --source/--event/--action.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub data: Option<String>,
    /// An idempotency key: sending the same key again starts no second run.
    #[arg(long, value_name = "KEY")]
    pub dedup: Option<String>,
    /// Waiting for the run.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Print `{"run_id": …, "status": …}` instead of text.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `hops runs …`.
#[derive(Debug, clap::Subcommand)]
pub enum RunsCommand {
    /// The most recent runs, newest first.
    List(RunsListArgs),
    /// One run's timeline: its event, every call with inputs and results, its pipelines.
    Show(RunsShowArgs),
    /// Remove runs that ended more than a given time ago (runs still going are never touched).
    Purge(RunsPurgeArgs),
}

/// `hops runs purge`.
#[derive(Debug, clap::Args)]
pub struct RunsPurgeArgs {
    /// Purge runs that ended more than this long ago, e.g. `30d`, `12h`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub older_than: std::time::Duration,
    /// Only count the runs that would be purged.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `hops runs list`.
#[derive(Debug, clap::Args)]
pub struct RunsListArgs {
    /// How many runs to show (at most 500).
    #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=500))]
    pub limit: u16,
    /// Only runs that stand so.
    #[arg(long, value_parser = ["running", "completed", "errored"])]
    pub status: Option<String>,
    /// Only runs of this task.
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
    /// The next page: only runs before this sequence (the `sequence` of the last run shown
    /// by `--json`).
    #[arg(long, value_name = "SEQUENCE")]
    pub before: Option<u64>,
    /// Print the runs as a JSON array.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `hops runs show`.
#[derive(Debug, clap::Args)]
pub struct RunsShowArgs {
    /// The run id.
    pub run: String,
    /// Keep watching and print calls as they change until the run ends (exit 0 completed,
    /// 1 errored).
    #[arg(long, short)]
    pub follow: bool,
    /// With --follow: stop after this long (e.g. `30s`) and exit 3.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "follow")]
    pub timeout: Option<Duration>,
    /// Print the run as JSON.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `hops replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The run whose event to replay.
    pub run: String,
    /// Only print the calls the current pipelines would dispatch; publish nothing.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
    /// Waiting for the new run.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Print JSON: the plan on a dry run, `{"run_id": …, "status": …}` otherwise.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|err| format!("{err}; use e.g. 30s, 2m or 1h30m"))
}

/// `hops input …`.
#[derive(Debug, clap::Subcommand)]
pub enum InputCommand {
    /// The calls waiting for a person's answer, oldest first.
    List(InputListArgs),
    /// Answer one; its run goes on with the answer as the call's result.
    Answer(InputAnswerArgs),
}

/// `hops input list`.
#[derive(Debug, clap::Args)]
pub struct InputListArgs {
    /// Print the inputs as a JSON array.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `hops input answer`.
#[derive(Debug, clap::Args)]
pub struct InputAnswerArgs {
    /// The run id.
    pub run: String,
    /// The call's name, as `hops runs show` and `hops input list` show it.
    pub call: String,
    /// A value as NAME=VALUE; repeat for more. Values are converted to the param's type:
    /// numbers, bools (true/false, yes/no, 1/0), strings.
    #[arg(short, long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Print the stored answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// The host.
    #[command(flatten)]
    pub api: ApiArgs,
}
