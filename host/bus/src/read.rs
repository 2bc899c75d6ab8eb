//! Reading a run's messages (the runner's hot path), the last message of a subject, and the
//! most recent source events (run listings).

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::consumer::Consumer;
use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::Stream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tracing::Instrument;

use crate::connect::Bus;
use crate::error::BusError;
use crate::get::{Fresh, Get};
use crate::subjects::{Channels, ParsedSubject};

/// Most messages asked for in one pull request.
const FETCH_BATCH: usize = 1_000;
/// A snapshot consumer left behind (the reader crashed) is removed by the server after this.
const SNAPSHOT_INACTIVE: Duration = Duration::from_secs(10);
/// Messages of a run read one by one before switching to a consumer.
const DIRECT_READ_MAX: usize = 64;
/// First window (in stream sequences) searched backwards by [`Bus::scan_events`].
const SCAN_FIRST_WINDOW: u64 = 512;

/// One stored message of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMessage {
    /// What it is and which run it belongs to.
    pub subject: ParsedSubject,
    /// The body.
    pub payload: Bytes,
    /// Headers, when it was published with some.
    pub headers: Option<HeaderMap>,
    /// Position in the stream (stream order is publish order).
    pub stream_sequence: u64,
    /// When the server stored it.
    pub published: DateTime<Utc>,
}

/// Which events [`Bus::scan_events`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventScan {
    /// At most this many (the newest ones).
    pub limit: usize,
    /// Only events stored at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events with a stream sequence below this (paging: pass the last sequence of the
    /// previous page).
    pub before_sequence: Option<u64>,
}

impl EventScan {
    /// The newest `limit` events.
    pub fn latest(limit: usize) -> Self {
        EventScan {
            limit,
            since: None,
            before_sequence: None,
        }
    }
}

impl Bus {
    /// Every message of a run on `channels`, in stream order, starting with its source event.
    /// A run without a stored event has no messages (`Ok(vec![])`).
    ///
    /// This is the runner's hot path, built for nats-server 2.9 as well as newer ones: one get of
    /// the event by its literal subject, then one get per message of the next message matching
    /// the run's filter after the previous one (each only scans the stream from the run's start,
    /// never the whole history). Runs of more than 64 messages read the rest through a snapshot
    /// consumer. Messages whose subject does not parse are skipped.
    pub async fn read_run(
        &self,
        run_id: &str,
        channels: Channels,
    ) -> Result<Vec<RunMessage>, BusError> {
        self.read_run_through(run_id, channels, u64::MAX).await
    }

    /// The run's messages from its source event up to the one at stream sequence
    /// `through_sequence`: a prefix of the run, read without the final get that would only
    /// confirm there is nothing newer. The runner passes the sequence of the message it was
    /// delivered, since anything stored after it arrives as a delivery of its own. It may hold
    /// a few messages past `through_sequence` (long runs are read in bulk), never fewer.
    pub async fn read_run_through(
        &self,
        run_id: &str,
        channels: Channels,
        through_sequence: u64,
    ) -> Result<Vec<RunMessage>, BusError> {
        let span = tracing::debug_span!("hops.bus.read_run", run_id = %run_id, count = tracing::field::Empty);
        async move {
            let event_subject = self.subjects.event(run_id)?;
            let filter = self.subjects.run_filter(run_id, channels)?;
            let stream = self.stream_handle().await?;
            let mut out = Vec::new();
            let Some(event) = self
                .get_message(
                    &stream,
                    Get::Last {
                        subject: &event_subject,
                    },
                    Fresh::AnyReplica,
                )
                .await?
            else {
                return Ok(out);
            };
            let after = event.sequence;
            self.push_stored(&mut out, event);
            if after < through_sequence {
                self.read_after(&stream, &filter, after, through_sequence, &mut out)
                    .await?;
            }
            self.resolve_stored(&mut out).await?;
            tracing::Span::current().record("count", out.len());
            Ok(out)
        }
        .instrument(span)
        .await
    }

    /// The messages of a run on `channels` stored after stream sequence `after_sequence`, in
    /// stream order: the increment since the last read, for a caller that keeps a run's earlier
    /// messages (pass the last `stream_sequence` it has). One get per message, plus one that
    /// finds nothing unless `through_sequence` says where to stop (as in
    /// [`Bus::read_run_through`]).
    pub async fn read_run_after(
        &self,
        run_id: &str,
        channels: Channels,
        after_sequence: u64,
        through_sequence: Option<u64>,
    ) -> Result<Vec<RunMessage>, BusError> {
        let span = tracing::debug_span!("hops.bus.read_run_after", run_id = %run_id, after_sequence, count = tracing::field::Empty);
        async move {
            let filter = self.subjects.run_filter(run_id, channels)?;
            let stream = self.stream_handle().await?;
            let mut out = Vec::new();
            let through = through_sequence.unwrap_or(u64::MAX);
            if after_sequence < through {
                self.read_after(&stream, &filter, after_sequence, through, &mut out)
                    .await?;
            }
            self.resolve_stored(&mut out).await?;
            tracing::Span::current().record("count", out.len());
            Ok(out)
        }
        .instrument(span)
        .await
    }

