//! Worker loops: one durable consumer per app this process serves. Each request runs on the
//! app's [`Worker`]; exactly one result is published per call, and the request is acknowledged
//! only once its result is stored. Apps added to or removed from the registry start and stop
//! their loops while the host runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt as _;
use hops_bus::{Bus, Delivery, SubjectKind, WorkerConsumerOptions};
use hops_core::{CallError, CallRequest, ResultMessage, Worker, Workers};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, warn};

use crate::call_headers;

/// Attempts a call gets when its app asks for a retry and the pipeline set no retry policy.
const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
/// Delay before a retry when neither the app nor the pipeline gave one.
const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// Slack over a call's own timeout before the worker loop stops waiting for it (the wasm
/// host's own deadline normally fires first, with a more precise message).
const TIMEOUT_GRACE: Duration = Duration::from_secs(2);

/// Serves every app of `workers` until `cancel`.
pub async fn run(
    bus: Arc<Bus>,
    workers: Workers,
    options: WorkerConsumerOptions,
    cancel: CancellationToken,
) {
    let mut changes = workers.subscribe();
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
                        tokio::spawn(async move {
                            this.handle(delivery, running).await;
                            drop(admit);
                        });
                    }
                    Some(Err(err)) => {
                        debug!(app = %this.app, error = %err, "worker: receive error")
                    }
                    None => break,
                }
            }
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
        async move {
            let Ok(result_subject) = self.bus.subjects().result(&run_id, &call) else {
                let _ = delivery.term().await;
                return;
            };
            if i64::try_from(delivery.delivered).unwrap_or(i64::MAX) > self.options.max_deliver {
                // The last delivery allowed to run the call never finished: its host stopped
                // (or died on it). Record that instead of running it yet again.
                let now = Utc::now();
                let limit = u64::try_from(self.options.max_deliver).unwrap_or(0);
                let result =
                    ResultMessage::errored(&crate::give_up::call_gave_up(&app, limit), now, now);
                self.store(&delivery, &result_subject, &result).await;
                return;
            }
            // A result stored by an earlier delivery (the host stopped before its ack): done.
            // Only a redelivery can find one, so a first delivery skips the round trip.
            let earlier = if delivery.delivered > 1 {
                self.bus.read_last(&result_subject).await
            } else {
                Ok(None)
            };
            match earlier {
                Ok(Some(_)) => {
                    let _ = delivery.ack_unconfirmed().await;
                    return;
                }
                Ok(None) => {}
                Err(err) => {
                    debug!(error = %err, "could not check for an earlier result");
                    let _ = delivery.nak(Some(Duration::from_secs(1))).await;
                    return;
                }
            }
            // Keep the request ours while it waits for a slot and while it runs.
            let heartbeat = heartbeat(&delivery, self.options.ack_wait);
            let settings = call_headers::decode(delivery.headers.as_ref());
            let attempt = u32::try_from(delivery.delivered).unwrap_or(u32::MAX).max(1);
            let last_delivery =
                i64::try_from(delivery.delivered).unwrap_or(i64::MAX) >= self.options.max_deliver;
            let outcome = {
                let _slot = tokio::select! {
                    slot = running.acquire() => slot,
                    never = heartbeat.beat() => match never {},
                };
                let started_at = Utc::now();
                let outcome = match self.workers.get(&app) {
                    Some(worker) => {
                        let request = CallRequest {
                            run_id: run_id.clone(),
                            call_id: call.clone(),
                            app: app.clone(),
                            handler: handler.clone(),
                            inputs: if delivery.payload.is_empty() {
                                "null".to_owned()
                            } else {
                                String::from_utf8_lossy(&delivery.payload).into_owned()
                            },
                            attempt,
                            timeout: settings.timeout,
                        };
                        tokio::select! {
                            outcome = call_with_timeout(worker, request) => outcome,
                            never = heartbeat.beat() => match never {},
                        }
                    }
                    None => Err(CallError::Retry {
                        message: format!("app {app} is not loaded in this host"),
                        backoff: Some(Duration::from_secs(5)),
                    }),
                };
                (outcome, started_at, Utc::now())
            };
            let (outcome, started_at, finished_at) = outcome;
            let mut result = match &outcome {
                Err(CallError::Retry { message, backoff }) => {
                    let attempts = settings
                        .retry
                        .map_or(DEFAULT_RETRY_ATTEMPTS, |r| r.attempts);
                    if attempt < attempts && !last_delivery {
                        let wait = backoff
                            .or_else(|| settings.retry.map(|r| r.delay_before(attempt + 1)))
                            .unwrap_or(DEFAULT_RETRY_BACKOFF);
                        info!(error = %message, retry_in = ?wait, "call asked for a retry");
                        let _ = delivery.nak(Some(wait)).await;
                        return;
                    }
                    ResultMessage::errored(
                        &format!("{message} (gave up after {attempt} attempts)"),
                        started_at,
                        finished_at,
                    )
                }
                _ => ResultMessage::from_outcome(&outcome, started_at, finished_at),
            };
            if attempt > 1 {
                result.hops.attempts = Some(attempt);
            }
            self.store(&delivery, &result_subject, &result).await;
        }
        .instrument(span)
        .await;
    }

    /// Publishes the call's one result (a result already stored stands) and then acks the
    /// request; if the result cannot be stored the request comes back in a second.
    async fn store(&self, delivery: &Delivery, subject: &str, result: &ResultMessage) {
        match self
            .bus
            .publish_once(subject, Bytes::from(result.to_bytes()))
            .await
        {
            Ok(_) => {
                if let Err(err) = delivery.ack_unconfirmed().await {
                    // A redelivery finds the stored result and only acks.
                    debug!(error = %err, "ack failed");
                }
                debug!(errored = result.errored, "call finished");
            }
            Err(err) => {
                warn!(error = %err, "could not store the call's result; the request comes back to try again");
                let _ = delivery.nak(Some(Duration::from_secs(1))).await;
            }
        }
    }
}

async fn call_with_timeout(
    worker: Arc<dyn Worker>,
    request: CallRequest,
) -> Result<hops_core::CallOutput, CallError> {
    let app = request.app.clone();
    match request.timeout {
        Some(timeout) => {
            match tokio::time::timeout(timeout + TIMEOUT_GRACE, worker.handle(request)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(CallError::Reject(format!(
                    "app {app} exceeded its {} timeout",
                    humantime::format_duration(timeout)
                ))),
            }
        }
        None => worker.handle(request).await,
    }
}

/// Sends in-progress acks every third of the ack wait.
struct Heartbeat<'a> {
    delivery: &'a Delivery,
    every: Duration,
}

fn heartbeat(delivery: &Delivery, ack_wait: Duration) -> Heartbeat<'_> {
    Heartbeat {
        delivery,
        every: (ack_wait / 3).max(Duration::from_millis(100)),
    }
}

impl Heartbeat<'_> {
    /// Beats until dropped; never returns.
    async fn beat(&self) -> std::convert::Infallible {
        loop {
            tokio::time::sleep(self.every).await;
            if let Err(err) = self.delivery.in_progress().await {
                debug!(error = %err, "in-progress ack failed");
            }
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
