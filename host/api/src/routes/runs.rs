//! `GET /api/runs`, `GET /api/runs/{id}` and `POST /api/runs/{id}/replay`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};

use crate::router::AppState;
use crate::{ApiError, ReplayOutcome, RunSummary, RunView};

/// How many runs `GET /api/runs` returns without `?limit=`.
pub const DEFAULT_RUNS_LIMIT: usize = 20;
/// The most runs one `GET /api/runs` returns.
pub const MAX_RUNS_LIMIT: usize = 500;

/// Most recent runs first; `?limit=N` (default 20, at most 500).
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<RunSummary>>, ApiError> {
    let limit = match query_param(query.as_deref(), "limit") {
        None => DEFAULT_RUNS_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(MAX_RUNS_LIMIT),
            _ => {
                return Err(ApiError::invalid(format!(
                    "limit must be a whole number from 1 to {MAX_RUNS_LIMIT}, got `{text}`"
                )));
            }
        },
    };
    Ok(Json(state.api.list_runs(limit).await?))
}

/// One run's timeline, 404 when there is no such run.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.api.run(&id).await?))
}

/// Replays a run's event with the current pipelines; `?dry_run=true` publishes nothing.
pub(crate) async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ReplayOutcome>, ApiError> {
    let dry_run = match query_param(query.as_deref(), "dry_run") {
        None => false,
        Some("" | "true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "dry_run must be true or false, got `{other}`"
            )));
        }
    };
    let outcome = state.api.replay(&id, dry_run).await?;
    tracing::info!(run_id = %id, dry_run, new_run = outcome.run_id.as_deref().unwrap_or(""), "hops.api replay");
    Ok(Json(outcome))
}

/// The value of `name` in a query string (values here are plain words, so no decoding).
fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_query_params() {
        assert_eq!(query_param(Some("limit=5&x=1"), "limit"), Some("5"));
        assert_eq!(query_param(Some("x=1&dry_run"), "dry_run"), Some(""));
        assert_eq!(query_param(Some("x=1"), "limit"), None);
        assert_eq!(query_param(None, "limit"), None);
    }
}
