//! Durable and ephemeral pull consumers for the runner and the app workers.

use std::error::Error as _;
use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::consumer::Consumer;
use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, ReplayPolicy};
use async_nats::jetstream::context::{RequestError, RequestErrorKind};
use async_nats::jetstream::stream::{ConsumerError, ConsumerErrorKind};
use tracing::Instrument;

use crate::connect::Bus;
use crate::delivery::{Deliveries, deliveries};
use crate::error::BusError;
use crate::names::cleanse_name;

/// The `max_deliver` of the runner's and the workers' durable consumers: the server never gives
/// up on a message by itself (it would drop it without a trace); the runtime enforces the
/// options' `max_deliver` and records the give-up.
pub const UNLIMITED_DELIVERIES: i64 = -1;

/// Settings of the runner's durable consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerConsumerOptions {
    /// How long a delivered message may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
    /// Deliveries of one message that may work on it. The consumer itself delivers without
    /// limit ([`UNLIMITED_DELIVERIES`]): the runner ends a run errored when a later delivery
    /// arrives, so a message whose last delivery died with its host is not dropped silently.
    pub max_deliver: i64,
    /// Messages delivered but not yet acknowledged, across every replica (bounds concurrent runs).
    pub max_ack_pending: i64,
}

impl Default for RunnerConsumerOptions {
    fn default() -> Self {
        RunnerConsumerOptions {
            // A step takes milliseconds; a runner that died on one hands it on after this.
            ack_wait: Duration::from_secs(10),
            max_deliver: 5,
            max_ack_pending: 20_000,
        }
    }
}

/// What an app's worker consumer reports about the workers pulling from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerActivity {
    /// Pull requests waiting for messages: workers idle but listening.
    pub waiting_pulls: usize,
    /// Requests delivered and not yet acknowledged: calls being worked on.
    pub in_flight: usize,
    /// Requests not yet delivered.
    pub pending: u64,
}

/// Settings of an app worker's durable consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConsumerOptions {
    /// How long a call may run without [`crate::Delivery::in_progress`] before it is delivered
    /// again.
    pub ack_wait: Duration,
    /// Deliveries of one request that may run the call. The consumer itself delivers without
    /// limit ([`UNLIMITED_DELIVERIES`]): a later delivery (the host running the last allowed one
    /// stopped) only stores an errored result, so no request vanishes without one.
    pub max_deliver: i64,
    /// Requests delivered but not yet acknowledged, across every replica.
    pub max_ack_pending: i64,
}

impl Default for WorkerConsumerOptions {
    fn default() -> Self {
        WorkerConsumerOptions {
            // Short, kept alive by in-progress acks every third of it while a call waits or
            // runs: a call whose host died runs again within seconds, not minutes.
            ack_wait: Duration::from_secs(5),
            max_deliver: 10,
            max_ack_pending: 10_000,
        }
    }
}

/// An ephemeral consumer (local mode, replay, `--follow`): gone when its owner stops pulling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralConsumerOptions {
    /// Subject filter (e.g. [`crate::Subjects::run_filter`] or [`crate::Subjects::all_notify`]).
    pub filter: String,
    /// Where to start.
    pub deliver: DeliverPolicy,
    /// As for durable consumers.
    pub ack_wait: Duration,
    /// As for durable consumers.
    pub max_deliver: i64,
    /// The server deletes the consumer after this long without a pull.
    pub inactive_threshold: Duration,
}

impl EphemeralConsumerOptions {
    /// Every message matching `filter`, from the start of the stream, 30 s ack wait, 5 deliveries.
    pub fn all(filter: impl Into<String>) -> Self {
        EphemeralConsumerOptions {
            filter: filter.into(),
            deliver: DeliverPolicy::All,
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            inactive_threshold: Duration::from_secs(30),
        }
    }
}

/// A pull consumer of the Hops stream.
#[derive(Debug, Clone)]
pub struct BusConsumer {
    consumer: Consumer<PullConfig>,
    bus: Bus,
}

impl BusConsumer {
    /// The consumer name (the durable name for durable consumers).
    pub fn name(&self) -> &str {
        &self.consumer.cached_info().name
    }

    /// The subject filter.
    pub fn filter(&self) -> &str {
        &self.consumer.cached_info().config.filter_subject
    }

    /// Messages not yet delivered to anyone, as of the last server answer.
    pub fn cached_pending(&self) -> u64 {
        self.consumer.cached_info().num_pending
    }

