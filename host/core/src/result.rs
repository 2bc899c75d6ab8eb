//! The result message a call (or a finished pipeline) leaves in the run.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::{CallError, CallOutput};

/// Body of `…notify.<run>.<call slug>` (a call result) and of `…notify.<run>.<on slug>.done`
/// (a pipeline's done marker). The shape is the original engine's, so pipelines written for it
/// read results the same way (`x.completed`, `x.json.id`, `x.status_code`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultMessage {
    /// Text result (empty when the result is structured).
    #[serde(default)]
    pub body: String,
    /// True when the call succeeded.
    pub completed: bool,
    /// Always true: the call has finished one way or the other.
    pub done: bool,
    /// True when the call failed.
    pub errored: bool,
    /// Response headers (HTTP-shaped apps only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Timing and error details.
    pub hops: ResultMeta,
    /// Structured result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// HTTP status (HTTP-shaped apps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Final URL (HTTP-shaped apps only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The `hops` object of a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultMeta {
    /// When the worker started the call (RFC 3339).
    #[serde(with = "rfc3339")]
    pub started_at: DateTime<Utc>,
    /// When the worker finished the call (RFC 3339).
    #[serde(with = "rfc3339")]
    pub finished_at: DateTime<Utc>,
    /// Why the call failed; absent when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many attempts the call took, when more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// How each earlier attempt ended, in order (`host lost during attempt 1`, or the retry
    /// the app asked for); empty for a call that took one attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_attempts: Vec<String>,
    /// The host's notes on how the result was made ([`CallOutput::notes`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Who answered, for a call to the built-in `input` app (the identity the API
    /// authenticated: a proxy-header user, `token`, or `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// On a run's done marker: the pipelines (`on` slugs) the run's event matched, so a run
    /// list can name them without reading the whole run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pipelines: Vec<String>,
}

impl ResultMessage {
    /// Builds the result of a finished call.
    pub fn from_outcome(
        outcome: &Result<CallOutput, CallError>,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
    ) -> Self {
        match outcome {
            Ok(output) => ResultMessage {
                body: output.body.clone(),
                completed: true,
                done: true,
                errored: false,
                headers: output.headers.clone(),
                hops: ResultMeta {
                    started_at,
                    finished_at,
                    error: None,
                    attempts: None,
                    previous_attempts: Vec::new(),
                    notes: output.notes.clone(),
                    answered_by: None,
                    pipelines: Vec::new(),
                },
                json: output.json.clone(),
                status_code: output.status_code,
                url: output.url.clone(),
            },
            Err(error) => ResultMessage::errored(error.message(), started_at, finished_at),
        }
    }

    /// An errored result with `message` as `hops.error`.
    pub fn errored(message: &str, started_at: DateTime<Utc>, finished_at: DateTime<Utc>) -> Self {
        ResultMessage {
            body: String::new(),
            completed: false,
            done: true,
            errored: true,
            headers: BTreeMap::new(),
            hops: ResultMeta {
                started_at,
                finished_at,
                error: Some(message.to_owned()),
                attempts: None,
                previous_attempts: Vec::new(),
                notes: Vec::new(),
                answered_by: None,
                pipelines: Vec::new(),
            },
            json: None,
            status_code: None,
            url: None,
        }
    }

    /// A pipeline's done marker: `json` carries the completed flag, as in the original engine.
    pub fn done_marker(errored: bool, error: Option<String>, at: DateTime<Utc>) -> Self {
        ResultMessage {
            body: String::new(),
            completed: !errored,
            done: true,
            errored,
            headers: BTreeMap::new(),
            hops: ResultMeta {
                started_at: at,
                finished_at: at,
                error: if errored {
                    Some(error.unwrap_or_else(|| "Pipeline errored".to_owned()))
                } else {
                    None
                },
                attempts: None,
                previous_attempts: Vec::new(),
                notes: Vec::new(),
                answered_by: None,
                pipelines: Vec::new(),
            },
            json: Some(serde_json::Value::Bool(!errored)),
            status_code: None,
            url: None,
        }
    }

    /// Serializes to the JSON bytes published on the bus.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings, bools, maps and JSON values cannot fail to serialize.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

mod rfc3339 {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_shape_matches_the_original() {
        let at = DateTime::parse_from_rfc3339("2024-04-25T10:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let ok = ResultMessage::from_outcome(
            &Ok(CallOutput::json(serde_json::json!({"id": 12}))),
            at,
            at,
        );
        let v: serde_json::Value = serde_json::from_slice(&ok.to_bytes()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"body": "", "completed": true, "done": true, "errored": false,
                "hops": {"started_at": "2024-04-25T10:00:00.123Z", "finished_at": "2024-04-25T10:00:00.123Z"},
                "json": {"id": 12}})
        );
        let back: ResultMessage = serde_json::from_value(v).unwrap();
        assert_eq!(back, ok);

        let err = ResultMessage::from_outcome(&Err(CallError::Reject("boom".into())), at, at);
        assert!(err.errored && !err.completed && err.done);
        assert_eq!(err.hops.error.as_deref(), Some("boom"));

        let done = ResultMessage::done_marker(true, None, at);
        assert_eq!(done.hops.error.as_deref(), Some("Pipeline errored"));
        assert_eq!(done.json, Some(serde_json::Value::Bool(false)));
    }
}
