//! A run as stored on the bus, turned into what the evaluator and the run views need.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hops_bus::{RunMessage, SubjectKind};
use hops_pipeline::RunBundle;
use serde_json::Value;

/// The pipeline slug of the run-level done marker (`notify.<run>.hops.done`). `hops` is a
/// reserved pipeline name, so it cannot clash with a pipeline's own marker.
pub const RUN_MARKER: &str = "hops";

/// One call request of a run.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// Call slug.
    pub call: String,
    /// App.
    pub app: String,
    /// Handler.
    pub handler: String,
    /// Inputs as sent (`null` when the pipeline gave none or they are not JSON).
    pub inputs: Value,
    /// When it was published.
    pub published: DateTime<Utc>,
}

/// Everything stored about one run.
///
/// The evaluator's view (pin, results, requested calls, pipeline done markers) is kept as a
/// [`RunBundle`] that grows with each message, so evaluating a run after a new message costs
/// no copy of everything read before it.
#[derive(Debug, Clone, Default)]
pub struct RunRecord {
    /// The source event's JSON, when it parsed; see [`RunRecord::event_error`].
    pub event: Option<Value>,
    /// Why the stored event is not JSON.
    pub event_error: Option<String>,
    /// When the event was published.
    pub started_at: Option<DateTime<Utc>>,
    /// Call requests in publish order.
    pub requests: Vec<RequestRecord>,
    /// Pin, results by call slug, requested calls and pipeline done markers by slug.
    view: RunBundle,
    /// The run-level done marker and when it was published.
    pub run_done: Option<(Value, DateTime<Utc>)>,
    /// Why earlier attempts of a call ended without a result, by call slug, in attempt order.
    pub attempts: HashMap<String, Vec<(u32, Value)>>,
    /// Stream sequence of the last message read.
    pub last_sequence: u64,
}

impl RunRecord {
    /// Builds the record from a run's messages (as read by `Bus::read_run`).
    pub fn from_messages(messages: &[RunMessage]) -> RunRecord {
        let mut record = RunRecord::default();
        record.extend(messages);
        record
    }

    /// Adds messages read after the ones already in the record.
    pub fn extend(&mut self, messages: &[RunMessage]) {
        for message in messages {
            self.last_sequence = self.last_sequence.max(message.stream_sequence);
            let json = || serde_json::from_slice::<Value>(&message.payload);
            match &message.subject.kind {
                SubjectKind::Event => {
                    self.started_at = Some(message.published);
                    match json() {
                        Ok(value) => {
                            self.view.event = value.clone();
                            self.event = Some(value);
                        }
                        Err(err) => {
                            self.event_error = Some(format!("the event is not JSON: {err}"))
                        }
                    }
                }
                SubjectKind::Pin => {
                    self.view.pin = serde_json::from_slice::<String>(&message.payload).ok();
                }
                SubjectKind::Result { call } => {
                    let value = json().unwrap_or_else(|err| {
                        serde_json::json!({"errored": true, "completed": false, "done": true,
                            "hops": {"error": format!("unreadable result: {err}")}})
                    });
                    self.view.requested.insert(call.clone());
                    self.view.results.insert(call.clone(), value);
                }
                SubjectKind::Done { on } if on == RUN_MARKER => {
                    self.run_done = Some((json().unwrap_or(Value::Null), message.published));
                }
                SubjectKind::Done { on } => {
                    self.view
                        .done
                        .insert(on.clone(), json().unwrap_or(Value::Null));
                }
                // The runner's own watch of a call whose app nobody served yet.
                SubjectKind::Wait { .. } => {}
                SubjectKind::Attempt { call, attempt } => {
                    let entry = self.attempts.entry(call.clone()).or_default();
                    entry.push((*attempt, json().unwrap_or(Value::Null)));
                    entry.sort_by_key(|(n, _)| *n);
                }
                SubjectKind::Request { call, app, handler } => {
                    self.view.requested.insert(call.clone());
                    self.requests.push(RequestRecord {
                        call: call.clone(),
                        app: app.clone(),
                        handler: handler.clone(),
                        inputs: json().unwrap_or(Value::Null),
                        published: message.published,
                    });
                }
            }
        }
    }

    /// The evaluator's view of the run; `None` without a parsed event.
    pub fn bundle(&self) -> Option<&RunBundle> {
        self.event.as_ref().map(|_| &self.view)
    }

    /// The pinned pipeline version.
    pub fn pin(&self) -> Option<&str> {
        self.view.pin.as_deref()
    }

