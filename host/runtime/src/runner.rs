//! The runner: consumes every notify message of the topic, evaluates the run it belongs to
//! with the version of the pipelines the run is pinned to, and publishes what the evaluation
//! decided (call requests, pipeline done markers, the run's own done marker). Every publish is
//! publish-once, so any number of runners on one stream dispatch each call exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt as _;
use hops_bus::{Bus, BusConsumer, Channels, Delivery, RunnerConsumerOptions, SubjectKind};
use hops_core::{EventMeta, ResultMessage};
use hops_pipeline::{Decisions, Dispatch, DoneDecision, PipelineStatus, evaluate};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, warn};

use crate::call_headers;
use crate::evaluation::EvalSettings;
use crate::local::{LocalCall, LocalCalls, LocalClaim, Ran};
use crate::metrics::Metrics;
use crate::pipelines::{PipelineStore, short};
use crate::presence::Presence;
use crate::rate::{Admission, RunRate, RunRateLimit, refused_message};
use crate::run_record::{RUN_MARKER, RunRecord};
use first_step::{FirstStep, Starter};

mod chain;
mod first_step;
mod local;

/// A call's request ready to publish.
struct OutgoingRequest {
    subject: String,
    result_subject: String,
    payload: Bytes,
    headers: hops_bus::HeaderMap,
    /// This process runs the call itself.
    claim: Option<LocalClaim>,
}

impl OutgoingRequest {
    /// Sends the request without waiting for its ack, to be stored only right after the
    /// message named `after` (`Bus::send_once`).
    async fn send_after(
        &self,
        bus: &Bus,
        after: &str,
    ) -> Result<hops_bus::SentOnce, hops_bus::BusError> {
        bus.send_once(
            &self.subject,
            self.headers.clone(),
            self.payload.clone(),
            None,
            Some(after),
        )
        .await
    }
}

/// Runner settings.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Durable consumer name; replicas sharing it share the work.
    pub consumer_name: Option<String>,
    /// Consumer settings (ack wait, deliveries before giving up).
    pub consumer: RunnerConsumerOptions,
    /// Messages processed at once by this runner.
    pub concurrency: usize,
    /// Runs one pipeline may start per second on this host.
    pub run_rate: RunRateLimit,
    /// How long a call to an app that no worker serves waits for one before it ends errored
    /// (a call's own `timeout` shortens it).
    pub app_wait_timeout: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            consumer_name: None,
            consumer: RunnerConsumerOptions::default(),
            concurrency: 256,
            run_rate: RunRateLimit::default(),
            app_wait_timeout: Duration::from_secs(300),
        }
    }
}

/// Why a run could not be advanced.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// Worth another delivery (a version not fetched yet, a server-side error).
    #[error("{0:#}")]
    Transient(anyhow::Error),
    /// NATS cannot do it right now (unreachable, no stream leader, a read behind the delivery
    /// during a failover): the step is tried again here, holding its delivery, until it can —
    /// a failover must not spend the deliveries that end a run as given up.
    #[error("{0:#}")]
    Unavailable(anyhow::Error),
    /// The run cannot go on: it ends errored with this message.
    #[error("{0}")]
    Fatal(String),
}

impl From<hops_bus::BusError> for StepError {
    fn from(err: hops_bus::BusError) -> Self {
        use hops_bus::BusError;
        // What a failover looks like: no responders, no stream leader (the stream "missing"),
        // a request that timed out. Other server errors may well repeat: they spend deliveries.
        if matches!(
            err,
            BusError::Timeout { .. }
                | BusError::StreamMissing { .. }
                | BusError::JetStreamUnavailable
        ) {
            StepError::Unavailable(err.into())
        } else {
            StepError::Transient(err.into())
        }
    }
}

impl StepError {
    /// An orchestration error: [`StepError::Unavailable`] when a bus error that goes away on
    /// its own is behind it.
    fn retry(err: anyhow::Error) -> StepError {
        match err.downcast::<hops_bus::BusError>() {
            Ok(bus) => bus.into(),
            Err(other) => StepError::Transient(other),
        }
    }
}

/// Waits before trying a step again while NATS is unavailable: 250 ms, doubling to 4 s.
fn unavailable_wait(tries: u32) -> Duration {
    Duration::from_millis(250u64 << tries.min(4))
}

/// How long one delivery's step is tried again in place while NATS is unavailable; past it the
/// delivery naks like any other failure (and counts toward giving up), so a stream that is
/// really gone ends its runs errored instead of keeping them waiting for ever.
const UNAVAILABLE_FOR_AT_MOST: Duration = Duration::from_secs(120);

