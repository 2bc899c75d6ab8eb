//! What the API sends and receives: the JSON shapes of runs, calls, replays and tasks.
//!
//! Every type here is both `Serialize` (the server writes it) and `Deserialize` (the
//! [`ApiClient`](crate::ApiClient) reads it). Optional fields are written as `null` rather than
//! left out, so scripts see the same keys on every object; missing keys are accepted when reading.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The answer to anything that starts a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accepted {
    /// The run the request started (or, for a duplicate, had already started).
    pub run_id: String,
    /// True when the same event (same idempotency key) was sent before: no second run started.
    #[serde(default)]
    pub duplicate: bool,
}

/// Where a run, or one pipeline of a run, stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Still going: calls may be dispatched or waiting for results.
    Running,
    /// Ended well.
    Completed,
    /// Ended with an error (a call errored, a `done` block said so, or the run itself failed).
    Errored,
}

impl RunStatus {
    /// The lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Errored => "errored",
        }
    }

    /// True once the run (or pipeline) has ended, either way.
    pub fn is_finished(self) -> bool {
        self != RunStatus::Running
    }
}

/// One line of the run history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// Where the run stands.
    pub status: RunStatus,
    /// `hops.source` of the run's event.
    #[serde(default)]
    pub source: String,
    /// `hops.event` of the run's event.
    #[serde(default)]
    pub event: String,
    /// Who started the run through the API (`hops.started_by` of its event: the auth-proxy
    /// user, `token`, or `local`); `null` for runs from webhooks, schedules and apps.
    #[serde(default)]
    pub started_by: Option<String>,
    /// `hops.action` of the run's event (empty when it has none).
    #[serde(default)]
    pub action: String,
    /// When the event was published.
    pub started_at: DateTime<Utc>,
    /// When the last pipeline of the run ended.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The run-level error, if any.
    #[serde(default)]
    pub error: Option<String>,
    /// The pipelines (`on` slugs) the run's event matched; known once the run ended (empty
    /// while it runs, and for runs that ended before hosts recorded them).
    #[serde(default)]
    pub pipelines: Vec<String>,
    /// Where the run's event is in the stream: pass the last one of a page as `?before=` for
    /// the next page.
    #[serde(default)]
    pub sequence: Option<u64>,
}

/// Which runs `GET /api/runs` lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunQuery {
    /// At most this many, newest first.
    pub limit: usize,
    /// Only runs that stand so.
    pub status: Option<RunStatus>,
    /// Only runs of this task.
    pub task: Option<String>,
    /// Only runs whose event is before this stream sequence (the next page).
    pub before: Option<u64>,
}

impl RunQuery {
    /// Whether `run` is one this query asks for (the filters, not the paging).
    pub fn matches(&self, run: &RunSummary) -> bool {
        self.status.is_none_or(|s| s == run.status)
            && self
                .task
                .as_ref()
                .is_none_or(|t| run.event == "task" && run.action == *t)
    }
}

/// One run's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunView {
    /// Run id.
    pub run_id: String,
    /// Where the run stands.
    pub status: RunStatus,
    /// The source event, `hops` object included.
    pub event: Value,
    /// Every call of the run, in dispatch order.
    #[serde(default)]
    pub calls: Vec<CallView>,
    /// Every pipeline the event matched.
    #[serde(default)]
    pub pipelines: Vec<PipelineView>,
    /// When the event was published.
    pub started_at: DateTime<Utc>,
    /// When the last pipeline of the run ended.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The run-level error (not a call's error), e.g. a pipeline that could not be evaluated.
    #[serde(default)]
    pub error: Option<String>,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallStatus {
    /// Dispatched, no result yet.
    Pending,
    /// Dispatched, and waiting: no worker serves its app right now (it runs once one does),
    /// or it is an input waiting for a person's answer. `waiting_for` says which.
    Waiting,
    /// The app returned a result.
    Completed,
    /// The app failed, timed out, or ran out of retries.
    Errored,
}

