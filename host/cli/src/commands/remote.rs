//! What the commands that talk to a running host share: the client, the async runtime, JSON
//! output, exit codes, and what to print once a run has been started.

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context as _;
use hops_api::{Accepted, ApiClient, RunStatus};
use serde::Serialize;
use serde_json::json;

use crate::cli::remote::{ApiArgs, WaitArgs};
use crate::commands::follow;

/// Exit code when a run ended errored (or a request failed).
pub const EXIT_ERRORED: u8 = 1;
/// Exit code when `--wait`/`--follow` gave up because of `--timeout`.
pub const EXIT_TIMEOUT: u8 = 3;

/// Runs an async command to completion on a small runtime of its own.
pub fn block_on(
    command: impl Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(command)
}

/// Runs a host on a multi-threaded runtime (runner, workers and API share the cores).
pub fn block_on_host(
    command: impl Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(command)
}

/// The API client for `--api`/`HOPS_API` and `HOPS_API_TOKEN`.
pub fn connect(api: &ApiArgs) -> anyhow::Result<ApiClient> {
    Ok(ApiClient::new(&api.url, api.token.clone())?)
}

/// Prints `value` as JSON on stdout: indented on a terminal, one line when piped.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = if crate::output::Style::stdout().symbols {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .context("cannot encode the output as JSON")?;
    println!("{text}");
    Ok(())
}

/// 0 for a completed run, 1 for an errored one (and for one still running, which only happens
/// when the caller did not wait).
pub fn exit_for(status: RunStatus) -> ExitCode {
    match status {
        RunStatus::Completed => ExitCode::SUCCESS,
        RunStatus::Errored | RunStatus::Running => ExitCode::from(EXIT_ERRORED),
    }
}

/// After a run was started: follow it with `--wait`, or print its id (`{"run_id", "status"}`
/// with `--json`).
pub async fn report_started(
    client: &ApiClient,
    accepted: &Accepted,
    wait: &WaitArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if wait.wait {
        return follow::wait_for_run(client, &accepted.run_id, wait.timeout, json).await;
    }
    if accepted.duplicate {
        eprintln!(
            "note: this event was sent before (same --dedup key); no new run started, run {} is the one it started",
            accepted.run_id
        );
    }
    if json {
        // A duplicate may have ended long ago: report where it stands rather than "running".
        let status = if accepted.duplicate {
            match client.run(&accepted.run_id).await {
                Ok(run) => run.status,
                Err(_) => RunStatus::Running,
            }
        } else {
            RunStatus::Running
        };
        print_json(&json!({"run_id": accepted.run_id, "status": status}))?;
    } else {
        println!("{}", accepted.run_id);
    }
    Ok(ExitCode::SUCCESS)
}
