//! A call to an app handler and what comes back from it.

use std::collections::BTreeMap;
use std::time::Duration;

/// One call of `call "<app>_<handler>"`, as delivered to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRequest {
    /// The run (hops: sequence) this call belongs to.
    pub run_id: String,
    /// The call's slug: `<on slug>-<call name>`, unique within the run.
    pub call_id: String,
    /// App name (the call label before its first underscore).
    pub app: String,
    /// Handler name (the call label after its first underscore).
    pub handler: String,
    /// The evaluated `inputs` as JSON text; `null` when the pipeline gave none.
    pub inputs: String,
    /// 1-based delivery attempt of this request.
    pub attempt: u32,
    /// Per-call timeout from the pipeline, if it set one; workers apply their own default otherwise.
    pub timeout: Option<Duration>,
    /// How many emitted events led to this run: 0 for a run started from outside (a webhook,
    /// the API, a schedule). An event an app emits during this call starts a run one deeper,
    /// which is how a pipeline that re-triggers itself is stopped.
    pub depth: u32,
}

impl CallRequest {
    /// Parses [`CallRequest::inputs`] as JSON; invalid text becomes `null`.
    pub fn inputs_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.inputs).unwrap_or(serde_json::Value::Null)
    }
}

/// The successful result of a call.
///
/// A plain value goes to the result's `json` field, text to `body`; the HTTP-shaped fields are
/// for apps that talk HTTP (the `http` app) and are omitted from the result when empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallOutput {
    /// Structured result, reachable in pipelines as `<call>.json`.
    pub json: Option<serde_json::Value>,
    /// Text result, reachable as `<call>.body`.
    pub body: String,
    /// HTTP status of the response the app received, if any.
    pub status_code: Option<u16>,
    /// Response headers, if any.
    pub headers: BTreeMap<String, String>,
    /// Final URL after redirects, if any.
    pub url: Option<String>,
    /// What the host wants whoever reads the result to know about how it was made (e.g. it
    /// was served by an app's previous version because the new one failed to load).
    pub notes: Vec<String>,
}

impl CallOutput {
    /// A structured result.
    pub fn json(value: serde_json::Value) -> Self {
        CallOutput {
            json: Some(value),
            ..CallOutput::default()
        }
    }

    /// A text result.
    pub fn text(body: impl Into<String>) -> Self {
        CallOutput {
            body: body.into(),
            ..CallOutput::default()
        }
    }
}

/// Why a call did not produce an output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The call failed for good: an errored result is published and the request is not redelivered.
    #[error("{0}")]
    Reject(String),
    /// The call failed for now: the request is redelivered after `backoff` while the call's retry
    /// budget lasts, then it ends as an errored result carrying `message`.
    #[error("{message}")]
    Retry {
        /// What went wrong, shown in the final errored result.
        message: String,
        /// How long to wait before the next attempt; the pipeline's backoff applies when `None`.
        backoff: Option<Duration>,
    },
}

impl CallError {
    /// The human-readable message of either variant.
    pub fn message(&self) -> &str {
        match self {
            CallError::Reject(message) | CallError::Retry { message, .. } => message,
        }
    }
}
