//! Following a run until it ends: polling its timeline and reporting calls as they change.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hops_api::{ApiClient, CallStatus, CallView, RunStatus, RunView};
use serde_json::json;

use crate::commands::remote::{EXIT_TIMEOUT, exit_for, print_json};
use crate::commands::timeline;
use crate::output::Style;

/// First pause between polls; it grows to [`MAX_INTERVAL`] while the run goes on.
const FIRST_INTERVAL: Duration = Duration::from_millis(50);
/// Longest pause between polls.
const MAX_INTERVAL: Duration = Duration::from_millis(500);
/// How long a just-started run may still be unknown to the host before that is an error.
const NOT_FOUND_GRACE: Duration = Duration::from_secs(10);

/// How a follow ended.
pub enum Followed {
    /// The run ended; its final timeline.
    Ended(RunView),
    /// `--timeout` passed first.
    TimedOut,
}

/// Polls run `run_id` until it is no longer running, handing every timeline to `on_view`.
/// `just_started`: tolerate 404 for a moment, because the host may not have indexed the run yet.
pub async fn follow(
    client: &ApiClient,
    run_id: &str,
    timeout: Option<Duration>,
    just_started: bool,
    mut on_view: impl FnMut(&RunView),
) -> anyhow::Result<Followed> {
    let started = Instant::now();
    let mut interval = FIRST_INTERVAL;
    loop {
        match client.run(run_id).await {
            Ok(view) => {
                on_view(&view);
                if view.status.is_finished() {
                    return Ok(Followed::Ended(view));
                }
            }
            Err(err)
                if err.is_not_found() && just_started && started.elapsed() < NOT_FOUND_GRACE => {}
            Err(err) => {
                return Err(err).with_context(|| format!("cannot follow run {run_id}"));
            }
        }
        if timeout.is_some_and(|limit| started.elapsed() >= limit) {
            return Ok(Followed::TimedOut);
        }
        let pause = match timeout {
            Some(limit) => interval.min(limit.saturating_sub(started.elapsed())),
            None => interval,
        };
        tokio::time::sleep(pause).await;
        interval = (interval * 3 / 2).min(MAX_INTERVAL);
    }
}

/// Remembers each call's last status to report only what changed.
#[derive(Debug, Default)]
pub struct CallTracker {
    seen: HashMap<(String, String), CallStatus>,
}

impl CallTracker {
    /// Records the calls of `view` without reporting them (they were printed already).
    pub fn prime(&mut self, view: &RunView) {
        self.changes(view, |_| true);
    }

    /// Calls that are new or changed since the last view and pass `report`.
    pub fn changes<'v>(
        &mut self,
        view: &'v RunView,
        report: impl Fn(CallStatus) -> bool,
    ) -> Vec<&'v CallView> {
        view.calls
            .iter()
            .filter(|call| {
                let key = (call.pipeline.clone(), call.name.clone());
                let changed = self.seen.insert(key, call.status) != Some(call.status);
                changed && report(call.status)
            })
            .collect()
    }
}

/// Prints a call as it changed, with its error when it errored.
pub fn print_call(call: &CallView, style: Style) {
    println!("{}", timeline::call_line(call, style));
    if let Some(error) = &call.error {
        println!(
            "      {}  {error}",
            style.paint("error", crate::output::Color::Red)
        );
    }
}

/// `--wait`: follows a run just started; prints calls as they finish (or start waiting for a
/// worker) and the outcome, or with `json` only `{"run_id", "status"}` at the end.
/// Exit 0 completed, 1 errored, 3 timed out.
pub async fn wait_for_run(
    client: &ApiClient,
    run_id: &str,
    timeout: Option<Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let style = Style::stdout();
    if !json {
        println!(
            "{} {run_id}",
            style.paint("run", crate::output::Color::Bold)
        );
    }
    let mut tracker = CallTracker::default();
    let followed = follow(client, run_id, timeout, true, |view| {
        if json {
            return;
        }
        let report = |status: CallStatus| status != CallStatus::Pending;
        for call in tracker.changes(view, report) {
            print_call(call, style);
        }
    })
    .await?;
    match followed {
        Followed::Ended(view) => {
            if json {
                // Everything a script needs to react without a second command: the run's
                // reasons and each call's outcome.
                let calls: Vec<_> = view
                    .calls
                    .iter()
                    .map(|c| {
                        json!({
                            "pipeline": c.pipeline,
                            "name": c.name,
                            "app": c.app,
                            "handler": c.handler,
                            "status": c.status,
                            "error": c.error,
                            "attempts": c.attempts,
                        })
                    })
                    .collect();
                print_json(&json!({
                    "run_id": run_id,
                    "status": view.status,
                    "error": view.error,
                    "calls": calls,
                }))?;
            } else {
                println!("{}", timeline::run_header(&view, style));
                if let Some(error) = &view.error {
                    println!(
                        "{}   {error}",
                        style.paint("error", crate::output::Color::Red)
                    );
                }
            }
            Ok(exit_for(view.status))
        }
        Followed::TimedOut => {
            if json {
                print_json(&json!({"run_id": run_id, "status": RunStatus::Running}))?;
            }
            eprintln!(
                "{} timed out after {} waiting for run {run_id}; it is still running — see `hops runs show {run_id} --follow`",
                crate::output::error_label(),
                humantime::format_duration(timeout.unwrap_or_default())
            );
            Ok(ExitCode::from(EXIT_TIMEOUT))
        }
    }
}
