//! `GET /api/tasks` and `POST /api/tasks/{name}/runs`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use serde_json::Map;

use crate::auth::Caller;
use crate::router::AppState;
use crate::routes::{Rejected, json_object};
use crate::{Accepted, ApiError};

/// The loaded tasks, always as an array (empty when there are none).
#[utoipa::path(get, path = "/api/tasks", tag = "runs",
    responses(
        (status = 200, description = "The loaded tasks", body = [crate::TaskInfo]),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<hops_pipeline::Task>>, ApiError> {
    Ok(Json(state.api.tasks().await?))
}

/// Starts a run of task `name` with the params in the body (an empty body means no params).
#[utoipa::path(post, path = "/api/tasks/{name}/runs", tag = "runs",
    params(("name" = String, Path, description = "The task")),
    request_body(content = crate::openapi::ParamValues, description = "The task's params; an empty body means none"),
    responses(
        (status = 202, description = "The run started", body = crate::Accepted),
        (status = 400, description = "Params that do not fit, per field", body = crate::ErrorBody),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
        (status = 403, description = "Cross-site request from a browser page on another origin", body = crate::ErrorBody),
        (status = 404, description = "No such task", body = crate::ErrorBody),
        (status = 413, description = "Over the body limit", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn run(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Rejected> {
    let params = json_object(
        body,
        "task parameters",
        Some(Map::new()),
        state.config.body_limit,
    )?;
    let accepted = state.api.run_task_as(&name, params, &caller.0).await?;
    tracing::info!(task = %name, run_id = %accepted.run_id, "hops.api task run accepted");
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}