/// What the runner shares with the rest of the host.
pub(crate) struct RunnerShared {
    /// Who serves which app.
    pub(crate) presence: Arc<Presence>,
    pub(crate) metrics: Arc<Metrics>,
    /// Calls this process runs itself, when it also serves apps.
    pub(crate) local: Option<Arc<LocalCalls>>,
}

/// Runs the runner until `cancel`. Waits for the first good pipelines before consuming, so no
/// message is spent while nothing can be evaluated.
pub(crate) async fn run(
    bus: Arc<Bus>,
    store: Arc<PipelineStore>,
    options: RunnerOptions,
    eval: EvalSettings,
    shared: RunnerShared,
    cancel: CancellationToken,
) {
    let RunnerShared {
        presence,
        metrics,
        local,
    } = shared;
    let mut changes = store.subscribe();
    while store.current().is_none() {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = changes.changed() => {}
        }
    }
    let name = options
        .consumer_name
        .clone()
        .unwrap_or_else(|| bus.runner_consumer_name());
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let runner = Arc::new(Runner {
        bus: Arc::clone(&bus),
        store,
        max_deliver: u64::try_from(options.consumer.max_deliver).unwrap_or(u64::MAX),
        cache: RunCache::default(),
        eval,
        rate: RunRate::new(options.run_rate),
        presence,
        app_wait_timeout: options.app_wait_timeout,
        metrics,
        ack_wait: options.consumer.ack_wait,
        local,
        stop: cancel.clone(),
        steps: Arc::clone(&limit),
    });
    if runner.local.is_some() {
        bus.set_event_starter(Arc::new(Starter(Arc::downgrade(&runner))));
        tokio::spawn(step_own_events(
            Arc::clone(&runner),
            Arc::clone(&limit),
            cancel.clone(),
        ));
    }
    // Wait markers come through a consumer of their own, so the steps' consumer can leave
    // out the done and attempt markers that only ever needed an ack.
    let waits = tokio::spawn(serve(
        Arc::clone(&runner),
        Feed::Waits,
        name.clone(),
        options.consumer.clone(),
        Arc::clone(&limit),
        options.concurrency,
        cancel.clone(),
    ));
    serve(
        runner,
        Feed::Steps,
        name,
        options.consumer.clone(),
        Arc::clone(&limit),
        options.concurrency,
        cancel.clone(),
    )
    .await;
    let _ = waits.await;
    // Let runs in progress finish their publishes.
    let _ = limit
        .acquire_many(u32::try_from(options.concurrency.max(1)).unwrap_or(u32::MAX))
        .await;
}

/// Which of the runner's two durable consumers a loop serves.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// Events, pins and results: `<name>`.
    Steps,
    /// Wait markers: `<name>-waits`.
    Waits,
}

/// Opens `feed`'s consumer (again, after a failure) and hands its deliveries to the runner
/// until `cancel`.
async fn serve(
    runner: Arc<Runner>,
    feed: Feed,
    name: String,
    options: RunnerConsumerOptions,
    limit: Arc<Semaphore>,
    batch: usize,
    cancel: CancellationToken,
) {
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        let opened = match feed {
            Feed::Steps => runner.bus.runner_consumer(&name, &options).await,
            Feed::Waits => runner.bus.runner_waits_consumer(&name, &options).await,
        };
        let consumer = match opened {
            Ok(consumer) => consumer,
            Err(err) => {
                failures += 1;
                warn!(error = %err, ?feed, "runner: could not open its consumer; retrying");
                backoff(&cancel, failures).await;
                continue;
            }
        };
        failures = 0;
        info!(consumer = %consumer.name(), "runner consuming");
        consume(&runner, &consumer, &limit, batch, &cancel).await;
    }
}

async fn consume(
    runner: &Arc<Runner>,
    consumer: &BusConsumer,
    limit: &Arc<Semaphore>,
    batch: usize,
    cancel: &CancellationToken,
) {
    let mut messages = match consumer.messages(batch.min(256)).await {
        Ok(messages) => messages,
        Err(err) => {
            warn!(error = %err, "runner: pull failed");
            backoff(cancel, 1).await;
            return;
        }
    };
    loop {
        let Ok(permit) = Arc::clone(limit).acquire_owned().await else {
            return;
        };
        let next = tokio::select! {
            () = cancel.cancelled() => return,
            next = messages.next() => next,
        };
        match next {
            Some(Ok(delivery)) => {
                let runner = Arc::clone(runner);
                // Boxed: a step's future is about 11 KiB, which a task would otherwise copy
                // in when spawned and again when it completes.
                tokio::spawn(Box::pin(async move {
                    runner.handle(delivery).await;
                    drop(permit);
                }));
            }
            Some(Err(err)) => {
                debug!(error = %err, "runner: receive error (the consumer recovers)");
                if !err.is_transient() {
                    backoff(cancel, 1).await;
                }
            }
            None => return,
        }
    }
}

