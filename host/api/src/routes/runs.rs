//! `GET /api/runs`, `GET /api/runs/{id}`, `POST /api/runs/{id}/replay` and
//! `POST /api/runs/purge`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};

use crate::router::AppState;
use crate::{ApiError, PurgeReport, ReplayOutcome, RunQuery, RunStatus, RunSummary, RunView};

/// The longest `older_than` that counts; longer ones mean the same.
const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

/// How many runs `GET /api/runs` returns without `?limit=`.
pub const DEFAULT_RUNS_LIMIT: usize = 20;
/// The most runs one `GET /api/runs` returns.
pub const MAX_RUNS_LIMIT: usize = 500;

/// Most recent runs first; `?limit=N` (default 20, at most 500), `?status=`, `?task=`, and
/// `?before=<sequence>` for the next page.
#[utoipa::path(get, path = "/api/runs", tag = "runs",
    params(RunsQuery),
    responses(
        (status = 200, description = "Most recent runs first", body = [crate::RunSummary]),
        (status = 400, description = "A bad limit", body = crate::ErrorBody),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<RunSummary>>, ApiError> {
    let limit = match query_param(query.as_deref(), "limit") {
        None => DEFAULT_RUNS_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_RUNS_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(format!(
                    "limit must be a whole number from 1 to {MAX_RUNS_LIMIT}, got `{text}`"
                )));
            }
        },
    };
    let q = query.as_deref();
    let status = match query_param(q, "status") {
        None => None,
        Some("running") => Some(RunStatus::Running),
        Some("completed") => Some(RunStatus::Completed),
        Some("errored") => Some(RunStatus::Errored),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "status must be running, completed or errored, got `{other}`"
            )));
        }
    };
    let task = match query_param(q, "task") {
        None => None,
        Some(name) if valid_task(name) => Some(name.to_owned()),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "task must be a task's name (letters, digits, _ and -), got `{other}`"
            )));
        }
    };
    let before = match query_param(q, "before") {
        None => None,
        Some(text) => match text.parse::<u64>() {
            Ok(n) if (1..=MAX_SEQUENCE).contains(&n) => Some(n),
            _ => {
                return Err(ApiError::invalid(format!(
                    "before must be the `sequence` of a listed run, got `{text}`"
                )));
            }
        },
    };
    if status.is_none() && task.is_none() && before.is_none() {
        return Ok(Json(state.api.list_runs(limit).await?));
    }
    let query = RunQuery {
        limit,
        status,
        task,
        before,
    };
    Ok(Json(state.api.find_runs(&query).await?))
}

/// The largest `before` taken: the largest integer a JSON number keeps exactly.
const MAX_SEQUENCE: u64 = 9_007_199_254_740_991;

fn valid_task(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// One run's timeline, 404 when there is no such run.
#[utoipa::path(get, path = "/api/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "The run id")),
    responses(
        (status = 200, description = "The run's timeline", body = crate::RunView),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
        (status = 404, description = "No such run", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(state.api.run(&id).await?))
}

/// Purges the runs that ended more than `?older_than=` ago (e.g. `30d`; required);
/// `?dry_run=true` only counts them.
#[utoipa::path(post, path = "/api/runs/purge", tag = "runs",
    params(PurgeQuery),
    responses(
        (status = 200, description = "What was (or, dry, would be) removed", body = crate::PurgeReport),
        (status = 400, description = "A missing or bad older_than, a bad dry_run", body = crate::ErrorBody),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
        (status = 403, description = "Cross-site request from a browser page on another origin", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
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
        Some(text) => parse_age(text).ok_or_else(|| {
            ApiError::invalid(format!(
                "older_than must be a duration of whole units such as `30d`, `12h` or `1h30m` (units ms, s, m, h, d), got `{text}`"
            ))
        })?,
    };
    // Nothing ended longer ago than that; a longer age would only make the cutoff a date
    // before the year 0.
    let older_than = older_than.min(MAX_AGE);
    let dry_run = bool_param(query.as_deref(), "dry_run")?;
    let report = state.api.purge_runs(older_than, dry_run).await?;
    tracing::info!(older_than = %humantime::format_duration(older_than), dry_run, runs = report.runs, messages = report.messages, "hops.api purge");
    Ok(Json(report))
}

/// Replays a run's event with the current pipelines; `?dry_run=true` publishes nothing.
#[utoipa::path(post, path = "/api/runs/{id}/replay", tag = "runs",
    params(("id" = String, Path, description = "The run whose event is replayed"), DryRunQuery),
    responses(
        (status = 200, description = "The new run, or (dry) what would be dispatched", body = crate::ReplayOutcome),
        (status = 400, description = "A bad dry_run", body = crate::ErrorBody),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
        (status = 403, description = "Cross-site request from a browser page on another origin", body = crate::ErrorBody),
        (status = 404, description = "No such run", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
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

/// `?limit=` of `GET /api/runs` (for the document; the handler reads the raw query).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct RunsQuery {
    /// How many runs (default 20).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u16>,
    /// Only runs that stand so.
    #[param(inline)]
    status: Option<RunStatus>,
    /// Only runs of this task.
    #[param(pattern = "^[A-Za-z0-9_-]{1,128}$")]
    task: Option<String>,
    /// The next page: only runs before this `sequence` (the last one of the previous page).
    #[param(minimum = 1, maximum = 9_007_199_254_740_991_u64)]
    before: Option<u64>,
}

/// `?older_than=&dry_run=` of `POST /api/runs/purge`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct PurgeQuery {
    /// How long ago a run must have ended, e.g. `30d`, `12h`.
    #[param(pattern = "^([0-9]{1,9}(ms|s|m|h|d))+$")]
    older_than: String,
    /// Only count what would be removed.
    dry_run: Option<bool>,
}

/// `?dry_run=` of a replay.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct DryRunQuery {
    /// Only report what would be dispatched; publish nothing.
    dry_run: Option<bool>,
}

/// `older_than` as the document describes it: one or more `<digits><unit>` with units ms, s,
/// m, h, d (`30d`, `1h30m`, `0s`).
fn parse_age(text: &str) -> Option<std::time::Duration> {
    let mut total = std::time::Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (std::time::Duration::from_millis(1), 2)
        } else {
            let seconds = match rest.bytes().next()? {
                b's' => 1,
                b'm' => 60,
                b'h' => 3_600,
                b'd' => 86_400,
                _ => return None,
            };
            (std::time::Duration::from_secs(seconds), 1)
        };
        rest = &rest[len..];
        total = total.checked_add(unit.checked_mul(u32::try_from(n).ok()?)?)?;
    }
    Some(total)
}

/// A boolean query flag, as the document says: absent is false, else `true` or `false`.
fn bool_param(query: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match query_param(query, name) {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::invalid(format!(
            "{name} must be true or false, got `{other}`"
        ))),
    }
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

    #[test]
    fn reads_ages_in_whole_units() {
        let secs = std::time::Duration::from_secs;
        assert_eq!(parse_age("30d"), Some(secs(30 * 86_400)));
        assert_eq!(parse_age("1h30m"), Some(secs(5_400)));
        assert_eq!(parse_age("0s"), Some(secs(0)));
        assert_eq!(
            parse_age("250ms"),
            Some(std::time::Duration::from_millis(250))
        );
        for bad in ["", "0", "soon", "1h 30m", "1x", "h", "9999999999s", "1d-"] {
            assert_eq!(parse_age(bad), None, "{bad}");
        }
    }
}
