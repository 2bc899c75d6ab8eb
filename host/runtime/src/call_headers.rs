//! Per-call settings travel with the request as message headers, so a worker on any replica
//! applies the pipeline's timeout and retry policy without reading the pipeline.

use std::time::Duration;

use hops_bus::HeaderMap;
use hops_pipeline::{Dispatch, RetryPolicy};

/// Timeout of the call in milliseconds.
pub const TIMEOUT_MS: &str = "Hops-Timeout-Ms";
/// Total attempts allowed (retry policy).
pub const RETRY_ATTEMPTS: &str = "Hops-Retry-Attempts";
/// Delay before the first retry in milliseconds (doubled for each further one).
pub const RETRY_BACKOFF_MS: &str = "Hops-Retry-Backoff-Ms";

/// The request headers of a dispatch (empty when it sets neither timeout nor retry).
pub fn encode(dispatch: &Dispatch) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(timeout) = dispatch.timeout {
        headers.insert(TIMEOUT_MS, timeout.as_millis().to_string().as_str());
    }
    if let Some(retry) = dispatch.retry {
        headers.insert(RETRY_ATTEMPTS, retry.attempts.to_string().as_str());
        headers.insert(
            RETRY_BACKOFF_MS,
            retry.backoff.as_millis().to_string().as_str(),
        );
    }
    headers
}

/// The per-call settings read back from a request's headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallSettings {
    /// The pipeline's timeout for the call.
    pub timeout: Option<Duration>,
    /// The pipeline's retry policy for the call.
    pub retry: Option<RetryPolicy>,
}

/// Reads [`CallSettings`]; unreadable values are ignored (the worker's defaults apply).
pub fn decode(headers: Option<&HeaderMap>) -> CallSettings {
    let Some(headers) = headers else {
        return CallSettings::default();
    };
    let number = |name: &str| -> Option<u64> { headers.get(name)?.as_str().parse().ok() };
    let timeout = number(TIMEOUT_MS).map(Duration::from_millis);
    let retry = number(RETRY_ATTEMPTS).map(|attempts| RetryPolicy {
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX).max(1),
        backoff: Duration::from_millis(number(RETRY_BACKOFF_MS).unwrap_or(1000)),
    });
    CallSettings { timeout, retry }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_headers() {
        let dispatch = Dispatch {
            on: "p".into(),
            call: "p-a".into(),
            name: "a".into(),
            app: "echo".into(),
            handler: "echo".into(),
            inputs: None,
            timeout: Some(Duration::from_millis(2500)),
            retry: Some(RetryPolicy {
                attempts: 3,
                backoff: Duration::from_millis(200),
            }),
        };
        let headers = encode(&dispatch);
        let settings = decode(Some(&headers));
        assert_eq!(settings.timeout, dispatch.timeout);
        assert_eq!(settings.retry, dispatch.retry);
        assert_eq!(decode(None), CallSettings::default());
        assert_eq!(decode(Some(&HeaderMap::new())), CallSettings::default());
    }
}
