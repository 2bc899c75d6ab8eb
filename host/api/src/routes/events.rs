//! `POST /api/events`: publish a source event as a new run.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::router::AppState;
use crate::routes::{Rejected, json_object};
use crate::{Accepted, ApiError};

/// The header carrying an idempotency key: the same key yields the same run and no second one.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// 202 with the run id; 400 when the body is not a JSON object or not a usable event.
pub(crate) async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Rejected> {
    let event = json_object(body, "event", None, state.config.body_limit)?;
    let dedup = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if !key.trim().is_empty() => Some(key.trim().to_owned()),
            _ => {
                return Err(ApiError::invalid(
                    "the Idempotency-Key header must be non-empty visible ASCII",
                )
                .into());
            }
        },
    };
    let accepted = state.api.send_event(Value::Object(event), dedup).await?;
    tracing::info!(run_id = %accepted.run_id, duplicate = accepted.duplicate, "hops.api event accepted");
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}
