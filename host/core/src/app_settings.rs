//! `<name>.toml`: an app's settings — grants and limits.
//!
//! ```toml
//! # plugins/github.toml — every key is optional
//! allowed-hosts = ["api.github.com", "127.0.0.1:8080", "*.example.com"]
//! memory = "128 MiB"        # linear memory cap (bytes as a number, or KiB/MiB/GiB)
//! timeout = "10s"           # per-call timeout unless the pipeline sets one
//! concurrency = 8           # calls of this app at once in this process
//! poll-interval = "1m"      # listeners: how often `tick` runs (no ticks without it)
//! handlers = ["hello"]      # the handlers it has: `hops validate` checks calls against them
//!
//! [config]                  # plain values, readable with config.get
//! org = "hops-rs"
//!
//! [secrets]                 # config keys whose values come from the host's environment
//! token = "GITHUB_TOKEN"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits applied when an app's toml does not set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Memory cap in bytes (default 64 MiB).
    pub memory: u64,
    /// Call timeout (default 30 s).
    pub timeout: Duration,
    /// Concurrent calls per app (default 16).
    pub concurrency: usize,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            memory: 64 << 20,
            timeout: Duration::from_secs(30),
            concurrency: 16,
        }
    }
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSettings {
    #[serde(default)]
    allowed_hosts: Vec<String>,
    memory: Option<toml::Value>,
    timeout: Option<String>,
    concurrency: Option<usize>,
    poll_interval: Option<String>,
    handlers: Option<Vec<String>>,
    #[serde(default)]
    config: BTreeMap<String, String>,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
}

/// One entry of `allowed-hosts`: a host name (or `*.` + domain) and, optionally, a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostGrant {
    host: String,
    port: Option<u16>,
}

impl HostGrant {
    /// Parses `host`, `host:port`, `*.domain`, `[v6]` or `[v6]:port`.
    ///
    /// # Errors
    ///
    /// When the port is not a number or the host is empty.
    pub fn parse(text: &str) -> Result<HostGrant, String> {
        let (host, port) = split_host_port(text.trim())
            .ok_or_else(|| format!("allowed host {text:?} is not `host` or `host:port`"))?;
        if host.is_empty() || host.contains('/') {
            return Err(format!(
                "allowed host {text:?} is not `host` or `host:port` (no scheme or path)"
            ));
        }
        Ok(HostGrant {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Whether a request to `authority` (`host[:port]`, default port `default_port`) is allowed.
    pub fn allows(&self, authority: &str, default_port: u16) -> bool {
        let Some((host, port)) = split_host_port(authority) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let port = port.unwrap_or(default_port);
        let host_ok = match self.host.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
            None => host == self.host,
        };
        host_ok && self.port.is_none_or(|p| p == port)
    }
}

impl fmt::Display for HostGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bracket = self.host.contains(':');
        match (bracket, self.port) {
            (true, Some(port)) => write!(f, "[{}]:{port}", self.host),
            (true, None) => write!(f, "[{}]", self.host),
            (false, Some(port)) => write!(f, "{}:{port}", self.host),
            (false, None) => f.write_str(&self.host),
        }
    }
}

/// Splits `host:port`; brackets around IPv6 hosts are removed. `None` for a bad port.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => Some((text, None)), // bare IPv6 without brackets: no port
        None => Some((text, None)),
    }
}

/// An app's grants and limits, resolved: secrets read from the environment, defaults applied.
#[derive(Clone, PartialEq, Eq)]
pub struct AppSettings {
    /// Hosts the app may reach over wasi:http.
    pub allowed_hosts: Vec<HostGrant>,
    /// Config values, secrets included (never log this map).
    pub config: BTreeMap<String, String>,
    /// Config keys that came from `[secrets]`, with the environment variable each came from.
    pub secrets: BTreeMap<String, String>,
    /// Memory cap in bytes.
    pub memory: u64,
    /// Call timeout.
    pub timeout: Duration,
    /// Concurrent calls.
    pub concurrency: usize,
    /// Listener tick interval.
    pub poll_interval: Option<Duration>,
    /// The handlers the app says it has (`handlers` in its toml), if it says.
    pub handlers: Option<Vec<String>>,
}

// Hand-written so that secret values never end up in a debug log line.
impl fmt::Debug for AppSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppSettings")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .field("secrets", &self.secrets)
            .field("memory", &self.memory)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("poll_interval", &self.poll_interval)
            .field("handlers", &self.handlers)
            .finish()
    }
}

