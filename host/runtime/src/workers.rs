//! Worker loops: one durable consumer per app this process serves. Each request runs on the
//! app's [`Worker`]; exactly one result is published per call, and the request is acknowledged
//! only once its result is stored. Apps added to or removed from the registry start and stop
//! their loops while the host runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use hops_bus::{Bus, Delivery, SubjectKind, WorkerConsumerOptions};
use hops_core::Workers;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, warn};

mod call;
mod grace;
pub(crate) mod inflight;
pub(crate) mod outcome;

use crate::drain::CallTally;
use crate::inputs::{INPUT_APP, Inputs};
use crate::local::LocalCalls;
use crate::metrics::Metrics;
use inflight::InFlight;

/// What the worker loops share with the rest of the host.
pub(crate) struct WorkerShared {
    pub(crate) metrics: Arc<Metrics>,
    /// The runner's local runs in this process, when it has both roles.
    pub(crate) local: Option<Arc<LocalCalls>>,
    /// Open inputs (the built-in `input` app).
    pub(crate) inputs: Option<Arc<Inputs>>,
}

/// Serves every app of `workers` until `cancel`; then calls in flight finish, unless the
/// tally's hand-back token fires first.
pub(crate) async fn run(
    bus: Arc<Bus>,
    workers: Workers,
    options: WorkerConsumerOptions,
    cancel: CancellationToken,
    tally: Arc<CallTally>,
    shared: WorkerShared,
) {
    let WorkerShared {
        metrics,
        local,
        inputs,
    } = shared;
    let mut changes = workers.subscribe();
    // Shared with the runner's local runs, whose requests these loops also get delivered.
    let inflight = local
        .as_ref()
        .map_or_else(InFlight::default, |local| local.inflight.clone());
    let mut loops: BTreeMap<String, CancellationToken> = BTreeMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let names = workers.names();
        for name in &names {
            if !loops.contains_key(name) {
                let stop = cancel.child_token();
                loops.insert(name.clone(), stop.clone());
                let app = AppLoop {
                    bus: Arc::clone(&bus),
                    workers: workers.clone(),
                    app: name.clone(),
                    options: options.clone(),
                    inflight: inflight.clone(),
                    tally: Arc::clone(&tally),
                    metrics: Arc::clone(&metrics),
                    local: local.clone(),
                    inputs: inputs.clone(),
                    stop: stop.clone(),
                };
                tasks.spawn(app.run(stop));
            }
        }
        loops.retain(|name, stop| {
            let keep = names.contains(name);
            if !keep {
                info!(app = %name, "app removed; its worker loop stops");
                stop.cancel();
            }
            keep
        });
        tokio::select! {
            () = cancel.cancelled() => break,
            changed = changes.changed() => if changed.is_err() { break },
        }
    }
    // Calls in flight finish and publish their results before the host stops.
    while tasks.join_next().await.is_some() {}
}

struct AppLoop {
    bus: Arc<Bus>,
    workers: Workers,
    app: String,
    options: WorkerConsumerOptions,
    inflight: InFlight,
    tally: Arc<CallTally>,
    metrics: Arc<Metrics>,
    /// The runner's local runs in this process, when it has both roles.
    local: Option<Arc<LocalCalls>>,
    /// Open inputs, for the loop of the built-in `input` app.
    inputs: Option<Arc<Inputs>>,
    /// Cancelled when the loop stops taking deliveries (host stopping, app removed).
    stop: CancellationToken,
}