impl CallStatus {
    /// The lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Pending => "pending",
            CallStatus::Waiting => "waiting",
            CallStatus::Completed => "completed",
            CallStatus::Errored => "errored",
        }
    }

    /// True once the call has a result.
    pub fn is_finished(self) -> bool {
        matches!(self, CallStatus::Completed | CallStatus::Errored)
    }
}

/// One call of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallView {
    /// The call's name inside its pipeline.
    pub name: String,
    /// The slug of the pipeline that made the call.
    pub pipeline: String,
    /// The app it went to.
    pub app: String,
    /// The app's handler.
    pub handler: String,
    /// Where it stands.
    pub status: CallStatus,
    /// The inputs it was dispatched with.
    #[serde(default)]
    pub inputs: Value,
    /// The result's JSON, or the body text as a JSON string when it is not JSON.
    #[serde(default)]
    pub result: Option<Value>,
    /// The error, when it errored.
    #[serde(default)]
    pub error: Option<String>,
    /// When a worker started it.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When its result was published.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// How long the app took.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Why it is not running yet, e.g. `app slack: no worker serves it`.
    #[serde(default)]
    pub waiting_for: Option<String>,
    /// How many attempts were made (with `retry`, or after a lost host).
    #[serde(default)]
    pub attempts: Option<u32>,
    /// How each earlier attempt ended (`host lost during attempt 1`, a retry the app asked for).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_attempts: Vec<String>,
}

/// One pipeline (`on` block) of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PipelineView {
    /// The pipeline's slug.
    pub name: String,
    /// Where it stands.
    pub status: RunStatus,
}

/// What a purge of ended runs removed, or on a dry run would remove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PurgeReport {
    /// True when nothing was removed.
    pub dry_run: bool,
    /// Runs that ended before this time were purged; runs still going never are.
    pub cutoff: DateTime<Utc>,
    /// How many runs were (or would be) purged.
    pub runs: usize,
    /// How many stream messages went (0 on a dry run).
    pub messages: u64,
}

/// What a replay did, or on a dry run would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplayOutcome {
    /// True when nothing was published.
    pub dry_run: bool,
    /// The new run; `None` on a dry run.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The calls the current pipelines dispatch first for the run's event.
    #[serde(default)]
    pub calls: Vec<PlannedCall>,
    /// The pipelines the event matches and where they stand after the first evaluation.
    #[serde(default)]
    pub pipelines: Vec<PipelineView>,
    /// Problems found while evaluating (one broken pipeline does not stop the others).
    #[serde(default)]
    pub diagnostics: Vec<String>,
}

/// A call a replay dispatches (or would dispatch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedCall {
    /// The slug of the pipeline making the call.
    pub pipeline: String,
    /// The call's name inside its pipeline.
    pub name: String,
    /// The app.
    pub app: String,
    /// The handler.
    pub handler: String,
    /// The evaluated inputs.
    #[serde(default)]
    pub inputs: Value,
}

/// `GET /ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Readiness {
    /// True when the host can take work.
    pub ready: bool,
    /// Why not, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An open input: a call to the built-in `input` app waiting for a person's answer
/// (`GET /api/inputs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InputView {
    /// The run that waits.
    pub run_id: String,
    /// The call's name inside its pipeline (as in the run's timeline); answer it by this name.
    pub call: String,
    /// The pipeline the call belongs to (empty when the pipelines no longer know it).
    #[serde(default)]
    pub pipeline: String,
    /// The call's slug, which names it uniquely within the run.
    pub slug: String,
    /// What people are asked.
    pub prompt: String,
    /// What they answer: params with the shape and checks of task params.
    #[serde(default)]
    pub params: Vec<ParamInfo>,
    /// When the call was taken.
    pub asked_at: DateTime<Utc>,
    /// When it ends errored if nobody answers; `null`: it waits as long as it takes.
    #[serde(default)]
    pub deadline_at: Option<DateTime<Utc>>,
}

