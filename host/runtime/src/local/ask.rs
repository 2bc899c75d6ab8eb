//! Questions between hosts about local runs: a worker delivery of a request another host runs
//! itself asks that host, over core NATS request/reply, whether the call is still running.
//! *No responders* means the publisher's connection is gone (it died or lost NATS).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use hops_bus::Bus;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{LocalCalls, LocalEnd};
use crate::workers::inflight::released;

/// How long an answer may wait for a running call to end before it says "running".
const HOLD_MAX: Duration = Duration::from_secs(2);
/// How long an asker waits for an answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between questions that got no answer.
const ASK_AGAIN: Duration = Duration::from_millis(250);

/// Answers questions about this process's local runs until `cancel`, and after it until the
/// local runs in progress have ended (their requests' deliveries elsewhere keep asking).
pub(crate) async fn serve_questions(calls: Arc<LocalCalls>, cancel: CancellationToken) {
    let Ok(subject) = calls.bus.subjects().local_calls(&calls.host_id) else {
        return;
    };
    let mut questions = loop {
        match calls.bus.client().subscribe(subject.clone()).await {
            Ok(questions) => break questions,
            Err(err) => {
                warn!(error = %err, "could not subscribe to questions about local calls; calls go through the worker consumer meanwhile");
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    // Local runs start only once this process has answered a question of its own: then the
    // server routes questions to it and its NATS user may use the subject (a user without
    // `_hops.>` would leave other hosts unable to tell a local run is going).
    let check = async {
        let question = async_nats::Request::new()
            .payload(Bytes::new())
            .timeout(Some(ASK_TIMEOUT));
        match calls
            .bus
            .client()
            .send_request(subject.clone(), question)
            .await
        {
            Ok(_) => calls.answering.store(true, Ordering::Release),
            Err(err) => {
                warn!(error = %err, subject = %subject, "local dispatch is off: this host could not answer a question of its own on its local-calls subject (allow the NATS user _hops.>); calls go through the worker consumer")
            }
        }
        std::future::pending::<()>().await;
    };
    let mut check = std::pin::pin!(check);
    let finished = async {
        cancel.cancelled().await;
        calls.tasks.close();
        calls.tasks.wait().await;
    };
    let mut finished = std::pin::pin!(finished);
    loop {
        tokio::select! {
            () = &mut finished => break,
            () = &mut check => {}
            question = questions.next() => {
                let Some(question) = question else { break };
                let Some(reply) = question.reply else { continue };
                let calls = Arc::clone(&calls);
                tokio::spawn(async move {
                    let subject = String::from_utf8_lossy(&question.payload).into_owned();
                    let answer = calls.answer(&subject).await;
                    if let Err(err) = calls.bus.client().publish(reply, answer).await {
                        debug!(error = %err, "could not answer a question about a local call");
                    }
                });
            }
        }
    }
    calls.answering.store(false, Ordering::Release);
}

impl LocalCalls {
    /// The state of the local run whose result goes to `subject`, after waiting a little for
    /// it to end if it runs.
    async fn answer(&self, subject: &str) -> Bytes {
        let hold = (self.ack_wait / 3).clamp(Duration::from_millis(100), HOLD_MAX);
        if let Some(rx) = self.inflight.watch(subject) {
            let _ = tokio::time::timeout(hold, released(rx)).await;
        }
        let body = if self.inflight.watch(subject).is_some() {
            json!({"state": "running"})
        } else {
            match self.peek_end(subject) {
                Some(LocalEnd::Stored) => json!({"state": "stored"}),
                Some(LocalEnd::Ended { retry_in }) => json!({
                    "state": "ended",
                    "retry_in_ms": retry_in.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                }),
                Some(LocalEnd::Unstarted) => json!({"state": "unstarted"}),
                None => json!({"state": "unknown"}),
            }
        };
        Bytes::from(body.to_string())
    }
}

/// Waits, asking `publisher`, until its local run of the call whose result goes to
/// `result_subject` is over, and says how it ended; `None` when the publisher does not know
/// or has been silent (no responders, no answer) for `patience`.
pub(crate) async fn wait_for_publisher(
    bus: &Bus,
    publisher: &str,
    result_subject: &str,
    patience: Duration,
) -> Option<LocalEnd> {
    let subject = bus.subjects().local_calls(publisher).ok()?;
    let mut silent_since: Option<Instant> = None;
    loop {
        let question = async_nats::Request::new()
            .payload(Bytes::from(result_subject.to_owned()))
            .timeout(Some(ASK_TIMEOUT));
        match bus.client().send_request(subject.clone(), question).await {
            Ok(reply) => {
                silent_since = None;
                let answer: Value = serde_json::from_slice(&reply.payload).unwrap_or_default();
                match answer["state"].as_str() {
                    Some("running") => {}
                    Some("stored") => return Some(LocalEnd::Stored),
                    Some("ended") => {
                        return Some(LocalEnd::Ended {
                            retry_in: answer["retry_in_ms"].as_u64().map(Duration::from_millis),
                        });
                    }
                    Some("unstarted") => return Some(LocalEnd::Unstarted),
                    _ => return None,
                }
            }
            Err(err) => {
                let since = *silent_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= patience {
                    debug!(error = %err, publisher, "the host that dispatched this call to itself does not answer");
                    return None;
                }
                tokio::time::sleep(ASK_AGAIN).await;
            }
        }
    }
}
