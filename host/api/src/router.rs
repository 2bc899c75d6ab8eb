//! The axum [`Router`] with every route, its layers, and [`serve`].

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, Response, StatusCode};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::{ErrorBody, error_response};
use crate::{ApiConfig, HostApi, auth, csrf, listen, routes};

/// What every handler gets: the host and the configuration.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) api: Arc<dyn HostApi>,
    pub(crate) config: Arc<ApiConfig>,
}

/// Builds the HTTP API over `api`, with the web console at `/`.
///
/// Routes: `GET|HEAD /health`, `GET /ready`, `GET /metrics`, `POST /api/events`, `GET /api/tasks`,
/// `POST /api/tasks/{name}/runs`, `GET /api/runs`, `GET /api/runs/{id}`,
/// `POST /api/runs/{id}/replay`, `POST /api/runs/purge`, `GET /api/inputs`,
/// `POST /api/runs/{id}/inputs/{call}`, `GET /api/apps` (also `/api/plugins`), `GET /api/problems`, and any method on `/listen/{app}/...`.
/// `/api/*` requires the bearer token when [`ApiConfig::token`] is set.
pub fn router(api: Arc<dyn HostApi>, config: ApiConfig) -> Router {
    let body_limit = config.body_limit;
    let cors = cors_layer(&config.cors_origins);
    let state = AppState {
        api,
        config: Arc::new(config),
    };
    let api_routes = Router::new()
        .route("/api/events", post(routes::events::send))
        .route("/api/tasks", get(routes::tasks::list))
        .route("/api/tasks/{name}/runs", post(routes::tasks::run))
        .route("/api/runs", get(routes::runs::list))
        .route("/api/runs/purge", post(routes::runs::purge))
        .route("/api/runs/{id}", get(routes::runs::show))
        .route("/api/runs/{id}/replay", post(routes::runs::replay))
        .route("/api/runs/{id}/live", get(routes::live::follow))
        .route("/api/runs/{id}/inputs/{call}", post(routes::inputs::answer))
        .route("/api/inputs", get(routes::inputs::list))
        .route("/api/apps", get(routes::apps::list))
        .route("/api/problems", get(routes::problems::show))
        // The name of earlier versions, kept for old clients.
        .route("/api/plugins", get(routes::apps::list))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_auth,
        ));
    let router = Router::new()
        .route("/health", get(routes::health::health))
        .route("/ready", get(routes::health::ready))
        .route("/metrics", get(routes::metrics::metrics))
        .route("/api/openapi.json", get(crate::openapi::document))
        .route("/listen/{app}", any(listen::webhook))
        .route("/listen/{app}/", any(listen::webhook))
        .route("/listen/{app}/{*path}", any(listen::webhook))
        .merge(api_routes)
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::same_site,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorBody::new("internal error while handling the request; see the host's log"),
            )
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    // Method and path only: query strings and bodies may carry secrets.
                    tracing::info_span!(
                        "hops.api.request",
                        method = %request.method(),
                        path = %loggable_path(request.uri().path()),
                        status = tracing::field::Empty,
                    )
                })
                .on_response(
                    |response: &Response<_>, latency: std::time::Duration, span: &Span| {
                        span.record("status", response.status().as_u16());
                        tracing::debug!(
                            latency_ms = latency.as_millis() as u64,
                            "hops.api response"
                        );
                    },
                )
                // A 5xx is an answer, not a fault of the server: `/ready` says 503 while the
                // host starts, and failing API requests log their own reason (ApiError).
                .on_failure(
                    |failure: tower_http::classify::ServerErrorsFailureClass,
                     _latency: std::time::Duration,
                     _span: &Span| {
                        tracing::debug!(%failure, "hops.api response with a server error");
                    },
                ),
        )
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// CORS for the configured origins only; none configured, no CORS headers at all (browsers
/// then keep other sites' pages from reading any answer).
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    if origins.is_empty() {
        return None;
    }
    let layer = tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(crate::IDEMPOTENCY_KEY),
        ])
        .max_age(std::time::Duration::from_secs(300));
    Some(layer)
}

async fn not_found(uri: axum::http::Uri) -> impl IntoResponse {
    error_response(
        StatusCode::NOT_FOUND,
        ErrorBody::new(format!(
            "no such route: {}; the API lives under /api (tasks, runs, inputs, events, apps)",
            uri.path()
        )),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> impl IntoResponse {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorBody::new(format!("{method} is not allowed on {}", uri.path())),
    )
}

/// The path as logged: below `/listen/<app>` it is cut, because some senders put secrets in
/// webhook URLs (e.g. bot tokens).
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let Some(rest) = path.strip_prefix("/listen/") else {
        return path.into();
    };
    match rest.split_once('/') {
        Some((app, tail)) if !tail.is_empty() => format!("/listen/{app}/…").into(),
        _ => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_paths_are_cut_in_logs() {
        assert_eq!(loggable_path("/api/runs/abc"), "/api/runs/abc");
        assert_eq!(
            loggable_path("/listen/telegram/bot123:secret"),
            "/listen/telegram/…"
        );
        assert_eq!(loggable_path("/listen/github"), "/listen/github");
    }
}
