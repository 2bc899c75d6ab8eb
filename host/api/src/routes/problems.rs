//! `GET /api/problems`.

use axum::Json;
use axum::extract::State;

use crate::router::AppState;
use crate::{ApiError, Problems};

/// The diagnostics of the last pipeline load and the apps that do not serve.
#[utoipa::path(get, path = "/api/problems", tag = "host",
    responses(
        (status = 200, description = "Pipeline diagnostics and app load errors", body = Problems),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn show(State(state): State<AppState>) -> Result<Json<Problems>, ApiError> {
    Ok(Json(state.api.problems().await?))
}
