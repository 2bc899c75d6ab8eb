//! [`Bus`]: the connected handle, and how it connects.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::{ConnectErrorKind, ConnectOptions, Event, ServerAddr};
use tracing::Instrument;

use crate::config::{Auth, BusConfig, redact_url};
use crate::error::{BusError, ConfigError};
use crate::pinning::PipelineCache;
use crate::subjects::Subjects;

/// Longest pause between two reconnect attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// A connection to NATS JetStream for one account and topic. Cheap to clone: clones share the
/// connection (one client task), the JetStream context and the pipeline-set cache.
#[derive(Clone, Debug)]
pub struct Bus {
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
    pub(crate) subjects: Subjects,
    pub(crate) stream: Arc<str>,
    pub(crate) stream_max_age: Option<Duration>,
    pub(crate) stream_replicas: usize,
    pub(crate) pipelines: Arc<PipelineCache>,
    pub(crate) payloads: Arc<crate::payloads::PayloadStore>,
    pub(crate) inputs: Arc<crate::inputs::InputStore>,
    /// Whether single-message reads may use direct gets (set by `ensure_stream` for a stream
    /// that allows them; cleared if the server refuses one).
    pub(crate) direct_reads: Arc<AtomicBool>,
    /// Whether the stream has more than one replica: a direct get may then be answered by a
    /// follower that lags, so reads that decide whether to run a call go to the leader.
    pub(crate) replicated: Arc<AtomicBool>,
    /// Where events this connection stores are announced (`Bus::watch_stored_events`).
    pub(crate) stored_events: crate::own_events::StoredEvents,
    /// Sequences this connection saw stored (`Bus::stored_for_another_run`).
    pub(crate) seen: Arc<crate::seen::SeenSequences>,
}

impl Bus {
    /// Connects to NATS.
    ///
    /// The first connection must succeed (each URL is tried once); after that the client
    /// reconnects forever with a capped exponential backoff, and operations made while it is
    /// disconnected fail with [`BusError::Timeout`] or [`BusError::StreamMissing`].
    ///
    /// # Errors
    ///
    /// [`BusError::Config`] for an invalid setting or an unreadable key, creds or certificate file;
    /// [`BusError::Connect`] when no server could be reached or the credentials or TLS setup
    /// were refused; the message says what to check.
    pub async fn connect(config: BusConfig) -> Result<Bus, BusError> {
        let span = tracing::info_span!("hops.bus.connect", urls = %redact_url(&config.url));
        async move {
            config.validate()?;
            let subjects = config.subjects()?;
            let stream = config.stream_name()?;
            let addrs = config.server_addrs()?;
            let mut options = connect_options(&config).await?;
            if matches!(config.auth, Auth::None) {
                options = url_credentials(options, &addrs);
            }
            let client = options.connect(addrs).await.map_err(|source| {
                let (reason, hint) = explain(&source);
                BusError::Connect {
                    urls: redact_url(&config.url),
                    reason: reason.to_owned(),
                    hint,
                    source,
                }
            })?;
            let js = jetstream::ContextBuilder::new()
                .timeout(config.request_timeout)
                .build(client.clone());
            tracing::debug!(stream = %stream, "connected");
            Ok(Bus {
                client,
                js,
                subjects,
                stream: stream.into(),
                stream_max_age: config.stream_max_age,
                stream_replicas: config.stream_replicas.max(1),
                pipelines: Arc::new(PipelineCache::default()),
                payloads: Arc::new(crate::payloads::PayloadStore::new(
                    config.payload_inline_max,
                    config.payload_max,
                )),
                inputs: Arc::default(),
                direct_reads: Arc::new(AtomicBool::new(false)),
                replicated: Arc::new(AtomicBool::new(false)),
                stored_events: crate::own_events::StoredEvents::default(),
                seen: Arc::default(),
            })
        }
        .instrument(span)
        .await
    }

    /// The NATS client (core publish/subscribe, connection state).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context, for anything this crate does not wrap.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Subject builders and parser for this account and topic.
    pub fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    /// The stream name.
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// True while the client is connected (it reconnects on its own otherwise).
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Waits until everything published so far (acks and naks included) reached the server.
    ///
    /// # Errors
    ///
    /// When the connection cannot flush (it is down).
    pub async fn flush(&self) -> Result<(), BusError> {
        self.client
            .flush()
            .await
            .map_err(|e| BusError::nats("flush", self.stream_name(), e))
    }
}

