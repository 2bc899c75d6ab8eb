//! Chained publishes: a publish-once sent without waiting for its acknowledgement, and one that
//! the stream stores only right after a given earlier message.
//!
//! This is what lets a step send its result and the next call's request in one round trip.
//! The earlier message carries a unique `Nats-Msg-Id`; the later one
//! `Nats-Expected-Last-Msg-Id` with that id. A single-server stream stores messages one at a
//! time and remembers the id of the last one it stored (none for a message without an id), so
//! the later message is stored only when the earlier one *was stored* (not refused as a
//! duplicate) and nothing else was stored between them; otherwise it is refused and nothing
//! of it exists ([`Chained::NotAfter`]). On a replicated stream the leader checks proposals
//! against what it has applied, concurrently with applying, so [`Bus::chains`] is false there
//! and callers publish one message after the other.

use std::error::Error as _;
use std::sync::atomic::Ordering;

use async_nats::HeaderMap;
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;

use crate::connect::Bus;
use crate::error::BusError;
use crate::publish::is_duplicate;

/// What became of a chained publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chained {
    /// Stored at this stream sequence.
    Stored(u64),
    /// The subject already had its message: the earlier one stands.
    Duplicate,
    /// Refused because the message it was to follow is not the last one stored: nothing was
    /// stored.
    NotAfter,
}

/// A publish sent on the connection whose acknowledgement has not been awaited yet.
#[must_use = "a sent publish's outcome says whether it was stored"]
pub struct SentOnce {
    subject: String,
    ack: PublishAckFuture,
    bus: Bus,
}

impl std::fmt::Debug for SentOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentOnce")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// Whether chained publishes are reliable on this stream: it is not replicated.
    pub fn chains(&self) -> bool {
        !self.replicated.load(Ordering::Relaxed)
    }

    /// Sends a publish-once of `payload` on `subject` without waiting for its ack. `id` names
    /// the message for a later publish's `after`; `after` makes the stream store it only right
    /// after the message named so. The payload must fit inline (at most
    /// [`Bus::payload_inline_max`]): chained messages never go to the object store.
    ///
    /// # Errors
    ///
    /// [`BusError::PayloadTooLarge`] for a payload over the inline limit (publish it the usual
    /// way), or the errors of [`Bus::publish_once`] when it could not even be sent.
    pub async fn send_once(
        &self,
        subject: &str,
        headers: HeaderMap,
        payload: Bytes,
        id: Option<&str>,
        after: Option<&str>,
    ) -> Result<SentOnce, BusError> {
        if payload.len() > self.payload_inline_max() {
            return Err(BusError::PayloadTooLarge {
                subject: subject.to_owned(),
                size: payload.len(),
                max: self.payload_inline_max(),
            });
        }
        let mut message = PublishMessage::build().payload(payload);
        if !headers.is_empty() {
            message = message.headers(headers);
        }
        if let Some(id) = id {
            message = message.message_id(id);
        }
        if let Some(after) = after {
            message = message.expected_last_message_id(after);
        }
        let ack = self
            .js
            .send_publish(subject.to_owned(), message)
            .await
            .map_err(|err| self.publish_error(subject, err))?;
        Ok(SentOnce {
            subject: subject.to_owned(),
            ack,
            bus: self.clone(),
        })
    }
}

impl SentOnce {
    /// Waits for the stream's answer.
    ///
    /// # Errors
    ///
    /// Those of [`Bus::publish_once`]; after [`BusError::Timeout`] the message may or may not
    /// be stored.
    pub async fn outcome(self) -> Result<Chained, BusError> {
        match self.ack.await {
            // A repeated `Nats-Msg-Id`: this very message was stored before.
            Ok(ack) if ack.duplicate => Ok(Chained::Duplicate),
            Ok(ack) => {
                self.bus.note_stored(ack.sequence, &self.subject);
                Ok(Chained::Stored(ack.sequence))
            }
            Err(err) if is_duplicate(&err) => Ok(Chained::Duplicate),
            Err(err) if is_not_after(&err) => Ok(Chained::NotAfter),
            Err(err) => Err(self.bus.publish_error(&self.subject, err)),
        }
    }
}

fn is_not_after(err: &async_nats::jetstream::context::PublishError) -> bool {
    err.kind() == PublishErrorKind::WrongLastMessageId
        || err
            .source()
            .and_then(|s| s.downcast_ref::<async_nats::jetstream::Error>())
            .is_some_and(|e| e.error_code().0 == WRONG_LAST_MSG_ID)
}

/// JetStream's error code for a failed `Nats-Expected-Last-Msg-Id`.
const WRONG_LAST_MSG_ID: u64 = 10070;
