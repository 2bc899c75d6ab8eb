//! One delivery of a call request: run it at most once, store exactly one result, then ack.
//!
//! Exactly-once does not rest on acks having reached the server's disk (a nats-server that
//! restarts can redeliver what was acked): every delivery looks for a stored result before it
//! runs the call, and again after waiting for a concurrency slot; a second delivery of a
//! request this process is already working on waits for the first. A call whose host was lost
//! comes back after the (short) ack wait, kept alive meanwhile by in-progress acks, and runs
//! as the next attempt with "host lost during attempt N" in its result.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use hops_bus::{BusError, Delivery};
use hops_core::{CallError, CallOutput, CallRequest, ResultMessage, Worker};
use serde_json::json;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::AppLoop;
use super::inflight::{Claim, released};
use crate::call_headers::{self, CallSettings};

/// Attempts a call gets when its app asks for a retry and the pipeline set no retry policy.
const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
/// Delay before a retry when neither the app nor the pipeline gave one.
const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// Slack over a call's own timeout before the worker loop stops waiting for it (the wasm
/// host's own deadline normally fires first, with a more precise message).
const TIMEOUT_GRACE: Duration = Duration::from_secs(2);
/// Longest pause between two attempts to store a result while NATS is unreachable.
const MAX_STORE_BACKOFF: Duration = Duration::from_secs(5);

/// How the handling of one delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The call's result is stored (by this delivery or an earlier one) and the request acked.
    Stored,
    /// The request comes back later (a retry, a check that failed); nothing is stored yet.
    Later,
    /// The host is stopping: the request goes back unacknowledged for another host.
    HandedBack {
        /// Whether the call had started running here.
        started: bool,
    },
}

/// The request of one delivery, parsed.
pub(super) struct Request<'d> {
    pub(super) delivery: &'d Delivery,
    pub(super) run_id: String,
    pub(super) call: String,
    pub(super) app: String,
    pub(super) handler: String,
    pub(super) result_subject: String,
}

