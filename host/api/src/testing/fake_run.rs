//! The runs of a [`FakeHost`](super::FakeHost): how a run looks after each fetch.

use chrono::{DateTime, Utc};
use hops_core::EventMeta;
use serde_json::{Value, json};

use crate::{CallStatus, CallView, PipelineView, RunStatus, RunSummary, RunView};

/// One run: its event, and how often it has been fetched.
#[derive(Debug)]
pub(super) struct FakeRun {
    pub(super) id: String,
    pub(super) event: Value,
    pub(super) meta: EventMeta,
    pub(super) started_at: DateTime<Utc>,
    /// Fetches answered so far.
    pub(super) polls: u32,
    /// Fetches still to answer 404.
    pub(super) hidden: u32,
}

impl FakeRun {
    fn final_status(&self) -> RunStatus {
        if self.event.get("fail") == Some(&Value::Bool(true)) {
            RunStatus::Errored
        } else {
            RunStatus::Completed
        }
    }

    pub(super) fn status(&self, polls_until_done: u32) -> RunStatus {
        if self.polls >= polls_until_done {
            self.final_status()
        } else {
            RunStatus::Running
        }
    }

    pub(super) fn inputs(&self) -> Value {
        let mut inputs = self.event.as_object().cloned().unwrap_or_default();
        inputs.remove("hops");
        Value::Object(inputs)
    }

    pub(super) fn view(&self, polls_until_done: u32) -> RunView {
        let status = self.status(polls_until_done);
        let finished_at = status
            .is_finished()
            .then(|| self.started_at + chrono::Duration::milliseconds(42));
        let first_done = self.polls >= 1;
        let mut calls = vec![call(
            "first",
            "echo",
            self.inputs(),
            if first_done {
                CallStatus::Completed
            } else {
                CallStatus::Pending
            },
            first_done.then(|| self.inputs()),
            None,
            self.started_at,
        )];
        calls.push(match status {
            RunStatus::Running => call(
                "second",
                "echo",
                json!({"step": 2}),
                CallStatus::Pending,
                None,
                None,
                self.started_at,
            ),
            RunStatus::Completed => call(
                "second",
                "echo",
                json!({"step": 2}),
                CallStatus::Completed,
                Some(json!({"ok": true})),
                None,
                self.started_at,
            ),
            RunStatus::Errored => call(
                "second",
                "echo",
                json!({"step": 2}),
                CallStatus::Errored,
                None,
                Some("boom: the fake failed this run".to_owned()),
                self.started_at,
            ),
        });
        if let Some(app) = self.event.get("waiting_app").and_then(Value::as_str) {
            let mut waiting = call(
                "notify",
                app,
                json!({}),
                CallStatus::Waiting,
                None,
                None,
                self.started_at,
            );
            waiting.waiting_for = Some(format!("app {app}: no worker serves it"));
            waiting.started_at = None;
            waiting.duration_ms = None;
            waiting.handler = "post".to_owned();
            calls.push(waiting);
        }
        RunView {
            run_id: self.id.clone(),
            status,
            event: self.event.clone(),
            calls,
            pipelines: vec![PipelineView {
                name: "main".to_owned(),
                status,
            }],
            started_at: self.started_at,
            finished_at,
            error: None,
        }
    }

    pub(super) fn summary(&self, polls_until_done: u32) -> RunSummary {
        let status = self.status(polls_until_done);
        RunSummary {
            run_id: self.id.clone(),
            status,
            source: self.meta.source.clone(),
            event: self.meta.event.clone(),
            action: self.meta.action.clone(),
            started_by: self
                .event
                .get("hops")
                .and_then(|hops| hops.get(hops_core::STARTED_BY))
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            started_at: self.started_at,
            finished_at: status
                .is_finished()
                .then(|| self.started_at + chrono::Duration::milliseconds(42)),
            error: None,
            pipelines: if status.is_finished() {
                vec!["main".to_owned()]
            } else {
                Vec::new()
            },
            sequence: None,
        }
    }
}

fn call(
    name: &str,
    app: &str,
    inputs: Value,
    status: CallStatus,
    result: Option<Value>,
    error: Option<String>,
    at: DateTime<Utc>,
) -> CallView {
    let finished = status.is_finished();
    CallView {
        name: name.to_owned(),
        pipeline: "main".to_owned(),
        app: app.to_owned(),
        handler: app.to_owned(),
        status,
        inputs,
        result,
        error,
        started_at: Some(at),
        finished_at: finished.then(|| at + chrono::Duration::milliseconds(12)),
        duration_ms: finished.then_some(12),
        waiting_for: None,
        attempts: finished.then_some(1),
        previous_attempts: Vec::new(),
    }
}