    /// Records the version the run is pinned to (as just published or found).
    pub fn set_pin(&mut self, pin: &str) {
        self.view.pin = Some(pin.to_owned());
    }

    /// Records that a call is requested (the runner published its request, or found it
    /// published), so evaluations wait for its result instead of requesting it again.
    pub fn note_requested(&mut self, call: &str) {
        if !self.view.requested.contains(call) {
            self.view.requested.insert(call.to_owned());
        }
    }

    /// Calls requested whose result the record does not have.
    pub fn awaiting(&self) -> impl Iterator<Item = &str> {
        self.view
            .requested
            .iter()
            .filter(|call| !self.view.results.contains_key(*call))
            .map(String::as_str)
    }

    /// Results by call slug.
    pub fn results(&self) -> &HashMap<String, Value> {
        &self.view.results
    }

    /// Pipeline done markers by pipeline slug.
    pub fn done(&self) -> &HashMap<String, Value> {
        &self.view.done
    }

    /// The run's final status from its run-level marker: `Some(true)` errored, `Some(false)`
    /// completed, `None` still running.
    pub fn finished_errored(&self) -> Option<bool> {
        self.run_done
            .as_ref()
            .map(|(marker, _)| marker_errored(marker))
    }

    /// How many emitted events led to this run (`hops.depth` of its event; 0 when absent).
    pub fn depth(&self) -> u32 {
        self.event
            .as_ref()
            .and_then(|e| e.pointer("/hops/depth"))
            .and_then(Value::as_u64)
            .map_or(0, |d| u32::try_from(d).unwrap_or(u32::MAX))
    }

    /// The error recorded on the run-level marker.
    pub fn run_error(&self) -> Option<String> {
        self.run_done
            .as_ref()
            .and_then(|(marker, _)| marker_error(marker))
    }
}

/// True when a done marker or result says errored.
pub fn marker_errored(marker: &Value) -> bool {
    marker
        .get("errored")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// `hops.error` of a marker or result.
pub fn marker_error(marker: &Value) -> Option<String> {
    marker
        .pointer("/hops/error")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hops_bus::ParsedSubject;
    use serde_json::json;

    fn message(seq: u64, kind: SubjectKind, payload: &str) -> RunMessage {
        RunMessage {
            subject: ParsedSubject {
                run_id: "r1".into(),
                kind,
            },
            payload: Bytes::from(payload.to_owned()),
            headers: None,
            stream_sequence: seq,
            published: Utc::now(),
        }
    }

    #[test]
    fn messages_become_a_bundle_with_requests_results_and_markers() {
        let record = RunRecord::from_messages(&[
            message(
                1,
                SubjectKind::Event,
                r#"{"hops":{"source":"s","event":"e"}}"#,
            ),
            message(2, SubjectKind::Pin, r#""abc""#),
            message(
                3,
                SubjectKind::Request {
                    call: "p-a".into(),
                    app: "echo".into(),
                    handler: "echo".into(),
                },
                r#"{"x":1}"#,
            ),
            message(
                4,
                SubjectKind::Request {
                    call: "p-b".into(),
                    app: "echo".into(),
                    handler: "echo".into(),
                },
                "",
            ),
            message(
                5,
                SubjectKind::Result { call: "p-a".into() },
                r#"{"completed":true,"errored":false}"#,
            ),
            message(
                6,
                SubjectKind::Done { on: "p".into() },
                r#"{"errored":false}"#,
            ),
            message(
                7,
                SubjectKind::Done {
                    on: RUN_MARKER.into(),
                },
                r#"{"errored":true,"hops":{"error":"boom"}}"#,
            ),
        ]);
        let bundle = record.bundle().unwrap();
        assert_eq!(bundle.pin.as_deref(), Some("abc"));
        assert_eq!(bundle.requested.len(), 2);
        assert_eq!(bundle.results["p-a"]["completed"], json!(true));
        assert!(bundle.done.contains_key("p"));
        assert!(!bundle.done.contains_key(RUN_MARKER));
        assert_eq!(record.requests[0].inputs, json!({"x": 1}));
        assert_eq!(record.requests[1].inputs, Value::Null);
        assert_eq!(record.finished_errored(), Some(true));
        assert_eq!(record.run_error().as_deref(), Some("boom"));
        assert_eq!(record.last_sequence, 7);
    }

    #[test]
    fn an_event_that_is_not_json_is_reported() {
        let record = RunRecord::from_messages(&[message(1, SubjectKind::Event, "{nope")]);
        assert!(record.bundle().is_none());
        assert!(record.event_error.unwrap().contains("not JSON"));
    }
}