/// Steps the runs of events this process stored as soon as they are stored, within the
/// runner's concurrency (past it, their deliveries step them as usual).
async fn step_own_events(runner: Arc<Runner>, limit: Arc<Semaphore>, cancel: CancellationToken) {
    let mut events = runner.bus.watch_stored_events();
    loop {
        let event = tokio::select! {
            () = cancel.cancelled() => return,
            event = events.recv() => event,
        };
        let Some(event) = event else {
            return;
        };
        if let Ok(permit) = Arc::clone(&limit).try_acquire_owned() {
            tokio::spawn(Box::pin(
                Arc::clone(&runner).step_after_event(event, permit),
            ));
        }
    }
}

async fn backoff(cancel: &CancellationToken, failures: u32) {
    let wait = Duration::from_millis(200u64 << failures.min(5));
    tokio::select! {
        () = cancel.cancelled() => {}
        () = tokio::time::sleep(wait) => {}
    }
}

struct Runner {
    bus: Arc<Bus>,
    store: Arc<PipelineStore>,
    max_deliver: u64,
    cache: RunCache,
    eval: EvalSettings,
    rate: RunRate,
    presence: Arc<Presence>,
    app_wait_timeout: Duration,
    metrics: Arc<Metrics>,
    /// The runner consumer's ack wait: a step waiting for its run's turn keeps its delivery.
    ack_wait: Duration,
    /// Calls this process runs itself, when it also serves apps.
    local: Option<Arc<LocalCalls>>,
    /// Cancelled when the runner stops: a step waiting for NATS gives its delivery back.
    stop: CancellationToken,
    /// Steps working at once (deliveries and runs this process starts itself).
    steps: Arc<Semaphore>,
}

/// Each run's place in this runner. Steps of one run take turns; a step reads every message
/// its run was delivered up to the newest one any waiting step holds, so one evaluation answers
/// them all (a run that fans out gets its results evaluated in batches, not one full read and
/// evaluation each). What a step read stays, so the next reads only what is new.
#[derive(Default)]
struct RunCache(std::sync::Mutex<std::collections::HashMap<String, Arc<RunSlot>>>);

/// Runs kept at most; beyond it runs no step is working on are dropped (a miss only costs a
/// full read).
const RUN_CACHE_MAX: usize = 10_000;

#[derive(Default)]
struct RunSlot {
    /// The highest stream sequence delivered to a step of this run that waits or works.
    through: AtomicU64,
    /// The run is over (see [`RunSlot::settle`]).
    finished: std::sync::atomic::AtomicBool,
    state: tokio::sync::Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    /// The run as read so far; `None` until read (or after a step failed midway).
    record: Option<RunRecord>,
    /// Every message of the run up to this sequence has been evaluated and what that
    /// decided is published: a delivery at or below it has nothing left to do.
    evaluated_through: u64,
    /// Stream sequences above the record's last one that this runner stored for the run and
    /// whose content the record already has or does not need (its pin, its requests): with
    /// them a local result can tell that nothing else was stored before it (`runner::local`).
    own: Vec<u64>,
}

