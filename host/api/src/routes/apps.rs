//! `GET /api/apps` (and its old name `/api/plugins`).

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::ApiError;
use crate::router::AppState;

/// The app listing, as the host reports it.
#[utoipa::path(get, path = "/api/apps", tag = "host",
    responses(
        (status = 200, description = "The apps: world, status, grants, errors", body = crate::openapi::AppList),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.api.apps().await?))
}
