//! Run views for the API: the timeline of one run and the summary line of many, built from the
//! run's messages and an evaluation with the version the run is pinned to (nothing published).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hops_api::{CallStatus, CallView, PipelineView, RunStatus, RunView};
use hops_pipeline::{EvalContext, PipelineSet, PipelineStatus, evaluate};
use serde_json::Value;

pub use crate::presence::AppPresence;
use crate::run_record::{RunRecord, marker_error, marker_errored};

/// Builds the timeline of a run. `set` is the version the run is pinned to (when it could be
/// fetched); `presence` tells, per app with unfinished calls, whether anyone serves it.
///
/// A finished run is shown from what was recorded (its done markers) without evaluating
/// anything, so reading a run that blew its budget costs no more than reading its messages;
/// a run still going is evaluated once, under `ctx`'s budget, for its pipelines' states.
pub fn run_view(
    run_id: &str,
    record: &RunRecord,
    set: Option<&PipelineSet>,
    presence: &HashMap<String, AppPresence>,
    ctx: &EvalContext<'_>,
) -> RunView {
    let decisions = set
        .filter(|_| record.run_done.is_none())
        .and_then(|set| evaluate(set, record.bundle()?, ctx).ok());
    let calls = record
        .requests
        .iter()
        .map(|request| {
            let (pipeline, name) = split_call(set, &request.call);
            let result = record.results().get(&request.call);
            let status = match result {
                Some(result) if marker_errored(result) => CallStatus::Errored,
                Some(_) => CallStatus::Completed,
                None => match presence.get(&request.app) {
                    Some(AppPresence::Missing(_)) => CallStatus::Waiting,
                    _ => CallStatus::Pending,
                },
            };
            let time = |key: &str| -> Option<DateTime<Utc>> {
                let text = result?.pointer(&format!("/hops/{key}"))?.as_str()?;
                DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            };
            let started_at = time("started_at");
            let finished_at = time("finished_at");
            CallView {
                name,
                pipeline,
                app: request.app.clone(),
                handler: request.handler.clone(),
                status,
                inputs: request.inputs.clone(),
                result: result.and_then(result_value),
                error: result.and_then(marker_error),
                started_at,
                finished_at,
                duration_ms: match (started_at, finished_at) {
                    (Some(start), Some(end)) => {
                        u64::try_from((end - start).num_milliseconds()).ok()
                    }
                    _ => None,
                },
                waiting_for: match (status, presence.get(&request.app)) {
                    (CallStatus::Waiting, Some(AppPresence::Missing(why))) => Some(why.clone()),
                    _ => None,
                },
                attempts: result
                    .and_then(|r| r.pointer("/hops/attempts"))
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok()),
                previous_attempts: result
                    .and_then(|r| r.pointer("/hops/previous_attempts"))
                    .and_then(Value::as_array)
                    .map(|notes| {
                        notes
                            .iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let pipelines = match &decisions {
        Some(decisions) => decisions
            .pipelines
            .iter()
            .map(|p| PipelineView {
                name: p.name.clone(),
                status: run_status(p.status),
            })
            .collect(),
        None => {
            let mut done: Vec<PipelineView> = record
                .done()
                .iter()
                .map(|(name, marker)| PipelineView {
                    name: name.clone(),
                    status: if marker_errored(marker) {
                        RunStatus::Errored
                    } else {
                        RunStatus::Completed
                    },
                })
                .collect();
            done.sort_by(|a, b| a.name.cmp(&b.name));
            done
        }
    };
    RunView {
        run_id: run_id.to_owned(),
        status: match record.finished_errored() {
            Some(true) => RunStatus::Errored,
            Some(false) => RunStatus::Completed,
            None => RunStatus::Running,
        },
        event: record
            .event
            .clone()
            .unwrap_or_else(|| Value::String(record.event_error.clone().unwrap_or_default())),
        calls,
        pipelines,
        started_at: record.started_at.unwrap_or_else(Utc::now),
        finished_at: record.run_done.as_ref().map(|(_, at)| *at),
        error: record.run_error(),
    }
}

/// Maps a pipeline status to a run status.
pub fn run_status(status: PipelineStatus) -> RunStatus {
    match status {
        PipelineStatus::Running => RunStatus::Running,
        PipelineStatus::Completed => RunStatus::Completed,
        PipelineStatus::Errored => RunStatus::Errored,
    }
}

/// The pipeline slug and call name of a call slug, from the pipelines when they know it.
pub(crate) fn split_call(set: Option<&PipelineSet>, slug: &str) -> (String, String) {
    let found = set.and_then(|set| {
        set.ons.iter().find_map(|on| {
            on.calls
                .iter()
                .find(|c| c.slug == slug)
                .map(|c| (on.slug.clone(), c.name.clone()))
        })
    });
    found.unwrap_or_else(|| (String::new(), slug.to_owned()))
}

/// What a finished call returned: its JSON, else its text body.
fn result_value(result: &Value) -> Option<Value> {
    if marker_errored(result) {
        return None;
    }
    match result.get("json") {
        Some(json) if !json.is_null() => Some(json.clone()),
        _ => match result.get("body").and_then(Value::as_str) {
            Some(body) if !body.is_empty() => Some(Value::String(body.to_owned())),
            _ => None,
        },
    }
}
