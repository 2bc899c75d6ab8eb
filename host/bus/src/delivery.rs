//! [`Delivery`]: one message handed to the runner or a worker, with its acknowledgement.

use std::pin::Pin;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::pull::Stream as PullStream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};

use crate::connect::Bus;
use crate::error::BusError;
use crate::read::RunMessage;
use crate::subjects::ParsedSubject;

/// A stream of deliveries from a consumer (see [`crate::BusConsumer::messages`]).
pub type Deliveries = Pin<Box<dyn Stream<Item = Result<Delivery, BusError>> + Send>>;

/// A message delivered by a durable or ephemeral consumer. Acknowledge it once the outcome is
/// known: [`Delivery::ack`] when done, [`Delivery::nak`] to retry later, [`Delivery::term`] to
/// give up. Without any of these it is delivered again after the consumer's ack wait.
#[derive(Debug)]
pub struct Delivery {
    /// The parsed subject.
    pub subject: ParsedSubject,
    /// The body (fetched from the object store when it was too large to travel inline).
    pub payload: Bytes,
    /// Why the body could not be fetched (its stored object is gone): `payload` is empty.
    pub payload_error: Option<String>,
    /// Headers, when published with some.
    pub headers: Option<HeaderMap>,
    /// How many times this message has been delivered (1 on the first delivery).
    pub delivered: u64,
    /// Position in the stream.
    pub stream_sequence: u64,
    /// When the server stored it.
    pub published: DateTime<Utc>,
    message: async_nats::jetstream::Message,
}

impl Delivery {
    /// The raw subject.
    pub fn raw_subject(&self) -> &str {
        &self.message.subject
    }

    /// Acknowledges and waits for the server's confirmation (double ack), so a successful return
    /// means the message will not be delivered again.
    pub async fn ack(&self) -> Result<(), BusError> {
        self.message
            .double_ack()
            .await
            .map_err(|e| ack_error("ack", self.raw_subject(), e))
    }

    /// Acknowledges without waiting for the server's confirmation: one message instead of a
    /// round trip. For callers whose redelivery is harmless (the runner re-evaluates and
    /// publishes nothing new; a worker finds the result it stored), so a lost ack costs only
    /// a redelivery after the ack wait. Fails only when the connection is gone.
    pub async fn ack_unconfirmed(&self) -> Result<(), BusError> {
        self.message
            .ack()
            .await
            .map_err(|e| ack_error("ack", self.raw_subject(), e))
    }

    /// The delivered message as one of its run's stored messages.
    pub fn to_run_message(&self) -> RunMessage {
        RunMessage {
            subject: self.subject.clone(),
            payload: self.payload.clone(),
            headers: self.headers.clone(),
            stream_sequence: self.stream_sequence,
            published: self.published,
        }
    }

    /// Asks for redelivery, after `delay` if given (otherwise at once).
    pub async fn nak(&self, delay: Option<Duration>) -> Result<(), BusError> {
        self.message
            .ack_with(AckKind::Nak(delay))
            .await
            .map_err(|e| ack_error("nak", self.raw_subject(), e))
    }

    /// Gives up on the message: it is never delivered again.
    pub async fn term(&self) -> Result<(), BusError> {
        self.message
            .ack_with(AckKind::Term)
            .await
            .map_err(|e| ack_error("term", self.raw_subject(), e))
    }

    /// Resets the ack-wait timer: the work is still going on (long calls).
    pub async fn in_progress(&self) -> Result<(), BusError> {
        self.message
            .ack_with(AckKind::Progress)
            .await
            .map_err(|e| ack_error("in_progress", self.raw_subject(), e))
    }
}

fn ack_error(op: &'static str, subject: &str, err: async_nats::Error) -> BusError {
    let timed_out = err
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
        || err.to_string().contains("timed out");
    if timed_out {
        BusError::timeout(op, subject)
    } else {
        BusError::Nats {
            op,
            target: subject.to_owned(),
            source: err,
        }
    }
}

/// Wraps a pull stream: parses subjects, terminates messages that are not Hops subjects, and
/// fetches payloads kept in the object store (so a delivery always carries its whole payload).
pub(crate) fn deliveries(stream: PullStream, bus: Bus) -> Deliveries {
    Box::pin(stream.filter_map(move |item| {
        let bus = bus.clone();
        async move {
            let subjects = &bus.subjects;
            let message = match item {
                Ok(message) => message,
                Err(err) => return Some(Err(BusError::nats("receive", "consumer", err))),
            };
            let info = match message.info() {
                Ok(info) => (info.delivered, info.stream_sequence, info.published),
                Err(err) => return Some(Err(BusError::nats("receive", message.subject.to_string(), err))),
            };
            match subjects.parse(&message.subject) {
                Ok(subject) => {
                    bus.seen.note(info.1, &subject);
                    let (payload, payload_error) = match bus
                        .resolve_payload(
                            &message.subject,
                            message.headers.as_ref(),
                            message.payload.clone(),
                        )
                        .await
                    {
                        Ok(payload) => (payload, None),
                        // Gone for good: the receiver must end what the message stands for.
                        Err(err @ BusError::PayloadMissing { .. }) => {
                            (Bytes::new(), Some(err.to_string()))
                        }
                        // Not acked: the message comes back after the ack wait, by when the
                        // object store may answer again.
                        Err(err) => return Some(Err(err)),
                    };
                    Some(Ok(Delivery {
                    subject,
                    payload,
                    payload_error,
                    headers: message.headers.clone(),
                    delivered: u64::try_from(info.0).unwrap_or(0),
                    stream_sequence: info.1,
                    published: info.2,
                    message,
                }))
                }
                Err(err) => {
                    tracing::warn!(subject = %message.subject, error = %err, "terminating a message that is not a hops subject");
                    if let Err(err) = message.ack_with(AckKind::Term).await {
                        tracing::debug!(error = %err, "failed to terminate the message");
                    }
                    None
                }
            }
        }
    }))
}
