//! `/listen/{app}/...`: webhooks handed to listener apps, their answers passed back unchanged.
//!
//! No bearer token here: listeners verify their senders themselves (e.g. GitHub's HMAC).

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hops_core::{WebhookRequest, WebhookResponse};
use serde::Deserialize;

use crate::ApiError;
use crate::router::AppState;
use crate::routes::body_rejected;

/// The path parameters of the three `/listen` routes (the tail is read from the URI).
#[derive(Debug, Deserialize)]
pub(crate) struct ListenPath {
    app: String,
}

/// Hands the request to listener `app` and answers with what it returned.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    Path(ListenPath { app }): Path<ListenPath>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return body_rejected(&rejection, "webhook body", state.config.body_limit);
        }
    };
    let request = WebhookRequest {
        method: method.as_str().to_ascii_uppercase(),
        path: path_below_app(uri.path()),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    match state.api.webhook(&app, request).await {
        Ok(response) => pass_through(&app, response),
        Err(err) => err.into_response(),
    }
}

/// The raw (still percent-encoded) path below `/listen/<app>`, starting with `/`.
fn path_below_app(path: &str) -> String {
    // The router matched `/listen/{app}...`, but `app` arrives decoded; skip the segment instead
    // of matching the decoded name against the raw path.
    path.strip_prefix("/listen/")
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("/")
        .to_owned()
}

/// Headers the server computes itself; a listener's values for them would conflict.
const HOP_BY_HOP: [HeaderName; 3] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
];

fn pass_through(app: &str, listener: WebhookResponse) -> Response {
    let Ok(status) = StatusCode::from_u16(listener.status) else {
        return ApiError::Internal(format!(
            "listener {app} answered with an invalid HTTP status {}",
            listener.status
        ))
        .into_response();
    };
    let mut response = Response::new(Body::from(listener.body));
    *response.status_mut() = status;
    for (name, value) in listener.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) if !HOP_BY_HOP.contains(&name) => {
                response.headers_mut().append(name, value);
            }
            (Ok(_), Ok(_)) => {}
            _ => {
                tracing::warn!(app, header = %name, "hops.api listener sent an invalid header; dropped")
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_below_the_app_always_starts_with_a_slash() {
        assert_eq!(path_below_app("/listen/github"), "/");
        assert_eq!(path_below_app("/listen/github/"), "/");
        assert_eq!(path_below_app("/listen/github/hook/a%20b"), "/hook/a%20b");
    }

    #[test]
    fn passes_status_and_headers_through() {
        let response = pass_through(
            "x",
            WebhookResponse {
                status: 201,
                headers: [
                    ("x-a".to_owned(), "1".to_owned()),
                    ("content-length".to_owned(), "999".to_owned()),
                    ("bad header".to_owned(), "v".to_owned()),
                ]
                .into(),
                body: b"hi".to_vec(),
            },
        );
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["x-a"], "1");
        assert!(!response.headers().contains_key("content-length"));
        let invalid = pass_through(
            "x",
            WebhookResponse {
                status: 1000,
                ..Default::default()
            },
        );
        assert_eq!(invalid.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
