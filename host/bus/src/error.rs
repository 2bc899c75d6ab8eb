//! Error types. Callers branch on [`BusError`] variants; [`ConfigError`] and [`SubjectError`]
//! are the validation failures it wraps.

use std::path::PathBuf;

/// Boxed cause attached to some [`BusError`] variants.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong talking to NATS JetStream.
///
/// Messages are lowercase, name the thing, and say what to check. The cause (when there is one)
/// is the [`std::error::Error::source`], so `{:#}` with anyhow prints the whole chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The configuration is invalid (a name, a URL, a key or certificate file).
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A subject, or a token used to build one, is invalid.
    #[error(transparent)]
    Subject(#[from] SubjectError),

    /// The first connection to NATS failed (later disconnects are retried forever instead).
    #[error("failed to connect to nats at {urls}: {reason}; {hint}")]
    Connect {
        /// The server URLs tried (credentials removed).
        urls: String,
        /// What kind of failure it was.
        reason: String,
        /// What to check.
        hint: &'static str,
        /// The client's error.
        #[source]
        source: async_nats::ConnectError,
    },

    /// JetStream refused to create the stream with the replicas asked for (too few servers).
    #[error(
        "cannot create stream {stream} with {replicas} replicas: {reason}; \
         --stream-replicas (HOPS_STREAM_REPLICAS) needs a JetStream cluster of at least that \
         many servers (use 1 on a single nats-server)"
    )]
    StreamReplicas {
        /// Stream name.
        stream: String,
        /// Replicas asked for.
        replicas: usize,
        /// What the server said.
        reason: String,
    },

    /// The stream exists but its configuration breaks exactly-once dispatch.
    #[error(
        "stream {stream} has {setting} = {actual}; hops needs {expected} for exactly-once \
         dispatch: update the stream or point hops at another account"
    )]
    IncompatibleStream {
        /// Stream name.
        stream: String,
        /// The offending setting, as NATS names it in the stream config.
        setting: &'static str,
        /// Its current value.
        actual: String,
        /// The value Hops needs.
        expected: String,
    },

    /// No stream captures the subject (JetStream answered "no responders" or "stream not found").
    #[error(
        "no jetstream stream captures {subject}: hops creates stream {stream} at start-up \
         (ensure_stream); check that jetstream is enabled on the server and the stream was not deleted"
    )]
    StreamMissing {
        /// The subject of the failed operation.
        subject: String,
        /// The stream Hops expects.
        stream: String,
    },

    /// JetStream does not answer at all: it is not enabled on the server or for the account.
    #[error(
        "jetstream is not available on the nats server: start nats-server with jetstream enabled \
         (-js) or enable jetstream for the account"
    )]
    JetStreamUnavailable,

    /// The server did not answer in time.
    #[error(
        "timed out during {op} on {target}: the nats server did not answer in time; check that it \
         is running and reachable"
    )]
    Timeout {
        /// Operation (`publish`, `read_run`, …).
        op: &'static str,
        /// Subject, stream or consumer concerned.
        target: String,
    },

    /// A pipeline set hash is not in the object store.
    #[error(
        "pipeline set {hash} is not in object store bucket {bucket}: the replica that started the \
         run never stored it, or the bucket was purged"
    )]
    PipelineSetNotFound {
        /// The requested hash.
        hash: String,
        /// The bucket.
        bucket: &'static str,
    },

    /// A stored pipeline set cannot be decoded or does not match its hash.
    #[error("pipeline set {hash} in object store bucket {bucket} is corrupted: {reason}")]
    PipelineSetCorrupted {
        /// The requested hash.
        hash: String,
        /// The bucket.
        bucket: &'static str,
        /// What is wrong with it.
        reason: String,
        /// The decoding error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// [`crate::Bus::put_pipeline_set`] was given a hash that does not match the files.
    #[error(
        "pipeline set hash {given} does not match its files (they hash to {actual}): compute it \
         with pipeline_set_hash"
    )]
    PipelineSetHashMismatch {
        /// The hash passed in.
        given: String,
        /// The hash of the files.
        actual: String,
    },

    /// A payload is larger than the host stores at all ([`crate::BusConfig::payload_max`]).
    #[error(
        "the payload for {subject} is {} MB, over the {} MB limit (payload_max; --max-payload)",
        mb(*size),
        mb(*max)
    )]
    PayloadTooLarge {
        /// Subject it was meant for.
        subject: String,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// A message refers to a payload object that is not in the object store.
    #[error(
        "the payload of {subject} is stored as object {object} in bucket {bucket}, which no longer \
         holds it (was the bucket purged?)"
    )]
    PayloadMissing {
        /// Subject of the message.
        subject: String,
        /// The object name it refers to.
        object: String,
        /// The bucket.
        bucket: &'static str,
    },

    /// The stream is at a size or message limit someone set on it and refuses new messages.
    #[error(
        "stream {stream} is full and refused {subject}: purge runs that ended long ago \
         (`hops runs purge --older-than 30d`) or raise the stream's limit"
    )]
    StreamFull {
        /// The stream.
        stream: String,
        /// The subject refused.
        subject: String,
    },

    /// Any other NATS or JetStream failure.
    #[error("{op} failed on {target}")]
    Nats {
        /// Operation (`publish`, `create consumer`, …).
        op: &'static str,
        /// Subject, stream or consumer concerned.
        target: String,
        /// The client's or the server's error.
        #[source]
        source: BoxError,
    },
}

