//! Source events: the JSON object that starts a run.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The key of an event's `hops` object that says who started its run through the API (the
/// auth-proxy user, `token`, or `local`).
pub const STARTED_BY: &str = "started_by";

/// The `hops` metadata object every source event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    /// Who produced the event (`github`, `hiphops` for tasks and schedules, …).
    pub source: String,
    /// The event name, matched against `on "<event>"` and `on "<event>_<action>"`.
    pub event: String,
    /// The action, if the event has one.
    #[serde(default)]
    pub action: String,
}

impl EventMeta {
    /// Reads and validates the `hops` object of an event without copying the event.
    pub fn of(value: &Value) -> Result<Self, EventError> {
        let Value::Object(payload) = value else {
            return Err(EventError::NotAnObject(json_type(value)));
        };
        let hops = match payload.get("hops") {
            Some(Value::Object(hops)) => hops,
            Some(other) => {
                return Err(EventError::BadMeta(format!(
                    "`hops` is {}, not an object",
                    json_type(other)
                )));
            }
            None => return Err(EventError::BadMeta("`hops` is missing".to_owned())),
        };
        let text = |key: &str, required: bool| -> Result<String, EventError> {
            match hops.get(key) {
                Some(Value::String(s)) if !(required && s.is_empty()) => Ok(s.clone()),
                Some(Value::String(_)) => {
                    Err(EventError::BadMeta(format!("`hops.{key}` is empty")))
                }
                None | Some(Value::Null) if !required => Ok(String::new()),
                None | Some(Value::Null) => {
                    Err(EventError::BadMeta(format!("`hops.{key}` is missing")))
                }
                Some(other) => Err(EventError::BadMeta(format!(
                    "`hops.{key}` is {}, not a string",
                    json_type(other)
                ))),
            }
        };
        Ok(EventMeta {
            source: text("source", false)?,
            event: text("event", true)?,
            action: text("action", false)?,
        })
    }
}

/// Why a payload is not a usable source event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not JSON at all.
    #[error("event is not valid JSON: {0}")]
    InvalidJson(String),
    /// JSON, but not an object.
    #[error("event must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// The `hops` object is missing or malformed.
    #[error(
        "event has no usable `hops` object: {0}; add e.g. \"hops\": {{\"source\": \"me\", \"event\": \"deploy\", \"action\": \"started\"}}"
    )]
    BadMeta(String),
}

/// A validated source event: a JSON object with a well-formed `hops` object.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEvent {
    payload: Map<String, Value>,
    meta: EventMeta,
}

impl SourceEvent {
    /// Builds an event from a payload object and metadata, replacing any `hops` key in `payload`.
    pub fn new(mut payload: Map<String, Value>, meta: EventMeta) -> Self {
        let hops =
            serde_json::json!({"source": meta.source, "event": meta.event, "action": meta.action});
        payload.insert("hops".to_owned(), hops);
        SourceEvent { payload, meta }
    }

