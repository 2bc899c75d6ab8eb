//! One delivery of a call request: run it at most once, store exactly one result, then ack.
//!
//! Exactly-once does not rest on acks having reached the server's disk (a nats-server that
//! restarts can redeliver what was acked): every delivery looks for a stored result before it
//! runs the call, and again after waiting for a concurrency slot; a second delivery of a
//! request this process is already working on waits for the first. A call whose host was lost
//! comes back after the (short) ack wait, kept alive meanwhile by in-progress acks, and runs
//! as the next attempt with "host lost during attempt N" in its result — after one more ack
//! wait for a host that was only cut off to store its result (`super::grace`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hops_bus::Delivery;
use hops_core::{CallError, CallRequest, ResultMessage};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::AppLoop;
use super::inflight::{Claim, released};
use super::outcome::{Next, ResultTarget, after_attempt, call_with_timeout, record_attempt};
use crate::call_headers::{self, CallSettings};
use crate::inputs::{AskError, INPUT_APP, Inputs};
use crate::local::LocalEnd;

/// How the handling of one delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The call's result is stored (by this delivery or an earlier one) and the request acked.
    Stored,
    /// The request comes back later (a retry, a check that failed); nothing is stored yet.
    Later,
    /// An input is open for the call and the request acked: its result comes with an answer
    /// or at its deadline, from the API or another host.
    Waiting,
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
    /// The host that runs the call itself (its `Hops-Local` header), if one does.
    pub(super) publisher: Option<String>,
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
        // A request whose runner runs the call itself (local dispatch): on another host, ask
        // that host how its run is going, holding the request meanwhile.
        let publisher = req.publisher.as_deref();
        let own = self.local.as_ref().map(|local| local.host_id.as_str());
        let mut told = None;
        if let Some(publisher) = publisher
            && Some(publisher) != own
        {
            // Delivery 1 gives a silent publisher the ack wait, as for a worker that stopped
            // beating; a later delivery already waited that long.
            let patience = if delivery.delivered == 1 {
                self.options.ack_wait
            } else {
                Duration::ZERO
            };
            told = heartbeat
                .while_waiting(crate::local::wait_for_publisher(
                    &self.bus,
                    publisher,
                    &req.result_subject,
                    patience,
                ))
                .await;
        }
        // Another delivery of this request (or the local run) is working here: let it finish.
        let _claim = loop {
            match self.inflight.claim(&req.result_subject) {
                Claim::Mine(guard) => break guard,
                Claim::Busy(rx) => {
                    debug!("this request is already being handled here; waiting for it");
                    heartbeat.while_waiting(released(rx)).await;
                }
            }
        };
        if publisher.is_some() {
            if publisher == own {
                told = self
                    .local
                    .as_ref()
                    .and_then(|local| local.take_end(&req.result_subject));
            }
            if let Some(ended) = self.after_local_run(req, told).await {
                return ended;
            }
        }
        if let Some(ended) = self.already_stored(req).await {
            return ended;
        }
        if let Some(ended) = self.grace_for_a_silent_host(req, &heartbeat).await {
            return ended;
        }
        if req.app == INPUT_APP
            && let Some(inputs) = &self.inputs
        {
            return self.open_input(inputs, req, &heartbeat).await;
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
        let last_delivery =
            i64::try_from(delivery.delivered).unwrap_or(i64::MAX) >= self.options.max_deliver;
        let mut result =
            match after_attempt(&outcome, &settings, attempt, last_delivery, started_at) {
                Next::Store(result) => *result,
                Next::Retry { message, wait } => {
                    self.record_attempt(req, attempt, &message).await;
                    let _ = delivery.nak(Some(wait)).await;
                    return Ended::Later;
                }
            };
        if attempt > 1 {
            result.hops.attempts = Some(attempt);
            result.hops.previous_attempts = previous;
        }
        self.store(req, result, &heartbeat).await;
        self.release(req).await;
        Ended::Stored
    }

    /// What a delivery of a request its runner ran itself does once that run is over (`told`:
    /// how it ended, `None` when the publisher does not know or is gone). Delivery 1 belongs
    /// to the local run and never runs the call: it acks a stored result, naks when the run
    /// ended without one or its host is gone (the next delivery runs the call as attempt 2),
    /// and runs it only if the local run never started. `None`: go on as for any delivery.
    async fn after_local_run(&self, req: &Request<'_>, told: Option<LocalEnd>) -> Option<Ended> {
        let delivery = req.delivery;
        match told {
            Some(LocalEnd::Stored) => {
                if let Err(err) = delivery.ack_unconfirmed().await {
                    debug!(error = %err, "ack failed");
                }
                Some(Ended::Stored)
            }
            _ if delivery.delivered > 1 => None,
            Some(LocalEnd::Unstarted) => None,
            Some(LocalEnd::Ended { retry_in }) => {
                let _ = delivery.nak(retry_in).await;
                Some(Ended::Later)
            }
            None => {
                if let Some(ended) = self.already_stored(req).await {
                    return Some(ended);
                }
                info!("the host that ran this call itself is gone; it runs again as attempt 2");
                let _ = delivery.nak(None).await;
                Some(Ended::Later)
            }
        }
    }

    /// Opens the input a request of the built-in `input` app asks for, then acks: the call
    /// waits for its answer holding nothing. Inputs that are not a question end the call
    /// errored; a NATS failure brings the request back.
    async fn open_input(
        &self,
        inputs: &Inputs,
        req: &Request<'_>,
        heartbeat: &Heartbeat<'_>,
    ) -> Ended {
        let delivery = req.delivery;
        let asked = match &delivery.payload_error {
            Some(problem) => Err(AskError::Invalid(format!(
                "the inputs of this call cannot be read: {problem}"
            ))),
            None => {
                inputs
                    .ask(
                        &req.run_id,
                        &req.call,
                        &req.handler,
                        &delivery.payload,
                        delivery.published,
                    )
                    .await
            }
        };
        match asked {
            Ok(_) => {
                if let Err(err) = delivery.ack_unconfirmed().await {
                    // A redelivery finds the open input and acks again.
                    debug!(error = %err, "ack failed");
                }
                Ended::Waiting
            }
            Err(AskError::Invalid(message)) => {
                let now = Utc::now();
                self.store(req, ResultMessage::errored(&message, now, now), heartbeat)
                    .await;
                Ended::Stored
            }
            Err(AskError::Bus(err)) => {
                warn!(error = %err, "could not open the input; the request comes back");
                let _ = delivery.nak(Some(Duration::from_secs(1))).await;
                Ended::Later
            }
        }
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
    pub(super) async fn release(&self, req: &Request<'_>) {
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
        record_attempt(&self.bus, &req.run_id, &req.call, attempt, error).await;
    }

    /// Stores the call's one result (retried while in-progress acks keep the request here),
    /// then acks.
    async fn store(&self, req: &Request<'_>, result: ResultMessage, heartbeat: &Heartbeat<'_>) {
        let target = ResultTarget {
            bus: &self.bus,
            metrics: &self.metrics,
            app: &req.app,
            subject: &req.result_subject,
            keep_alive: Some((req.delivery, heartbeat.every)),
        };
        target.store(result).await;
        if let Err(err) = req.delivery.ack_unconfirmed().await {
            // A redelivery finds the stored result and only acks.
            debug!(error = %err, "ack failed");
        }
    }
}

/// Keeps a delivery ours: in-progress acks every third of the ack wait while it waits or runs.
pub(super) struct Heartbeat<'a> {
    delivery: &'a Delivery,
    pub(super) every: Duration,
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
