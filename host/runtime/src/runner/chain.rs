//! A sequential step in one round trip: the runner evaluates a local call's result before it
//! is stored, then sends the result and the next call's request back to back, the request
//! chained to the result (`hops_bus::Chained`): the stream stores the request only right after
//! this very result. Waiting for both acknowledgements together costs one round trip where
//! publishing one after the other costs two.
//!
//! Why it decides what a delivery's step would:
//! - **The result it evaluated is the stored one.** The request is stored only if the result
//!   was stored (not refused because another attempt's result stood first) and nothing came
//!   between them, so a stored request always follows the very result it was computed from.
//!   Otherwise nothing of the request exists, and the step goes on the usual way: with the
//!   stored result if it was this one, or leaving the run to the stored result's delivery.
//! - **Nothing else of the run can change the decision.** The runner only chains when no other
//!   call of the run is waiting for a result, the run is pinned and not over, and no delivery
//!   of a newer message is waiting: the only messages another host could have stored for the
//!   run meanwhile repeat what this evaluation decides (another runner's done markers or
//!   requests) or do not enter evaluations (attempt records). They are read into the record
//!   after the result is confirmed, so the record stays the run's prefix.
//! - **Exactly-once is untouched**: the request's publish-once is still the dispatch token and
//!   the call runs only once the request is stored; the result is still stored before
//!   anything acks; the claim and `Hops-Local` work as for any local call.
//!
//! Only a step that decides exactly one call, served here with a free slot, and nothing else is
//! chained; the last step of a run (done markers), fan-outs and calls sent to other hosts go
//! the usual way. A run's first step chains its request to its pin instead (`first_step`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use hops_bus::{Chained, RunMessage};
use hops_pipeline::{Decisions, PipelineStatus, evaluate};
use tracing::{Instrument as _, debug, warn};

use super::local::nothing_between;
use super::{RunSlot, Runner, SlotState};
use crate::local::ReadyResult;
use crate::pipelines::short;
use crate::run_record::RunRecord;

