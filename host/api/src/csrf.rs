//! Cross-site request protection for everything that changes state.
//!
//! A browser sends requests to any address a page names, loopback included, and with a proxy
//! that authenticates by cookie it sends those too: a page elsewhere could start runs or answer
//! inputs in its visitor's name. A request that is not a GET, HEAD or OPTIONS is therefore
//! refused (403) when the browser says it comes from another site — `Sec-Fetch-Site:
//! cross-site`, or an `Origin` that is neither this host nor one of
//! [`ApiConfig::cors_origins`](crate::ApiConfig::cors_origins). Requests without those headers
//! (curl, the CLI, other programs) are not browsers' and pass; so do requests with a bearer
//! token, which a browser never adds by itself. Webhooks (`/listen/…`) verify their own
//! senders and are not checked.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{ErrorBody, error_response};
use crate::router::AppState;

/// What a refused cross-site request is told.
pub const CROSS_SITE_MESSAGE: &str = "cross-site request refused: a page on another origin may not change anything here; add its origin with --cors-origin (HOPS_CORS_ORIGINS) if it should";

/// Middleware: refuses cross-site state-changing requests.
pub(crate) async fn same_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe
        || request.uri().path().starts_with("/listen/")
        || !is_cross_site(request.headers(), &state.config.cors_origins)
    {
        return next.run(request).await;
    }
    tracing::info!(path = %request.uri().path(), "hops.api cross-site request refused");
    error_response(StatusCode::FORBIDDEN, ErrorBody::new(CROSS_SITE_MESSAGE))
}

fn is_cross_site(headers: &HeaderMap, allowed: &[String]) -> bool {
    if headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty() && *o != "null");
    if let Some(origin) = origin {
        if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
            return false;
        }
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return origin_host.is_none() || origin_host != host;
    }
    if headers.get(header::ORIGIN).is_some() {
        // `Origin: null`: a sandboxed or file page.
        return true;
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site.eq_ignore_ascii_case("cross-site"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn tells_browsers_on_other_sites_apart() {
        let none: &[String] = &[];
        assert!(!is_cross_site(&headers(&[]), none), "curl");
        assert!(!is_cross_site(
            &headers(&[
                ("host", "127.0.0.1:8916"),
                ("origin", "http://127.0.0.1:8916")
            ]),
            none
        ));
        assert!(is_cross_site(
            &headers(&[
                ("host", "127.0.0.1:8916"),
                ("origin", "https://evil.example")
            ]),
            none
        ));
        assert!(is_cross_site(&headers(&[("origin", "null")]), none));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            none
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            none
        ));
        assert!(!is_cross_site(
            &headers(&[
                ("origin", "https://evil.example"),
                ("authorization", "Bearer x")
            ]),
            none
        ));
        let allowed = ["https://ops.example.com".to_owned()];
        assert!(!is_cross_site(
            &headers(&[("host", "h:1"), ("origin", "https://ops.example.com")]),
            &allowed
        ));
    }
}
