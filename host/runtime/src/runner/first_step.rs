//! A run's first step in one round trip: the runner sends the run's pin and its one request
//! back to back, the request chained to the pin (`hops_bus::Chained`), so the request is
//! stored only if this very pin was (no other runner pinned the run first) and nothing came
//! between them. When this process also publishes the run's source event (an event its
//! listeners, API or `hops up` took in), the runner takes the publish over
//! ([`hops_bus::EventStarter`]) and chains the pin to the event as well: event, pin and request
//! go out back to back, and the call starts one acknowledged publish after the event arrived.
//!
//! Why it is the step a delivery would take:
//! - **The event is the whole run so far.** The event is publish-once on its subject; the pin
//!   is stored only right after this very publish of it, so when the pin is stored the event
//!   was new and nothing else of the run can exist yet. The decision made from the event alone
//!   is the one any runner would make for the version the pin names.
//! - **Nothing is decided twice.** The step holds the run's turn (its slot) from before the
//!   event is sent until what it decided is published, so the event's delivery, wherever it
//!   comes in this process, finds the event evaluated and only acks; elsewhere it finds the pin
//!   and the request already stored, as after any other runner's step.
//! - **Whatever was refused goes the usual way**: a pin that did not follow the event is
//!   published on its own (publish-once: the stored pin stands), a request that did not follow
//!   the pin is published with the decisions already made, a duplicate event (its run exists)
//!   starts nothing. New-run limits are applied once, before anything is sent.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use chrono::Utc;
use futures::future::BoxFuture;
use hops_bus::{BusError, Chained, EventStarter, HeaderMap, Published, RunMessage, SentOnce};
use hops_core::EventMeta;
use hops_pipeline::{Decisions, PipelineSet, evaluate};
use tracing::{Instrument as _, debug, warn};

use super::chain::one_call_only;
use super::{OutgoingRequest, Runner};
use crate::pipelines::short;
use crate::run_record::RunRecord;

/// What a run's first step did when it tried to send the pin and the first request chained.
pub(super) enum FirstStep {
    /// Pin and request are stored, the request right after the pin: the call runs here.
    Done { stored: Vec<u64> },
    /// The run is pinned to `pin` (by this step when `sequence` is given) and the step goes on
    /// the usual way, with the decisions already made for that version.
    Pinned {
        pin: String,
        sequence: Option<u64>,
        decisions: Option<Decisions>,
    },
    /// The run is not known to be pinned: pin it the usual way. The decisions, when given, were
    /// made for the current version (and its new-run limits already applied).
    Unpinned { decisions: Option<Decisions> },
}

/// A first step decided before anything is sent.
struct FirstPlan {
    pin_subject: String,
    pin_payload: Bytes,
    decisions: Decisions,
    /// The one call's request, when it runs here.
    request: Option<OutgoingRequest>,
}

/// The pin and request a first step sent, their acknowledgements still to come.
struct SentFirst {
    pin: Option<SentOnce>,
    request: Option<(OutgoingRequest, SentOnce)>,
}

impl Runner {
    /// A run's first step with its pin and, when the step is one call served here, its
    /// request chained to the pin. Same conditions as a chained result.
    pub(super) async fn first_step_chained(
        self: &Arc<Self>,
        run_id: &str,
        record: &mut RunRecord,
        current: &PipelineSet,
    ) -> FirstStep {
        if self.local.is_none() || !self.bus.chains() {
            return FirstStep::Unpinned { decisions: None };
        }
        let Some(mut plan) = self.plan_first_step(run_id, record, current) else {
            return FirstStep::Unpinned { decisions: None };
        };
        let id = uuid::Uuid::new_v4().simple().to_string();
        let sent = self.send_first_step(&mut plan, &id, None).await;
        let pin = match sent.pin {
            Some(pin) => pin.outcome().await,
            None => {
                return FirstStep::Unpinned {
                    decisions: Some(plan.decisions),
                };
            }
        };
        self.first_step_sent(run_id, record, current, plan.decisions, pin, sent.request)
            .await
    }

