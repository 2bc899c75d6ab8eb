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
/// How many emitted events led to the run (omitted when 0).
pub const DEPTH: &str = "Hops-Depth";

/// The host that runs the call itself (local dispatch): its host id. A worker delivery of
/// such a request asks that host before it does anything (`crate::local`).
pub const LOCAL: &str = "Hops-Local";

/// The host id of a request's `Hops-Local` header, if it has one.
pub fn local_publisher(headers: Option<&HeaderMap>) -> Option<String> {
    let value = headers?.get(LOCAL)?.as_str();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The request headers of a dispatch in a run at event depth `depth` (empty when nothing
/// differs from the defaults).
pub fn encode(dispatch: &Dispatch, depth: u32) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if depth > 0 {
        headers.insert(DEPTH, depth.to_string().as_str());
    }
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
    /// The run's event depth.
    pub depth: u32,
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
    let depth = number(DEPTH).map_or(0, |d| u32::try_from(d).unwrap_or(u32::MAX));
    CallSettings {
        timeout,
        retry,
        depth,
    }
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
        let headers = encode(&dispatch, 3);
        let settings = decode(Some(&headers));
        assert_eq!(settings.timeout, dispatch.timeout);
        assert_eq!(settings.retry, dispatch.retry);
        assert_eq!(settings.depth, 3);
        assert!(
            encode(
                &Dispatch {
                    timeout: None,
                    retry: None,
                    ..dispatch
                },
                0
            )
            .is_empty()
        );
        assert_eq!(decode(None), CallSettings::default());
        assert_eq!(decode(Some(&HeaderMap::new())), CallSettings::default());
    }
}
