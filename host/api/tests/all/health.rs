//! `/health`, `/ready`, unknown routes.

use serde_json::json;

use crate::support::{get, http, start, start_with, token_config};

#[tokio::test]
async fn health_answers_ok_to_get_and_head_without_a_token() {
    let server = start_with(token_config("s3cret")).await;
    let response = http().get(server.at("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
    let head = http().head(server.at("/health")).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn ready_is_200_when_ready_and_503_with_the_reason_otherwise() {
    let server = start_with(token_config("s3cret")).await;
    assert_eq!(get(&server, "/ready").await, (200, json!({"ready": true})));
    server
        .host
        .set_ready(Err("nats: connection refused".into()));
    assert_eq!(
        get(&server, "/ready").await,
        (
            503,
            json!({"ready": false, "reason": "nats: connection refused"})
        )
    );
}

#[tokio::test]
async fn metrics_are_openmetrics_text_without_a_token() {
    let server = start_with(token_config("s3cret")).await;
    let response = http().get(server.at("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(response.text().await.unwrap().contains("fake_runs_total 1"));
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let server = start().await;
    for path in ["/nope", "/api/nope", "/api/runs/x/y/z"] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            body["message"].as_str().unwrap().contains("no such route"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_json() {
    let server = start().await;
    let response = http().delete(server.at("/api/tasks")).send().await.unwrap();
    let (status, body) = crate::support::json(response).await;
    assert_eq!(status, 405);
    assert_eq!(body["message"], "DELETE is not allowed on /api/tasks");
}