    /// Parses and validates JSON bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EventError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| EventError::InvalidJson(e.to_string()))?;
        Self::from_value(value)
    }

    /// Validates a JSON value: an object whose `hops.event` is a non-empty string and whose
    /// `hops.source`/`hops.action`, when present, are strings.
    pub fn from_value(value: Value) -> Result<Self, EventError> {
        let meta = EventMeta::of(&value)?;
        let Value::Object(payload) = value else {
            return Err(EventError::NotAnObject(json_type(&value)));
        };
        Ok(SourceEvent { payload, meta })
    }

    /// Marks the event as emitted during a call of run `parent`, `depth` emitted events away
    /// from an outside event (`hops.parent`, `hops.depth`).
    pub fn emitted_from(mut self, parent: &str, depth: u32) -> Self {
        if let Some(Value::Object(hops)) = self.payload.get_mut("hops") {
            hops.insert("parent".to_owned(), Value::String(parent.to_owned()));
            hops.insert("depth".to_owned(), Value::from(depth));
        }
        self
    }

    /// Records who started the run (`hops.started_by`), as the API authenticated them.
    pub fn started_by(mut self, by: &str) -> Self {
        if let Some(Value::Object(hops)) = self.payload.get_mut("hops") {
            hops.insert(STARTED_BY.to_owned(), Value::String(by.to_owned()));
        }
        self
    }

    /// How many emitted events led to this one (`hops.depth`; 0 for an outside event).
    pub fn depth(&self) -> u32 {
        self.payload
            .get("hops")
            .and_then(|h| h.get("depth"))
            .and_then(Value::as_u64)
            .map_or(0, |d| u32::try_from(d).unwrap_or(u32::MAX))
    }

    /// The event's metadata.
    pub fn meta(&self) -> &EventMeta {
        &self.meta
    }

    /// The whole event object, `hops` included.
    pub fn payload(&self) -> &Map<String, Value> {
        &self.payload
    }

    /// The event as JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.payload).unwrap_or_default()
    }

    /// A run id that is the same whenever the same delivery arrives again: a UUID v5 over
    /// `dedup_key` (for listeners: the upstream delivery id) or, without one, over the payload.
    pub fn stable_run_id(&self, dedup_key: Option<&str>) -> String {
        let bytes = match dedup_key {
            Some(key) => format!("{}:{key}", self.meta.source).into_bytes(),
            None => self.to_bytes(),
        };
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, &bytes).to_string()
    }

    /// A fresh random run id, for runs that must never be de-duplicated (manual task runs).
    pub fn fresh_run_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A JSON value's type as people say it (`a number`, `an object`), for error messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_well_formed_events() {
        let ev = SourceEvent::from_value(json!({"n": 7, "hops": {"source": "github", "event": "pullrequest", "action": "opened"}})).unwrap();
        assert_eq!(ev.meta().event, "pullrequest");
        assert_eq!(ev.meta().action, "opened");
        let no_action = SourceEvent::from_value(json!({"hops": {"event": "ping"}})).unwrap();
        assert_eq!(no_action.meta().action, "");
    }

    #[test]
    fn rejects_malformed_events_with_a_reason() {
        let cases = [
            (json!([1]), "must be a JSON object"),
            (json!({"a": 1}), "`hops` is missing"),
            (json!({"hops": "x"}), "not an object"),
            (json!({"hops": {"source": "s"}}), "`hops.event` is missing"),
            (json!({"hops": {"event": 3}}), "`hops.event` is a number"),
            (json!({"hops": {"event": ""}}), "`hops.event` is empty"),
            (
                json!({"hops": {"event": "e", "action": true}}),
                "`hops.action` is a boolean",
            ),
        ];
        for (value, expected) in cases {
            let err = SourceEvent::from_value(value.clone())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{value}: {err}");
        }
        assert!(matches!(
            SourceEvent::from_slice(b"{nope"),
            Err(EventError::InvalidJson(_))
        ));
    }

    #[test]
    fn stable_run_ids_repeat_and_fresh_ones_do_not() {
        let ev = SourceEvent::new(
            Map::new(),
            EventMeta {
                source: "github".into(),
                event: "push".into(),
                action: String::new(),
            },
        );
        assert_eq!(ev.stable_run_id(Some("d1")), ev.stable_run_id(Some("d1")));
        assert_ne!(ev.stable_run_id(Some("d1")), ev.stable_run_id(Some("d2")));
        assert_eq!(ev.stable_run_id(None), ev.stable_run_id(None));
        assert_ne!(SourceEvent::fresh_run_id(), SourceEvent::fresh_run_id());
    }

    #[test]
    fn emitted_events_carry_their_parent_and_depth() {
        let ev = SourceEvent::from_value(json!({"hops": {"event": "ping"}})).unwrap();
        assert_eq!(ev.depth(), 0);
        let child = ev.emitted_from("run-1", 3);
        assert_eq!(child.depth(), 3);
        assert_eq!(child.payload()["hops"]["parent"], "run-1");
        assert_eq!(child.meta().event, "ping");
    }
}
