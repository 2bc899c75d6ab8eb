//! Evaluating a run right after this process stored one of its results (a call it ran itself,
//! `crate::local`), instead of waiting for the result's delivery; the delivery then only acks.
//!
//! It is the same step as a delivery's, under the same turn-taking, over the same kind of
//! bundle: the run as it stood when the result was stored, a prefix of its messages. The
//! record must therefore reach up to the result. When every stream sequence between the
//! record's last message and the result is one this runner stored itself and already holds
//! (the run's pin, its requests), or one this connection saw stored for another run or as a
//! request (`Bus::stored_for_another_run`), nothing of the run's can have been stored in
//! between and the result extends the record as it is; otherwise the messages in between are
//! read first, as for a delivery. Anything unusual (the run not kept here, a failed read or publish) leaves the
//! step to the result's delivery, which comes in any case.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hops_bus::RunMessage;
use tracing::{Instrument as _, debug};

use super::{RunSlot, Runner, SlotState, StepError};
use crate::run_record::RunRecord;

impl Runner {
    /// Evaluates the run of `result`, a result this process just stored. Boxed: a step may
    /// start local runs that step again.
    pub(super) fn step_after_local(
        self: Arc<Self>,
        result: RunMessage,
    ) -> futures::future::BoxFuture<'static, ()> {
        let run_id = result.subject.run_id.clone();
        let span = tracing::info_span!("hops.runtime.runner.local_step", run_id = %run_id);
        Box::pin(
            async move {
                let Some(slot) = self.cache.existing(&run_id) else {
                    return;
                };
                slot.through
                    .fetch_max(result.stream_sequence, Ordering::Relaxed);
                let mut state = slot.state.lock().await;
                self.evaluate_stored(&slot, &mut state, result).await;
            }
            .instrument(span),
        )
    }

    /// The first step of a run whose event this process just stored: the event is the whole
    /// run so far, so nothing is read. The event's delivery then only acks; anything unusual
    /// (the run already being stepped, a failed publish) leaves the step to it.
    pub(super) async fn step_after_event(
        self: Arc<Self>,
        event: RunMessage,
        _permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let run_id = event.subject.run_id.clone();
        let span = tracing::info_span!("hops.runtime.runner.local_event", run_id = %run_id);
        async {
            let slot = self.cache.slot(&run_id);
            let sequence = event.stream_sequence;
            slot.through.fetch_max(sequence, Ordering::Relaxed);
            let mut state = slot.state.lock().await;
            if state.evaluated_through >= sequence || state.record.is_some() {
                return;
            }
            let mut record = RunRecord::from_messages(&[event]);
            let mut stored = Vec::new();
            match self.advance(&run_id, &mut record, &mut stored).await {
                Ok(running) => slot.settle(&mut state, record, running, stored),
                Err(err) => {
                    debug!(error = %err, "the first step of a stored event failed; its delivery steps the run");
                }
            }
        }
        .instrument(span)
        .await;
    }

    /// The step after `result`, a result this process stored, in the run's turn.
    pub(super) async fn evaluate_stored(
        self: &Arc<Self>,
        slot: &RunSlot,
        state: &mut SlotState,
        result: RunMessage,
    ) {
        let run_id = result.subject.run_id.clone();
        let sequence = result.stream_sequence;
        slot.through.fetch_max(sequence, Ordering::Relaxed);
        if state.evaluated_through >= sequence {
            return;
        }
        let Some(mut record) = state.record.take() else {
            return;
        };
        let through = slot.through.load(Ordering::Relaxed).max(sequence);
        if through == sequence
            && nothing_between(state, record.last_sequence, sequence, |s| {
                self.bus.stored_for_another_run(s, &run_id)
            })
        {
            record.extend(&[result]);
        } else if let Err(err) = self.read_newer(&run_id, &mut record, through).await {
            debug!(error = %err, "could not read the run; its result's delivery steps it");
            state.record = Some(record);
            return;
        }
        if record.last_sequence < sequence {
            // The read did not reach the result yet (see `Runner::step`).
            state.record = Some(record);
            return;
        }
        let mut stored = Vec::new();
        match self.advance(&run_id, &mut record, &mut stored).await {
            Ok(running) => slot.settle(state, record, running, stored),
            // The delivery of the result steps the run again, reading it afresh, and
            // ends it if it cannot go on.
            Err(StepError::Transient(err) | StepError::Unavailable(err)) => {
                debug!(error = %err, "a step after a local result failed; its delivery steps the run");
            }
            Err(StepError::Fatal(message)) => {
                debug!(error = %message, "the run cannot go on; its result's delivery ends it");
            }
        }
    }
}

/// Gaps longer than this are read rather than checked sequence by sequence.
const GAP_CHECKED_MAX: u64 = 4096;

/// Whether every stream sequence strictly between `after` and `upto` is one the runner stored
/// for this run and the record does not need to read, or one `elsewhere` knows is not the
/// run's to read (another run's message, a request: `Bus::stored_for_another_run`).
pub(super) fn nothing_between(
    state: &SlotState,
    after: u64,
    upto: u64,
    elsewhere: impl Fn(u64) -> bool,
) -> bool {
    let gap = upto.saturating_sub(after).saturating_sub(1);
    if gap > GAP_CHECKED_MAX {
        return false;
    }
    (after.saturating_add(1)..upto).all(|s| state.own.contains(&s) || elsewhere(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(_: u64) -> bool {
        false
    }

    fn state(own: &[u64]) -> SlotState {
        SlotState {
            own: own.to_vec(),
            ..SlotState::default()
        }
    }

    #[test]
    fn a_result_right_after_the_runners_own_messages_needs_no_read() {
        // Event at 10, pin at 11 and request at 12 stored by the runner, result at 13.
        assert!(nothing_between(&state(&[11, 12]), 10, 13, unknown));
        assert!(nothing_between(&state(&[]), 10, 11, unknown));
    }

    #[test]
    fn any_message_the_runner_did_not_store_in_between_needs_a_read() {
        // Sequence 12 is someone else's (another run's, another host's result, a done marker).
        assert!(!nothing_between(&state(&[11]), 10, 13, unknown));
        assert!(!nothing_between(&state(&[]), 10, 12, unknown));
        // Sequences outside the gap do not count.
        assert!(!nothing_between(&state(&[9, 13, 14]), 10, 13, unknown));
    }

    #[test]
    fn sequences_known_to_be_other_runs_need_no_read() {
        // 12 is known to be another run's, 13 is not known.
        let others = |s: u64| s == 12;
        assert!(nothing_between(&state(&[11]), 10, 13, others));
        assert!(!nothing_between(&state(&[11]), 10, 14, others));
        assert!(
            !nothing_between(&state(&[]), 0, 10_000, |_| true),
            "too long a gap is read"
        );
    }
}
