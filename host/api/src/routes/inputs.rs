//! `GET /api/inputs` and `POST /api/runs/{id}/inputs/{call}`: calls waiting for a person.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};

use crate::auth::Caller;
use crate::router::AppState;
use crate::routes::{Rejected, json_object};
use crate::{Answered, ApiError, InputView};

/// The open inputs, oldest first.
#[utoipa::path(get, path = "/api/inputs", tag = "inputs",
    responses(
        (status = 200, description = "Open inputs, oldest first", body = [InputView]),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<Vec<InputView>>, ApiError> {
    Ok(Json(state.api.inputs().await?))
}

/// Answers input `call` of run `id` with the values in the body (a JSON object of param
/// values; empty when the input asks for none), recording who answered.
#[utoipa::path(post, path = "/api/runs/{id}/inputs/{call}", tag = "inputs",
    params(
        ("id" = String, Path, description = "The run"),
        ("call" = String, Path, description = "The call's name (or slug)"),
    ),
    request_body(content = crate::openapi::ParamValues, description = "The answer's values; an empty body means none"),
    responses(
        (status = 200, description = "Stored as the call's result; the run goes on", body = Answered),
        (status = 400, description = "Values that do not fit, per field", body = crate::ErrorBody),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
        (status = 403, description = "Cross-site request from a browser page on another origin", body = crate::ErrorBody),
        (status = 404, description = "No such open input", body = crate::ErrorBody),
        (status = 409, description = "Answered already, or past its deadline", body = crate::ErrorBody),
        (status = 413, description = "Over the body limit", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn answer(
    State(state): State<AppState>,
    Path((id, call)): Path<(String, String)>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Answered>, Rejected> {
    let values = json_object(
        body,
        "answer",
        Some(serde_json::Map::new()),
        state.config.body_limit,
    )?;
    let answered = state
        .api
        .answer_input(&id, &call, values, &caller.0)
        .await?;
    tracing::info!(run_id = %id, call = %call, by = %answered.answered_by, "hops.api input answered");
    Ok(Json(answered))
}
