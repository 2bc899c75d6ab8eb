//! Bearer-token (or trusted-proxy-header) authentication for `/api/*`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest as _, Sha256};

use crate::error::{ErrorBody, error_response};
use crate::router::AppState;

/// What a caller is told when the token is missing or wrong.
pub const UNAUTHORIZED_MESSAGE: &str = "missing or wrong bearer token; set HOPS_API_TOKEN";

/// Who made a request, as recorded on what it does (e.g. `hops.answered_by` of an input's
/// result): the trusted proxy header's user, `token` for the bearer token, `local` when the
/// API is open (loopback without a token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller(pub(crate) String);

/// Longest identity taken from the proxy header; longer ones are cut.
const MAX_IDENTITY: usize = 200;

/// Middleware: lets a request through when no token is configured, when it carries the right
/// bearer token, or when the trusted proxy header is present (recording who it is as a
/// [`Caller`] extension); answers 401 otherwise.
pub(crate) async fn require_auth(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(caller) = caller(&state, request.headers()) {
        request.extensions_mut().insert(caller);
        return next.run(request).await;
    }
    tracing::info!(path = %request.uri().path(), "hops.api unauthorized request");
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        ErrorBody::new(UNAUTHORIZED_MESSAGE),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"hops\""),
    );
    response
}

fn caller(state: &AppState, headers: &HeaderMap) -> Option<Caller> {
    let config = &state.config;
    if let Some(name) = &config.trusted_user_header
        && let Some(user) = headers
            .get(name.as_str())
            .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
            .filter(|user| !user.is_empty())
    {
        return Some(Caller(user.chars().take(MAX_IDENTITY).collect()));
    }
    let Some(expected) = &config.token else {
        // No token and no proxy header configured: the API is open (loopback in local mode).
        return config
            .trusted_user_header
            .is_none()
            .then(|| Caller("local".to_owned()));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer)?;
    constant_time_eq(given.as_bytes(), expected.as_bytes()).then(|| Caller("token".to_owned()))
}

/// The credentials of an `Authorization: Bearer <token>` value (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Compares two secrets in time independent of where they differ and of their lengths: both are
/// hashed first, so only fixed-size digests are compared, byte by byte without early exit.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_values() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearer"), None);
    }

    #[test]
    fn compares_secrets() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3cres"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