/// Builds the client options: credentials, TLS, timeouts, reconnect policy, event logging.
async fn connect_options(config: &BusConfig) -> Result<ConnectOptions, BusError> {
    let mut options = ConnectOptions::new()
        .name(&config.client_name)
        .connection_timeout(config.connect_timeout)
        .request_timeout(Some(config.request_timeout))
        .max_reconnects(None)
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(|event| async move { log_event(event) });

    options = match &config.auth {
        Auth::None => options,
        Auth::UserPassword { user, password } => {
            options.user_and_password(user.clone(), password.clone())
        }
        Auth::Token(token) => options.token(token.clone()),
        Auth::NKeySeed(seed) => options.nkey(checked_seed(seed.trim(), String::new())?),
        Auth::NKeySeedFile(path) => {
            let seed = read_file("nkey seed", path).await?;
            options.nkey(checked_seed(
                seed.trim(),
                format!(" in file {}", path.display()),
            )?)
        }
        Auth::CredsFile(path) => {
            // Read first so a missing file is reported as such, not as a parse error.
            read_file("creds", path).await?;
            options
                .credentials_file(path)
                .await
                .map_err(|source| ConfigError::ReadFile {
                    what: "creds",
                    path: path.clone(),
                    source,
                })?
        }
    };

    let tls = &config.tls;
    if let Some(ca) = &tls.ca_file {
        read_file("tls ca", ca).await?;
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
        read_file("tls client certificate", cert).await?;
        read_file("tls client key", key).await?;
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    if tls.required {
        options = options.require_tls(true);
    }
    Ok(options)
}

async fn read_file(what: &'static str, path: &std::path::Path) -> Result<String, ConfigError> {
    tokio::fs::read_to_string(path)
        .await
        .map_err(|source| ConfigError::ReadFile {
            what,
            path: path.to_owned(),
            source,
        })
}

/// Decodes the seed once here so a typo is a clear configuration error, not a failed handshake.
fn checked_seed(seed: &str, origin: String) -> Result<String, ConfigError> {
    match nkeys::KeyPair::from_seed(seed) {
        Ok(kp) if kp.public_key().starts_with('U') => Ok(seed.to_owned()),
        _ => Err(ConfigError::InvalidNkeySeed { origin }),
    }
}

/// Backoff between reconnect attempts: immediately, then 100 ms doubling up to 5 s.
fn reconnect_delay(attempts: usize) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let exp = u32::try_from(attempts - 2).unwrap_or(u32::MAX).min(16);
    Duration::from_millis(100u64.saturating_mul(1 << exp)).min(MAX_RECONNECT_DELAY)
}

fn log_event(event: Event) {
    match event {
        Event::Connected => tracing::info!("nats connection (re)established"),
        Event::Disconnected => tracing::warn!("nats connection lost; reconnecting"),
        Event::LameDuckMode => tracing::warn!("nats server entered lame duck mode"),
        Event::SlowConsumer(sid) => tracing::warn!(sid, "nats slow consumer"),
        Event::Closed | Event::Draining => {
            tracing::debug!(event = %event, "nats connection closing")
        }
        other => tracing::warn!(event = %other, "nats client event"),
    }
}

/// Credentials embedded in the URL (`nats://user:pass@host`, `nats://token@host`): async-nats
/// does not read them itself.
fn url_credentials(options: ConnectOptions, addrs: &[ServerAddr]) -> ConnectOptions {
    let Some(addr) = addrs.iter().find(|a| a.username().is_some()) else {
        return options;
    };
    let user = percent_decode(addr.username().unwrap_or_default());
    match addr.password() {
        Some(password) => options.user_and_password(user, percent_decode(password)),
        None => options.token(user),
    }
}

/// Decodes `%XX` escapes (URL user info); anything malformed is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when the failure came from TLS (async-nats reports handshake failures as I/O errors).
fn is_tls_failure(err: &async_nats::ConnectError) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = cur {
        if e.downcast_ref::<async_nats::rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<async_nats::rustls::Error>().is_some())
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// What a connect failure means and what to check.
fn explain(err: &async_nats::ConnectError) -> (&'static str, &'static str) {
    let kind = if is_tls_failure(err) {
        ConnectErrorKind::Tls
    } else {
        err.kind()
    };
    match kind {
        ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => (
            "the server refused the credentials",
            "check the user and password, token, nkey seed or creds file",
        ),
        ConnectErrorKind::Tls => (
            "the tls handshake failed",
            "check the ca file (the server's certificate must be signed by it), the client \
             certificate and key, and that client and server agree on tls",
        ),
        ConnectErrorKind::Dns => (
            "the host name does not resolve",
            "check the host in the url",
        ),
        ConnectErrorKind::ServerParse => ("the url is invalid", "check the url"),
        ConnectErrorKind::TimedOut | ConnectErrorKind::Io | ConnectErrorKind::MaxReconnects => (
            "no server answered",
            "check the url and that nats-server is running and reachable",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_backoff_is_capped() {
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        assert_eq!(reconnect_delay(2), Duration::from_millis(100));
        assert_eq!(reconnect_delay(3), Duration::from_millis(200));
        assert_eq!(reconnect_delay(100), MAX_RECONNECT_DELAY);
        assert_eq!(reconnect_delay(usize::MAX), MAX_RECONNECT_DELAY);
    }

    #[test]
    fn url_user_info_is_decoded() {
        assert_eq!(percent_decode("p%40ss%3Aw0rd"), "p@ss:w0rd");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
    }

    #[test]
    fn seeds_are_checked() {
        let kp = nkeys::KeyPair::new_user();
        let seed = kp.seed().unwrap();
        assert_eq!(checked_seed(&seed, String::new()).unwrap(), seed);
        let account_seed = nkeys::KeyPair::new_account().seed().unwrap();
        assert!(checked_seed(&account_seed, String::new()).is_err());
        let err = checked_seed("SUnot-a-seed", " in file \"k\"".into())
            .unwrap_err()
            .to_string();
        assert!(err.contains("in file") && err.contains("SU"), "{err}");
    }
}
