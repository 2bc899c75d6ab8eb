//! `POST /api/events`: publish a source event as a new run.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::auth::Caller;
use crate::router::AppState;
use crate::routes::{Rejected, json_object};
use crate::{Accepted, ApiError};

pub use hops_core::STARTED_BY;

/// The header carrying an idempotency key: the same key yields the same run and no second one.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// 202 with the run id; 400 when the body is not a JSON object or not a usable event.
#[utoipa::path(post, path = "/api/events", tag = "runs",
    request_body(content = crate::openapi::EventBody, description = "The source event"),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "The same key again starts no second run")),
    responses(
        (status = 202, description = "The run started (or, with a key seen before, had started)", body = crate::Accepted),
        (status = 400, description = "Not a usable event", body = crate::ErrorBody),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
        (status = 403, description = "Cross-site request from a browser page on another origin", body = crate::ErrorBody),
        (status = 413, description = "Over the body limit", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Rejected> {
    let mut event = json_object(body, "event", None, state.config.body_limit)?;
    // Who sent it, as authenticated; never what the body claims.
    if let Some(Value::Object(hops)) = event.get_mut("hops") {
        hops.insert(STARTED_BY.to_owned(), Value::String(caller.0.clone()));
    }
    let dedup = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if valid_key(key) => Some(key.to_owned()),
            _ => {
                return Err(ApiError::invalid(
                    "the Idempotency-Key header must be 1 to 200 visible ASCII characters without spaces",
                )
                .into());
            }
        },
    };
    let accepted = state.api.send_event(Value::Object(event), dedup).await?;
    tracing::info!(run_id = %accepted.run_id, duplicate = accepted.duplicate, "hops.api event accepted");
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// What the document says an idempotency key is: `^[!-~]{1,200}$`.
fn valid_key(key: &str) -> bool {
    (1..=200).contains(&key.len()) && key.bytes().all(|b| (b'!'..=b'~').contains(&b))
}