    /// Appends the messages matching `filter` after `after`, stopping once one at or past
    /// `through` is in: one by one, then through a snapshot consumer past [`DIRECT_READ_MAX`].
    async fn read_after(
        &self,
        stream: &Stream<()>,
        filter: &str,
        after: u64,
        through: u64,
        out: &mut Vec<RunMessage>,
    ) -> Result<(), BusError> {
        let mut sequence = after.saturating_add(1);
        for _ in 0..DIRECT_READ_MAX {
            match self
                .get_message(stream, Get::Next { filter, sequence }, Fresh::AnyReplica)
                .await?
            {
                Some(message) => {
                    let reached = message.sequence >= through;
                    sequence = message.sequence + 1;
                    self.push_stored(out, message);
                    if reached {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            }
        }
        let snapshot = self
            .snapshot(
                filter,
                DeliverPolicy::ByStartSequence {
                    start_sequence: sequence,
                },
            )
            .await?;
        let pending = snapshot.consumer.cached_info().num_pending;
        let rest = self.drain(&snapshot, pending, u64::MAX).await;
        snapshot.delete();
        out.extend(rest?);
        Ok(())
    }

    /// The last message stored on `subject` (for Hops subjects, the only one), or `None`.
    /// A payload kept in the object store is fetched ([`Bus::publish_once`]).
    pub async fn read_last(&self, subject: &str) -> Result<Option<RunMessage>, BusError> {
        let span = tracing::debug_span!("hops.bus.read_last", subject = %subject);
        async move {
            let parsed = self.subjects.parse(subject)?;
            let stream = self.stream_handle().await?;
            let mut found: Vec<RunMessage> = self
                .get_message(&stream, Get::Last { subject }, Fresh::Leader)
                .await?
                .map(|message| stored(parsed, message))
                .into_iter()
                .collect();
            self.resolve_stored(&mut found).await?;
            Ok(found.pop())
        }
        .instrument(span)
        .await
    }

    /// Whether `subject` holds a message, without fetching a payload kept in the object store.
    pub async fn has_message(&self, subject: &str) -> Result<bool, BusError> {
        let stream = self.stream_handle().await?;
        Ok(self
            .get_message(&stream, Get::Last { subject }, Fresh::Leader)
            .await?
            .is_some())
    }

    /// Replaces references to stored payloads by the payloads themselves.
    async fn resolve_stored(&self, messages: &mut [RunMessage]) -> Result<(), BusError> {
        for message in messages.iter_mut() {
            if message
                .headers
                .as_ref()
                .is_some_and(|h| h.get(crate::PAYLOAD_OBJECT_HEADER).is_some())
            {
                let subject = self.subjects.render(&message.subject);
                message.payload = self
                    .resolve_payload(
                        &subject,
                        message.headers.as_ref(),
                        std::mem::take(&mut message.payload),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    fn push_stored(&self, out: &mut Vec<RunMessage>, message: StreamMessage) {
        match self.subjects.parse(&message.subject) {
            Ok(parsed) => out.push(stored(parsed, message)),
            Err(err) => {
                tracing::debug!(error = %err, "skipping a message that is not a hops subject")
            }
        }
    }

    /// The most recent source events (`…notify.<run>.event`), newest first, for run listings.
    ///
    /// Searches backwards from the end of the stream in growing windows (512 sequences, then ×4)
    /// with a filtered consumer, so only event messages travel and a listing of the last few runs
    /// does not read the whole stream.
    pub async fn scan_events(&self, scan: EventScan) -> Result<Vec<RunMessage>, BusError> {
        let span = tracing::debug_span!("hops.bus.scan_events", limit = scan.limit);
        async move {
            if scan.limit == 0 {
                return Ok(Vec::new());
            }
            let info = self
                .js
                .get_stream(&*self.stream)
                .await
                .map_err(|e| BusError::nats("scan_events", &*self.stream, e))?
                .cached_info()
                .state
                .clone();
            let first = info.first_sequence.max(1);
            let mut upper = match scan.before_sequence {
                Some(before) => before.saturating_sub(1).min(info.last_sequence),
                None => info.last_sequence,
            };
            let filter = self.subjects.all_events();
            let mut window = SCAN_FIRST_WINDOW.max(
                u64::try_from(scan.limit)
                    .unwrap_or(u64::MAX)
                    .saturating_mul(8),
            );
            let mut newest_first: Vec<RunMessage> = Vec::new();
            while upper >= first && info.messages > 0 {
                let start = upper.saturating_sub(window - 1).max(first);
                let snapshot = self
                    .snapshot(
                        &filter,
                        DeliverPolicy::ByStartSequence {
                            start_sequence: start,
                        },
                    )
                    .await?;
                let pending = snapshot.consumer.cached_info().num_pending;
                let read = self.drain(&snapshot, pending, upper).await;
                snapshot.delete();
                let found = read?;
                let reached_since = scan
                    .since
                    .is_some_and(|since| found.first().is_some_and(|m| m.published < since));
                newest_first.extend(found.into_iter().rev());
                if newest_first.len() >= scan.limit || reached_since || start == first {
                    break;
                }
                upper = start - 1;
                window = window.saturating_mul(4);
            }
            if let Some(since) = scan.since {
                newest_first.retain(|m| m.published >= since);
            }
            newest_first.truncate(scan.limit);
            Ok(newest_first)
        }
        .instrument(span)
        .await
    }

    /// Every message matching `filter`, oldest first, payloads as stored (references to the
    /// object store are not resolved): one snapshot consumer, read to its end.
    pub(crate) async fn read_all_matching(
        &self,
        filter: &str,
    ) -> Result<Vec<RunMessage>, BusError> {
        let snapshot = self.snapshot(filter, DeliverPolicy::All).await?;
        let pending = snapshot.consumer.cached_info().num_pending;
        let read = self.drain(&snapshot, pending, u64::MAX).await;
        snapshot.delete();
        read
    }

    /// A stream handle without an info request.
    pub(crate) async fn stream_handle(&self) -> Result<Stream<()>, BusError> {
        // No request: `get_stream_no_info` only checks the name.
        self.js
            .get_stream_no_info(&*self.stream)
            .await
            .map_err(|e| BusError::nats("open stream", &*self.stream, e))
    }

    /// Creates an ephemeral, in-memory, unacknowledged consumer over `filter`.
    async fn snapshot(&self, filter: &str, deliver: DeliverPolicy) -> Result<Snapshot, BusError> {
        let stream = self.stream_handle().await?;
        let config = PullConfig {
            filter_subject: filter.to_owned(),
            deliver_policy: deliver,
            ack_policy: AckPolicy::None,
            memory_storage: true,
            num_replicas: 1,
            inactive_threshold: SNAPSHOT_INACTIVE,
            ..Default::default()
        };
        let consumer = stream.create_consumer(config).await.map_err(|e| {
            crate::consumer::consumer_error("create snapshot consumer", filter, e, &self.stream)
        })?;
        Ok(Snapshot { stream, consumer })
    }

    /// Reads up to `total` messages from a snapshot, stopping after stream sequence `upper`.
    async fn drain(
        &self,
        snapshot: &Snapshot,
        total: u64,
        upper: u64,
    ) -> Result<Vec<RunMessage>, BusError> {
        let mut out = Vec::with_capacity(usize::try_from(total.min(1024)).unwrap_or(0));
        let mut left = total;
        let target = || snapshot.consumer.cached_info().name.clone();
        while left > 0 {
            let batch = usize::try_from(left)
                .unwrap_or(FETCH_BATCH)
                .min(FETCH_BATCH);
            let mut messages = snapshot
                .consumer
                .fetch()
                .max_messages(batch)
                .messages()
                .await
                .map_err(|e| BusError::nats("fetch", target(), e))?;
            let mut got = 0;
            while let Some(msg) = messages.next().await {
                let msg = msg.map_err(|e| BusError::nats("fetch", target(), e))?;
                got += 1;
                let info = msg
                    .info()
                    .map_err(|e| BusError::nats("fetch", target(), e))?;
                let (sequence, published, pending) =
                    (info.stream_sequence, info.published, info.pending);
                if sequence > upper {
                    return Ok(out);
                }
                match self.subjects.parse(&msg.subject) {
                    Ok(subject) => out.push(RunMessage {
                        subject,
                        payload: msg.message.payload.clone(),
                        headers: msg.message.headers.clone(),
                        stream_sequence: sequence,
                        published,
                    }),
                    Err(err) => {
                        tracing::debug!(error = %err, "skipping a message that is not a hops subject")
                    }
                }
                if pending == 0 {
                    return Ok(out);
                }
            }
            if got == 0 {
                break;
            }
            left = left.saturating_sub(got);
        }
        Ok(out)
    }
}

/// An ephemeral consumer over a filter, deleted when done.
struct Snapshot {
    stream: Stream<()>,
    consumer: Consumer<PullConfig>,
}

impl Snapshot {
    /// Deletes the consumer in the background: the caller does not wait for it, and if it fails
    /// the server removes the consumer after [`SNAPSHOT_INACTIVE`] anyway.
    fn delete(self) {
        let name = self.consumer.cached_info().name.clone();
        tokio::spawn(async move {
            if let Err(err) = self.stream.delete_consumer(&name).await {
                tracing::debug!(consumer = %name, error = %err, "failed to delete snapshot consumer");
            }
        });
    }
}

/// A message read by get.
fn stored(subject: ParsedSubject, message: StreamMessage) -> RunMessage {
    RunMessage {
        subject,
        payload: message.payload,
        headers: (!message.headers.is_empty()).then_some(message.headers),
        stream_sequence: message.sequence,
        published: message.time,
    }
}