impl RunCache {
    fn slot(&self, run_id: &str) -> Arc<RunSlot> {
        let Ok(mut runs) = self.0.lock() else {
            return Arc::default();
        };
        if let Some(slot) = runs.get(run_id) {
            return Arc::clone(slot);
        }
        if runs.len() >= RUN_CACHE_MAX {
            runs.retain(|_, slot| {
                Arc::strong_count(slot) > 1 || !slot.finished.load(Ordering::Relaxed)
            });
        }
        if runs.len() >= RUN_CACHE_MAX {
            runs.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        let slot = Arc::<RunSlot>::default();
        runs.insert(run_id.to_owned(), Arc::clone(&slot));
        slot
    }

    /// The run's slot, if this runner keeps one.
    fn existing(&self, run_id: &str) -> Option<Arc<RunSlot>> {
        self.0.lock().ok()?.get(run_id).cloned()
    }
}

impl RunSlot {
    /// Records a step that evaluated `record` and published what it decided (`stored`: the
    /// sequences of the pin and requests it stored). Once the run is over its record goes but
    /// the slot stays (until the cache needs room), so late deliveries of what was evaluated —
    /// a result evaluated before its delivery came — only ack instead of evaluating the whole
    /// run again.
    fn settle(&self, state: &mut SlotState, record: RunRecord, running: bool, stored: Vec<u64>) {
        state.evaluated_through = record.last_sequence;
        if running {
            state.own.retain(|s| *s > record.last_sequence);
            state.own.extend(stored);
            state.record = Some(record);
        } else {
            state.record = None;
            state.own.clear();
            self.finished.store(true, Ordering::Relaxed);
        }
    }
}

impl Runner {
    async fn handle(self: &Arc<Self>, delivery: Delivery) {
        if let SubjectKind::Wait { call } = &delivery.subject.kind {
            let call = call.clone();
            self.watch_wait(&delivery, &call).await;
            return;
        }
        let run_id = delivery.subject.run_id.clone();
        let advances = matches!(
            delivery.subject.kind,
            SubjectKind::Event | SubjectKind::Result { .. }
        );
        if !advances {
            // Pins and done markers are the runner's own output.
            ack(&delivery).await;
            return;
        }
        let span = tracing::info_span!("hops.runtime.runner.step", run_id = %run_id, delivered = delivery.delivered);
        async {
            if delivery.delivered > self.max_deliver {
                // The last allowed delivery never finished: its host stopped (or died on it).
                let message = crate::give_up::runner_gave_up(self.max_deliver);
                self.give_up(&delivery, &run_id, message).await;
                return;
            }
            let mut tries = 0u32;
            let waiting_since = std::time::Instant::now();
            let outcome = loop {
                match self.step(&delivery).await {
                    Err(StepError::Unavailable(err))
                        if waiting_since.elapsed() < UNAVAILABLE_FOR_AT_MOST =>
                    {
                        tries += 1;
                        if tries == 1 || tries.is_multiple_of(10) {
                            warn!(error = %err, tries, "run step waits for NATS; trying again");
                        } else {
                            debug!(error = %err, tries, "run step waits for NATS; trying again");
                        }
                        if let Err(err) = delivery.in_progress().await {
                            debug!(error = %err, "in-progress ack failed");
                        }
                        tokio::select! {
                            // Left unacknowledged: the step comes back to a runner later.
                            () = self.stop.cancelled() => return,
                            () = tokio::time::sleep(unavailable_wait(tries)) => {}
                        }
                    }
                    other => break other,
                }
            };
            match outcome {
                Ok(()) => ack(&delivery).await,
                Err(StepError::Fatal(message)) => {
                    warn!(error = %message, "run cannot go on; it ends errored");
                    match self.finish(&run_id, Some(message), Vec::new()).await {
                        Ok(()) => ack(&delivery).await,
                        Err(err) => nak(&delivery, err, self.max_deliver).await,
                    }
                }
                // Unavailable here: for longer than the runner waits in place.
                Err(StepError::Transient(err) | StepError::Unavailable(err))
                    if delivery.delivered >= self.max_deliver =>
                {
                    let message = format!(
                        "the runner gave up on this run after {} attempts: {err:#}",
                        delivery.delivered
                    );
                    self.give_up(&delivery, &run_id, message).await;
                }
                Err(StepError::Transient(err) | StepError::Unavailable(err)) => {
                    nak(&delivery, err, self.max_deliver).await;
                }
            }
        }
        .instrument(span)
        .await;
    }

    /// Ends the run errored with `message`, then stops the message's deliveries. If the end
    /// cannot be recorded (the bus is down) the message comes back later to try again: the
    /// consumer never drops it by itself.
    async fn give_up(&self, delivery: &Delivery, run_id: &str, message: String) {
        warn!(error = %message, "run ends errored");
        match self.finish(run_id, Some(message), Vec::new()).await {
            Ok(()) => {
                if let Err(err) = delivery.term().await {
                    debug!(error = %err, "term failed");
                }
            }
            Err(err) => nak(delivery, err, self.max_deliver).await,
        }
    }

