//! The inputs of `http_do`: parsed, validated and defaulted before any request is sent.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use hops_sdk::{Result, bail};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

/// Methods the app sends.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];
/// Methods safe to repeat, which get retries by default.
const IDEMPOTENT: &[&str] = &["GET", "HEAD", "PUT", "DELETE", "OPTIONS"];
/// Most extra attempts an input may ask for.
const MAX_RETRIES: u32 = 10;
/// Default extra attempts for idempotent methods (POST and PATCH get none by default).
const DEFAULT_RETRIES: u32 = 2;
/// Default wait before the first retry; it doubles each time up to [`MAX_BACKOFF`].
const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between two attempts, also the cap on a server's `Retry-After`.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Default per-attempt timeout (connect, first byte, and between bytes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The raw inputs, as the pipeline wrote them.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    url: Option<String>,
    method: Option<String>,
    params: BTreeMap<String, Value>,
    headers: BTreeMap<String, Value>,
    json: Option<Value>,
    text: Option<String>,
    data: Option<String>,
    retries: Option<u32>,
    backoff: Option<Value>,
    timeout: Option<Value>,
}

/// A validated request plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Upper-case method.
    pub method: String,
    /// The URL with `params` appended to its query.
    pub url: Url,
    /// Request headers, `Content-Type` included when the body kind implies one.
    pub headers: Vec<(String, String)>,
    /// Request body (empty for none).
    pub body: Vec<u8>,
    /// Extra attempts after the first.
    pub retries: u32,
    /// Wait before the first retry.
    pub backoff: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl Plan {
    /// Adds header `name` unless the inputs already set it (in any case).
    pub fn add_header_unless_set(&mut self, name: &str, value: &str) {
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            self.headers.push((name.to_owned(), value.to_owned()));
        }
    }
}

/// Parses and validates the call's inputs.
///
/// # Errors
///
/// `invalid input: …` naming the field and how to fix it.
pub fn plan(inputs: &str) -> Result<Plan> {
    plan_inner(inputs).map_err(|e| hops_sdk::anyhow!("invalid input: {e:#}"))
}

fn plan_inner(inputs: &str) -> Result<Plan> {
    let raw: Raw = match serde_json::from_str::<Option<Raw>>(inputs) {
        Ok(raw) => raw.unwrap_or_default(),
        Err(e) => bail!("{e}"),
    };
    let Some(url) = raw.url else {
        bail!("`url` is required (an http:// or https:// URL)");
    };
    let mut url = Url::parse(&url).map_err(|e| hops_sdk::anyhow!("`url` {url:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        bail!(
            "`url` {:?} must be an http:// or https:// URL with a host",
            url.as_str()
        );
    }
    if !raw.params.is_empty() {
        let mut query = url.query_pairs_mut();
        for (name, value) in &raw.params {
            query.append_pair(name, &scalar("params", name, value)?);
        }
    }

    let method = raw.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        bail!("`method` {method:?} is not one of {}", METHODS.join(", "));
    }

    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        headers.push((name.clone(), scalar("headers", name, value)?));
    }

    let bodies = [raw.json.is_some(), raw.text.is_some(), raw.data.is_some()];
    if bodies.iter().filter(|b| **b).count() > 1 {
        bail!("give at most one of `json`, `text` and `data` as the body");
    }
    let (body, content_type) = match (raw.json, raw.text, raw.data) {
        (Some(json), _, _) => (json.to_string().into_bytes(), Some("application/json")),
        (_, Some(text), _) => (text.into_bytes(), Some("text/plain; charset=utf-8")),
        (_, _, Some(data)) => (
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| hops_sdk::anyhow!("`data` is not base64: {e}"))?,
            None,
        ),
        _ => (Vec::new(), None),
    };
    if let Some(content_type) = content_type
        && !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), content_type.into()));
    }

    let default_retries = if IDEMPOTENT.contains(&method.as_str()) {
        DEFAULT_RETRIES
    } else {
        0
    };
    let retries = raw.retries.unwrap_or(default_retries);
    if retries > MAX_RETRIES {
        bail!("`retries` is {retries}; at most {MAX_RETRIES} extra attempts are allowed");
    }
    let backoff = match raw.backoff {
        Some(v) => duration("backoff", &v)?.min(MAX_BACKOFF),
        None => DEFAULT_BACKOFF,
    };
    let timeout = match raw.timeout {
        Some(v) => duration("timeout", &v)?,
        None => DEFAULT_TIMEOUT,
    };
    if timeout.is_zero() {
        bail!("`timeout` must be more than zero");
    }
    Ok(Plan {
        method,
        url,
        headers,
        body,
        retries,
        backoff,
        timeout,
    })
}

