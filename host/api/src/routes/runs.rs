//! `GET /api/runs`, `GET /api/runs/{id}`, `POST /api/runs/{id}/replay` and
//! `POST /api/runs/purge`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};

use crate::router::AppState;
use crate::{ApiError, PurgeReport, ReplayOutcome, RunSummary, RunView};

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

/// Purges the runs that ended more than `?older_than=` ago (e.g. `30d`; required);
/// `?dry_run=true` only counts them.
pub(crate) async fn purge(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<PurgeReport>, ApiError> {
    let older_than = match query_param(query.as_deref(), "older_than") {
        None | Some("") => {
            return Err(ApiError::invalid(
                "older_than is required: how long ago a run must have ended to be purged, e.g. `?older_than=30d`",
            ));
        }
        Some(text) => humantime::parse_duration(text).map_err(|err| {
            ApiError::invalid(format!(
                "older_than must be a duration such as `30d` or `12h`, got `{text}`: {err}"
            ))
        })?,
    };
    let dry_run = bool_param(query.as_deref(), "dry_run")?;
    let report = state.api.purge_runs(older_than, dry_run).await?;
    tracing::info!(older_than = %humantime::format_duration(older_than), dry_run, runs = report.runs, messages = report.messages, "hops.api purge");
    Ok(Json(report))
}

/// Replays a run's event with the current pipelines; `?dry_run=true` publishes nothing.
pub(crate) async fn replay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<ReplayOutcome>, ApiError> {
    let dry_run = bool_param(query.as_deref(), "dry_run")?;
    let outcome = state.api.replay(&id, dry_run).await?;
    tracing::info!(run_id = %id, dry_run, new_run = outcome.run_id.as_deref().unwrap_or(""), "hops.api replay");
    Ok(Json(outcome))
}

/// The value of `name` in a query string (values here are plain words, so no decoding).
/// A boolean query flag: absent is false; present, `true` or `1` is true.
fn bool_param(query: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match query_param(query, name) {
        None => Ok(false),
        Some("" | "true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ApiError::invalid(format!(
            "{name} must be true or false, got `{other}`"
        ))),
    }
}

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
