//! Cross-site protection and CORS: pages on other origins may not change anything, and get
//! CORS answers only when their origin is configured.

use hops_api::{ApiConfig, CROSS_SITE_MESSAGE};
use serde_json::json;

use crate::support::{http, json, start, start_with};

const EVENT: &str = r#"{"hops": {"source": "t", "event": "x"}}"#;

#[tokio::test]
async fn a_page_on_another_site_cannot_start_runs_or_answer_inputs() {
    let server = start().await;
    let host = server.url.trim_start_matches("http://").to_owned();
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = http()
            .post(server.at("/api/events"))
            .header(name, value)
            .body(EVENT)
            .send()
            .await
            .unwrap();
        assert_eq!(
            json(response).await,
            (403, json!({"message": CROSS_SITE_MESSAGE})),
            "{name}: {value}"
        );
    }
    let answer = http()
        .post(server.at("/api/runs/r/inputs/approval"))
        .header("origin", "https://evil.example")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 403);
    assert!(
        server.host.recorded().is_empty(),
        "nothing reached the host"
    );

    // The console itself (same origin), programs without browser headers, and bearer tokens.
    let same = http()
        .post(server.at("/api/events"))
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 202);
    let plain = http()
        .post(server.at("/api/events"))
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 202);
    let bearer = http()
        .post(server.at("/api/events"))
        .header("origin", "https://evil.example")
        .bearer_auth("anything")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status(),
        202,
        "a browser never adds a bearer token by itself"
    );

    // Reading is not blocked, but without CORS the other page's browser cannot read it.
    let read = http()
        .get(server.at("/api/runs"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert!(read.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn configured_origins_get_cors_and_may_change_things() {
    let server = start_with(ApiConfig {
        cors_origins: vec!["https://ops.example.com".to_owned()],
        ..ApiConfig::default()
    })
    .await;
    let preflight = http()
        .request(reqwest::Method::OPTIONS, server.at("/api/events"))
        .header("origin", "https://ops.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{preflight:?}");
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://ops.example.com"
    );
    let posted = http()
        .post(server.at("/api/events"))
        .header("origin", "https://ops.example.com")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    assert_eq!(
        posted.headers()["access-control-allow-origin"],
        "https://ops.example.com"
    );
    let other = http()
        .post(server.at("/api/events"))
        .header("origin", "https://evil.example")
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
