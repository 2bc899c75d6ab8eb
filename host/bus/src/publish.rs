//! Publish-once: the stream keeps one message per subject, so a second publish is "already done".

use std::error::Error as _;

use async_nats::HeaderMap;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use tracing::Instrument;

use crate::connect::Bus;
use crate::error::BusError;

/// JetStream's error code for a failed store, used for "maximum messages per subject exceeded".
const STORE_FAILED: u64 = 10077;
/// The server's text for a rejected second message on a subject.
const PER_SUBJECT_EXCEEDED: &str = "maximum messages per subject exceeded";

/// The outcome of [`Bus::publish_once`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Stream sequence of the stored message; 0 when `duplicate` (nothing was stored).
    pub sequence: u64,
    /// True when the subject already had a message: this publish was rejected, the earlier
    /// message stands. Not an error: the work it announces is already done or under way.
    pub duplicate: bool,
}

impl Bus {
    /// Publishes `payload` on `subject` unless the subject already has a message.
    ///
    /// # Errors
    ///
    /// [`BusError::StreamMissing`] when no stream captures the subject (or the client is
    /// reconnecting and no server answered), [`BusError::Timeout`] when the acknowledgement did not
    /// come in time (the message may or may not be stored: publish again, a duplicate answer means
    /// it was), [`BusError::Nats`] for anything else.
    ///
    /// A payload over [`Bus::payload_inline_max`] is stored in the object store first and the
    /// message carries a reference to it (reads resolve it transparently); one over
    /// [`Bus::payload_max`] fails with [`BusError::PayloadTooLarge`]. Retrying a publish that
    /// failed is always safe: the subject is the message's identity (the stream keeps one
    /// message per subject), so an attempt that was stored after all makes the retry a
    /// duplicate — no time-windowed `Nats-Msg-Id` needed.
    pub async fn publish_once(&self, subject: &str, payload: Bytes) -> Result<Published, BusError> {
        self.publish_once_with_headers(subject, HeaderMap::new(), payload)
            .await
    }

    /// [`Bus::publish_once`] with headers.
    pub async fn publish_once_with_headers(
        &self,
        subject: &str,
        mut headers: HeaderMap,
        payload: Bytes,
    ) -> Result<Published, BusError> {
        if payload.len() <= self.payload_inline_max() {
            let message = PublishMessage::build().payload(payload);
            let message = if headers.is_empty() {
                message
            } else {
                message.headers(headers)
            };
            return self.publish_message(subject, message).await;
        }
        // Boxed: the object store's futures are several KiB, and every publish would otherwise
        // carry them although few payloads are this large.
        let (object, reference) = Box::pin(self.store_payload(subject, &payload)).await?;
        for (name, values) in reference.iter() {
            for value in values {
                headers.append(name.clone(), value.clone());
            }
        }
        let outcome = self
            .publish_message(
                subject,
                PublishMessage::build()
                    .payload(Bytes::new())
                    .headers(headers),
            )
            .await;
        match &outcome {
            // Someone else's message stands: this payload is referenced by nothing.
            Ok(published) if published.duplicate => Box::pin(self.discard_payload(&object)).await,
            // A timeout may still have stored the message, which then needs its payload.
            Err(BusError::Timeout { .. }) | Ok(_) => {}
            Err(_) => Box::pin(self.discard_payload(&object)).await,
        }
        outcome
    }

    async fn publish_message(
        &self,
        subject: &str,
        message: PublishMessage,
    ) -> Result<Published, BusError> {
        let span = tracing::debug_span!("hops.bus.publish", subject = %subject, duplicate = tracing::field::Empty);
        async {
            let sent = self.js.send_publish(subject.to_owned(), message).await;
            let acked = match sent {
                Ok(ack) => ack.await,
                Err(err) => Err(err),
            };
            let published = match acked {
                // A duplicate message id: an earlier attempt of this very publish was stored.
                Ok(ack) if ack.duplicate => Published {
                    sequence: ack.sequence,
                    duplicate: true,
                },
                Ok(ack) => {
                    self.note_stored(ack.sequence, subject);
                    Published {
                        sequence: ack.sequence,
                        duplicate: false,
                    }
                }
                Err(err) if is_duplicate(&err) => Published {
                    sequence: 0,
                    duplicate: true,
                },
                Err(err) => return Err(self.publish_error(subject, err)),
            };
            tracing::Span::current().record("duplicate", published.duplicate);
            Ok(published)
        }
        .instrument(span)
        .await
    }

    pub(crate) fn publish_error(&self, subject: &str, err: PublishError) -> BusError {
        match err.kind() {
            PublishErrorKind::StreamNotFound => BusError::StreamMissing {
                subject: subject.to_owned(),
                stream: self.stream.to_string(),
            },
            PublishErrorKind::TimedOut => BusError::timeout("publish", subject),
            _ if is_stream_full(&err) => BusError::StreamFull {
                stream: self.stream.to_string(),
                subject: subject.to_owned(),
            },
            _ => BusError::nats("publish", subject, err),
        }
    }
}

/// True when the server rejected the publish because the subject already has its one message.
/// Checks the code and the text: 10077 also covers other store failures (a full stream).
pub(crate) fn is_duplicate(err: &PublishError) -> bool {
    err.kind() == PublishErrorKind::Other
        && err
            .source()
            .and_then(|s| s.downcast_ref::<async_nats::jetstream::Error>())
            .is_some_and(is_duplicate_response)
}

/// True when the server refused the publish because the stream is at its byte or message limit.
fn is_stream_full(err: &PublishError) -> bool {
    err.source()
        .and_then(|s| s.downcast_ref::<async_nats::jetstream::Error>())
        .is_some_and(|e| {
            let text = e.to_string();
            text.contains("maximum bytes exceeded") || text.contains("maximum messages exceeded")
        })
}

fn is_duplicate_response(err: &async_nats::jetstream::Error) -> bool {
    err.error_code().0 == STORE_FAILED && err.to_string().contains(PER_SUBJECT_EXCEEDED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(json: &str) -> PublishError {
        let err: async_nats::jetstream::Error = serde_json::from_str(json).unwrap();
        PublishError::with_source(PublishErrorKind::Other, err)
    }

    #[test]
    fn only_the_per_subject_limit_is_a_duplicate() {
        let dup = server_error(
            r#"{"code":503,"err_code":10077,"description":"maximum messages per subject exceeded"}"#,
        );
        assert!(is_duplicate(&dup));
        let full = server_error(
            r#"{"code":503,"err_code":10077,"description":"maximum messages exceeded"}"#,
        );
        assert!(!is_duplicate(&full));
        assert!(is_stream_full(&full));
        let bytes =
            server_error(r#"{"code":503,"err_code":10047,"description":"maximum bytes exceeded"}"#);
        assert!(is_stream_full(&bytes) && !is_duplicate(&bytes));
        assert!(!is_stream_full(&dup));
        let other = server_error(
            r#"{"code":400,"err_code":10060,"description":"expected stream does not match"}"#,
        );
        assert!(!is_duplicate(&other));
        assert!(!is_duplicate(&PublishError::new(
            PublishErrorKind::TimedOut
        )));
        assert!(!is_duplicate(&PublishError::new(PublishErrorKind::Other)));
    }
}