impl AppSettings {
    /// The settings of an app without a toml.
    pub fn defaults(defaults: &Defaults) -> AppSettings {
        AppSettings {
            allowed_hosts: Vec::new(),
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
            memory: defaults.memory,
            timeout: defaults.timeout,
            concurrency: defaults.concurrency,
            poll_interval: None,
            handlers: None,
        }
    }

    /// Parses a toml file's text; `env` resolves secrets (the host's environment in
    /// production, a map in tests).
    ///
    /// # Errors
    ///
    /// A message naming the key: unknown keys, bad values, secrets whose variable is unset.
    pub fn parse(
        text: &str,
        defaults: &Defaults,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AppSettings, String> {
        let raw: RawSettings = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let handlers = checked_handlers(raw.handlers.clone())?;
        let allowed_hosts = raw
            .allowed_hosts
            .iter()
            .map(|h| HostGrant::parse(h))
            .collect::<Result<Vec<_>, _>>()?;
        let memory = match raw.memory {
            None => defaults.memory,
            Some(value) => parse_memory(&value).map_err(|e| format!("memory: {e}"))?,
        };
        let timeout = match raw.timeout {
            None => defaults.timeout,
            Some(text) => parse_duration("timeout", &text)?,
        };
        let poll_interval = raw
            .poll_interval
            .map(|text| parse_duration("poll-interval", &text))
            .transpose()?;
        let concurrency = raw.concurrency.unwrap_or(defaults.concurrency);
        if concurrency == 0 {
            return Err("concurrency: must be at least 1".into());
        }
        let mut config = raw.config;
        for (key, var) in &raw.secrets {
            if config.contains_key(key) {
                return Err(format!("secrets.{key}: also set under [config]; keep one"));
            }
            let value = env(var).ok_or_else(|| {
                format!("secrets.{key}: environment variable {var} is not set on the host")
            })?;
            config.insert(key.clone(), value);
        }
        Ok(AppSettings {
            allowed_hosts,
            config,
            secrets: raw.secrets,
            memory,
            timeout,
            concurrency,
            poll_interval,
            handlers,
        })
    }

    /// Whether a request to `authority` may go out.
    pub fn allows_host(&self, authority: &str, default_port: u16) -> bool {
        self.allowed_hosts
            .iter()
            .any(|grant| grant.allows(authority, default_port))
    }

    /// What listings show: grants and limits, never values.
    pub fn summary(&self) -> SettingsSummary {
        SettingsSummary {
            allowed_hosts: self.allowed_hosts.iter().map(ToString::to_string).collect(),
            config_keys: self
                .config
                .keys()
                .filter(|k| !self.secrets.contains_key(*k))
                .cloned()
                .collect(),
            secrets: self.secrets.clone(),
            memory_bytes: self.memory,
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            concurrency: self.concurrency,
            poll_interval_ms: self
                .poll_interval
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            handlers: self.handlers.clone(),
        }
    }
}

/// The handlers a toml declares (`handlers = [...]`), read without resolving anything else:
/// what `hops validate --plugins` checks calls against.
///
/// # Errors
///
/// When the file is not valid toml for an app, or a handler name breaks the label rule.
pub fn declared_handlers(text: &str) -> Result<Option<Vec<String>>, String> {
    let raw: RawSettings = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    checked_handlers(raw.handlers)
}

fn checked_handlers(handlers: Option<Vec<String>>) -> Result<Option<Vec<String>>, String> {
    if let Some(names) = &handlers {
        for name in names {
            if !crate::is_valid_label(name) {
                return Err(format!(
                    "handlers: {name:?} is not a handler name (lowercase letters, digits and single underscores)"
                ));
            }
        }
    }
    Ok(handlers)
}

/// Grants and limits as listings show them (no config values, no secret values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsSummary {
    /// `allowed-hosts`.
    pub allowed_hosts: Vec<String>,
    /// Names of plain config keys.
    pub config_keys: BTreeSet<String>,
    /// Secret config keys and the host environment variables they come from.
    pub secrets: BTreeMap<String, String>,
    /// Memory cap.
    pub memory_bytes: u64,
    /// Call timeout.
    pub timeout_ms: u64,
    /// Concurrent calls.
    pub concurrency: usize,
    /// Listener tick interval.
    pub poll_interval_ms: Option<u64>,
    /// Declared handlers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handlers: Option<Vec<String>>,
}

