//! The runtime behind the HTTP API ([`hops_api::HostApi`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use hops_api::{
    Accepted, Answered, ApiError, HostApi, InputView, PipelineView, PlannedCall, PurgeReport,
    ReplayOutcome, RunQuery, RunStatus, RunSummary, RunView,
};
use hops_bus::{Bus, BusError, Channels, EventScan};
use hops_core::{
    EventMeta, EventSink as _, ListenerError, Listeners, SourceEvent, WebhookRequest,
    WebhookResponse, Workers,
};
use hops_pipeline::{RunBundle, evaluate};
use serde_json::{Map, Value};

mod inputs;

use crate::bus_adapters::BusEvents;
use crate::evaluation::EvalSettings;
use crate::inputs::Inputs;
use crate::metrics::Metrics;
use crate::params::task_event;
use crate::pipelines::PipelineStore;
use crate::presence::{AppLoading, AppPresence, Presence};
use crate::run_record::{RUN_MARKER, RunRecord, marker_error, marker_errored};
use crate::views::{run_status, run_view};

/// Lists the apps of the host as JSON (supplied by the wasm layer).
pub type AppListing = Arc<dyn Fn() -> Value + Send + Sync>;

/// What the API serves from: the bus, the pipelines and the apps of this process.
pub struct HostServices {
    pub(crate) bus: Arc<Bus>,
    pub(crate) store: Arc<PipelineStore>,
    pub(crate) listeners: Listeners,
    pub(crate) app_listing: Option<AppListing>,
    pub(crate) stream_checked: AtomicBool,
    /// Why the stream cannot take writes now (no leader on a cluster), as last checked.
    pub(crate) stream_leaderless: std::sync::Mutex<Option<String>>,
    /// Set when the host starts stopping: `/ready` answers 503 so traffic moves elsewhere.
    draining: AtomicBool,
    pub(crate) eval: EvalSettings,
    presence: Presence,
    /// The apps this process serves (their consumers' backlogs are in the metrics).
    served_here: Workers,
    metrics: Arc<Metrics>,
    /// Open inputs (calls to the built-in `input` app).
    inputs: Option<Arc<Inputs>>,
}

impl HostServices {
    /// Assembles the services; the stream counts as checked (callers check it first).
    pub fn new(
        bus: Arc<Bus>,
        store: Arc<PipelineStore>,
        workers: Workers,
        listeners: Listeners,
        app_listing: Option<AppListing>,
        eval: EvalSettings,
        loading: Option<AppLoading>,
    ) -> HostServices {
        HostServices {
            presence: Presence::new(Arc::clone(&bus), workers.clone(), loading),
            served_here: workers,
            metrics: Arc::new(Metrics::new()),
            inputs: None,
            bus,
            store,
            listeners,
            app_listing,
            stream_checked: AtomicBool::new(true),
            stream_leaderless: std::sync::Mutex::new(None),
            draining: AtomicBool::new(false),
            eval,
        }
    }

