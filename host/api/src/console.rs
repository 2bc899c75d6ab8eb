//! The web console: one page (`console/index.html`) with its script and styles, compiled into
//! the binary, served at `/` and at every console path (`/tasks/deploy?service=…`, `/runs/ID`,
//! …) so links and reloads work. The page itself holds no data; it reads everything from the
//! JSON API with the caller's token, like any other client.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};

use crate::router::AppState;

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLES: &str = include_str!("../console/console.css");

/// Nothing from elsewhere: no CDN, font or frame; scripts and styles from files of this host
/// only (no inline script to inject into); fetches to this host only.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The paths the console's page answers (its router picks the view from the path).
const PAGES: &[&str] = &[
    "/",
    "/tasks",
    "/tasks/{name}",
    "/runs",
    "/runs/{id}",
    "/runs/{id}/replay",
    "/inputs",
    "/apps",
    "/problems",
];

/// The console's routes.
pub(crate) fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/console/console.js", get(script))
        .route("/console/console.css", get(styles));
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
}

async fn index(headers: HeaderMap) -> Response {
    asset(&headers, INDEX, "text/html; charset=utf-8")
}

async fn script(headers: HeaderMap) -> Response {
    asset(&headers, SCRIPT, "text/javascript; charset=utf-8")
}

async fn styles(headers: HeaderMap) -> Response {
    asset(&headers, STYLES, "text/css; charset=utf-8")
}

/// A file of the console, revalidated on every load (an upgraded host serves new files at
/// once) and answered 304 when the browser has it already.
fn asset(request: &HeaderMap, body: &'static str, content_type: &'static str) -> Response {
    let tag = etag(body);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(tag) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, tag);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for file in [INDEX, SCRIPT, STYLES] {
            assert!(
                !file.contains("http://"),
                "an absolute http URL in the console"
            );
            assert!(
                !file.contains("https://"),
                "an absolute https URL in the console"
            );
            assert!(
                !file.contains("@import"),
                "an import in the console's styles"
            );
        }
        assert!(
            !INDEX.contains("<script>"),
            "inline scripts are refused by the policy"
        );
        assert!(
            !SCRIPT.contains("innerHTML"),
            "API data is put on the page as text only"
        );
    }

    #[test]
    fn an_unchanged_file_is_not_sent_again() {
        let mut request = HeaderMap::new();
        let first = asset(&request, SCRIPT, "text/javascript");
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].clone();
        request.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(
            asset(&request, SCRIPT, "text/javascript").status(),
            StatusCode::NOT_MODIFIED
        );
    }
}