    /// A stream of deliveries (pull requests of up to `batch` messages; 200 is a good default).
    /// Several clients pulling from one durable share the work: each message goes to one of them.
    ///
    /// Keep polling after an `Err` (missed heartbeats while reconnecting, a failed pull): the
    /// stream recovers. `None` means the consumer is gone (deleted): create it again. Messages
    /// whose subject is not a Hops subject are terminated and skipped.
    pub async fn messages(&self, batch: usize) -> Result<Deliveries, BusError> {
        let stream = self
            .consumer
            .stream()
            .max_messages_per_batch(batch.max(1))
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| BusError::nats("pull", self.name(), e))?;
        Ok(deliveries(stream, self.bus.clone()))
    }
}

impl Bus {
    /// The runner's default durable consumer name: `<acct>-<topic>-runner`.
    pub fn runner_consumer_name(&self) -> String {
        cleanse_name(&format!(
            "{}-{}-runner",
            self.subjects.account(),
            self.subjects.topic()
        ))
    }

    /// Creates or updates the runner's durable consumer `name` (cleansed) over
    /// `<acct>.<topic>.notify.*.*` (events, pins, results; [`crate::Subjects::runner_steps`]), explicit
    /// ack. A new durable starts at the beginning of the stream, so nothing published before
    /// the first start is missed; an existing one resumes. One of an earlier version (over
    /// `notify.>`) is narrowed in place: done and attempt markers it still holds are delivered
    /// once more and acked.
    pub async fn runner_consumer(
        &self,
        name: &str,
        options: &RunnerConsumerOptions,
    ) -> Result<BusConsumer, BusError> {
        self.runner_durable(
            cleanse_name(name),
            "hops runner: events, pins and results of the topic",
            self.subjects.runner_steps(),
            options,
        )
        .await
    }

    /// Creates or updates the durable consumer over the topic's wait markers
    /// (`<acct>.<topic>.notify.*.*.wait`) that the runner with consumer `name` watches:
    /// [`Bus::runner_waits_consumer_name`]. Explicit ack, from the start of the stream.
    pub async fn runner_waits_consumer(
        &self,
        name: &str,
        options: &RunnerConsumerOptions,
    ) -> Result<BusConsumer, BusError> {
        self.runner_durable(
            Bus::runner_waits_consumer_name(name),
            "hops runner: calls waiting for an app nobody serves yet",
            self.subjects.runner_waits(),
            options,
        )
        .await
    }

    /// The wait markers' consumer of the runner whose consumer is `name`: `<name>-waits`
    /// (cleansed).
    pub fn runner_waits_consumer_name(name: &str) -> String {
        cleanse_name(&format!("{name}-waits"))
    }

    async fn runner_durable(
        &self,
        name: String,
        description: &str,
        filter: String,
        options: &RunnerConsumerOptions,
    ) -> Result<BusConsumer, BusError> {
        let config = PullConfig {
            durable_name: Some(name),
            description: Some(description.to_owned()),
            filter_subject: filter,
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            max_deliver: UNLIMITED_DELIVERIES,
            max_ack_pending: options.max_ack_pending,
            replay_policy: ReplayPolicy::Instant,
            ..Default::default()
        };
        self.create_consumer("runner", config).await
    }

    /// Creates or updates the durable consumer of app `app`: `<acct>-<topic>-request-<app>`
    /// (cleansed) over `<acct>.<topic>.request.*.*.<app>.*`, from the start, explicit ack.
    pub async fn worker_consumer(
        &self,
        app: &str,
        options: &WorkerConsumerOptions,
    ) -> Result<BusConsumer, BusError> {
        let filter = self.subjects.app_requests(app)?;
        let name = self.worker_consumer_name(app);
        let config = PullConfig {
            durable_name: Some(name),
            description: Some(format!("hops worker: requests for app {app}")),
            filter_subject: filter,
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            max_deliver: UNLIMITED_DELIVERIES,
            max_ack_pending: options.max_ack_pending,
            replay_policy: ReplayPolicy::Instant,
            ..Default::default()
        };
        self.create_consumer("worker", config).await
    }

    /// The durable consumer name of app `app`'s workers: `<acct>-<topic>-request-<app>`.
    pub fn worker_consumer_name(&self, app: &str) -> String {
        cleanse_name(&format!(
            "{}-{}-request-{app}",
            self.subjects.account(),
            self.subjects.topic()
        ))
    }

