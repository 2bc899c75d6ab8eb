//! [`BusConfig`]: where NATS is, how to authenticate, and which account and topic to use.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::ServerAddr;

use crate::error::ConfigError;
use crate::names::{cleanse_name, stream_name_for, validate_label};
use crate::subjects::Subjects;

/// Default account (first subject token, base of the stream name).
pub const DEFAULT_ACCOUNT: &str = "hops";
/// Default topic (second subject token).
pub const DEFAULT_TOPIC: &str = "default";

/// How to authenticate to NATS. `Debug` never prints secrets.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials (or credentials embedded in the URL, `nats://user:pass@host`).
    #[default]
    None,
    /// User and password.
    UserPassword {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// A token.
    Token(String),
    /// An NKey user seed (`SU…`).
    NKeySeed(String),
    /// A file holding an NKey user seed.
    NKeySeedFile(PathBuf),
    /// A JWT credentials file (`.creds`, as made by `nsc`).
    CredsFile(PathBuf),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::UserPassword { user, .. } => {
                write!(f, "UserPassword {{ user: {user:?}, password: *** }}")
            }
            Auth::Token(_) => f.write_str("Token(***)"),
            Auth::NKeySeed(_) => f.write_str("NKeySeed(***)"),
            Auth::NKeySeedFile(path) => write!(f, "NKeySeedFile({path:?})"),
            Auth::CredsFile(path) => write!(f, "CredsFile({path:?})"),
        }
    }
}

/// TLS settings. A `tls://` URL or a server that requires TLS also turns TLS on.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM file with the CA certificate(s) that signed the server's certificate (for a private
    /// CA; public CAs are trusted already).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for servers that verify clients (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub client_key: Option<PathBuf>,
    /// Refuse to talk to a server that does not offer TLS.
    pub required: bool,
}

/// Everything [`crate::Bus::connect`] needs. `Debug` redacts credentials.
#[derive(Clone)]
pub struct BusConfig {
    /// Server URL(s); several may be given comma-separated (`nats://a:4222,nats://b:4222`).
    /// The scheme defaults to `nats://` and the port to 4222.
    pub url: String,
    /// Credentials.
    pub auth: Auth,
    /// TLS settings.
    pub tls: TlsOptions,
    /// First subject token and base of the stream name (`[a-z0-9_-]`, default `hops`).
    pub account: String,
    /// Second subject token (`[a-z0-9_-]`, default `default`).
    pub topic: String,
    /// Stream name; default: the account upper-cased (`HOPS`).
    pub stream: Option<String>,
    /// Maximum age of the stream's messages; `None` keeps them forever (and leaves an existing
    /// stream's limit as it is). A run older than this loses its exactly-once guarantee (its
    /// subjects are free again): make it far longer than any run.
    pub stream_max_age: Option<Duration>,
    /// Replicas of a stream Hops creates (1 for a single server, 3 for a typical cluster).
    pub stream_replicas: usize,
    /// Connection name shown by the server (`nats server report connections`).
    pub client_name: String,
    /// Bound on every JetStream API request and publish acknowledgement.
    pub request_timeout: Duration,
    /// Bound on establishing one TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Payloads larger than this go to the object store and the message carries a reference
    /// (see [`crate::Bus::publish_once`]); `None`: half the server's max payload, at most
    /// 512 KiB.
    pub payload_inline_max: Option<usize>,
    /// The largest payload stored at all (results, requests, events); larger ones fail with
    /// [`crate::BusError::PayloadTooLarge`].
    pub payload_max: usize,
}

/// Default of [`BusConfig::payload_max`]: 64 MiB.
pub const DEFAULT_PAYLOAD_MAX: usize = 64 << 20;

impl fmt::Debug for BusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusConfig")
            .field("url", &redact_url(&self.url))
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("account", &self.account)
            .field("topic", &self.topic)
            .field("stream", &self.stream)
            .field("stream_max_age", &self.stream_max_age)
            .field("stream_replicas", &self.stream_replicas)
            .field("client_name", &self.client_name)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("payload_inline_max", &self.payload_inline_max)
            .field("payload_max", &self.payload_max)
            .finish()
    }
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            url: "nats://127.0.0.1:4222".to_owned(),
            auth: Auth::None,
            tls: TlsOptions::default(),
            account: DEFAULT_ACCOUNT.to_owned(),
            topic: DEFAULT_TOPIC.to_owned(),
            stream: None,
            stream_max_age: None,
            stream_replicas: 1,
            client_name: "hops".to_owned(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            payload_inline_max: None,
            payload_max: DEFAULT_PAYLOAD_MAX,
        }
    }
}

