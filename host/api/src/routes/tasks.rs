//! `GET /api/tasks` and `POST /api/tasks/{name}/runs`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Map;

use crate::router::AppState;
use crate::routes::{Rejected, json_object};
use crate::{Accepted, ApiError};

/// The loaded tasks, always as an array (empty when there are none).
pub(crate) async fn list(
    State(state): State<AppState>,
) -> Result<Json<Vec<hops_pipeline::Task>>, ApiError> {
    Ok(Json(state.api.tasks().await?))
}

/// Starts a run of task `name` with the params in the body (an empty body means no params).
pub(crate) async fn run(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Rejected> {
    let params = json_object(
        body,
        "task parameters",
        Some(Map::new()),
        state.config.body_limit,
    )?;
    let accepted = state.api.run_task(&name, params).await?;
    tracing::info!(task = %name, run_id = %accepted.run_id, "hops.api task run accepted");
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}
