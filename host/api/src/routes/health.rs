//! `GET|HEAD /health` and `GET /ready`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::Readiness;
use crate::router::AppState;

/// 200 `ok` for as long as the process serves requests.
#[utoipa::path(get, path = "/health", tag = "host",
    responses((status = 200, description = "The process answers", content_type = "text/plain", body = String, example = "ok")))]
pub(crate) async fn health() -> &'static str {
    "ok"
}

/// 200 `{"ready": true}` when the host can take work, 503 with the reason otherwise.
#[utoipa::path(get, path = "/ready", tag = "host",
    responses(
        (status = 200, description = "The host can take work", body = crate::Readiness),
        (status = 503, description = "Not now, and why", body = crate::Readiness),
    ))]
pub(crate) async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match state.api.ready() {
        Ok(()) => (
            StatusCode::OK,
            Json(Readiness {
                ready: true,
                reason: None,
            }),
        ),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                ready: false,
                reason: Some(reason),
            }),
        ),
    }
}
