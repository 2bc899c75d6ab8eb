//! Running a call this process dispatched to itself: attempt 1, right after its request was
//! stored, with the same timeout, retry and result rules as a worker delivery.

use bytes::Bytes;
use chrono::Utc;
use hops_bus::RunMessage;
use hops_core::CallRequest;
use tracing::{Instrument as _, debug};

use super::{LocalCalls, LocalClaim, LocalEnd};
use crate::call_headers::CallSettings;
use crate::workers::outcome::{
    Next, ResultTarget, after_attempt, call_with_timeout, record_attempt,
};

/// Why a call handed back by a stopping host ended, for the next attempt's history.
const HANDED_BACK: &str =
    "handed back unfinished: its host was stopping and the drain timeout ran out";

/// A call whose request this process published with a [`LocalClaim`].
pub(crate) struct LocalCall {
    pub(crate) run_id: String,
    pub(crate) call: String,
    pub(crate) app: String,
    pub(crate) handler: String,
    /// The inputs as published.
    pub(crate) inputs: Bytes,
    /// The settings its request carries.
    pub(crate) settings: CallSettings,
    pub(crate) result_subject: String,
}

enum Ran {
    Done(Option<RunMessage>),
    HandedBack,
}

impl LocalCalls {
    /// Runs `call` as its attempt 1 and stores its result. Returns the result as stored when
    /// this process's publish stored it (for the runner to evaluate at once); `None` when the
    /// run ended otherwise (a retry asked for, a hand-back, a result already there), which the
    /// request's delivery then takes from.
    pub(crate) async fn run(&self, mut claim: LocalClaim, call: LocalCall) -> Option<RunMessage> {
        let span = tracing::info_span!("hops.runtime.local.call", run_id = %call.run_id, call = %call.call, app = %call.app, handler = %call.handler);
        let counted = self.tally.enter();
        let hand_back = self.tally.hand_back.clone();
        let ran = async {
            tokio::select! {
                biased;
                stored = self.attempt(&mut claim, &call) => Ran::Done(stored),
                () = hand_back.cancelled() => Ran::HandedBack,
            }
        }
        .instrument(span.clone())
        .await;
        match ran {
            Ran::Done(stored) => {
                counted.finished();
                stored
            }
            Ran::HandedBack => {
                let _span = span.enter();
                record_attempt(&self.bus, &call.run_id, &call.call, 1, HANDED_BACK).await;
                claim.end(LocalEnd::Ended { retry_in: None });
                counted.handed_back();
                None
            }
        }
    }

    async fn attempt(&self, claim: &mut LocalClaim, call: &LocalCall) -> Option<RunMessage> {
        // The app went away meanwhile: the delivery runs the call (and says why it cannot).
        let worker = self.workers.get(&call.app)?;
        let request = CallRequest {
            run_id: call.run_id.clone(),
            call_id: call.call.clone(),
            app: call.app.clone(),
            handler: call.handler.clone(),
            inputs: if call.inputs.is_empty() {
                "null".to_owned()
            } else {
                String::from_utf8_lossy(&call.inputs).into_owned()
            },
            attempt: 1,
            timeout: call.settings.timeout,
            depth: call.settings.depth,
        };
        let started_at = Utc::now();
        let outcome = call_with_timeout(worker, request).await;
        claim.free_slot();
        let last_delivery = self.max_deliver <= 1;
        let result = match after_attempt(&outcome, &call.settings, 1, last_delivery, started_at) {
            Next::Store(result) => *result,
            Next::Retry { message, wait } => {
                record_attempt(&self.bus, &call.run_id, &call.call, 1, &message).await;
                claim.end(LocalEnd::Ended {
                    retry_in: Some(wait),
                });
                return None;
            }
        };
        let target = ResultTarget {
            bus: &self.bus,
            metrics: &self.metrics,
            app: &call.app,
            subject: &call.result_subject,
            keep_alive: None,
        };
        let (published, payload) = target.store(result).await;
        claim.end(LocalEnd::Stored);
        if let Some(worker) = self.workers.get(&call.app) {
            worker.result_stored(&call.run_id, &call.call).await;
        }
        if published.duplicate {
            debug!("another attempt stored this call's result first");
            return None;
        }
        let subject = self.bus.subjects().parse(&call.result_subject).ok()?;
        Some(RunMessage {
            subject,
            payload,
            headers: None,
            stream_sequence: published.sequence,
            published: Utc::now(),
        })
    }
}
