//! `GET|HEAD /health` and `GET /ready`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::Readiness;
use crate::router::AppState;

/// 200 `ok` for as long as the process serves requests.
pub(crate) async fn health() -> &'static str {
    "ok"
}

/// 200 `{"ready": true}` when the host can take work, 503 with the reason otherwise.
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