    /// Reads the run, evaluates it and publishes the decisions, unless a step that read
    /// through the delivered message already did.
    async fn step(self: &Arc<Self>, delivery: &Delivery) -> Result<(), StepError> {
        let run_id = delivery.subject.run_id.as_str();
        let sequence = delivery.stream_sequence;
        let slot = self.cache.slot(run_id);
        slot.through.fetch_max(sequence, Ordering::Relaxed);
        // A step ahead may be slow (NATS unreachable): keep this delivery ours while waiting,
        // so waiting never spends its deliveries and ends the run as given up.
        let beat = (self.ack_wait / 3).max(Duration::from_millis(100));
        let mut state = loop {
            match tokio::time::timeout(beat, slot.state.lock()).await {
                Ok(state) => break state,
                Err(_) => {
                    if let Err(err) = delivery.in_progress().await {
                        debug!(error = %err, "in-progress ack failed");
                    }
                }
            }
        };
        if state.evaluated_through >= sequence {
            debug!(
                sequence,
                evaluated_through = state.evaluated_through,
                "already evaluated; only acks"
            );
            return Ok(());
        }
        let through = slot.through.load(Ordering::Relaxed).max(sequence);
        let mut record = self.read(state.record.take(), delivery, through).await?;
        if record.last_sequence < sequence {
            // The server that answered the read has not applied the delivered message yet (a
            // stream leader just elected on a cluster catches up after it answers). Evaluating
            // now would ack a result nobody evaluated and the run would stall: read again.
            let read_through = record.last_sequence;
            state.record = Some(record);
            return Err(StepError::Unavailable(anyhow::anyhow!(
                "the stream answered the read of run {run_id} only through sequence {read_through}, before the delivered message {sequence}"
            )));
        }
        let mut stored = Vec::new();
        let running = self.advance(run_id, &mut record, &mut stored).await?;
        slot.settle(&mut state, record, running, stored);
        Ok(())
    }

    /// Evaluates the run as read and publishes the decisions; false once the run is over.
    /// `stored` gets the sequences of the pin and requests this step stored.
    async fn advance(
        self: &Arc<Self>,
        run_id: &str,
        record: &mut RunRecord,
        stored: &mut Vec<u64>,
    ) -> Result<bool, StepError> {
        self.advance_with(run_id, record, stored, None).await
    }