fn parse_duration(key: &str, text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{key}: {text:?} is not a duration like \"30s\" or \"2m\" ({e})"))?;
    if duration.is_zero() {
        return Err(format!("{key}: must be more than zero"));
    }
    Ok(duration)
}

fn parse_memory(value: &toml::Value) -> Result<u64, String> {
    let bytes = match value {
        toml::Value::Integer(n) => u64::try_from(*n).map_err(|_| "must be positive".to_owned())?,
        toml::Value::String(text) => parse_size(text)?,
        other => {
            return Err(format!(
                "expected e.g. \"64 MiB\", got {}",
                other.type_str()
            ));
        }
    };
    if bytes < 1 << 20 {
        return Err("must be at least 1 MiB".into());
    }
    Ok(bytes)
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like \"64 MiB\""))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{text:?}: unknown unit (use KiB, MiB or GiB)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// `64 MiB`, `1.5 GiB`, `512 KiB`: for messages.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            return if bytes.is_multiple_of(size) {
                format!("{} {unit}", bytes / size)
            } else {
                #[allow(clippy::cast_precision_loss)] // for display only
                let value = bytes as f64 / size as f64;
                format!("{value:.1} {unit}")
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_full_settings() {
        let text = r#"
            allowed-hosts = ["api.github.com", "127.0.0.1:8080"]
            memory = "128 MiB"
            timeout = "10s"
            concurrency = 4
            poll-interval = "1m"
            [config]
            org = "hops"
            [secrets]
            token = "GH_TOKEN"
        "#;
        let env = |k: &str| (k == "GH_TOKEN").then(|| "s3cret".to_owned());
        let s = AppSettings::parse(text, &Defaults::default(), env).unwrap();
        assert_eq!(s.memory, 128 << 20);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.concurrency, 4);
        assert_eq!(s.poll_interval, Some(Duration::from_secs(60)));
        assert_eq!(s.config["token"], "s3cret");
        assert!(!format!("{s:?}").contains("s3cret"));
        let summary = s.summary();
        assert_eq!(summary.config_keys.iter().collect::<Vec<_>>(), ["org"]);
        assert_eq!(summary.secrets["token"], "GH_TOKEN");
    }

    #[test]
    fn reports_bad_keys_and_values_by_name() {
        let d = Defaults::default();
        let err = AppSettings::parse("colour = 1", &d, no_env).unwrap_err();
        assert!(err.contains("unknown field `colour`"), "{err}");
        let err = AppSettings::parse("memory = \"lots\"", &d, no_env).unwrap_err();
        assert!(err.starts_with("memory:"), "{err}");
        let err = AppSettings::parse("timeout = \"soon\"", &d, no_env).unwrap_err();
        assert!(err.starts_with("timeout:"), "{err}");
        let err = AppSettings::parse("[secrets]\nt = \"NOPE_X\"", &d, no_env).unwrap_err();
        assert!(err.contains("NOPE_X is not set"), "{err}");
        let err = AppSettings::parse("allowed-hosts = [\"https://x\"]", &d, no_env).unwrap_err();
        assert!(err.contains("allowed host"), "{err}");
    }

    #[test]
    fn host_grants_match_host_and_port() {
        let any_port = HostGrant::parse("API.github.com").unwrap();
        assert!(any_port.allows("api.github.com", 443));
        assert!(any_port.allows("api.github.com:8443", 443));
        assert!(!any_port.allows("evil.com", 443));
        assert!(!any_port.allows("api.github.com.evil.com", 443));
        let fixed = HostGrant::parse("127.0.0.1:8080").unwrap();
        assert!(fixed.allows("127.0.0.1:8080", 80));
        assert!(!fixed.allows("127.0.0.1:8081", 80));
        assert!(!fixed.allows("127.0.0.1", 80));
        let wildcard = HostGrant::parse("*.example.com").unwrap();
        assert!(wildcard.allows("a.example.com", 443));
        assert!(!wildcard.allows("example.com", 443));
        assert!(!wildcard.allows("aexample.com", 443));
        let v6 = HostGrant::parse("[::1]:9000").unwrap();
        assert!(v6.allows("[::1]:9000", 80));
        assert_eq!(v6.to_string(), "[::1]:9000");
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_bytes(64 << 20), "64 MiB");
        assert_eq!(format_bytes(1536 << 10), "1.5 MiB");
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("512 kb").unwrap(), 512 << 10);
    }
}