    /// Decides a run's first step for the current version (its new-run limits applied); `None`
    /// when it cannot be decided here and now (the usual step then reports why).
    fn plan_first_step(
        &self,
        run_id: &str,
        record: &RunRecord,
        current: &PipelineSet,
    ) -> Option<FirstPlan> {
        let pin_subject = self.bus.subjects().pin(run_id).ok()?;
        let pin_payload = Bytes::from(serde_json::to_vec(&current.hash).ok()?);
        let mut bundle = record.bundle()?.clone();
        bundle.pin = Some(current.hash.clone());
        let mut decisions = evaluate(current, &bundle, &self.eval.context(run_id)).ok()?;
        self.limit_new_runs(&mut decisions);
        let request = if one_call_only(&decisions) {
            self.request(run_id, &decisions.calls[0], record.depth())
                .ok()
                .filter(|request| request.claim.is_some())
        } else {
            None
        };
        Some(FirstPlan {
            pin_subject,
            pin_payload,
            decisions,
            request,
        })
    }

    /// Sends the plan's pin (named `id`, chained to the message named `after` when given) and
    /// then its request chained to the pin, without waiting for either acknowledgement.
    async fn send_first_step(
        &self,
        plan: &mut FirstPlan,
        id: &str,
        after: Option<&str>,
    ) -> SentFirst {
        let pin = self
            .bus
            .send_once(
                &plan.pin_subject,
                HeaderMap::new(),
                plan.pin_payload.clone(),
                Some(id),
                after,
            )
            .await;
        let Ok(pin) = pin else {
            return SentFirst {
                pin: None,
                request: None,
            };
        };
        let mut request = None;
        if let Some(outgoing) = plan.request.take()
            && let Ok(sent) = outgoing.send_after(&self.bus, id).await
        {
            request = Some((outgoing, sent));
        }
        SentFirst {
            pin: Some(pin),
            request,
        }
    }

    /// What became of a first step's pin (`pin`, its outcome) and request.
    async fn first_step_sent(
        self: &Arc<Self>,
        run_id: &str,
        record: &mut RunRecord,
        current: &PipelineSet,
        decisions: Decisions,
        pin: Result<Chained, BusError>,
        request: Option<(OutgoingRequest, SentOnce)>,
    ) -> FirstStep {
        let pin_sequence = match pin {
            Ok(Chained::Stored(sequence)) => sequence,
            // Another runner's pin stands, or this one may not be stored: the request was
            // refused (or its claim now leaves it to its delivery); pin the usual way.
            _ => {
                return FirstStep::Unpinned {
                    decisions: Some(decisions),
                };
            }
        };
        let Some((request, sent)) = request else {
            return FirstStep::Pinned {
                pin: current.hash.clone(),
                sequence: Some(pin_sequence),
                decisions: Some(decisions),
            };
        };
        match sent.outcome().await {
            Ok(Chained::Stored(sequence)) => {
                record.set_pin(&current.hash);
                for state in &decisions.pipelines {
                    self.metrics.run_started(&state.name);
                }
                for diagnostic in &decisions.diagnostics {
                    warn!(version = %short(&current.hash), "{}", diagnostic.summary);
                }
                let call = &decisions.calls[0];
                debug!(call = %call.call, app = %call.app, handler = %call.handler, local = true, chained = true, "call dispatched");
                record.note_requested(&call.call);
                self.run_locally(run_id, call, request);
                FirstStep::Done {
                    stored: vec![pin_sequence, sequence],
                }
            }
            _ => {
                // Not stored after the pin: the step publishes it the usual way.
                drop(request);
                FirstStep::Pinned {
                    pin: current.hash.clone(),
                    sequence: Some(pin_sequence),
                    decisions: Some(decisions),
                }
            }
        }
    }