/// The answer to an input, as stored (`POST /api/runs/{id}/inputs/{call}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answered {
    /// The run that goes on.
    pub run_id: String,
    /// The call's name.
    pub call: String,
    /// The values, defaults applied: the call's result `json`.
    pub answer: Value,
    /// Who answered (`hops.answered_by` of the result).
    pub answered_by: String,
}

/// A task as `GET /api/tasks` lists it, read back by the client.
///
/// The server writes [`hops_pipeline::Task`]; this is its wire shape, kept separate so the client
/// does not depend on the pipeline model's internals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskInfo {
    /// Label, used in `hops run <name>` and `POST /api/tasks/<name>/runs`.
    pub name: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Summary.
    #[serde(default)]
    pub summary: String,
    /// Emoji.
    #[serde(default)]
    pub emoji: String,
    /// Parameters in order.
    #[serde(default)]
    pub params: Vec<ParamInfo>,
    /// The file that defines it.
    #[serde(default)]
    pub filepath: String,
}

/// A task parameter as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ParamInfo {
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type", default)]
    pub kind: ParamKind,
    /// Whether a value must be given (when there is no default).
    #[serde(default)]
    pub required: bool,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Help text.
    #[serde(default)]
    pub help: String,
}

/// A parameter's type as the API lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// One-line string.
    #[default]
    String,
    /// Multi-line string.
    Text,
    /// Number.
    Number,
    /// Boolean.
    Bool,
    /// A type this client does not know (a newer host); values are sent as strings.
    #[serde(other)]
    Other,
}

impl From<hops_pipeline::ParamType> for ParamKind {
    fn from(kind: hops_pipeline::ParamType) -> Self {
        match kind {
            hops_pipeline::ParamType::String => ParamKind::String,
            hops_pipeline::ParamType::Text => ParamKind::Text,
            hops_pipeline::ParamType::Number => ParamKind::Number,
            hops_pipeline::ParamType::Bool => ParamKind::Bool,
        }
    }
}

impl ParamKind {
    /// The lowercase name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::String => "string",
            ParamKind::Text => "text",
            ParamKind::Number => "number",
            ParamKind::Bool => "bool",
            ParamKind::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_fields_are_written_as_null_and_may_be_missing_when_read() {
        let call = CallView {
            name: "compose".into(),
            pipeline: "hello".into(),
            app: "echo".into(),
            handler: "echo".into(),
            status: CallStatus::Waiting,
            inputs: json!({"a": 1}),
            result: None,
            error: None,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            waiting_for: Some("app echo: no worker serves it".into()),
            attempts: None,
            previous_attempts: Vec::new(),
        };
        let value = serde_json::to_value(&call).unwrap();
        assert_eq!(value["status"], "waiting");
        assert!(value.as_object().unwrap().contains_key("result"));
        assert_eq!(value["result"], Value::Null);
        let back: CallView = serde_json::from_value(json!({
            "name": "x", "pipeline": "p", "app": "a", "handler": "h", "status": "completed"
        }))
        .unwrap();
        assert_eq!(back.status, CallStatus::Completed);
        assert_eq!(back.result, None);
    }

    #[test]
    fn task_info_reads_the_pipeline_model() {
        let set = hops_pipeline::PipelineSet::from_files(
            [(
                "a/main.hops".to_owned(),
                b"task restart {\n  param service {\n    required = true\n  }\n  param replicas {\n    type    = \"number\"\n    default = 2\n  }\n}\n".to_vec(),
            )]
            .into(),
        );
        let written = serde_json::to_value(&set.tasks).unwrap();
        let tasks: Vec<TaskInfo> = serde_json::from_value(written).unwrap();
        assert_eq!(tasks[0].name, "restart");
        assert_eq!(tasks[0].params[0].kind, ParamKind::String);
        assert!(tasks[0].params[0].required);
        assert_eq!(tasks[0].params[1].kind, ParamKind::Number);
        assert_eq!(tasks[0].params[1].default, Some(json!(2)));
        let other: ParamInfo =
            serde_json::from_value(json!({"name": "x", "type": "date"})).unwrap();
        assert_eq!(other.kind, ParamKind::Other);
    }
}