impl Runner {
    /// Stores and evaluates `ready`, a local call's result, chaining the next request to it
    /// when the step allows. Boxed: a step starts local runs that step again.
    pub(super) fn step_after_ready(
        self: Arc<Self>,
        ready: ReadyResult,
    ) -> futures::future::BoxFuture<'static, ()> {
        let run_id = ready.call.run_id.clone();
        let span = tracing::info_span!("hops.runtime.runner.chain", run_id = %run_id);
        Box::pin(
            async move {
                let Some(slot) = self.cache.existing(&run_id) else {
                    // Not kept here: its delivery steps the run.
                    let _ = ready.store().await;
                    return;
                };
                let mut state = slot.state.lock().await;
                match state.record.take() {
                    Some(record) if chainable(&slot, &state, &record, &ready.call.call) => {
                        self.chain(&slot, &mut state, record, ready).await;
                    }
                    record => {
                        state.record = record;
                        drop(state);
                        if let Some(result) = ready.store().await {
                            Arc::clone(&self).step_after_local(result).await;
                        }
                    }
                }
            }
            .instrument(span),
        )
    }

    async fn chain(
        self: &Arc<Self>,
        slot: &RunSlot,
        state: &mut SlotState,
        mut record: RunRecord,
        ready: ReadyResult,
    ) {
        let run_id = ready.call.run_id.clone();
        let Ok(subject) = self.bus.subjects().parse(&ready.call.result_subject) else {
            state.record = Some(record);
            let _ = ready.store().await;
            return;
        };
        let payload = ready.payload().clone();
        let message = |sequence| RunMessage {
            subject: subject.clone(),
            payload: payload.clone(),
            headers: None,
            stream_sequence: sequence,
            published: Utc::now(),
        };
        let before = record.last_sequence;
        // Decide first, then send the two messages back to back: the less time between them,
        // the less often another message is stored between them and the request is refused.
        record.extend(&[message(0)]);
        let decided = self.decide(&run_id, &record).await;
        let mut next = None;
        if let Some(decisions) = decided.filter(one_call_only) {
            let call = decisions.calls[0].clone();
            if let Ok(request) = self.request(&run_id, &call, record.depth())
                && request.claim.is_some()
            {
                next = Some((decisions, call, request));
            }
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sent = match ready.send(&id).await {
            Ok(sent) => sent,
            Err(ready) => {
                drop(next);
                let stored = ready.store().await;
                return self.unchained(slot, state, record, stored).await;
            }
        };
        let next = match next {
            Some((decisions, call, request)) => match request.send_after(&self.bus, &id).await {
                Ok(sent) => Some((decisions, call, request, sent)),
                Err(err) => {
                    debug!(error = %err, "could not send the chained request");
                    None
                }
            },
            None => None,
        };
        let stored = sent.confirm().await;
        let Some((decisions, call, request, sent)) = next else {
            return self.unchained(slot, state, record, stored).await;
        };
        match sent.outcome().await {
            Ok(Chained::Stored(sequence)) => {
                // Stored right after this result: in the same stream, the message before it.
                let result_at = stored
                    .as_ref()
                    .map_or(sequence.saturating_sub(1), |m| m.stream_sequence);
                for diagnostic in &decisions.diagnostics {
                    warn!(version = %short(record.pin().unwrap_or_default()), "{}", diagnostic.summary);
                }
                debug!(call = %call.call, app = %call.app, handler = %call.handler, local = true, chained = true, "call dispatched");
                record.note_requested(&call.call);
                self.run_locally(&run_id, &call, request);
                if !nothing_between(state, before, result_at, |s| {
                    self.bus.stored_for_another_run(s, &run_id)
                }) && let Err(err) = self.read_newer(&run_id, &mut record, result_at).await
                {
                    // The decision stands (see the module's notes); the record does not.
                    debug!(error = %err, "could not read the run; the next step reads it afresh");
                    state.evaluated_through = result_at;
                    state.own.clear();
                    return;
                }
                record.extend(&[message(result_at)]);
                slot.settle(state, record, true, vec![sequence]);
            }
            outcome => {
                if let Err(err) = &outcome {
                    debug!(error = %err, "the chained request failed; publishing it the usual way");
                }
                // Not stored after the result (something came between, or the result did not
                // make it): the claim goes, and the step goes on the usual way.
                drop(request);
                self.unchained(slot, state, record, stored).await;
            }
        }
    }

    /// The step when no request went out chained to the result: with the result if this
    /// process stored it, else left to the stored result's delivery.
    async fn unchained(
        self: &Arc<Self>,
        slot: &RunSlot,
        state: &mut SlotState,
        record: RunRecord,
        stored: Option<RunMessage>,
    ) {
        match stored {
            Some(result) => {
                // The record already holds the result as stored; its sequence comes with it.
                state.record = Some(record);
                self.evaluate_stored(slot, state, result).await;
            }
            // Another attempt's result stands: the record holds one that is not the stored one.
            None => state.record = None,
        }
    }

    /// The evaluation of the run as it is in `record`; `None` when it cannot be made here and
    /// now (the step then goes the usual way, which reports why).
    async fn decide(&self, run_id: &str, record: &RunRecord) -> Option<Decisions> {
        let set = self.store.by_hash(record.pin()?).await.ok()?;
        evaluate(&set, record.bundle()?, &self.eval.context(run_id)).ok()
    }
}

/// Whether the step after a local result of `call` may be chained (see the module's notes).
fn chainable(slot: &RunSlot, state: &SlotState, record: &RunRecord, call: &str) -> bool {
    record.run_done.is_none()
        && record.event_error.is_none()
        && record.pin().is_some()
        && state.evaluated_through >= record.last_sequence
        && slot.through.load(Ordering::Relaxed) <= record.last_sequence
        && record.awaiting().all(|waiting| waiting == call)
}

/// A step that requests exactly one call and ends nothing.
pub(super) fn one_call_only(decisions: &Decisions) -> bool {
    decisions.calls.len() == 1
        && decisions.done.is_empty()
        && decisions.run_status() == PipelineStatus::Running
}
