//! What every way of running a call shares once the app has answered: storing the one result
//! (retried until NATS takes it), recording why an attempt ended without one, and bounding a
//! call by its timeout. Used by worker deliveries and by calls the runner runs itself.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use hops_bus::{Bus, BusError, Delivery, Published};
use hops_core::{CallError, CallOutput, CallRequest, ResultMessage, Worker};
use serde_json::json;
use std::sync::Arc;
use tracing::{debug, info, warn};

use crate::metrics::Metrics;

/// Slack over a call's own timeout before the host stops waiting for it (the wasm host's own
/// deadline normally fires first, with a more precise message).
const TIMEOUT_GRACE: Duration = Duration::from_secs(2);
/// Longest pause between two attempts to store a result while NATS is unreachable.
const MAX_STORE_BACKOFF: Duration = Duration::from_secs(5);

/// Where a call's result goes and whose it is.
pub(crate) struct ResultTarget<'a> {
    pub(crate) bus: &'a Bus,
    pub(crate) metrics: &'a Metrics,
    pub(crate) app: &'a str,
    pub(crate) subject: &'a str,
    /// The delivery to keep ours with in-progress acks (every so often) while a store is
    /// retried; `None` for a local run, which holds no delivery.
    pub(crate) keep_alive: Option<(&'a Delivery, Duration)>,
}

impl ResultTarget<'_> {
    /// Keeps an errored result among the app's recent errors (the app listing shows them).
    fn remember_error(&self, result: &ResultMessage) {
        let Ok(parsed) = self.bus.subjects().parse(self.subject) else {
            return;
        };
        let call = match parsed.kind {
            hops_bus::SubjectKind::Result { call } => call,
            _ => return,
        };
        self.metrics.recent_errors().record(
            self.app,
            crate::recent_errors::RecentError {
                run_id: parsed.run_id,
                call,
                message: result.hops.error.clone().unwrap_or_default(),
                at: result.hops.finished_at,
            },
        );
    }

    /// Counts a result this process stored (and keeps an errored one among the app's recent
    /// errors).
    pub(crate) fn note_stored(&self, result: &ResultMessage) {
        let ran = (result.hops.finished_at - result.hops.started_at)
            .to_std()
            .ok();
        self.metrics.call_stored(self.app, result.errored, ran);
        if result.errored {
            self.remember_error(result);
        }
    }

    /// Stores the call's one result and returns the publish's outcome with the payload as
    /// stored. A failed store is retried (the subject is the result's identity, so a retry can
    /// never store a second one); the call itself never runs again for it. A result over the
    /// size limit is replaced by an errored result that says so.
    pub(crate) async fn store(&self, mut result: ResultMessage) -> (Published, Bytes) {
        let mut wait = Duration::from_millis(100);
        let mut warned = false;
        loop {
            let payload = Bytes::from(result.to_bytes());
            match self.bus.publish_once(self.subject, payload.clone()).await {
                Ok(published) => {
                    if !published.duplicate {
                        self.note_stored(&result);
                    }
                    if warned {
                        info!("the call's result is stored after all");
                    }
                    debug!(errored = result.errored, "call finished");
                    return (published, payload);
                }
                Err(BusError::PayloadTooLarge { size, max, .. }) => {
                    let message = format!(
                        "app {} returned a result of {} MB, over the {} MB limit (raise it with --max-payload)",
                        self.app,
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
                    self.pause(wait).await;
                    wait = (wait * 2).min(MAX_STORE_BACKOFF);
                }
            }
        }
    }
}

impl ResultTarget<'_> {
    /// Waits `wait`, beating for the delivery if there is one.
    async fn pause(&self, wait: Duration) {
        let Some((delivery, every)) = self.keep_alive else {
            tokio::time::sleep(wait).await;
            return;
        };
        let mut left = wait;
        while !left.is_zero() {
            let step = left.min(every);
            tokio::time::sleep(step).await;
            left -= step;
            if let Err(err) = delivery.in_progress().await {
                debug!(error = %err, "in-progress ack failed");
            }
        }
    }
}

/// Records why attempt `attempt` of a call ends without a result, for the next attempt's
/// history (`previous_attempts`).
pub(crate) async fn record_attempt(bus: &Bus, run_id: &str, call: &str, attempt: u32, error: &str) {
    let Ok(subject) = bus.subjects().attempt(run_id, call, attempt) else {
        return;
    };
    let body = json!({"attempt": attempt, "error": error, "at": Utc::now()});
    if let Err(err) = bus
        .publish_once(&subject, Bytes::from(body.to_string()))
        .await
    {
        debug!(error = %err, "could not record the attempt");
    }
}

/// Runs the call on `worker`, bounded by its timeout (plus a grace for the app's own).
pub(crate) async fn call_with_timeout(
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

fn megabytes(bytes: usize) -> String {
    let tenths = (bytes as u64 * 10).div_ceil(1 << 20);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Attempts a call gets when its app asks for a retry and the pipeline set no retry policy.
const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
/// Delay before a retry when neither the app nor the pipeline gave one.
const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(1);

/// What follows an attempt.
pub(crate) enum Next {
    /// Store this result.
    Store(Box<ResultMessage>),
    /// The app asked for a retry and attempts are left: try again after `wait`.
    Retry { message: String, wait: Duration },
}

/// What attempt `attempt` of a call (that ran from `started_at` until now) leads to: a retry
/// while the app asks for one and attempts are left (never on the last allowed delivery),
/// otherwise the result to store.
pub(crate) fn after_attempt(
    outcome: &Result<CallOutput, CallError>,
    settings: &crate::call_headers::CallSettings,
    attempt: u32,
    last_delivery: bool,
    started_at: chrono::DateTime<Utc>,
) -> Next {
    let finished_at = Utc::now();
    match outcome {
        Err(CallError::Retry { message, backoff }) => {
            let attempts = settings
                .retry
                .map_or(DEFAULT_RETRY_ATTEMPTS, |r| r.attempts);
            if attempt < attempts && !last_delivery {
                let wait = backoff
                    .or_else(|| settings.retry.map(|r| r.delay_before(attempt + 1)))
                    .unwrap_or(DEFAULT_RETRY_BACKOFF);
                info!(error = %message, retry_in = ?wait, "call asked for a retry");
                return Next::Retry {
                    message: message.clone(),
                    wait,
                };
            }
            Next::Store(Box::new(ResultMessage::errored(
                &format!("{message} (gave up after {attempt} attempts)"),
                started_at,
                finished_at,
            )))
        }
        _ => Next::Store(Box::new(ResultMessage::from_outcome(
            outcome,
            started_at,
            finished_at,
        ))),
    }
}
