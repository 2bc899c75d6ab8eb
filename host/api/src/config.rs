//! [`ApiConfig`]: authentication and limits of the HTTP API.

use std::fmt;

/// The largest request body accepted by default (webhooks and JSON bodies): 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How the HTTP API is protected and limited.
///
/// ```
/// let config = hops_api::ApiConfig {
///     token: Some("s3cret".to_owned()),
///     ..Default::default()
/// };
/// assert_eq!(config.body_limit, hops_api::DEFAULT_BODY_LIMIT);
/// ```
#[derive(Clone)]
pub struct ApiConfig {
    /// When set, every `/api/*` route requires `Authorization: Bearer <token>`.
    /// `/health`, `/ready` and `/listen/*` never do (listeners verify their own signatures).
    pub token: Option<String>,
    /// A header set by a trusted authenticating proxy (e.g. `x-forwarded-user`): when a request
    /// carries it with a non-empty value, it counts as authenticated. Only set this when the
    /// API is reachable through that proxy alone, since anyone else could send the header.
    pub trusted_user_header: Option<String>,
    /// The largest request body, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Origins (`https://ops.example.com`) whose pages may call the API from a browser: CORS
    /// answers for them, and their state-changing requests pass the cross-site check. Empty:
    /// CORS is off and only same-origin pages (the console) may change anything.
    pub cors_origins: Vec<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            token: None,
            trusted_user_header: None,
            body_limit: DEFAULT_BODY_LIMIT,
            cors_origins: Vec::new(),
        }
    }
}

// By hand, so the token never ends up in a log line.
impl fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("trusted_user_header", &self.trusted_user_header)
            .field("body_limit", &self.body_limit)
            .field("cors_origins", &self.cors_origins)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let config = ApiConfig {
            token: Some("s3cret".into()),
            ..ApiConfig::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