    /// Asks the stream whether it has a leader every `every`, so `/ready` says when it has
    /// none (a majority of a cluster's nodes down), until `stop`.
    pub(crate) async fn watch_stream_leader(
        self: Arc<Self>,
        every: std::time::Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        loop {
            let now = if self.bus.is_connected() {
                self.bus.stream_has_leader().await.err()
            } else {
                None
            };
            if let Ok(mut leaderless) = self.stream_leaderless.lock() {
                if leaderless.is_none() && now.is_some() {
                    tracing::warn!(
                        reason = now.as_deref().unwrap_or(""),
                        "not ready: the stream cannot take writes"
                    );
                } else if leaderless.is_some() && now.is_none() {
                    tracing::info!("the stream has a leader again");
                }
                *leaderless = now;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// From now on `/ready` says the host is stopping.
    pub(crate) fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Serves `metrics` (the ones the runner and worker loops count into) at `/metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Answers and lists the open inputs of `inputs`.
    pub fn with_inputs(mut self, inputs: Arc<Inputs>) -> Self {
        self.inputs = Some(inputs);
        self
    }

    /// Says how to get these apps served (apps that are not a `.wasm`), where run views tell
    /// why a call waits.
    pub fn with_app_hints(mut self, hints: std::collections::BTreeMap<String, String>) -> Self {
        self.presence = self.presence.with_hints(hints);
        self
    }

    async fn publish(&self, event: SourceEvent, run_id: String) -> Result<Accepted, ApiError> {
        let emitted = BusEvents(Arc::clone(&self.bus))
            .emit(event, run_id)
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        Ok(Accepted {
            run_id: emitted.run_id,
            duplicate: emitted.duplicate,
        })
    }

    async fn presence(&self, record: &RunRecord) -> HashMap<String, AppPresence> {
        let mut out = HashMap::new();
        for request in &record.requests {
            if record.results().contains_key(&request.call) || out.contains_key(&request.app) {
                continue;
            }
            let presence = self.presence.of(&request.app).await;
            out.insert(request.app.clone(), presence);
        }
        out
    }
}

fn bus_error(err: BusError) -> ApiError {
    if err.is_transient() {
        ApiError::Unavailable(err.to_string())
    } else {
        ApiError::Internal(err.to_string())
    }
}

fn check_run_id(run_id: &str) -> Result<(), ApiError> {
    hops_bus::validate_run_id(run_id)
        .map_err(|e| ApiError::NotFound(format!("no run {run_id:?}: {e}")))
}

impl HostServices {
    /// The summary lines of runs, from their events (newest first, as given).
    async fn summaries(&self, events: Vec<hops_bus::RunMessage>) -> Vec<RunSummary> {
        let summaries = events.into_iter().map(|event| async move {
            let run_id = event.subject.run_id.clone();
            let payload = serde_json::from_slice::<Value>(&event.payload).ok();
            let meta = payload.as_ref().and_then(|v| EventMeta::of(v).ok());
            let marker = match self.bus.subjects().done(&run_id, RUN_MARKER) {
                Ok(subject) => self.bus.read_last(&subject).await.ok().flatten(),
                Err(_) => None,
            };
            let marker_value = marker
                .as_ref()
                .and_then(|m| serde_json::from_slice::<Value>(&m.payload).ok());
            RunSummary {
                run_id,
                status: match &marker_value {
                    Some(v) if marker_errored(v) => RunStatus::Errored,
                    Some(_) => RunStatus::Completed,
                    None if marker.is_some() => RunStatus::Completed,
                    None => RunStatus::Running,
                },
                source: meta.as_ref().map(|m| m.source.clone()).unwrap_or_default(),
                event: meta.as_ref().map(|m| m.event.clone()).unwrap_or_default(),
                action: meta.as_ref().map(|m| m.action.clone()).unwrap_or_default(),
                started_by: payload.as_ref().and_then(|v| {
                    v.get("hops")?
                        .get(hops_core::STARTED_BY)?
                        .as_str()
                        .map(str::to_owned)
                }),
                started_at: event.published,
                finished_at: marker.as_ref().map(|m| m.published),
                error: marker_value.as_ref().and_then(marker_error),
                pipelines: marker_value
                    .as_ref()
                    .and_then(|v| v.pointer("/hops/pipelines")?.as_array().cloned())
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.as_str().map(str::to_owned))
                    .collect(),
                sequence: Some(event.stream_sequence),
            }
        });
        futures::future::join_all(summaries).await
    }
}

/// Events read per page when runs are filtered.
const RUNS_PAGE: usize = 100;
/// The most events one filtered listing reads before it answers with what it found.
const MAX_SCANNED_RUNS: usize = 5_000;

#[async_trait]
impl HostApi for HostServices {
    fn ready(&self) -> Result<(), String> {
        if self.draining.load(Ordering::Relaxed) {
            return Err(
                "the host is stopping: it finishes its calls in flight and takes no new work"
                    .to_owned(),
            );
        }
        if !self.bus.is_connected() {
            return Err("not connected to NATS".to_owned());
        }
        if !self.stream_checked.load(Ordering::Relaxed) {
            return Err(format!("stream {} not checked yet", self.bus.stream_name()));
        }
        if let Some(why) = self
            .stream_leaderless
            .lock()
            .ok()
            .and_then(|guard| guard.clone())
        {
            return Err(why);
        }
        if self.store.current().is_none() {
            return Err(
                "no valid pipelines loaded (see the host's log for diagnostics)".to_owned(),
            );
        }
        Ok(())
    }

    async fn send_event(&self, event: Value, dedup: Option<String>) -> Result<Accepted, ApiError> {
        let event = SourceEvent::from_value(event).map_err(|e| ApiError::invalid(e.to_string()))?;
        let run_id = match dedup.as_deref() {
            Some(key) => event.stable_run_id(Some(key)),
            None => SourceEvent::fresh_run_id(),
        };
        self.publish(event, run_id).await
    }

    async fn tasks(&self) -> Result<Vec<hops_pipeline::Task>, ApiError> {
        Ok(self
            .store
            .current()
            .map(|set| set.tasks.clone())
            .unwrap_or_default())
    }

    async fn run_task(&self, task: &str, params: Map<String, Value>) -> Result<Accepted, ApiError> {
        self.run_task_as(task, params, "").await
    }

    async fn run_task_as(
        &self,
        task: &str,
        params: Map<String, Value>,
        by: &str,
    ) -> Result<Accepted, ApiError> {
        let set = self
            .store
            .current()
            .ok_or_else(|| ApiError::Unavailable("no valid pipelines are loaded".to_owned()))?;
        let Some(found) = set.task(task) else {
            let known: Vec<&str> = set.tasks.iter().map(|t| t.name.as_str()).collect();
            return Err(ApiError::NotFound(if known.is_empty() {
                format!("unknown task {task:?}: no tasks are defined")
            } else {
                format!("unknown task {task:?}; tasks: {}", known.join(", "))
            }));
        };
        let mut event = task_event(found, params).map_err(|errors| ApiError::Invalid {
            message: format!("invalid parameters for task {task}"),
            errors,
        })?;
        if !by.is_empty() {
            event = event.started_by(by);
        }
        self.publish(event, SourceEvent::fresh_run_id()).await
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunSummary>, ApiError> {
        let events = self
            .bus
            .scan_events(EventScan::latest(limit))
            .await
            .map_err(bus_error)?;
        Ok(self.summaries(events).await)
    }

    async fn find_runs(&self, query: &RunQuery) -> Result<Vec<RunSummary>, ApiError> {
        let mut found = Vec::new();
        let mut before = query.before;
        let mut scanned = 0;
        // Pages of events, newest first, until enough match or the scan has read its bound.
        while found.len() < query.limit && scanned < MAX_SCANNED_RUNS {
            let mut scan = EventScan::latest(RUNS_PAGE);
            scan.before_sequence = before;
            let events = self.bus.scan_events(scan).await.map_err(bus_error)?;
            if events.is_empty() {
                break;
            }
            scanned += events.len();
            before = events.iter().map(|e| e.stream_sequence).min();
            let page = self.summaries(events).await;
            found.extend(page.into_iter().filter(|r| query.matches(r)));
        }
        found.truncate(query.limit);
        Ok(found)
    }

    async fn run(&self, run_id: &str) -> Result<RunView, ApiError> {
        check_run_id(run_id)?;
        let messages = self
            .bus
            .read_run(run_id, Channels::All)
            .await
            .map_err(bus_error)?;
        if messages.is_empty() {
            return Err(ApiError::NotFound(format!("no run {run_id}")));
        }
        let record = RunRecord::from_messages(&messages);
        let set = match record.pin() {
            Some(pin) => self.store.by_hash(pin).await.ok(),
            None => None,
        };
        let presence = self.presence(&record).await;
        let mut view = run_view(
            run_id,
            &record,
            set.as_deref(),
            &presence,
            &self.eval.context(run_id),
        );
        self.mark_open_inputs(&mut view, &record).await;
        Ok(view)
    }

    async fn inputs(&self) -> Result<Vec<InputView>, ApiError> {
        self.open_inputs().await
    }

    async fn answer_input(
        &self,
        run_id: &str,
        call: &str,
        values: Map<String, Value>,
        by: &str,
    ) -> Result<Answered, ApiError> {
        self.answer(run_id, call, values, by).await
    }

    async fn replay(&self, run_id: &str, dry_run: bool) -> Result<ReplayOutcome, ApiError> {
        check_run_id(run_id)?;
        let subject = self
            .bus
            .subjects()
            .event(run_id)
            .map_err(|e| ApiError::NotFound(e.to_string()))?;
        let stored = self
            .bus
            .read_last(&subject)
            .await
            .map_err(bus_error)?
            .ok_or_else(|| ApiError::NotFound(format!("no run {run_id}")))?;
        let event = SourceEvent::from_slice(&stored.payload)
            .map_err(|e| ApiError::invalid(format!("run {run_id} cannot be replayed: {e}")))?;
        let set = self
            .store
            .current()
            .ok_or_else(|| ApiError::Unavailable("no valid pipelines are loaded".to_owned()))?;
        let bundle = RunBundle::new(Value::Object(event.payload().clone()));
        let decisions = evaluate(&set, &bundle, &self.eval.context(run_id))
            .map_err(|e| ApiError::invalid(format!("run {run_id} cannot be replayed: {e}")))?;
        let calls = decisions
            .calls
            .iter()
            .map(|call| PlannedCall {
                pipeline: call.on.clone(),
                name: call.name.clone(),
                app: call.app.clone(),
                handler: call.handler.clone(),
                inputs: call.inputs.clone().unwrap_or(Value::Null),
            })
            .collect();
        let pipelines = decisions
            .pipelines
            .iter()
            .map(|p| PipelineView {
                name: p.name.clone(),
                status: run_status(p.status),
            })
            .collect();
        let diagnostics = decisions
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .collect();
        let new_run = if dry_run {
            None
        } else {
            Some(
                self.publish(event, SourceEvent::fresh_run_id())
                    .await?
                    .run_id,
            )
        };
        Ok(ReplayOutcome {
            dry_run,
            run_id: new_run,
            calls,
            pipelines,
            diagnostics,
        })
    }

    async fn purge_runs(
        &self,
        older_than: std::time::Duration,
        dry_run: bool,
    ) -> Result<PurgeReport, ApiError> {
        let age = chrono::Duration::from_std(older_than)
            .map_err(|_| ApiError::invalid("older_than is too large"))?;
        let cutoff = chrono::Utc::now() - age;
        // Only runs with a run-level done marker are candidates: a run still going has none,
        // so its subjects (and their exactly-once guarantee) are never freed.
        let subjects = self.bus.subjects();
        let markers = format!(
            "{}.{}.notify.*.{RUN_MARKER}.done",
            subjects.account(),
            subjects.topic()
        );
        let ended = self
            .bus
            .scan_before(&markers, cutoff)
            .await
            .map_err(bus_error)?;
        let mut messages = 0;
        if !dry_run {
            for marker in &ended {
                messages += self
                    .bus
                    .purge_run(&marker.subject.run_id)
                    .await
                    .map_err(bus_error)?;
            }
        }
        Ok(PurgeReport {
            dry_run,
            cutoff,
            runs: ended.len(),
            messages,
        })
    }

    async fn metrics(&self) -> Result<String, ApiError> {
        let runner = self.bus.runner_consumer_name();
        let mut consumers = vec![
            (
                "runner-waits".to_owned(),
                Bus::runner_waits_consumer_name(&runner),
            ),
            ("runner".to_owned(), runner),
        ];
        for app in self.served_here.names() {
            let name = self.bus.worker_consumer_name(&app);
            consumers.push((app, name));
        }
        let reads = consumers
            .iter()
            .map(|(label, name)| async move { (label, self.bus.consumer_activity(name).await) });
        for (label, activity) in futures::future::join_all(reads).await {
            match activity {
                Ok(Some(activity)) => {
                    self.metrics
                        .set_consumer(label, activity.pending, activity.in_flight as u64);
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::debug!(consumer = %label, error = %err, "metrics: could not read a consumer's backlog");
                }
            }
        }
        if let Some(list) = &self.app_listing {
            self.metrics.set_apps(&list());
        }
        if let Some(inputs) = &self.inputs {
            match inputs.list().await {
                Ok(open) => self.metrics.set_inputs_open(open.len()),
                Err(err) => {
                    tracing::debug!(error = %err, "metrics: could not count the open inputs");
                }
            }
        }
        Ok(self.metrics.encode())
    }

    async fn problems(&self) -> Result<hops_api::Problems, ApiError> {
        let pipelines = self.store.last_load().map(|load| hops_api::PipelineLoad {
            loaded_at: load.at,
            applied: load.applied,
            version: crate::pipelines::short(&load.hash).to_owned(),
            current_version: self
                .store
                .current()
                .map(|c| crate::pipelines::short(&c.hash).to_owned()),
            diagnostics: load.diagnostics.iter().map(diagnostic_view).collect(),
        });
        Ok(hops_api::Problems {
            pipelines,
            apps: hops_api::AppProblem::from_listing(&self.apps().await?),
        })
    }

    async fn apps(&self) -> Result<Value, ApiError> {
        let mut listing = match &self.app_listing {
            Some(list) => list(),
            None => Value::Array(Vec::new()),
        };
        self.metrics.recent_errors().annotate(&mut listing);
        Ok(listing)
    }

    async fn webhook(
        &self,
        app: &str,
        request: WebhookRequest,
    ) -> Result<WebhookResponse, ApiError> {
        let listener = self.listeners.get(app).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no listener app {app:?} is loaded; listeners: {}",
                names_or_none(&self.listeners.names())
            ))
        })?;
        listener.webhook(request).await.map_err(|err| match err {
            ListenerError::Failed(message) => {
                ApiError::Internal(format!("listener {app} failed: {message}"))
            }
            ListenerError::Unavailable(message) => {
                ApiError::Unavailable(format!("listener {app} is unavailable: {message}"))
            }
        })
    }
}

fn diagnostic_view(d: &hops_pipeline::Diagnostic) -> hops_api::DiagnosticView {
    hops_api::DiagnosticView {
        severity: match d.severity {
            hops_pipeline::Severity::Error => "error",
            hops_pipeline::Severity::Warning => "warning",
        }
        .to_owned(),
        summary: d.summary.clone(),
        detail: d.detail.clone(),
        help: d.help.clone(),
        file: d.file.clone(),
        line: d.start.map(|p| p.line),
        column: d.start.map(|p| p.column),
    }
}

fn names_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
