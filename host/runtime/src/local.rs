//! Local dispatch: when the process whose runner publishes a call's request also serves the
//! call's app, it runs the call itself right after the request is stored, instead of waiting
//! for the request to come back as a worker delivery.
//!
//! The guarantees stay those of a delivery:
//! - the request's publish-once is still the dispatch token: only the runner whose publish was
//!   accepted runs the call (a duplicate publish runs nothing);
//! - the request carries `Hops-Local: <host id>` and the process claims it (the same in-process
//!   claim a worker delivery takes) *before* publishing, so its own worker delivery of the
//!   request waits for the local run and then only acks;
//! - a worker delivery on another host asks the publisher over core NATS whether the call is
//!   still running (`local_calls` subject) and holds the request with in-progress acks while it
//!   is; delivery 1 of such a request never runs the call (it belongs to the local run): once
//!   the local run ended without a result (a retry asked for, a hand-back) or the publisher is
//!   gone, it naks, so the call runs again as attempt 2 — "host lost during attempt 1" when
//!   the publisher died — exactly like a call whose worker died;
//! - the result is stored before anything acks, and the runner may evaluate it at once
//!   (`runner::local`), its later delivery then only acks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hops_bus::Bus;
use hops_core::Workers;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::drain::CallTally;
use crate::metrics::Metrics;
use crate::workers::inflight::{Claim, ClaimGuard, InFlight};

mod ask;
mod run;

pub(crate) use ask::{serve_questions, wait_for_publisher};
pub(crate) use run::{LocalCall, Ran, ReadyResult};

/// Ended local runs remembered for their deliveries at most; past it the memory is cleared (a
/// delivery that finds nothing looks at the bus instead).
const ENDED_MAX: usize = 50_000;

/// How a local run ended, for the deliveries of its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalEnd {
    /// Its result is stored.
    Stored,
    /// It ended without a result (the app asked for a retry, the host handed it back): the
    /// request's delivery 1 naks after `retry_in`, and the next delivery runs it again.
    Ended { retry_in: Option<Duration> },
    /// It never started (the request's publish failed or the host was stopping): a delivery
    /// runs it as attempt 1.
    Unstarted,
}

/// The calls this process runs itself, shared by its runner (which starts them) and its worker
/// loops (whose deliveries of the same requests wait for them).
pub(crate) struct LocalCalls {
    /// This process, in `Hops-Local` headers and its question subject.
    pub(crate) host_id: String,
    pub(crate) bus: Arc<Bus>,
    pub(crate) workers: Workers,
    /// The in-process claims by result subject, shared with the worker loops.
    pub(crate) inflight: InFlight,
    /// Each served app's running slots (its worker loop's), by app.
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// How local runs ended, by result subject, until a delivery takes the answer.
    ended: Mutex<HashMap<String, LocalEnd>>,
    pub(crate) tally: Arc<CallTally>,
    pub(crate) metrics: Arc<Metrics>,
    /// The worker consumer's settings (ack wait, deliveries allowed).
    pub(crate) max_deliver: i64,
    pub(crate) ack_wait: Duration,
    /// Cancelled when the host stops taking work: no new local run starts.
    stop: CancellationToken,
    /// Whether this process answers questions about its local runs (set once subscribed).
    answering: AtomicBool,
    /// Local runs in progress, for the drain.
    pub(crate) tasks: TaskTracker,
}

/// A local run's hold on its request: the in-process claim and an app slot, taken before the
/// request is published. Dropping it records how the run ended (unstarted unless told) and then
/// releases the claim, so waiting deliveries find the answer.
pub(crate) struct LocalClaim {
    calls: Arc<LocalCalls>,
    subject: String,
    end: LocalEnd,
    slot: Option<OwnedSemaphorePermit>,
    _guard: ClaimGuard,
}

impl LocalClaim {
    /// Records how the run ended.
    pub(crate) fn end(&mut self, end: LocalEnd) {
        self.end = end;
    }

    /// Gives the app slot back (the call returned), keeping the claim.
    pub(crate) fn free_slot(&mut self) {
        self.slot = None;
    }
}

impl Drop for LocalClaim {
    fn drop(&mut self) {
        self.calls.remember(&self.subject, self.end);
    }
}

impl LocalCalls {
    /// Local runs for this process's `workers`, which its worker loops serve.
    pub(crate) fn new(
        bus: Arc<Bus>,
        workers: Workers,
        tally: Arc<CallTally>,
        metrics: Arc<Metrics>,
        consumer: &hops_bus::WorkerConsumerOptions,
        stop: CancellationToken,
    ) -> LocalCalls {
        LocalCalls {
            host_id: uuid::Uuid::new_v4().simple().to_string(),
            bus,
            workers,
            inflight: InFlight::default(),
            slots: Mutex::new(HashMap::new()),
            ended: Mutex::new(HashMap::new()),
            tally,
            metrics,
            max_deliver: consumer.max_deliver,
            ack_wait: consumer.ack_wait,
            stop,
            answering: AtomicBool::new(false),
            tasks: TaskTracker::new(),
        }
    }

    /// A worker loop serves `app` with these running slots (until [`LocalCalls::unserve`]).
    pub(crate) fn serve(&self, app: &str, slots: Arc<Semaphore>) {
        if let Ok(mut map) = self.slots.lock() {
            map.insert(app.to_owned(), slots);
        }
    }

    /// The worker loop of `app` stopped.
    pub(crate) fn unserve(&self, app: &str) {
        if let Ok(mut map) = self.slots.lock() {
            map.remove(app);
        }
    }

    /// Takes the claim and a free slot for a call to `app` whose result goes to `subject`, when
    /// this process can run it now: it serves the app, a slot is free, it answers questions
    /// about its runs and is not stopping. `None` sends the call the usual way.
    pub(crate) fn claim(self: &Arc<Self>, app: &str, subject: &str) -> Option<LocalClaim> {
        if self.stop.is_cancelled() || !self.answering.load(Ordering::Acquire) {
            return None;
        }
        let slots = self.slots.lock().ok()?.get(app).cloned()?;
        let slot = slots.try_acquire_owned().ok()?;
        let Claim::Mine(guard) = self.inflight.claim(subject) else {
            return None;
        };
        Some(LocalClaim {
            calls: Arc::clone(self),
            subject: subject.to_owned(),
            end: LocalEnd::Unstarted,
            slot: Some(slot),
            _guard: guard,
        })
    }

    /// How the local run of `subject` ended, taken (a delivery of its request on this host).
    pub(crate) fn take_end(&self, subject: &str) -> Option<LocalEnd> {
        self.ended.lock().ok()?.remove(subject)
    }

    /// How the local run of `subject` ended, left for its own delivery (a question from
    /// another host).
    fn peek_end(&self, subject: &str) -> Option<LocalEnd> {
        self.ended.lock().ok()?.get(subject).copied()
    }

    fn remember(&self, subject: &str, end: LocalEnd) {
        if let Ok(mut ended) = self.ended.lock() {
            if ended.len() >= ENDED_MAX {
                ended.clear();
            }
            ended.insert(subject.to_owned(), end);
        }
    }
}