/// A string, number or boolean as text (HCL maps often hold numbers).
fn scalar(field: &str, name: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => bail!("`{field}.{name}` must be a string, number or boolean"),
    }
}

/// A duration: a number of milliseconds, or text such as `"250ms"`, `"2s"`, `"1m"`.
pub fn duration(field: &str, value: &Value) -> Result<Duration> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().map(Duration::from_millis),
        Value::String(s) => parse_duration(s.trim()),
        _ => None,
    };
    parsed.ok_or_else(|| {
        hops_sdk::anyhow!(
            "`{field}` {value} is not a duration: use milliseconds or text like \"500ms\", \"2s\", \"1m\""
        )
    })
}

fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        "h" => Some(Duration::from_secs(n.checked_mul(3600)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_and_params() {
        let p = plan(r#"{"url": "http://h:1/p?a=1", "params": {"b": "x y", "n": 2}}"#).unwrap();
        assert_eq!(p.method, "GET");
        assert_eq!(p.url.as_str(), "http://h:1/p?a=1&b=x+y&n=2");
        assert_eq!(
            (p.retries, p.backoff, p.timeout),
            (2, DEFAULT_BACKOFF, DEFAULT_TIMEOUT)
        );
        assert!(p.body.is_empty() && p.headers.is_empty());
    }

    #[test]
    fn bodies_set_their_content_type() {
        let p = plan(r#"{"url": "https://h/", "method": "post", "json": {"a": 1}}"#).unwrap();
        assert_eq!((p.method.as_str(), p.retries), ("POST", 0));
        assert_eq!(p.body, br#"{"a":1}"#);
        assert_eq!(
            p.headers,
            vec![("Content-Type".into(), "application/json".into())]
        );
        let p = plan(r#"{"url": "https://h/", "text": "hi", "headers": {"content-type": "x/y"}}"#)
            .unwrap();
        assert_eq!(p.headers, vec![("content-type".into(), "x/y".into())]);
        let p = plan(r#"{"url": "https://h/", "data": "aGk="}"#).unwrap();
        assert_eq!((p.body.as_slice(), p.headers.len()), (&b"hi"[..], 0));
    }

    #[test]
    fn refuses_bad_inputs_with_the_field() {
        for (inputs, needle) in [
            ("null", "`url` is required"),
            (r#"{"url": "ftp://h/"}"#, "must be an http:// or https://"),
            (
                r#"{"url": "http://h/", "method": "BREW"}"#,
                "`method` \"BREW\"",
            ),
            (
                r#"{"url": "http://h/", "json": 1, "text": "x"}"#,
                "at most one of",
            ),
            (
                r#"{"url": "http://h/", "data": "!!"}"#,
                "`data` is not base64",
            ),
            (r#"{"url": "http://h/", "retries": 11}"#, "at most 10"),
            (
                r#"{"url": "http://h/", "timeout": "soon"}"#,
                "`timeout` \"soon\"",
            ),
            (
                r#"{"url": "http://h/", "bogus": 1}"#,
                "unknown field `bogus`",
            ),
        ] {
            let err = plan(inputs).unwrap_err().to_string();
            assert!(err.starts_with("invalid input: "), "{err}");
            assert!(err.contains(needle), "{inputs}: {err}");
        }
    }

    #[test]
    fn durations() {
        let d = |v: Value| duration("x", &v).ok();
        assert_eq!(d(Value::from(250)), Some(Duration::from_millis(250)));
        assert_eq!(d(Value::from("2s")), Some(Duration::from_secs(2)));
        assert_eq!(d(Value::from("1m")), Some(Duration::from_secs(60)));
        assert_eq!(d(Value::from("5")), None);
        assert_eq!(d(Value::from("-1s")), None);
    }
}
