//! The [`HostApi`] trait: what the HTTP API needs from a running host.

use hops_core::{WebhookRequest, WebhookResponse};
use serde_json::{Map, Value};

use crate::{
    Accepted, Answered, ApiError, InputView, PurgeReport, ReplayOutcome, RunQuery, RunSummary,
    RunView,
};

/// What the HTTP API needs from a running host. Implemented by the runtime.
///
/// Every method is called from a request handler; implementations should answer quickly and
/// report failures as [`ApiError`] variants, which map to HTTP statuses.
#[async_trait::async_trait]
pub trait HostApi: Send + Sync + 'static {
    /// Ok when NATS is connected, the stream checked and pipelines loaded; `Err(reason)`
    /// otherwise.
    fn ready(&self) -> Result<(), String>;

    /// Publishes a source event (already JSON; the host validates it) as a new run. `dedup`:
    /// an idempotency key — the same key yields the same run id and no second run.
    async fn send_event(&self, event: Value, dedup: Option<String>) -> Result<Accepted, ApiError>;

    /// The loaded tasks.
    async fn tasks(&self) -> Result<Vec<hops_pipeline::Task>, ApiError>;

    /// Runs a task with params (the host checks types, required and unknown params, and applies
    /// defaults). Every call starts a new run.
    async fn run_task(&self, task: &str, params: Map<String, Value>) -> Result<Accepted, ApiError>;

    /// [`HostApi::run_task`] for caller `by` (recorded as the event's `hops.started_by`).
    /// The default forgets who it was.
    async fn run_task_as(
        &self,
        task: &str,
        params: Map<String, Value>,
        by: &str,
    ) -> Result<Accepted, ApiError> {
        let _ = by;
        self.run_task(task, params).await
    }

    /// Most recent runs first, at most `limit`.
    async fn list_runs(&self, limit: usize) -> Result<Vec<RunSummary>, ApiError>;

    /// Runs that match `query`, newest first. The default filters the newest
    /// [`MAX_RUNS_LIMIT`](crate::MAX_RUNS_LIMIT) of [`HostApi::list_runs`].
    async fn find_runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, ApiError> {
        let runs = self.list_runs(crate::MAX_RUNS_LIMIT).await?;
        Ok(runs
            .into_iter()
            .filter(|r| {
                query
                    .before
                    .is_none_or(|b| r.sequence.is_some_and(|s| s < b))
            })
            .filter(|r| query.matches(r))
            .take(query.limit)
            .collect())
    }

    /// One run's timeline.
    async fn run(&self, run_id: &str) -> Result<RunView, ApiError>;

    /// Replays a run's event with the current pipelines: a dry run only reports what would be
    /// dispatched.
    async fn replay(&self, run_id: &str, dry_run: bool) -> Result<ReplayOutcome, ApiError>;

    /// Removes every run that ended (its run-level done marker was stored) more than
    /// `older_than` ago: its messages and the payload objects they reference. Runs still going
    /// are never touched. A dry run only counts them.
    async fn purge_runs(
        &self,
        older_than: std::time::Duration,
        dry_run: bool,
    ) -> Result<PurgeReport, ApiError>;

    /// The open inputs, oldest first.
    async fn inputs(&self) -> Result<Vec<InputView>, ApiError> {
        Ok(Vec::new())
    }

    /// Answers the open input `call` (its name, or its slug) of run `run_id` with `values`,
    /// given by `by`. The host checks the values against what the input asks (as for task
    /// params) and stores them as the call's result: `Invalid` with field errors, `NotFound`
    /// when no such input is open, `Conflict` when it was answered or expired already.
    async fn answer_input(
        &self,
        run_id: &str,
        call: &str,
        values: Map<String, Value>,
        by: &str,
    ) -> Result<Answered, ApiError> {
        let _ = (values, by);
        Err(ApiError::NotFound(format!(
            "run {run_id} has no open input {call}: this host takes no inputs"
        )))
    }

    /// The host's metrics in the Prometheus (OpenMetrics) text format.
    async fn metrics(&self) -> Result<String, ApiError> {
        Err(ApiError::NotFound(
            "this host exports no metrics".to_owned(),
        ))
    }

    /// The diagnostics of the last pipeline load and the apps that do not serve. The default
    /// reports the app listing's failed apps only.
    async fn problems(&self) -> Result<crate::Problems, ApiError> {
        Ok(crate::Problems {
            pipelines: None,
            apps: crate::AppProblem::from_listing(&self.apps().await?),
        })
    }

    /// App listing (its shape is owned by the wasm layer; passed through as JSON).
    async fn apps(&self) -> Result<Value, ApiError>;

    /// A webhook for listener app `app` (`/listen/<app>/<path>`).
    async fn webhook(
        &self,
        app: &str,
        request: WebhookRequest,
    ) -> Result<WebhookResponse, ApiError>;
}