    /// Whether workers of app `app` are pulling requests now (anywhere on the cluster):
    /// `None` when its consumer does not exist.
    pub async fn worker_activity(&self, app: &str) -> Result<Option<WorkerActivity>, BusError> {
        self.consumer_activity(&self.worker_consumer_name(app))
            .await
    }

    /// What durable consumer `name` of the stream has waiting, in flight and pending:
    /// `None` when it does not exist.
    pub async fn consumer_activity(&self, name: &str) -> Result<Option<WorkerActivity>, BusError> {
        use async_nats::jetstream::context::ConsumerInfoErrorKind;
        let name = cleanse_name(name);
        let stream = self.stream_handle().await?;
        match stream.consumer_info(&name).await {
            Ok(info) => Ok(Some(WorkerActivity {
                waiting_pulls: info.num_waiting,
                in_flight: info.num_ack_pending,
                pending: info.num_pending,
            })),
            Err(err) if err.kind() == ConsumerInfoErrorKind::NotFound => Ok(None),
            Err(err) => Err(BusError::nats("consumer info", &name, err)),
        }
    }

    /// Creates an ephemeral consumer with explicit ack (server-named, in memory).
    pub async fn ephemeral_consumer(
        &self,
        options: EphemeralConsumerOptions,
    ) -> Result<BusConsumer, BusError> {
        let config = PullConfig {
            filter_subject: options.filter,
            deliver_policy: options.deliver,
            ack_policy: AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            max_deliver: options.max_deliver,
            inactive_threshold: options.inactive_threshold,
            memory_storage: true,
            num_replicas: 1,
            ..Default::default()
        };
        self.create_consumer("ephemeral", config).await
    }

    /// Deletes consumer `name` (cleansed). `Ok(false)` when it did not exist.
    pub async fn delete_consumer(&self, name: &str) -> Result<bool, BusError> {
        let name = cleanse_name(name);
        let span = tracing::info_span!("hops.bus.delete_consumer", consumer = %name);
        async move {
            let stream = self.stream_handle().await?;
            match stream.delete_consumer(&name).await {
                Ok(_) => Ok(true),
                Err(err) if is_code(&err, ErrorCode::CONSUMER_NOT_FOUND) => Ok(false),
                Err(err) => Err(consumer_error("delete consumer", &name, err, &self.stream)),
            }
        }
        .instrument(span)
        .await
    }

    async fn create_consumer(
        &self,
        role: &'static str,
        config: PullConfig,
    ) -> Result<BusConsumer, BusError> {
        let name = config.durable_name.clone().unwrap_or_default();
        let span = tracing::info_span!("hops.bus.create_consumer", role, consumer = %name, filter = %config.filter_subject);
        async move {
            let stream = self.stream_handle().await?;
            let filter = config.filter_subject.clone();
            let consumer = stream
                .create_consumer(config)
                .await
                .map_err(|e| consumer_error("create consumer", &filter, e, &self.stream))?;
            Ok(BusConsumer {
                consumer,
                bus: self.clone(),
            })
        }
        .instrument(span)
        .await
    }
}

fn is_code(err: &ConsumerError, code: ErrorCode) -> bool {
    matches!(err.kind(), ConsumerErrorKind::JetStream(e) if e.error_code() == code)
}

/// The request-level kind behind a client error, when there is one.
pub(crate) fn request_kind(err: &(dyn std::error::Error + 'static)) -> Option<RequestErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<RequestError>() {
            return Some(r.kind());
        }
        cur = e.source();
    }
    None
}

/// Maps a consumer API error to a [`BusError`].
pub(crate) fn consumer_error(
    op: &'static str,
    target: &str,
    err: ConsumerError,
    stream: &str,
) -> BusError {
    if err.kind() == ConsumerErrorKind::TimedOut {
        return BusError::timeout(op, target);
    }
    if is_code(&err, ErrorCode::STREAM_NOT_FOUND) {
        return BusError::StreamMissing {
            subject: target.to_owned(),
            stream: stream.to_owned(),
        };
    }
    match err.source().and_then(request_kind) {
        Some(RequestErrorKind::TimedOut) => BusError::timeout(op, target),
        Some(RequestErrorKind::NoResponders) => BusError::JetStreamUnavailable,
        _ => BusError::nats(op, target, err),
    }
}
