//! A small blocking HTTP client over `wasi:http/outgoing-handler`.
//!
//! The host only lets an app reach the hosts its toml grants (`allowed-hosts`); any other
//! host fails with [`HttpError::Denied`]. There are no raw sockets.

use std::fmt;
use std::time::Duration;

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;

/// `blocking-write-and-flush` accepts at most 4096 bytes per call (wasi:io).
const WRITE_CHUNK: usize = 4096;
/// How much to ask for per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body; empty for none.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with `method` to `url`, no headers and no body.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Request {
        Request::new("GET", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }
}

/// A received response, body read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused: the app has no grant for this host.
    Denied(String),
    /// The URL is not an absolute http(s) URL.
    InvalidUrl(String),
    /// Any other failure, as reported by the host (`wasi:http` error code).
    Failed(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(url) => {
                write!(
                    f,
                    "request to {url} denied: the app has no grant for this host"
                )
            }
            HttpError::InvalidUrl(url) => {
                write!(f, "invalid URL {url:?}: expected http(s)://host/path")
            }
            HttpError::Failed(msg) => write!(f, "HTTP request failed: {msg}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// `wasi:http` error codes that describe a failure worth trying again: the connection or the
/// name lookup failed, or the peer was too slow. Matched against [`HttpError::Failed`]'s
/// text, which this module writes as the code's debug form.
const TRANSIENT_CODES: &[&str] = &[
    "DnsTimeout",
    "DnsError",
    "ConnectionRefused",
    "ConnectionTerminated",
    "ConnectionTimeout",
    "ConnectionReadTimeout",
    "ConnectionWriteTimeout",
    "ConnectionLimitReached",
    "DestinationUnavailable",
    "DestinationIpUnroutable",
    "HttpResponseTimeout",
    "HttpResponseIncomplete",
];

impl HttpError {
    /// Whether trying the same request again may succeed: a connection, DNS or timeout
    /// failure. A denied host, a bad URL or a protocol error is never transient.
    pub fn is_transient(&self) -> bool {
        match self {
            HttpError::Failed(message) => TRANSIENT_CODES.iter().any(|code| message.contains(code)),
            HttpError::Denied(_) | HttpError::InvalidUrl(_) => false,
        }
    }

    /// Whether the host stopped waiting: the connection, the first byte or a later byte
    /// took longer than the timeout of [`send_with_timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, HttpError::Failed(message) if message.contains("Timeout"))
    }
}

/// The parts of a URL `wasi:http` wants separately.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    https: bool,
    authority: &'a str,
    path_with_query: &'a str,
}

fn split_url(url: &str) -> Option<Target<'_>> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return None;
    }
    let path_with_query = if path.is_empty() { "/" } else { path };
    Some(Target {
        https,
        authority,
        path_with_query,
    })
}

fn method(name: &str) -> Method {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_owned()),
    }
}

fn failed(code: &ErrorCode, url: &str) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied(url.to_owned()),
        other => HttpError::Failed(format!("{other:?}")),
    }
}

/// Sends `request` and reads the whole response.
///
/// # Errors
///
/// [`HttpError::Denied`] when the host has not granted the URL's host, [`HttpError::InvalidUrl`]
/// for a malformed URL, [`HttpError::Failed`] for anything else (DNS, connect, TLS, …).
pub fn send(request: &Request) -> Result<Response, HttpError> {
    send_with_options(request, None)
}

/// Like [`send`], but gives up when connecting, waiting for the response to start, or
/// waiting between two chunks of it takes longer than `timeout` (the host's `wasi:http`
/// request options; without them the host waits up to 10 minutes).
///
/// # Errors
///
/// As [`send`]; a timeout is an [`HttpError::Failed`] for which
/// [`HttpError::is_timeout`] holds.
pub fn send_with_timeout(request: &Request, timeout: Duration) -> Result<Response, HttpError> {
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    let options = RequestOptions::new();
    let unsupported = |what: &str| HttpError::Failed(format!("the host cannot set a {what}"));
    options
        .set_connect_timeout(Some(nanos))
        .map_err(|()| unsupported("connect timeout"))?;
    options
        .set_first_byte_timeout(Some(nanos))
        .map_err(|()| unsupported("first-byte timeout"))?;
    options
        .set_between_bytes_timeout(Some(nanos))
        .map_err(|()| unsupported("between-bytes timeout"))?;
    send_with_options(request, Some(options))
}