    /// Publishes `payload`, the source event of run `run_id`, on `subject` with the run's pin
    /// and first request chained to it, and takes the first step (see the module's notes).
    /// `None`, with nothing sent, when the step cannot be taken here right now.
    async fn start_event(
        self: &Arc<Self>,
        run_id: &str,
        subject: &str,
        payload: &Bytes,
    ) -> Option<Result<Published, BusError>> {
        if self.stop.is_cancelled() || self.local.is_none() || !self.bus.chains() {
            return None;
        }
        let current = self.store.current()?;
        let _permit = Arc::clone(&self.steps).try_acquire_owned().ok()?;
        let parsed = self.bus.subjects().parse(subject).ok()?;
        let slot = self.cache.slot(run_id);
        let mut state = slot.state.try_lock().ok()?;
        if state.record.is_some() || state.evaluated_through > 0 {
            return None;
        }
        let event = |stream_sequence| RunMessage {
            subject: parsed.clone(),
            payload: payload.clone(),
            headers: None,
            stream_sequence,
            published: Utc::now(),
        };
        let record = RunRecord::from_messages(&[event(0)]);
        if !startable(&record) {
            return None;
        }
        let mut plan = self.plan_first_step(run_id, &record, &current)?;
        let event_id = uuid::Uuid::new_v4().simple().to_string();
        let pin_id = uuid::Uuid::new_v4().simple().to_string();
        let sent_event = match self
            .bus
            .send_once(
                subject,
                HeaderMap::new(),
                payload.clone(),
                Some(&event_id),
                None,
            )
            .await
        {
            Ok(sent) => sent,
            Err(err) => return Some(Err(err)),
        };
        let sent = self
            .send_first_step(&mut plan, &pin_id, Some(&event_id))
            .await;
        let stored_event = sent_event.outcome().await;
        let pin = match sent.pin {
            Some(pin) => Some(pin.outcome().await),
            None => None,
        };
        let sequence = match (stored_event, &pin) {
            (Ok(Chained::Stored(sequence)), _) => sequence,
            // The pin is stored only right after this very event.
            (_, Some(Ok(Chained::Stored(pin)))) => pin.saturating_sub(1),
            // The run exists: its pin and request were refused, nothing starts.
            (Ok(Chained::Duplicate), _) => {
                return Some(Ok(Published {
                    sequence: 0,
                    duplicate: true,
                }));
            }
            // May or may not be stored (a timeout): if it was, its delivery steps the run.
            (Err(err), _) => return Some(Err(err)),
            (Ok(Chained::NotAfter), _) => {
                return Some(Err(BusError::Nats {
                    op: "publish",
                    target: subject.to_owned(),
                    source: "the stream refused an event sent without `after` as not after".into(),
                }));
            }
        };
        let mut record = RunRecord::from_messages(&[event(sequence)]);
        let first = match pin {
            Some(pin) => {
                self.first_step_sent(
                    run_id,
                    &mut record,
                    &current,
                    plan.decisions,
                    pin,
                    sent.request,
                )
                .await
            }
            None => FirstStep::Unpinned {
                decisions: Some(plan.decisions),
            },
        };
        let mut stored = Vec::new();
        match self
            .advance_with(run_id, &mut record, &mut stored, Some(first))
            .await
        {
            Ok(running) => slot.settle(&mut state, record, running, stored),
            Err(err) => {
                debug!(error = %err, "the first step of a stored event failed; its delivery steps the run");
            }
        }
        Some(Ok(Published {
            sequence,
            duplicate: false,
        }))
    }
}

/// Whether a run whose only message is its event can be stepped without the checks a
/// delivery's step reports (a bad event goes the usual way, which ends the run with why).
fn startable(record: &RunRecord) -> bool {
    record.run_done.is_none()
        && record.event_error.is_none()
        && record
            .event
            .as_ref()
            .is_some_and(|event| EventMeta::of(event).is_ok())
}

/// The runner as the bus's [`EventStarter`]; it holds the runner weakly, so a stopped host
/// starts nothing.
pub(super) struct Starter(pub(super) Weak<Runner>);

impl EventStarter for Starter {
    fn start<'a>(
        &'a self,
        run_id: &'a str,
        subject: &'a str,
        payload: &'a Bytes,
    ) -> BoxFuture<'a, Option<Result<Published, BusError>>> {
        let span = tracing::info_span!("hops.runtime.runner.start_event", run_id = %run_id);
        Box::pin(
            async move {
                let runner = self.0.upgrade()?;
                runner.start_event(run_id, subject, payload).await
            }
            .instrument(span),
        )
    }
}
