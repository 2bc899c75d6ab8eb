//! Errors the host reports to the API, and how they look on the wire.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// Field errors by field name, e.g. `{"service": ["Required"]}`.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Why a [`HostApi`](crate::HostApi) request failed. Each variant maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The task, run or app does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is wrong (400). `errors` holds per-field problems, e.g.
    /// `{"replicas": ["Should be a number"]}`.
    #[error("{message}")]
    Invalid {
        /// What is wrong, as a whole.
        message: String,
        /// Problems per field; may be empty.
        errors: FieldErrors,
    },
    /// The thing exists but is past what was asked, e.g. an input already answered (409).
    #[error("{0}")]
    Conflict(String),
    /// The host cannot do it right now, e.g. NATS is down (503).
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 without field errors.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Invalid {
            message: message.into(),
            errors: FieldErrors::new(),
        }
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every error response: `{"message": "...", "errors": {...}}`, `errors` left out
/// when there are none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong and, where possible, how to fix it.
    pub message: String,
    /// Problems per field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: FieldErrors,
}

impl ErrorBody {
    /// A body with a message only.
    pub fn new(message: impl Into<String>) -> Self {
        ErrorBody {
            message: message.into(),
            errors: FieldErrors::new(),
        }
    }
}

/// An error response: a status and an [`ErrorBody`].
pub(crate) fn error_response(status: StatusCode, body: ErrorBody) -> Response {
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The message may help an operator; the request body is never logged.
            tracing::warn!(status = status.as_u16(), error = %self, "hops.api request failed");
        }
        let body = match self {
            ApiError::Invalid { message, errors } => ErrorBody { message, errors },
            ApiError::NotFound(message)
            | ApiError::Conflict(message)
            | ApiError::Unavailable(message)
            | ApiError::Internal(message) => ErrorBody::new(message),
        };
        error_response(status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_field_errors_are_left_out() {
        let body = serde_json::to_value(ErrorBody::new("nope")).unwrap();
        assert_eq!(body, serde_json::json!({"message": "nope"}));
        assert_eq!(ApiError::invalid("x").status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ApiError::Unavailable("x".into()).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
