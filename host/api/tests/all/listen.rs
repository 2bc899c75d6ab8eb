//! `/listen/{app}/...`: webhooks in, listener answers out.

use hops_api::testing::Recorded;
use hops_core::WebhookRequest;
use serde_json::json;

use crate::support::{http, json, start};

fn webhooks(server: &crate::support::Server) -> Vec<WebhookRequest> {
    server
        .host
        .recorded()
        .into_iter()
        .filter_map(|r| match r {
            Recorded::Webhook { app, request } if app == "github" => Some(request),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn passes_the_request_in_and_the_answer_out() {
    let server = start().await;
    let response = http()
        .post(server.at("/listen/github/hooks/push%20x?a=1&b=two"))
        .header("X-Hub-Signature-256", "sha256=abc")
        .header("Content-Type", "application/json")
        .body(r#"{"zen": "hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-fake"], "yes");
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(
        response.text().await.unwrap(),
        "POST /hooks/push%20x a=1&b=two 13"
    );
    let seen = webhooks(&server);
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/push%20x");
    assert_eq!(request.query, "a=1&b=two");
    assert_eq!(request.header("x-hub-signature-256"), Some("sha256=abc"));
    assert!(
        request
            .headers
            .iter()
            .any(|(k, v)| k == "x-hub-signature-256" && v == "sha256=abc"),
        "names are lower-cased: {:?}",
        request.headers
    );
    assert_eq!(request.body, br#"{"zen": "hi"}"#);
}

#[tokio::test]
async fn any_method_and_the_bare_app_path_reach_the_listener() {
    let server = start().await;
    for (method, path) in [
        (reqwest::Method::GET, "/listen/github"),
        (reqwest::Method::PUT, "/listen/github/"),
        (reqwest::Method::DELETE, "/listen/github/a/b/c"),
    ] {
        let response = http()
            .request(method.clone(), server.at(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{method} {path}");
    }
    let seen: Vec<(String, String)> = webhooks(&server)
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET".to_owned(), "/".to_owned()),
            ("PUT".to_owned(), "/".to_owned()),
            ("DELETE".to_owned(), "/a/b/c".to_owned()),
        ]
    );
}

#[tokio::test]
async fn an_unknown_listener_is_404_json() {
    let server = start().await;
    let response = http()
        .post(server.at("/listen/nope/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(response).await,
        (404, json!({"message": "no listener app `nope`"}))
    );
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let server = start().await;
    let response = http()
        .post(server.at("/listen/github/hook"))
        .body(vec![b'x'; hops_api::DEFAULT_BODY_LIMIT + 1])
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 413);
    assert_eq!(
        body["message"],
        "the webhook body is too large; the limit is 1048576 bytes"
    );
    assert!(webhooks(&server).is_empty());
    let at_limit = http()
        .post(server.at("/listen/github/hook"))
        .body(vec![b'x'; hops_api::DEFAULT_BODY_LIMIT])
        .send()
        .await
        .unwrap();
    assert_eq!(at_limit.status(), 201);
}
