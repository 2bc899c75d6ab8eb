//! Handlers of the JSON API, one module per resource, and the body parsing they share.

pub(crate) mod apps;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod inputs;
pub(crate) mod live;
pub(crate) mod metrics;
pub(crate) mod problems;
pub(crate) mod runs;
pub(crate) mod tasks;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde_json::{Map, Value};

use hops_core::json_type;

use crate::ApiError;
use crate::error::{ErrorBody, error_response};

/// An error answer of a handler: an [`ApiError`], or a body problem with its own status.
/// Boxed, so `Result`s of handlers stay small.
#[derive(Debug)]
pub(crate) struct Rejected(Box<Response>);

impl From<ApiError> for Rejected {
    fn from(err: ApiError) -> Self {
        Rejected(Box::new(err.into_response()))
    }
}

impl axum::response::IntoResponse for Rejected {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Reads a request body as a JSON object, with a message that says what was wrong: 413 when it
/// is over `limit`, 400 otherwise. `empty` is used when the body is empty (`None`: an empty
/// body is an error).
pub(crate) fn json_object(
    body: Result<Bytes, BytesRejection>,
    what: &str,
    empty: Option<Map<String, Value>>,
    limit: usize,
) -> Result<Map<String, Value>, Rejected> {
    let body =
        body.map_err(|rejection| Rejected(Box::new(body_rejected(&rejection, what, limit))))?;
    Ok(parse_object(&body, what, empty)?)
}

/// The answer to a body that could not be read: 413 naming the limit, or the rejection's status.
pub(crate) fn body_rejected(rejection: &BytesRejection, what: &str, limit: usize) -> Response {
    let status = rejection.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the {what} is too large; the limit is {limit} bytes")
    } else {
        format!("could not read the {what}: {}", rejection.body_text())
    };
    error_response(status, ErrorBody::new(message))
}

fn parse_object(
    body: &[u8],
    what: &str,
    empty: Option<Map<String, Value>>,
) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return empty.ok_or_else(|| {
            ApiError::invalid(format!(
                "the {what} is empty; send a JSON object, e.g. {{\"hops\": {{\"source\": \"me\", \"event\": \"deploy\"}}}}"
            ))
        });
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| ApiError::invalid(format!("the {what} is not valid JSON: {err}")))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(format!(
            "the {what} must be a JSON object, got {}",
            json_type(&other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &'static str) -> Result<Map<String, Value>, ApiError> {
        parse_object(body.as_bytes(), "event", None)
    }

    #[test]
    fn says_what_is_wrong_with_a_body() {
        let message = |body| parse(body).unwrap_err().to_string();
        assert!(message("").contains("the event is empty"));
        assert!(message("null").contains("must be a JSON object, got null"));
        assert!(message("[1]").contains("got an array"));
        assert!(message("{nope").contains("not valid JSON"));
        assert_eq!(parse(r#"{"a": 1}"#).unwrap()["a"], 1);
        let empty = json_object(Ok(Bytes::new()), "params", Some(Map::new()), 10).unwrap();
        let missing = json_object(Ok(Bytes::new()), "params", None, 10).unwrap_err();
        assert_eq!(missing.0.status(), StatusCode::BAD_REQUEST);
        assert!(empty.is_empty());
    }
}