fn send_with_options(
    request: &Request,
    options: Option<RequestOptions>,
) -> Result<Response, HttpError> {
    let url = request.url.as_str();
    let target = split_url(url).ok_or_else(|| HttpError::InvalidUrl(url.to_owned()))?;
    let mut entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    // A known length instead of chunked encoding, which some servers refuse (411).
    let sends_body = !request.body.is_empty()
        || matches!(
            request.method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        );
    if sends_body
        && !request
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        entries.push((
            "content-length".to_owned(),
            request.body.len().to_string().into_bytes(),
        ));
    }
    let headers =
        Fields::from_list(&entries).map_err(|e| HttpError::Failed(format!("bad header: {e:?}")))?;
    let outgoing = OutgoingRequest::new(headers);
    let bad = |what: &str| HttpError::Failed(format!("invalid {what}"));
    outgoing
        .set_method(&method(&request.method))
        .map_err(|()| bad("method"))?;
    let scheme = if target.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| bad("scheme"))?;
    outgoing
        .set_authority(Some(target.authority))
        .map_err(|()| HttpError::InvalidUrl(url.to_owned()))?;
    outgoing
        .set_path_with_query(Some(target.path_with_query))
        .map_err(|()| HttpError::InvalidUrl(url.to_owned()))?;

    let body = outgoing.body().map_err(|()| bad("body"))?;
    let pending = outgoing_handler::handle(outgoing, options).map_err(|e| failed(&e, url))?;
    write_body(body, &request.body)?;

    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(failed(&code, url)),
        Some(Err(())) | None => return Err(HttpError::Failed("response lost".into())),
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| HttpError::Failed("response body already taken".into()))?;
    let body = read_body(incoming)?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
    {
        // The stream is a child of the body: it must be dropped before `finish`.
        let stream = body
            .write()
            .map_err(|()| HttpError::Failed("request body unavailable".into()))?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| HttpError::Failed(format!("writing request body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| HttpError::Failed(format!("{e:?}")))
}

fn read_body(incoming: IncomingBody) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| HttpError::Failed("response body unavailable".into()))?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(HttpError::Failed(format!(
                        "reading response body: {}",
                        e.to_debug_string()
                    )));
                }
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("https://api.github.com/repos?x=1"),
            Some(Target {
                https: true,
                authority: "api.github.com",
                path_with_query: "/repos?x=1"
            })
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080"),
            Some(Target {
                https: false,
                authority: "127.0.0.1:8080",
                path_with_query: "/"
            })
        );
        assert_eq!(
            split_url("http://h?q").map(|t| t.path_with_query),
            Some("?q")
        );
        assert_eq!(split_url("ftp://x/"), None);
        assert_eq!(split_url("http:///x"), None);
    }

    #[test]
    fn classifies_failures() {
        let refused = HttpError::Failed(format!("{:?}", ErrorCode::ConnectionRefused));
        assert!(refused.is_transient(), "{refused}");
        assert!(!refused.is_timeout());
        let slow = HttpError::Failed(format!("{:?}", ErrorCode::ConnectionReadTimeout));
        assert!(slow.is_transient() && slow.is_timeout(), "{slow}");
        assert!(!HttpError::Denied("http://x/".into()).is_transient());
        assert!(!HttpError::Failed("HttpProtocolError".into()).is_transient());
    }

    #[test]
    fn maps_methods() {
        assert!(matches!(method("post"), Method::Post));
        assert!(matches!(method("PURGE"), Method::Other(m) if m == "PURGE"));
    }
}
