//! [`ClientError`]: what went wrong talking to the host, worded for the person at the terminal.

use std::time::Duration;

use crate::FieldErrors;

/// Why an [`ApiClient`](crate::ApiClient) request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The API address is not a usable `http(s)://` URL.
    #[error(
        "invalid API address `{url}`: {reason}; use e.g. http://127.0.0.1:8916 (--api or HOPS_API)"
    )]
    BadUrl {
        /// The address given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing answered: the host is down, the address is wrong, or the network is.
    #[error(
        "cannot reach the Hops host at {url}: {reason} — is `hops up` running? (set --api or HOPS_API)"
    )]
    Unreachable {
        /// The API address.
        url: String,
        /// What the connection attempt said, e.g. `connection refused`.
        reason: String,
    },
    /// 401: the token is missing or wrong.
    #[error("the Hops host at {url} refused the request: {message}")]
    Unauthorized {
        /// The API address.
        url: String,
        /// The server's message.
        message: String,
    },
    /// 404: no such task, run, app or route.
    #[error("{message}")]
    NotFound {
        /// The server's message.
        message: String,
    },
    /// 400 (or 413): the request was wrong; `errors` holds per-field problems.
    #[error("{}", invalid_text(message, errors))]
    Invalid {
        /// The server's message.
        message: String,
        /// Problems per field, e.g. `{"replicas": ["Should be a number"]}`.
        errors: FieldErrors,
    },
    /// 409: the thing is past what was asked (an input already answered).
    #[error("{message}")]
    Conflict {
        /// The server's message.
        message: String,
    },
    /// 503: the host runs but cannot take work now.
    #[error("the Hops host is not ready: {message}")]
    Unavailable {
        /// The server's message.
        message: String,
    },
    /// Any other failure status.
    #[error("the Hops host failed (HTTP {status}): {message}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The answer was not what this client expects (a different program on that port, or a
    /// host of another version).
    #[error(
        "unexpected answer from {url}: {reason}; is that address a Hops host of the same version?"
    )]
    Decode {
        /// The request URL.
        url: String,
        /// What did not parse.
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status the server answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Unauthorized { .. } => Some(401),
            ClientError::NotFound { .. } => Some(404),
            ClientError::Invalid { .. } => Some(400),
            ClientError::Conflict { .. } => Some(409),
            ClientError::Unavailable { .. } => Some(503),
            ClientError::Server { status, .. } => Some(*status),
            ClientError::BadUrl { .. }
            | ClientError::Unreachable { .. }
            | ClientError::Decode { .. } => None,
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::NotFound { .. })
    }

    /// Builds an [`ClientError::Unreachable`] from a transport error, naming its root cause.
    pub(crate) fn unreachable(url: &str, err: &reqwest::Error, timeout: Duration) -> Self {
        let reason = if err.is_timeout() {
            format!("no answer within {}s", timeout.as_secs())
        } else {
            root_cause(err)
        };
        ClientError::Unreachable {
            url: url.to_owned(),
            reason,
        }
    }
}

/// The innermost cause of `err`, as a short lowercase phrase where the OS gives one.
fn root_cause(err: &reqwest::Error) -> String {
    let mut current: &dyn std::error::Error = err;
    while let Some(source) = current.source() {
        if let Some(io) = source.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            // The kind reads better ("connection refused") than the OS text with its errno.
            return match io.kind() {
                kind @ (K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::TimedOut
                | K::AddrNotAvailable
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::PermissionDenied) => kind.to_string(),
                _ => io.to_string(),
            };
        }
        current = source;
    }
    current.to_string()
}

fn invalid_text(message: &str, errors: &FieldErrors) -> String {
    if errors.is_empty() {
        return message.to_owned();
    }
    let fields: Vec<String> = errors
        .iter()
        .map(|(field, problems)| format!("{field}: {}", problems.join(", ")))
        .collect();
    format!("{message} ({})", fields.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_field_errors() {
        let err = ClientError::Invalid {
            message: "invalid inputs for restart".into(),
            errors: [
                ("replicas".to_owned(), vec!["Should be a number".to_owned()]),
                ("service".to_owned(), vec!["Required".to_owned()]),
            ]
            .into(),
        };
        assert_eq!(
            err.to_string(),
            "invalid inputs for restart (replicas: Should be a number; service: Required)"
        );
        assert_eq!(err.status(), Some(400));
    }
}