/// Bytes as megabytes with one decimal (`5.2`), for messages about payload sizes.
pub(crate) fn mb(bytes: usize) -> String {
    let tenths = (bytes as u64 * 10).div_ceil(1 << 20);
    format!("{}.{}", tenths / 10, tenths % 10)
}

impl BusError {
    /// Wraps any client error as [`BusError::Nats`].
    pub(crate) fn nats(
        op: &'static str,
        target: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        BusError::Nats {
            op,
            target: target.into(),
            source: source.into(),
        }
    }

    /// Builds [`BusError::Timeout`].
    pub(crate) fn timeout(op: &'static str, target: impl Into<String>) -> Self {
        BusError::Timeout {
            op,
            target: target.into(),
        }
    }

    /// True for failures that usually go away on their own (timeouts, a stream briefly
    /// unreachable while the client reconnects, other server-side errors): the runtime should
    /// retry later (nak with a delay) rather than give up on the message.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BusError::Timeout { .. }
                | BusError::StreamMissing { .. }
                | BusError::StreamFull { .. }
                | BusError::Nats { .. }
        )
    }
}

/// An invalid setting in a [`crate::BusConfig`] or [`crate::LocalNatsOptions`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An account, topic, consumer or stream name breaks its naming rule.
    #[error("invalid {what} {value:?}: {rule}")]
    InvalidName {
        /// What was being named (`account`, `topic`, …).
        what: &'static str,
        /// The rejected value.
        value: String,
        /// The rule, with an example.
        rule: &'static str,
    },

    /// No server URL was given.
    #[error(
        "no nats url given: set one, e.g. nats://127.0.0.1:4222 (several may be comma-separated)"
    )]
    NoUrl,

    /// A server URL cannot be parsed.
    #[error("invalid nats url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (credentials removed).
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A key, credentials or certificate file cannot be read.
    #[error("cannot read {what} file {path:?}: check the path and its permissions")]
    ReadFile {
        /// Which file (`nkey seed`, `creds`, `tls ca`, …).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An NKey seed does not decode.
    #[error("invalid nkey seed{origin}: expected a user seed starting with \"SU\" (nk -gen user)")]
    InvalidNkeySeed {
        /// Where it came from (` in file "…"`, or empty).
        origin: String,
    },

    /// A client certificate was given without its key, or the other way round.
    #[error("tls client certificate and key must be given together (got only the {given})")]
    IncompleteClientCert {
        /// `certificate` or `key`.
        given: &'static str,
    },
}

/// An invalid subject, or an invalid token for building one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// A run id is not `[A-Za-z0-9_-]{1,128}`.
    #[error(
        "invalid run id {run_id:?}: use 1-128 ASCII letters, digits, '_' or '-' (a uuid or replay-…)"
    )]
    InvalidRunId {
        /// The rejected id.
        run_id: String,
    },

    /// A call slug, pipeline slug, app or handler cannot be a subject token.
    #[error(
        "invalid {what} {value:?} for a nats subject token: it must be non-empty and contain no \
         '.', '*', '>' or whitespace"
    )]
    InvalidToken {
        /// What the token is (`call slug`, `app`, …).
        what: &'static str,
        /// The rejected value.
        value: String,
    },

    /// A subject does not follow the Hops layout.
    #[error("subject {subject:?} is not a hops subject: {reason}")]
    Malformed {
        /// The subject.
        subject: String,
        /// What is wrong.
        reason: &'static str,
    },
}