impl AppLoop {
    async fn run(self, stop: CancellationToken) {
        let Some(worker) = self.workers.get(&self.app) else {
            return;
        };
        let concurrency = worker.max_concurrency().max(1);
        drop(worker);
        let this = Arc::new(self);
        // Requests taken from the consumer (running or waiting for a slot): twice the
        // concurrency, so a slot never waits on a pull round trip.
        let admitted = Arc::new(Semaphore::new(concurrency * 2));
        let running = Arc::new(Semaphore::new(concurrency));
        // The runner's local runs of this app take the same slots. An input is opened by
        // its worker loop only (it waits for people, not for a slot).
        if let Some(local) = this.local.as_ref().filter(|_| this.app != INPUT_APP) {
            local.serve(&this.app, Arc::clone(&running));
        }
        let mut failures = 0u32;
        while !stop.is_cancelled() {
            let consumer = match this.bus.worker_consumer(&this.app, &this.options).await {
                Ok(consumer) => consumer,
                Err(err) => {
                    failures += 1;
                    warn!(app = %this.app, error = %err, "worker: could not open the app's consumer; retrying");
                    pause(&stop, failures).await;
                    continue;
                }
            };
            failures = 0;
            let mut messages = match consumer.messages(concurrency).await {
                Ok(messages) => messages,
                Err(err) => {
                    warn!(app = %this.app, error = %err, "worker: pull failed");
                    pause(&stop, 1).await;
                    continue;
                }
            };
            info!(app = %this.app, concurrency, "worker serving");
            loop {
                let Ok(admit) = Arc::clone(&admitted).acquire_owned().await else {
                    return;
                };
                let next = tokio::select! {
                    () = stop.cancelled() => break,
                    next = messages.next() => next,
                };
                match next {
                    Some(Ok(delivery)) => {
                        let this = Arc::clone(&this);
                        let running = Arc::clone(&running);
                        // Boxed: a call's future is about 12 KiB, which a task would
                        // otherwise copy in when spawned and again when it completes.
                        tokio::spawn(Box::pin(async move {
                            this.handle(delivery, running).await;
                            drop(admit);
                        }));
                    }
                    Some(Err(err)) => {
                        debug!(app = %this.app, error = %err, "worker: receive error")
                    }
                    None => break,
                }
            }
        }
        if let Some(local) = &this.local {
            local.unserve(&this.app);
        }
        // Wait for this app's calls in flight.
        let _ = admitted
            .acquire_many(u32::try_from(concurrency * 2).unwrap_or(u32::MAX))
            .await;
    }

    async fn handle(&self, delivery: Delivery, running: Arc<Semaphore>) {
        let SubjectKind::Request { call, app, handler } = delivery.subject.kind.clone() else {
            let _ = delivery.term().await;
            return;
        };
        let run_id = delivery.subject.run_id.clone();
        let span = tracing::info_span!("hops.runtime.worker.call", run_id = %run_id, call = %call, app = %app, handler = %handler, attempt = delivery.delivered);
        let Ok(result_subject) = self.bus.subjects().result(&run_id, &call) else {
            let _ = delivery.term().await;
            return;
        };
        let request = call::Request {
            delivery: &delivery,
            run_id,
            call,
            app,
            handler,
            result_subject,
            publisher: crate::call_headers::local_publisher(delivery.headers.as_ref()),
        };
        // Delivery 1 of a request this process runs itself mirrors the local run, which the
        // tally counts and which records its own hand-back: this delivery only follows it.
        let mirrors_local = delivery.delivered == 1
            && self
                .local
                .as_ref()
                .is_some_and(|local| request.publisher.as_deref() == Some(local.host_id.as_str()));
        let counted = (!mirrors_local).then(|| self.tally.enter());
        let hand_back = self.tally.hand_back.clone();
        let handled = async {
            tokio::select! {
                biased;
                ended = self.handle_request(&request, running) => ended,
                () = hand_back.cancelled() => call::Ended::HandedBack { started: true },
            }
        }
        .instrument(span.clone())
        .await;
        match (handled, counted) {
            (call::Ended::HandedBack { .. }, None) => {
                if let Err(err) = delivery.nak(None).await {
                    debug!(error = %err, "nak failed; the request comes back after its ack wait");
                }
            }
            (_, None) => {}
            (call::Ended::Stored | call::Ended::Waiting, Some(counted)) => counted.finished(),
            (call::Ended::HandedBack { started }, Some(counted)) => {
                counted.handed_back();
                self.hand_back(&request, started).instrument(span).await;
            }
            (call::Ended::Later, Some(_)) => {}
        }
    }
}

async fn pause(stop: &CancellationToken, failures: u32) {
    let wait = Duration::from_millis(200u64 << failures.min(5));
    tokio::select! {
        () = stop.cancelled() => {}
        () = tokio::time::sleep(wait) => {}
    }
}