    /// [`Runner::advance`] of an unpinned run whose first step was already sent (`first`).
    async fn advance_with(
        self: &Arc<Self>,
        run_id: &str,
        record: &mut RunRecord,
        stored: &mut Vec<u64>,
        first: Option<FirstStep>,
    ) -> Result<bool, StepError> {
        if record.run_done.is_some() {
            return Ok(false);
        }
        if let Some(problem) = &record.event_error {
            return Err(StepError::Fatal(format!("bad event: {problem}")));
        }
        let Some(event) = &record.event else {
            return Err(StepError::Fatal(
                "no source event is stored for this run".to_owned(),
            ));
        };
        if let Err(err) = EventMeta::of(event) {
            return Err(StepError::Fatal(format!("bad event: {err}")));
        }
        let first_step = record.pin().is_none();
        let mut pinned_here = false;
        let mut decided = None;
        let pin = match record.pin() {
            Some(pin) => pin.to_owned(),
            None => {
                let current = self.store.current().ok_or_else(|| {
                    StepError::Transient(anyhow::anyhow!("no pipelines are loaded yet"))
                })?;
                let first = match first {
                    Some(first) => first,
                    None => self.first_step_chained(run_id, record, &current).await,
                };
                let (pin, sequence) = match first {
                    FirstStep::Done { stored: chained } => {
                        stored.extend(chained);
                        return Ok(true);
                    }
                    FirstStep::Pinned {
                        pin,
                        sequence,
                        decisions,
                    } => {
                        decided = decisions;
                        (pin, sequence)
                    }
                    FirstStep::Unpinned { decisions } => {
                        let (pin, sequence) = self.bus.pin_run_once(run_id, &current.hash).await?;
                        // Decided for the current version: good if the run is pinned to it.
                        decided = decisions.filter(|_| pin == current.hash);
                        (pin, sequence)
                    }
                };
                record.set_pin(&pin);
                pinned_here = sequence.is_some();
                stored.extend(sequence);
                pin
            }
        };
        let decisions = match decided {
            Some(decisions) => decisions,
            None => {
                let set = self.store.by_hash(&pin).await.map_err(StepError::retry)?;
                let Some(bundle) = record.bundle() else {
                    return Err(StepError::Fatal("the run has no event".to_owned()));
                };
                let mut decisions = evaluate(&set, bundle, &self.eval.context(run_id))
                    .map_err(|err| StepError::Fatal(err.to_string()))?;
                if first_step {
                    self.limit_new_runs(&mut decisions);
                }
                decisions
            }
        };
        if pinned_here {
            for state in &decisions.pipelines {
                self.metrics.run_started(&state.name);
            }
        }
        for diagnostic in &decisions.diagnostics {
            warn!(version = %short(&pin), "{}", diagnostic.summary);
        }
        stored.extend(self.publish(run_id, &decisions, record.depth()).await?);
        // Requests are not read back (the runner reads results and markers only): what it
        // published itself it knows; another runner's requests show up as duplicates.
        for call in &decisions.calls {
            record.note_requested(&call.call);
        }
        if decisions.run_status() != PipelineStatus::Running {
            let pipelines = decisions.pipelines.iter().map(|p| p.name.clone()).collect();
            self.finish(run_id, run_error(&decisions, record), pipelines)
                .await
                .map_err(StepError::retry)?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Stops, on a run's first step, every pipeline that has started more runs than the rate
    /// allows: its calls are dropped and it ends errored with the reason.
    fn limit_new_runs(&self, decisions: &mut Decisions) {
        let limit = self.rate.limit();
        let mut refused = Vec::new();
        for state in &decisions.pipelines {
            if let Admission::Refused { warn } = self.rate.admit(&state.name) {
                if warn {
                    warn!(pipeline = %state.name, per_second = limit.per_second, burst = limit.burst, "pipeline {} starts runs faster than the limit; new runs are stopped", state.name);
                }
                refused.push(state.name.clone());
            }
        }
        if refused.is_empty() {
            return;
        }
        decisions.calls.retain(|c| !refused.contains(&c.on));
        decisions.done.retain(|d| !refused.contains(&d.on));
        for state in &mut decisions.pipelines {
            if refused.contains(&state.name) {
                state.status = PipelineStatus::Errored;
                decisions.done.push(DoneDecision {
                    on: state.name.clone(),
                    errored: true,
                    error: Some(refused_message(&state.name, limit)),
                });
            }
        }
    }

    /// The run as it stood when the message at `through` was stored: a prefix of its
    /// messages that reaches at least that far (`through` is the delivered message or a newer
    /// one of the same run delivered to a waiting step). Anything stored later is delivered on
    /// its own and evaluated then, so there is no need to look further (that look is a round
    /// trip that usually finds nothing). Built from what this runner already read plus the
    /// results and markers that are new, or read from the start when it has not seen the run;
    /// a run's source event is its first message, so its delivery alone starts the prefix.
    async fn read(
        &self,
        cached: Option<RunRecord>,
        delivery: &Delivery,
        through: u64,
    ) -> Result<RunRecord, StepError> {
        let run_id = delivery.subject.run_id.as_str();
        let mut record = match cached {
            Some(record) => record,
            None if delivery.subject.kind == SubjectKind::Event => {
                RunRecord::from_messages(&[delivery.to_run_message()])
            }
            None => {
                let messages = self
                    .bus
                    .read_run_through(run_id, Channels::All, through)
                    .await?;
                return Ok(RunRecord::from_messages(&messages));
            }
        };
        self.read_newer(run_id, &mut record, through).await?;
        Ok(record)
    }

    /// Extends `record` with the run's results and markers stored after it, up to `through`;
    /// on failure the record is left as it was.
    async fn read_newer(
        &self,
        run_id: &str,
        record: &mut RunRecord,
        through: u64,
    ) -> Result<(), hops_bus::BusError> {
        if record.last_sequence < through {
            let newer = self
                .bus
                .read_run_after(
                    run_id,
                    Channels::Notify,
                    record.last_sequence,
                    Some(through),
                )
                .await?;
            record.extend(&newer);
        }
        Ok(())
    }

    /// Publishes the decisions; returns the sequences of the requests it stored. A call to
    /// an app this process serves with a free slot is claimed, published with `Hops-Local`
    /// and run here right away (`crate::local`).
    async fn publish(
        self: &Arc<Self>,
        run_id: &str,
        decisions: &Decisions,
        depth: u32,
    ) -> Result<Vec<u64>, StepError> {
        let subjects = self.bus.subjects();
        let mut publishes = Vec::with_capacity(decisions.calls.len() + decisions.done.len());
        for call in &decisions.calls {
            let request = self.request(run_id, call, depth)?;
            publishes.push(futures::future::Either::Left(async move {
                let published = self
                    .bus
                    .publish_once_with_headers(
                        &request.subject,
                        request.headers.clone(),
                        request.payload.clone(),
                    )
                    .await?;
                if published.duplicate {
                    return Ok(None);
                }
                debug!(call = %call.call, app = %call.app, handler = %call.handler, local = request.claim.is_some(), "call dispatched");
                if request.claim.is_some() {
                    self.run_locally(run_id, call, request);
                } else {
                    self.watch_if_unserved(run_id, call).await?;
                }
                Ok::<_, hops_bus::BusError>(Some(published.sequence))
            }));
        }
        for done in &decisions.done {
            let subject = subjects
                .done(run_id, &done.on)
                .map_err(|e| StepError::Fatal(format!("pipeline {}: {e}", done.on)))?;
            let marker = ResultMessage::done_marker(done.errored, done.error.clone(), Utc::now());
            let bus = &self.bus;
            let metrics = &self.metrics;
            publishes.push(futures::future::Either::Right(async move {
                let published = bus
                    .publish_once(&subject, Bytes::from(marker.to_bytes()))
                    .await?;
                if !published.duplicate {
                    metrics.pipeline_finished(&done.on, done.errored);
                }
                // A done marker is not in the record: it does not count as known.
                Ok(None)
            }));
        }
        let mut stored = Vec::new();
        for outcome in futures::future::join_all(publishes).await {
            stored.extend(outcome?);
        }
        Ok(stored)
    }

    /// What publishing `call`'s request needs; with this process's claim on the call when it
    /// runs it itself (`crate::local`), which the request then says (`Hops-Local`).
    fn request(
        &self,
        run_id: &str,
        call: &Dispatch,
        depth: u32,
    ) -> Result<OutgoingRequest, StepError> {
        let subjects = self.bus.subjects();
        let subject = subjects
            .request(run_id, &call.call, &call.app, &call.handler)
            .map_err(|e| StepError::Fatal(format!("call {}: {e}", call.call)))?;
        let result_subject = subjects
            .result(run_id, &call.call)
            .map_err(|e| StepError::Fatal(format!("call {}: {e}", call.call)))?;
        let payload = match &call.inputs {
            Some(inputs) => Bytes::from(serde_json::to_vec(inputs).unwrap_or_default()),
            None => Bytes::new(),
        };
        let mut headers = call_headers::encode(call, depth);
        let claim = self
            .local
            .as_ref()
            .and_then(|local| local.claim(&call.app, &result_subject));
        if let (Some(local), Some(_)) = (&self.local, &claim) {
            headers.insert(call_headers::LOCAL, local.host_id.as_str());
        }
        Ok(OutgoingRequest {
            subject,
            result_subject,
            payload,
            headers,
            claim,
        })
    }

    /// Runs a claimed call whose request is stored, here, then evaluates its result.
    fn run_locally(self: &Arc<Self>, run_id: &str, call: &Dispatch, request: OutgoingRequest) {
        let (Some(local), Some(claim)) = (&self.local, request.claim) else {
            return;
        };
        // The local run applies the settings its request carries, as a worker would.
        let settings = call_headers::decode(Some(&request.headers));
        let local_call = LocalCall {
            run_id: run_id.to_owned(),
            call: call.call.clone(),
            app: call.app.clone(),
            handler: call.handler.clone(),
            inputs: request.payload,
            settings,
            result_subject: request.result_subject,
        };
        let runner = Arc::clone(self);
        let calls = Arc::clone(local);
        // Boxed, like the runner's steps: the future is about 12 KiB.
        local.tasks.spawn(Box::pin(async move {
            match calls.run(claim, local_call).await {
                Ran::Stored(result) => runner.step_after_local(result).await,
                Ran::Ready(ready) => runner.step_after_ready(*ready).await,
                Ran::Nothing => {}
            }
        }));
    }

    /// A call to an app no worker serves gets a wait marker: the runner watches it (below)
    /// until a worker takes the call or the wait runs out.
    async fn watch_if_unserved(
        &self,
        run_id: &str,
        call: &hops_pipeline::Dispatch,
    ) -> Result<(), hops_bus::BusError> {
        if self.presence.served(&call.app).await {
            return Ok(());
        }
        let wait = call
            .timeout
            .map_or(self.app_wait_timeout, |t| t.min(self.app_wait_timeout));
        let deadline = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        let marker = serde_json::json!({
            "app": call.app,
            "handler": call.handler,
            "deadline": deadline,
            "wait_ms": u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        });
        let subject = self.bus.subjects().wait(run_id, &call.call)?;
        self.bus
            .publish_once(&subject, Bytes::from(marker.to_string()))
            .await?;
        info!(call = %call.call, app = %call.app, wait = %humantime::format_duration(wait), "no worker serves app {}; the call waits for one", call.app);
        Ok(())
    }

    /// One look at a waiting call: done once a worker serves its app (the worker takes it
    /// from there) or its result is stored; errored once its wait has run out; otherwise asked
    /// for again in a few seconds. Durable: a restarted runner picks the watch up again.
    async fn watch_wait(&self, delivery: &Delivery, call: &str) {
        let run_id = delivery.subject.run_id.as_str();
        let Ok(marker) = serde_json::from_slice::<serde_json::Value>(&delivery.payload) else {
            warn!(run_id, call, "dropping an unreadable wait marker");
            let _ = delivery.term().await;
            return;
        };
        let app = marker["app"].as_str().unwrap_or_default().to_owned();
        let deadline = marker["deadline"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
        let Ok(result_subject) = self.bus.subjects().result(run_id, call) else {
            let _ = delivery.term().await;
            return;
        };
        let look = async {
            if self.bus.has_message(&result_subject).await? || self.presence.served(&app).await {
                return Ok::<_, hops_bus::BusError>(None);
            }
            let left = (deadline - Utc::now()).to_std().unwrap_or_default();
            if !left.is_zero() {
                return Ok(Some(left));
            }
            let waited = Duration::from_millis(marker["wait_ms"].as_u64().unwrap_or(0));
            let why = match self.presence.of(&app).await {
                crate::presence::AppPresence::Missing(why) => why,
                crate::presence::AppPresence::Served => format!("no worker served app {app}"),
            };
            let message = format!(
                "no worker took this call to app {app} within {} (the host's --app-wait-timeout, or the call's timeout): {why}",
                humantime::format_duration(waited)
            );
            let now = Utc::now();
            let result = ResultMessage::errored(&message, now, now);
            if !self
                .bus
                .publish_once(&result_subject, Bytes::from(result.to_bytes()))
                .await?
                .duplicate
            {
                warn!(run_id, call, app = %app, "a call waited too long for a worker; it ends errored");
            }
            Ok(None)
        };
        match look.await {
            Ok(None) => ack(delivery).await,
            Ok(Some(left)) => {
                let _ = delivery.nak(Some(left.min(Duration::from_secs(5)))).await;
            }
            Err(err) => {
                debug!(error = %err, "could not look at a waiting call; looking again soon");
                let _ = delivery.nak(Some(Duration::from_secs(1))).await;
            }
        }
    }

    /// Publishes the run-level done marker (errored when `error` is set), naming the
    /// `pipelines` the run's event matched.
    async fn finish(
        &self,
        run_id: &str,
        error: Option<String>,
        pipelines: Vec<String>,
    ) -> anyhow::Result<()> {
        let subject = self.bus.subjects().done(run_id, RUN_MARKER)?;
        let mut marker = ResultMessage::done_marker(error.is_some(), error, Utc::now());
        marker.hops.pipelines = pipelines;
        let published = self
            .bus
            .publish_once(&subject, Bytes::from(marker.to_bytes()))
            .await?;
        if !published.duplicate {
            self.metrics.run_finished(marker.errored);
            info!(run_id, errored = marker.errored, "run finished");
        }
        Ok(())
    }
}

/// Why a finished run errored: its errored pipelines and their reasons; `None` when it completed.
fn run_error(decisions: &Decisions, record: &RunRecord) -> Option<String> {
    if decisions.run_status() != PipelineStatus::Errored {
        return None;
    }
    let reasons: Vec<String> = decisions
        .pipelines
        .iter()
        .filter(|p| p.status == PipelineStatus::Errored)
        .map(|p| {
            let reason = decisions
                .done
                .iter()
                .find(|d| d.on == p.name)
                .and_then(|d| d.error.clone())
                .or_else(|| {
                    record
                        .done()
                        .get(&p.name)
                        .and_then(crate::run_record::marker_error)
                });
            match reason {
                Some(reason) => format!("pipeline {} errored: {reason}", p.name),
                None => format!("pipeline {} errored", p.name),
            }
        })
        .collect();
    Some(reasons.join("; "))
}

async fn ack(delivery: &Delivery) {
    if let Err(err) = delivery.ack_unconfirmed().await {
        // Redelivery re-evaluates the run, which publishes nothing new.
        debug!(error = %err, "ack failed");
    }
}

async fn nak(delivery: &Delivery, err: impl std::fmt::Display, max_deliver: u64) {
    let wait = Duration::from_millis(250u64 << delivery.delivered.min(6));
    warn!(error = %err, attempt = delivery.delivered, max_deliver, "run step failed; trying again");
    if let Err(err) = delivery.nak(Some(wait)).await {
        debug!(error = %err, "nak failed");
    }
}
