//! Single-message reads by subject: direct gets when the stream allows them (any replica
//! answers, no leader round trip), the leader's `STREAM.MSG.GET` otherwise — and always for a
//! [`Fresh::Leader`] read of a replicated stream, since a follower may not have applied the
//! newest messages yet.
//!
//! Which reads may lag: a run's messages read by the runner (it checks that what it read
//! reaches the message it was delivered, and reads again if not) and by the API (a view a
//! moment old). Which may not: whether a call's result or an attempt's record is stored, which
//! decides whether a call runs.
//!
//! These are what make reading a run cheap on nats-server 2.9: a consumer with a wildcard filter
//! costs time proportional to every subject stored in the blocks it touches, whereas a get of the
//! next message matching a filter from a known sequence only scans the messages after it.

use std::sync::atomic::Ordering;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::RequestErrorKind;
use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{
    DirectGetErrorKind, RawMessageError, RawMessageErrorKind, Stream,
};

use crate::connect::Bus;
use crate::consumer::request_kind;
use crate::error::BusError;

/// Which message to get.
#[derive(Clone, Copy)]
pub(crate) enum Get<'a> {
    /// The first message at or after `sequence` whose subject matches `filter`.
    Next { filter: &'a str, sequence: u64 },
    /// The last message on a literal subject.
    Last { subject: &'a str },
}

impl Get<'_> {
    fn target(&self) -> &str {
        match self {
            Get::Next { filter, .. } => filter,
            Get::Last { subject } => subject,
        }
    }
}

/// Who may answer a read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fresh {
    /// Any replica: the caller copes with a read a moment behind.
    AnyReplica,
    /// The stream's leader, on a replicated stream.
    Leader,
}

impl Bus {
    /// Whether a run's messages are read with direct gets (any replica answers): true once
    /// [`Bus::ensure_stream`] found a stream that allows them and none was refused since.
    pub fn reads_directly(&self) -> bool {
        self.direct_reads.load(Ordering::Relaxed)
    }

    /// Gets one message, or `None` when there is none.
    pub(crate) async fn get_message(
        &self,
        stream: &Stream<()>,
        get: Get<'_>,
        fresh: Fresh,
    ) -> Result<Option<StreamMessage>, BusError> {
        let lagging_allowed =
            fresh == Fresh::AnyReplica || !self.replicated.load(Ordering::Relaxed);
        if lagging_allowed && self.direct_reads.load(Ordering::Relaxed) {
            let builder = stream.direct_get_builder();
            let builder = match get {
                Get::Next { filter, sequence } => {
                    builder.sequence(sequence).next_by_subject(filter)
                }
                Get::Last { subject } => builder.last_by_subject(subject),
            };
            match builder.send().await {
                Ok(message) => return Ok(Some(message)),
                Err(err) => match err.kind() {
                    DirectGetErrorKind::NotFound => return Ok(None),
                    DirectGetErrorKind::TimedOut => {
                        return Err(BusError::timeout("get message", get.target()));
                    }
                    _ => {
                        // Direct gets are off on this stream after all: use the leader from now on.
                        tracing::debug!(error = %err, "direct get failed; falling back to stream.msg.get");
                        self.direct_reads.store(false, Ordering::Relaxed);
                    }
                },
            }
        }
        let builder = stream.raw_message_builder();
        let builder = match get {
            Get::Next { filter, sequence } => builder.sequence(sequence).next_by_subject(filter),
            Get::Last { subject } => builder.last_by_subject(subject),
        };
        match builder.send().await {
            Ok(message) => Ok(Some(message)),
            Err(err) if err.kind() == RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(err) => Err(self.raw_error(get.target(), err)),
        }
    }

    fn raw_error(&self, target: &str, err: RawMessageError) -> BusError {
        if let RawMessageErrorKind::JetStream(e) = err.kind()
            && e.error_code() == ErrorCode::STREAM_NOT_FOUND
        {
            return BusError::StreamMissing {
                subject: target.to_owned(),
                stream: self.stream.to_string(),
            };
        }
        match request_kind(&err) {
            Some(RequestErrorKind::TimedOut) => BusError::timeout("get message", target),
            Some(RequestErrorKind::NoResponders) => BusError::JetStreamUnavailable,
            _ => BusError::nats("get message", target, err),
        }
    }
}