impl AppLoop {
    /// Handles one delivery of `request`.
    pub(super) async fn handle_request(&self, req: &Request<'_>, running: Arc<Semaphore>) -> Ended {
        let delivery = req.delivery;
        if i64::try_from(delivery.delivered).unwrap_or(i64::MAX) > self.options.max_deliver {
            // The last delivery allowed to run the call never finished: its host stopped
            // (or died on it). Record that instead of running it yet again.
            let now = Utc::now();
            let limit = u64::try_from(self.options.max_deliver).unwrap_or(0);
            let result =
                ResultMessage::errored(&crate::give_up::call_gave_up(&req.app, limit), now, now);
            let heartbeat = Heartbeat::new(delivery, self.options.ack_wait);
            self.store(req, result, &heartbeat).await;
            self.release(req).await;
            return Ended::Stored;
        }
        let heartbeat = Heartbeat::new(delivery, self.options.ack_wait);
        // Another delivery of this request is being handled here: let it finish first.
        let _claim = loop {
            match self.inflight.claim(&req.result_subject) {
                Claim::Mine(guard) => break guard,
                Claim::Busy(rx) => {
                    debug!("this request is already being handled here; waiting for it");
                    heartbeat.while_waiting(released(rx)).await;
                }
            }
        };
        if let Some(ended) = self.already_stored(req).await {
            return ended;
        }
        let slot = match Arc::clone(&running).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                // A host that stops hands back what has not started instead of starting it.
                let waited = heartbeat
                    .while_waiting(async {
                        tokio::select! {
                            slot = running.acquire_owned() => slot.ok(),
                            () = self.stop.cancelled() => None,
                        }
                    })
                    .await;
                let Some(slot) = waited else {
                    return Ended::HandedBack { started: false };
                };
                // Waiting may have taken long enough for another host to finish the call.
                if let Some(ended) = self.already_stored(req).await {
                    return ended;
                }
                slot
            }
        };
        let settings = call_headers::decode(delivery.headers.as_ref());
        let attempt = u32::try_from(delivery.delivered).unwrap_or(u32::MAX).max(1);
        let previous = if attempt > 1 {
            self.previous_attempts(req, attempt).await
        } else {
            Vec::new()
        };
        let started_at = Utc::now();
        let outcome = match self.prepare(req, &settings, attempt) {
            Ok(request) => match self.workers.get(&req.app) {
                Some(worker) => {
                    heartbeat
                        .while_waiting(call_with_timeout(worker, request))
                        .await
                }
                None => Err(CallError::Retry {
                    message: format!("app {} is not loaded in this host", req.app),
                    backoff: Some(Duration::from_secs(5)),
                }),
            },
            Err(early) => Err(early),
        };
        drop(slot);
        let finished_at = Utc::now();
        let last_delivery =
            i64::try_from(delivery.delivered).unwrap_or(i64::MAX) >= self.options.max_deliver;
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
                    self.record_attempt(req, attempt, message).await;
                    let _ = delivery.nak(Some(wait)).await;
                    return Ended::Later;
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
            result.hops.previous_attempts = previous;
        }
        self.store(req, result, &heartbeat).await;
        self.release(req).await;
        Ended::Stored
    }

    /// Gives the request back unacknowledged, with a note for the attempt that follows.
    pub(super) async fn hand_back(&self, req: &Request<'_>, started: bool) {
        let attempt = u32::try_from(req.delivery.delivered)
            .unwrap_or(u32::MAX)
            .max(1);
        let why = if started {
            "handed back unfinished: its host was stopping and the drain timeout ran out"
        } else {
            "handed back before it started: its host was stopping"
        };
        self.record_attempt(req, attempt, why).await;
        if let Err(err) = req.delivery.nak(None).await {
            debug!(error = %err, "nak failed; the request comes back after its ack wait");
        }
        info!(started, "call handed back to another host");
    }

    /// Tells the app's worker the call's result is stored (the k8s runner deletes its Pod).
    async fn release(&self, req: &Request<'_>) {
        if let Some(worker) = self.workers.get(&req.app) {
            worker.result_stored(&req.run_id, &req.call).await;
        }
    }

    /// The call as the worker sees it, or why it ends before it starts: its inputs cannot be
    /// read, or its timeout ran out while it waited to be taken.
    fn prepare(
        &self,
        req: &Request<'_>,
        settings: &CallSettings,
        attempt: u32,
    ) -> Result<CallRequest, CallError> {
        let delivery = req.delivery;
        if let Some(problem) = &delivery.payload_error {
            return Err(CallError::Reject(format!(
                "the inputs of this call cannot be read: {problem}"
            )));
        }
        // The pipeline's timeout counts from dispatch: a first attempt that waited longer than
        // that for a worker ends without starting (retries get their own time).
        if let Some(limit) = settings.timeout
            && attempt == 1
        {
            let waited = (Utc::now() - delivery.published)
                .to_std()
                .unwrap_or_default();
            if waited >= limit {
                return Err(CallError::Reject(format!(
                    "app {} did not start the call within its {} timeout: it waited {} for a worker",
                    req.app,
                    humantime::format_duration(limit),
                    humantime::format_duration(Duration::from_millis(
                        u64::try_from(waited.as_millis()).unwrap_or(u64::MAX)
                    ))
                )));
            }
        }
        Ok(CallRequest {
            run_id: req.run_id.clone(),
            call_id: req.call.clone(),
            app: req.app.clone(),
            handler: req.handler.clone(),
            inputs: if delivery.payload.is_empty() {
                "null".to_owned()
            } else {
                String::from_utf8_lossy(&delivery.payload).into_owned()
            },
            attempt,
            timeout: settings.timeout,
            depth: settings.depth,
        })
    }

    /// `Stored` (and the request acked, and the worker told) when an earlier delivery already
    /// stored the result; a failed check asks for the request again in a second (`Later`),
    /// never runs it blind; `None` when the call is to run.
    async fn already_stored(&self, req: &Request<'_>) -> Option<Ended> {
        match self.bus.has_message(&req.result_subject).await {
            Ok(true) => {
                debug!("the result is already stored; acknowledging");
                if let Err(err) = req.delivery.ack_unconfirmed().await {
                    debug!(error = %err, "ack failed");
                }
                self.release(req).await;
                Some(Ended::Stored)
            }
            Ok(false) => None,
            Err(err) => {
                debug!(error = %err, "could not check for an earlier result");
                let _ = req.delivery.nak(Some(Duration::from_secs(1))).await;
                Some(Ended::Later)
            }
        }
    }

    /// How each earlier attempt ended: the retry an app asked for (recorded when it did), or
    /// the loss of the host that was running it.
    async fn previous_attempts(&self, req: &Request<'_>, attempt: u32) -> Vec<String> {
        let mut out = Vec::new();
        for n in 1..attempt {
            let recorded = match self.bus.subjects().attempt(&req.run_id, &req.call, n) {
                Ok(subject) => self.bus.read_last(&subject).await.ok().flatten(),
                Err(_) => None,
            };
            let why = recorded
                .and_then(|m| serde_json::from_slice::<serde_json::Value>(&m.payload).ok())
                .and_then(|v| v["error"].as_str().map(str::to_owned));
            out.push(match why {
                Some(error) if error.starts_with("handed back") => format!("attempt {n} was {error}"),
                Some(error) => format!("attempt {n} asked for a retry: {error}"),
                None => format!(
                    "host lost during attempt {n}: it stopped or lost contact with NATS before storing a result"
                ),
            });
        }
        if out.iter().any(|n| n.starts_with("host lost")) {
            warn!(
                attempt,
                "running a call again: the host of an earlier attempt was lost"
            );
        }
        out
    }

    /// Records why attempt `attempt` ends without a result, for the next attempt's history.
    async fn record_attempt(&self, req: &Request<'_>, attempt: u32, error: &str) {
        let Ok(subject) = self.bus.subjects().attempt(&req.run_id, &req.call, attempt) else {
            return;
        };
        let body = json!({"attempt": attempt, "error": error, "at": Utc::now()});
        if let Err(err) = self
            .bus
            .publish_once(&subject, Bytes::from(body.to_string()))
            .await
        {
            debug!(error = %err, "could not record the attempt");
        }
    }

    /// Stores the call's one result, then acks. A failed store is retried (the subject is the
    /// result's identity, so a retry can never store a second one) while in-progress acks keep
    /// the request here; the call itself never runs again for it. A result over the size limit
    /// is replaced by an errored result that says so.
    async fn store(&self, req: &Request<'_>, mut result: ResultMessage, heartbeat: &Heartbeat<'_>) {
        let mut wait = Duration::from_millis(100);
        let mut warned = false;
        loop {
            match self
                .bus
                .publish_once(&req.result_subject, Bytes::from(result.to_bytes()))
                .await
            {
                Ok(published) => {
                    if !published.duplicate {
                        let ran = (result.hops.finished_at - result.hops.started_at)
                            .to_std()
                            .ok();
                        self.metrics.call_stored(&req.app, result.errored, ran);
                    }
                    if let Err(err) = req.delivery.ack_unconfirmed().await {
                        // A redelivery finds the stored result and only acks.
                        debug!(error = %err, "ack failed");
                    }
                    if warned {
                        info!("the call's result is stored after all");
                    }
                    debug!(errored = result.errored, "call finished");
                    return;
                }
                Err(BusError::PayloadTooLarge { size, max, .. }) => {
                    let message = format!(
                        "app {} returned a result of {} MB, over the {} MB limit (raise it with --max-payload)",
                        req.app,
                        megabytes(size),
                        megabytes(max)
                    );
                    warn!(size, max, "the call's result is too large to store");
                    result = ResultMessage::errored(
                        &message,
                        result.hops.started_at,
                        result.hops.finished_at,
                    );
                }
                Err(err) => {
                    if !warned {
                        warn!(error = %err, "could not store the call's result; retrying until NATS takes it");
                        warned = true;
                    }
                    heartbeat.while_waiting(tokio::time::sleep(wait)).await;
                    wait = (wait * 2).min(MAX_STORE_BACKOFF);
                }
            }
        }
    }
}

fn megabytes(bytes: usize) -> String {
    let tenths = (bytes as u64 * 10).div_ceil(1 << 20);
    format!("{}.{}", tenths / 10, tenths % 10)
}

async fn call_with_timeout(
    worker: Arc<dyn Worker>,
    request: CallRequest,
) -> Result<CallOutput, CallError> {
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

/// Keeps a delivery ours: in-progress acks every third of the ack wait while it waits or runs.
pub(super) struct Heartbeat<'a> {
    delivery: &'a Delivery,
    every: Duration,
}

impl<'a> Heartbeat<'a> {
    pub(super) fn new(delivery: &'a Delivery, ack_wait: Duration) -> Heartbeat<'a> {
        Heartbeat {
            delivery,
            every: (ack_wait / 3).max(Duration::from_millis(100)),
        }
    }

    /// Runs `work` while beating.
    pub(super) async fn while_waiting<T>(&self, work: impl Future<Output = T>) -> T {
        tokio::select! {
            out = work => out,
            never = self.beat() => match never {},
        }
    }

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
