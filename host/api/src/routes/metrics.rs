//! `GET /metrics`: the host's metrics for Prometheus.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::Rejected;
use crate::router::AppState;

/// The content type of the OpenMetrics text format, which Prometheus scrapes natively.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// 200 with every metric; like `/health`, it needs no token, so a scraper needs no secret
/// (the figures name pipelines and apps, never payloads).
#[utoipa::path(get, path = "/metrics", tag = "host",
    responses(
        (status = 200, description = "Prometheus (OpenMetrics) text", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 404, description = "This host exports no metrics", body = crate::ErrorBody),
    ))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, Rejected> {
    let text = state.api.metrics().await?;
    Ok(([(header::CONTENT_TYPE, OPENMETRICS)], text))
}
