//! Running a call this process dispatched to itself: attempt 1, right after its request was
//! stored, with the same timeout, retry and result rules as a worker delivery.
//!
//! A result small enough to go inline on a stream that chains publishes is handed to the runner
//! unsent ([`Ran::Ready`]): the runner sends it and the next call's request together
//! (`runner::chain`), or stores it the usual way ([`ReadyResult::store`]).

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use hops_bus::{Chained, HeaderMap, RunMessage, SentOnce};
use hops_core::{CallRequest, ResultMessage};
use tracing::{Instrument as _, Span, debug};

use super::{LocalCalls, LocalClaim, LocalEnd};
use crate::call_headers::CallSettings;
use crate::drain::InFlight;
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

/// What a local run leaves to the runner.
pub(crate) enum Ran {
    /// Its result is stored; this process's publish stored it.
    Stored(RunMessage),
    /// Its result is ready to be stored.
    Ready(Box<ReadyResult>),
    /// Nothing: a retry was asked for, the call was handed back, another result stood first.
    Nothing,
}

/// A local call's result not stored yet, with everything that storing it settles: the claim on
/// the request (whose deliveries learn how the run ended), the drain's count of the call.
pub(crate) struct ReadyResult {
    calls: Arc<LocalCalls>,
    claim: LocalClaim,
    counted: InFlight,
    span: Span,
    pub(crate) call: LocalCall,
    result: ResultMessage,
    payload: Bytes,
}

/// A ready result sent on the connection, its acknowledgement still to come.
pub(crate) struct SentResult {
    ready: ReadyResult,
    sent: SentOnce,
}

impl LocalCalls {
    /// Runs `call` as its attempt 1.
    pub(crate) async fn run(self: &Arc<Self>, mut claim: LocalClaim, call: LocalCall) -> Ran {
        let span = tracing::info_span!("hops.runtime.local.call", run_id = %call.run_id, call = %call.call, app = %call.app, handler = %call.handler);
        let counted = self.tally.enter();
        let hand_back = self.tally.hand_back.clone();
        let ran = async {
            tokio::select! {
                biased;
                result = self.attempt(&mut claim, &call) => Some(result),
                () = hand_back.cancelled() => None,
            }
        }
        .instrument(span.clone())
        .await;
        match ran {
            Some(Some(result)) => {
                let payload = Bytes::from(result.to_bytes());
                let ready = ReadyResult {
                    calls: Arc::clone(self),
                    claim,
                    counted,
                    span,
                    call,
                    result,
                    payload,
                };
                if self.bus.chains() && ready.payload.len() <= self.bus.payload_inline_max() {
                    Ran::Ready(Box::new(ready))
                } else {
                    ready.store().await.map_or(Ran::Nothing, Ran::Stored)
                }
            }
            Some(None) => {
                counted.finished();
                Ran::Nothing
            }
            None => {
                let _span = span.enter();
                self.hand_back(claim, &call, &counted).await;
                Ran::Nothing
            }
        }
    }

    async fn hand_back(&self, mut claim: LocalClaim, call: &LocalCall, counted: &InFlight) {
        record_attempt(&self.bus, &call.run_id, &call.call, 1, HANDED_BACK).await;
        claim.end(LocalEnd::Ended { retry_in: None });
        counted.handed_back();
    }

    /// Calls the app; the result to store, or `None` when the attempt ended otherwise (a retry
    /// the app asked for is recorded here).
    async fn attempt(&self, claim: &mut LocalClaim, call: &LocalCall) -> Option<ResultMessage> {
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
        match after_attempt(&outcome, &call.settings, 1, last_delivery, started_at) {
            Next::Store(result) => Some(*result),
            Next::Retry { message, wait } => {
                record_attempt(&self.bus, &call.run_id, &call.call, 1, &message).await;
                claim.end(LocalEnd::Ended {
                    retry_in: Some(wait),
                });
                None
            }
        }
    }
}

impl ReadyResult {
    /// The result as it will be stored.
    pub(crate) fn payload(&self) -> &Bytes {
        &self.payload
    }

    fn target(&self) -> ResultTarget<'_> {
        ResultTarget {
            bus: &self.calls.bus,
            metrics: &self.calls.metrics,
            app: &self.call.app,
            subject: &self.call.result_subject,
            keep_alive: None,
        }
    }

    /// Stores the result the usual way: retried until NATS takes it (a stopping host hands the
    /// call back at its drain timeout). Returns it as stored when this publish stored it.
    pub(crate) async fn store(self) -> Option<RunMessage> {
        let hand_back = self.calls.tally.hand_back.clone();
        let span = self.span.clone();
        let target = self.target();
        let stored = async {
            tokio::select! {
                biased;
                stored = target.store(self.result.clone()) => Some(stored),
                () = hand_back.cancelled() => None,
            }
        }
        .instrument(span.clone())
        .await;
        let Some((published, payload)) = stored else {
            let _span = span.enter();
            let calls = Arc::clone(&self.calls);
            calls.hand_back(self.claim, &self.call, &self.counted).await;
            return None;
        };
        let sequence = if published.duplicate {
            0
        } else {
            published.sequence
        };
        self.settled(sequence, payload).instrument(span).await
    }

    /// Sends the result as message `id`, without waiting for its acknowledgement. When it
    /// cannot even be sent, the result comes back to be stored the usual way.
    pub(crate) async fn send(self, id: &str) -> Result<SentResult, ReadyResult> {
        let sent = self
            .calls
            .bus
            .send_once(
                &self.call.result_subject,
                HeaderMap::new(),
                self.payload.clone(),
                Some(id),
                None,
            )
            .await;
        match sent {
            Ok(sent) => Ok(SentResult { ready: self, sent }),
            Err(err) => {
                debug!(error = %err, "could not send the result; storing it the usual way");
                Err(self)
            }
        }
    }

    /// The call's result is stored (at `sequence`; 0 when another attempt's stood first):
    /// its request's deliveries only ack from now on.
    async fn settled(mut self, sequence: u64, payload: Bytes) -> Option<RunMessage> {
        self.claim.end(LocalEnd::Stored);
        self.counted.finished();
        if let Some(worker) = self.calls.workers.get(&self.call.app) {
            worker
                .result_stored(&self.call.run_id, &self.call.call)
                .await;
        }
        if sequence == 0 {
            debug!("another attempt stored this call's result first");
            return None;
        }
        let subject = self
            .calls
            .bus
            .subjects()
            .parse(&self.call.result_subject)
            .ok()?;
        Some(RunMessage {
            subject,
            payload,
            headers: None,
            stream_sequence: sequence,
            published: Utc::now(),
        })
    }
}

impl SentResult {
    /// Waits for the stream's answer. Returns the result as stored when this publish stored it;
    /// `None` when another attempt's result stood first. A send that failed is stored the usual
    /// way.
    pub(crate) async fn confirm(self) -> Option<RunMessage> {
        let span = self.ready.span.clone();
        match self.sent.outcome().instrument(span.clone()).await {
            Ok(Chained::Stored(sequence)) => {
                let target = self.ready.target();
                target.note_stored(&self.ready.result);
                let payload = self.ready.payload.clone();
                self.ready.settled(sequence, payload).instrument(span).await
            }
            Ok(Chained::Duplicate) => {
                let payload = self.ready.payload.clone();
                self.ready.settled(0, payload).instrument(span).await
            }
            // `NotAfter` cannot answer a publish without `after`; a failure may or may not have
            // stored it, which the usual store finds out.
            Ok(Chained::NotAfter) | Err(_) => self.ready.store().await,
        }
    }
}
