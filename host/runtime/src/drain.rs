//! Stopping a host without losing work: stop taking deliveries, let calls in flight finish
//! within the drain timeout, hand back (nak, never ack) what did not, so another host runs it
//! at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How a host stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainOptions {
    /// How long calls in flight may take to finish; what is still running then is handed back.
    pub timeout: Duration,
    /// How long `/ready` answers 503 before the API stops, so load balancers and Kubernetes
    /// see the host leave before its connections close.
    pub ready_grace: Duration,
}

impl Default for DrainOptions {
    fn default() -> Self {
        DrainOptions {
            timeout: Duration::from_secs(25),
            ready_grace: Duration::from_secs(2),
        }
    }
}

/// What a stopping host did with its calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Calls being handled (running or waiting for a slot) when the host began to stop.
    pub in_flight: usize,
    /// Of those, calls that finished and stored their result.
    pub finished: usize,
    /// Of those, calls handed back unacknowledged (redelivered to another host at once).
    pub handed_back: usize,
    /// Whether everything stopped within the timeout.
    pub clean: bool,
}

impl std::fmt::Display for DrainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} calls in flight: {} finished, {} handed back to another host",
            self.in_flight, self.finished, self.handed_back
        )
    }
}

/// Shared by the worker loops and the host: counts calls and says when to hand them back.
#[derive(Debug, Default)]
pub(crate) struct CallTally {
    in_flight: AtomicUsize,
    draining: AtomicBool,
    at_drain: AtomicUsize,
    finished: AtomicUsize,
    handed_back: AtomicUsize,
    /// Cancelled at the drain timeout: calls still in flight give their delivery back.
    pub(crate) hand_back: CancellationToken,
}

/// Counts one delivery while it is handled.
pub(crate) struct InFlight(Arc<CallTally>);

impl CallTally {
    /// A delivery starts being handled.
    pub(crate) fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }

    /// The host begins to stop; returns the calls in flight.
    pub(crate) fn begin_drain(&self) -> usize {
        self.draining.store(true, Ordering::SeqCst);
        let now = self.in_flight.load(Ordering::SeqCst);
        self.at_drain.store(now, Ordering::SeqCst);
        now
    }

    /// Calls being handled now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn report(&self, clean: bool) -> DrainReport {
        DrainReport {
            in_flight: self.at_drain.load(Ordering::SeqCst),
            finished: self.finished.load(Ordering::SeqCst),
            handed_back: self.handed_back.load(Ordering::SeqCst),
            clean,
        }
    }
}

impl InFlight {
    /// The call stored its result (or found it stored).
    pub(crate) fn finished(&self) {
        if self.0.draining.load(Ordering::SeqCst) {
            self.0.finished.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The delivery was given back unacknowledged.
    pub(crate) fn handed_back(&self) {
        self.0.handed_back.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_calls_finishing_during_the_drain_count_as_drained() {
        let tally = Arc::new(CallTally::default());
        let before = tally.enter();
        before.finished();
        drop(before);
        let a = tally.enter();
        let b = tally.enter();
        assert_eq!(tally.begin_drain(), 2);
        a.finished();
        drop(a);
        assert_eq!(tally.in_flight(), 1);
        b.handed_back();
        drop(b);
        let report = tally.report(true);
        assert_eq!(
            report,
            DrainReport {
                in_flight: 2,
                finished: 1,
                handed_back: 1,
                clean: true
            }
        );
        assert_eq!(
            report.to_string(),
            "2 calls in flight: 1 finished, 1 handed back to another host"
        );
        assert_eq!(tally.in_flight(), 0);
    }
}