impl BusConfig {
    /// A configuration for `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        BusConfig {
            url: url.into(),
            ..BusConfig::default()
        }
    }

    /// Sets the account.
    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// Sets the topic.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = topic.into();
        self
    }

    /// Sets the credentials.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the TLS options.
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    /// The subject builders for this account and topic.
    pub fn subjects(&self) -> Result<Subjects, ConfigError> {
        Subjects::new(&self.account, &self.topic)
    }

    /// The stream name: the explicit one (cleansed), else derived from the account.
    pub fn stream_name(&self) -> Result<String, ConfigError> {
        validate_label("account", &self.account)?;
        Ok(match &self.stream {
            Some(name) => cleanse_name(name),
            None => stream_name_for(&self.account),
        })
    }

    /// Parses [`BusConfig::url`] into server addresses.
    pub fn server_addrs(&self) -> Result<Vec<ServerAddr>, ConfigError> {
        let addrs = self
            .url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                u.parse::<ServerAddr>()
                    .map_err(|err| ConfigError::InvalidUrl {
                        url: redact_url(u),
                        reason: err.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if addrs.is_empty() {
            return Err(ConfigError::NoUrl);
        }
        Ok(addrs)
    }

    /// Checks every setting that can be checked without a server.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.subjects()?;
        self.stream_name()?;
        self.server_addrs()?;
        match (&self.tls.client_cert, &self.tls.client_key) {
            (Some(_), None) => Err(ConfigError::IncompleteClientCert {
                given: "certificate",
            }),
            (None, Some(_)) => Err(ConfigError::IncompleteClientCert { given: "key" }),
            _ => Ok(()),
        }
    }
}

/// The URL(s) with any `user:password@` replaced by `***@`, for messages and logs.
pub fn redact_url(urls: &str) -> String {
    urls.split(',')
        .map(|u| {
            let u = u.trim();
            let (scheme, rest) = match u.find("://") {
                Some(i) => (&u[..i + 3], &u[i + 3..]),
                None => ("", u),
            };
            match rest.rfind('@') {
                Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
                None => u.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_derived_names() {
        let c = BusConfig::new("nats://127.0.0.1:4222");
        assert_eq!(c.account, "hops");
        assert_eq!(c.topic, "default");
        assert_eq!(c.stream_name().unwrap(), "HOPS");
        assert!(c.validate().is_ok());
        let c = c.with_account("acme-prod").with_topic("local-1a2b");
        assert_eq!(c.stream_name().unwrap(), "ACME-PROD");
        let mut c = c;
        c.stream = Some("hops.account".into());
        assert_eq!(c.stream_name().unwrap(), "hopsdotaccount");
    }

    #[test]
    fn several_urls_are_parsed() {
        let c = BusConfig::new("nats://a:4222, tls://b:4333,c");
        let addrs = c.server_addrs().unwrap();
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[1].port(), 4333);
        assert!(addrs[1].tls_required());
        assert_eq!(addrs[2].port(), 4222);
    }

    #[test]
    fn bad_settings_are_named() {
        let err = BusConfig::new("").validate().unwrap_err().to_string();
        assert!(err.contains("no nats url"), "{err}");
        let err = BusConfig::new("http://x:1")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid nats url") && err.contains("scheme"),
            "{err}"
        );
        let err = BusConfig::new("nats://x")
            .with_account("Acme")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid account \"Acme\""), "{err}");
        let err = BusConfig::new("nats://x")
            .with_topic("a.b")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid topic"), "{err}");
        let mut c = BusConfig::new("nats://x");
        c.tls.client_key = Some("k.pem".into());
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("only the key")
        );
    }

    #[test]
    fn secrets_never_show() {
        let c =
            BusConfig::new("nats://bob:s3cret@h:4222,nats://h2").with_auth(Auth::UserPassword {
                user: "bob".into(),
                password: "hunter2".into(),
            });
        let dbg = format!("{:?}", c.auth);
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert_eq!(redact_url(&c.url), "nats://***@h:4222,nats://h2");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!format!("{:?}", Auth::Token("tok".into())).contains("tok"));
        assert!(!format!("{:?}", Auth::NKeySeed("SUAB".into())).contains("SUAB"));
    }
}
