//! Bearer token and trusted-proxy-header authentication.

use hops_api::{ApiConfig, UNAUTHORIZED_MESSAGE};
use serde_json::json;

use crate::support::{http, json, start, start_with, token_config};

#[tokio::test]
async fn api_routes_need_the_token_when_one_is_set() {
    let server = start_with(token_config("s3cret")).await;
    let missing = http().get(server.at("/api/tasks")).send().await.unwrap();
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"hops\""
    );
    assert_eq!(
        json(missing).await,
        (401, json!({"message": UNAUTHORIZED_MESSAGE}))
    );
    assert_eq!(
        UNAUTHORIZED_MESSAGE,
        "missing or wrong bearer token; set HOPS_API_TOKEN"
    );
    for wrong in ["Bearer s3cre", "Bearer s3cret2", "Basic s3cret", "s3cret"] {
        let response = http()
            .get(server.at("/api/tasks"))
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{wrong}");
    }
    let posted = http()
        .post(server.at("/api/events"))
        .body(r#"{"hops": {"event": "x"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 401);
    let purged = http()
        .post(server.at("/api/runs/purge?older_than=0s"))
        .send()
        .await
        .unwrap();
    assert_eq!(purged.status(), 401);
    assert!(server.host.recorded().is_empty());

    let right = http()
        .get(server.at("/api/tasks"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
}

#[tokio::test]
async fn health_ready_and_listen_never_need_the_token() {
    let server = start_with(token_config("s3cret")).await;
    for path in ["/health", "/ready"] {
        let response = http().get(server.at(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let hook = http()
        .post(server.at("/listen/github/hook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), 201);
}

#[tokio::test]
async fn without_a_token_the_api_is_open() {
    let server = start().await;
    let response = http().get(server.at("/api/runs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_trusted_proxy_header_authenticates() {
    let server = start_with(ApiConfig {
        token: Some("s3cret".into()),
        trusted_user_header: Some("x-forwarded-user".into()),
        ..ApiConfig::default()
    })
    .await;
    let with_header = http()
        .get(server.at("/api/tasks"))
        .header("X-Forwarded-User", "ada")
        .send()
        .await
        .unwrap();
    assert_eq!(with_header.status(), 200);
    let empty = http()
        .get(server.at("/api/tasks"))
        .header("X-Forwarded-User", "")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 401);
    let token = http()
        .get(server.at("/api/tasks"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);

    let proxy_only = start_with(ApiConfig {
        trusted_user_header: Some("x-forwarded-user".into()),
        ..ApiConfig::default()
    })
    .await;
    let without = http()
        .get(proxy_only.at("/api/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        without.status(),
        401,
        "a proxy-only setup rejects direct requests"
    );
}

#[tokio::test]
async fn who_started_a_run_is_the_authenticated_caller_not_what_the_body_says() {
    let server = start_with(ApiConfig {
        trusted_user_header: Some("x-forwarded-user".to_owned()),
        ..ApiConfig::default()
    })
    .await;
    let sent = http()
        .post(server.at("/api/events"))
        .header("x-forwarded-user", "alice")
        .body(r#"{"hops": {"source": "t", "event": "x", "started_by": "mallory"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let ran = http()
        .post(server.at("/api/tasks/ping/runs"))
        .header("x-forwarded-user", "bob")
        .send()
        .await
        .unwrap();
    assert_eq!(ran.status(), 202);
    let (_, runs) = json(
        http()
            .get(server.at("/api/runs"))
            .header("x-forwarded-user", "carol")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let by: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["started_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["bob", "alice"]);
    let open = start().await;
    open.host
        .start_run(json!({"hops": {"source": "t", "event": "x"}}))
        .unwrap();
    let (_, runs) = json(http().get(open.at("/api/runs")).send().await.unwrap()).await;
    assert_eq!(
        runs[0]["started_by"],
        json!(null),
        "not started through the API"
    );
}
