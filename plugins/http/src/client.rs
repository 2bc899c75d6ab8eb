//! Sending a [`Plan`]: redirects, retries with backoff, and the final verdict.

use std::time::Duration;

use hops_sdk::http::{self, HttpError, Request, Response};
use hops_sdk::{Result, log};
use url::Url;

use crate::input::{MAX_BACKOFF, Plan};

/// Most redirects followed for one attempt.
const MAX_REDIRECTS: usize = 10;
/// How much of a failed response's body an error message quotes.
const BODY_IN_ERROR: usize = 2048;

/// A response worth returning: any status that does not ask for a retry, or one that does
/// once the retries are spent (see [`execute`]).
#[derive(Debug)]
pub struct Done {
    /// The final response.
    pub response: Response,
    /// The URL that answered, after redirects.
    pub url: Url,
}

/// Sends `plan`, retrying connection failures, timeouts, 429 and 5xx (but 501) with
/// exponential backoff (a `Retry-After` in seconds wins, capped at 30 s).
///
/// # Errors
///
/// - the host denied the host (no grant): at once, never retried;
/// - transport failure after the last attempt: `request failed: …`;
/// - a 429/5xx after the last attempt: the message carries the status code and the start of
///   the body, as an errored result cannot carry fields (`hops:app@0.1` `call-error`).
pub fn execute(plan: &Plan) -> Result<Done> {
    let attempts = plan.retries.saturating_add(1);
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let outcome = send_following_redirects(plan);
        let wait = match &outcome {
            Ok(done) if !retryable(done.response.status) => break outcome,
            Ok(done) => retry_after(&done.response),
            Err(e) if e.is_transient() => None,
            Err(_) => break outcome,
        };
        if attempt >= attempts {
            break outcome.and_then(|done| Err(gave_up(plan, &done, attempt)));
        }
        let wait = wait.unwrap_or_else(|| backoff(plan.backoff, attempt));
        let why = match &outcome {
            Ok(done) => format!("status {}", done.response.status),
            Err(e) => e.to_string(),
        };
        log::info(format!(
            "{} {}: attempt {attempt}/{attempts} failed ({why}); retrying in {} ms",
            plan.method,
            redact(&plan.url),
            wait.as_millis()
        ));
        std::thread::sleep(wait);
    };
    outcome.map_err(|e| transport_error(plan, e, attempt))
}

/// An error in [`execute`]'s loop: the SDK's [`HttpError`] or our final verdict.
#[derive(Debug)]
enum Failure {
    Http(HttpError),
    GaveUp(String),
}

impl From<HttpError> for Failure {
    fn from(e: HttpError) -> Failure {
        Failure::Http(e)
    }
}

impl Failure {
    fn is_transient(&self) -> bool {
        matches!(self, Failure::Http(e) if e.is_transient())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Http(e) => e.fmt(f),
            Failure::GaveUp(m) => f.write_str(m),
        }
    }
}

fn transport_error(plan: &Plan, failure: Failure, attempts: u32) -> hops_sdk::Error {
    match failure {
        Failure::GaveUp(message) => hops_sdk::anyhow!(message),
        // The refused URL is the one the host denied, which after a redirect is not the one
        // the inputs gave.
        Failure::Http(HttpError::Denied(denied)) => {
            let refused = Url::parse(&denied).unwrap_or_else(|_| plan.url.clone());
            let via = if refused.as_str() == plan.url.as_str() {
                String::new()
            } else {
                format!(" (redirected from {})", redact(&plan.url))
            };
            hops_sdk::anyhow!(
                "request to {}{via} denied: the http app has no grant for host {}; add it to \
                 allowed-hosts in http.toml",
                redact(&refused),
                authority(&refused)
            )
        }
        Failure::Http(e) => hops_sdk::anyhow!(
            "request failed: {} {}: {e} ({})",
            plan.method,
            redact(&plan.url),
            attempts_text(attempts)
        ),
    }
}

fn gave_up(plan: &Plan, done: &Done, attempts: u32) -> Failure {
    let text = done.response.text();
    let mut body: String = text.chars().take(BODY_IN_ERROR).collect();
    if body.len() < text.len() {
        body.push('…');
    }
    Failure::GaveUp(format!(
        "{} {} answered {} ({}); status_code: {}; body: {body}",
        plan.method,
        redact(&done.url),
        done.response.status,
        attempts_text(attempts),
        done.response.status
    ))
}

fn attempts_text(n: u32) -> String {
    if n == 1 {
        "after 1 attempt".into()
    } else {
        format!("after {n} attempts")
    }
}

/// One attempt: the request, then any redirects it leads to.
fn send_following_redirects(plan: &Plan) -> Result<Done, Failure> {
    let mut url = plan.url.clone();
    let mut method = plan.method.clone();
    let mut headers = plan.headers.clone();
    let mut body = plan.body.clone();
    for _ in 0..=MAX_REDIRECTS {
        let request = Request {
            method: method.clone(),
            url: url.to_string(),
            headers: headers.clone(),
            body: body.clone(),
        };
        let response = http::send_with_timeout(&request, plan.timeout)?;
        let location = match response.status {
            301 | 302 | 303 | 307 | 308 => header(&response, "location"),
            _ => None,
        };
        let Some(next) = location.and_then(|l| url.join(l).ok()) else {
            return Ok(Done { response, url });
        };
        if response.status == 303 || (matches!(response.status, 301 | 302) && method == "POST") {
            method = "GET".into();
            body.clear();
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        }
        if next.host_str() != url.host_str() {
            // Credentials stay with the host they were meant for, as browsers and Go do.
            headers.retain(|(n, _)| {
                !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("cookie")
            });
        }
        url = next;
    }
    Err(Failure::GaveUp(format!(
        "{} {}: more than {MAX_REDIRECTS} redirects",
        plan.method,
        redact(&plan.url)
    )))
}

/// 429 and every 5xx but 501 (not implemented: asking again will not help).
fn retryable(status: u16) -> bool {
    status == 429 || ((500..=599).contains(&status) && status != 501)
}

/// `Retry-After` in whole seconds, capped.
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = header(response, "retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_BACKOFF))
}

/// `base` doubled for each attempt already made, capped.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

/// The URL without user info, which may hold a password, for messages and logs.
fn redact(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn which_statuses_are_retried() {
        assert!(retryable(429) && retryable(500) && retryable(503) && retryable(599));
        assert!(!retryable(501) && !retryable(404) && !retryable(200) && !retryable(302));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(1), 1), s(1));
        assert_eq!(backoff(s(1), 2), s(2));
        assert_eq!(backoff(s(1), 3), s(4));
        assert_eq!(backoff(s(1), 30), MAX_BACKOFF);
    }

    #[test]
    fn redacts_passwords() {
        let url = Url::parse("https://me:secret@h/x").unwrap();
        assert_eq!(redact(&url), "https://h/x");
    }
}
