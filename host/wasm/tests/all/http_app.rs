//! The `http` app against real loopback servers: request shaping, JSON results, retries,
//! a final 5xx, timeouts, and hosts outside its grant.

use std::net::TcpListener;

use hops_testutil::scripted::{Reply, Scripted, reply};
use serde_json::json;

use crate::harness::{Harness, reject_message};

fn grant(ports: &[u16]) -> String {
    let hosts: Vec<String> = ports.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
    format!("allowed-hosts = [{}]\n", hosts.join(", "))
}

#[tokio::test]
async fn a_request_is_shaped_from_inputs_and_a_json_response_is_parsed() {
    let server = Scripted::start(vec![
        reply(
            "201 Created",
            &[
                ("Content-Type", "application/json; charset=utf-8"),
                ("X-Id", "7"),
            ],
            r#"{"id": 7, "ok": true}"#,
        ),
        reply(
            "404 Not Found",
            &[("Content-Type", "text/plain")],
            "no such thing",
        ),
    ]);
    let h = Harness::new(&[("http", Some(&grant(&[server.port])))]).await;

    let out = h
        .call(
            "http",
            "do",
            json!({
                "method": "post",
                "url": server.url("/tickets?a=1"),
                "params": {"notify": "true", "n": 2},
                "headers": {"Authorization": "Bearer x"},
                "json": {"title": "Deploy", "priority": 2},
            }),
        )
        .await
        .unwrap();
    assert_eq!(out.status_code, Some(201));
    assert_eq!(out.json, Some(json!({"id": 7, "ok": true})));
    assert_eq!(out.body, r#"{"id": 7, "ok": true}"#);
    assert_eq!(out.headers.get("x-id").map(String::as_str), Some("7"));
    assert_eq!(
        out.url.as_deref(),
        Some(server.url("/tickets?a=1&n=2&notify=true").as_str())
    );

    // A 4xx is a completed call carrying the response; text is not parsed as JSON.
    let out = h
        .call("http", "do", json!({"url": server.url("/missing")}))
        .await
        .unwrap();
    assert_eq!(out.status_code, Some(404));
    assert_eq!(out.body, "no such thing");
    assert_eq!(out.json, None);

    let seen = server.seen();
    assert_eq!(seen.len(), 2, "no retries for a 201 or a 404");
    assert_eq!(seen[0].line, "POST /tickets?a=1&n=2&notify=true");
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("authorization"), Some("Bearer x"));
    // The same key for every attempt and redelivery of the call: `<run>/<call>`.
    assert_eq!(seen[0].header("idempotency-key"), Some("run-1/on-call"));
    let sent: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(sent, json!({"title": "Deploy", "priority": 2}));
    assert_eq!(seen[1].line, "GET /missing");
}

#[tokio::test]
async fn text_and_base64_bodies_are_sent_as_given() {
    let server = Scripted::start(vec![
        reply("200 OK", &[], "one"),
        reply("200 OK", &[], "two"),
    ]);
    let h = Harness::new(&[("http", Some(&grant(&[server.port])))]).await;
    h.call(
        "http",
        "do",
        json!({"method": "PUT", "url": server.url("/t"), "text": "plain words"}),
    )
    .await
    .unwrap();
    h.call(
        "http",
        "do",
        json!({"method": "POST", "url": server.url("/b"), "data": "AAEC/w==",
               "headers": {"Content-Type": "application/octet-stream"}}),
    )
    .await
    .unwrap();
    let seen = server.seen();
    assert_eq!(seen[0].body, b"plain words");
    assert_eq!(
        seen[0].header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(seen[1].body, [0u8, 1, 2, 255]);
    assert_eq!(
        seen[1].header("content-type"),
        Some("application/octet-stream")
    );
}

#[tokio::test]
async fn a_503_is_retried_until_the_server_recovers() {
    let server = Scripted::start(vec![
        reply("503 Service Unavailable", &[], "busy"),
        reply(
            "429 Too Many Requests",
            &[("Retry-After", "0")],
            "slow down",
        ),
        reply(
            "200 OK",
            &[("Content-Type", "application/json")],
            r#"{"done": true}"#,
        ),
    ]);
    let h = Harness::new(&[("http", Some(&grant(&[server.port])))]).await;
    let out = h
        .call(
            "http",
            "do",
            json!({"url": server.url("/flaky"), "retries": 3, "backoff": "20ms"}),
        )
        .await
        .unwrap();
    assert_eq!(out.status_code, Some(200));
    assert_eq!(out.json, Some(json!({"done": true})));
    assert_eq!(server.seen().len(), 3, "two retries, then success");
}

#[tokio::test]
async fn a_final_5xx_errors_the_call_with_its_status_and_body() {
    let server = Scripted::start(vec![
        reply("502 Bad Gateway", &[], "upstream down"),
        reply(
            "500 Internal Server Error",
            &[],
            "boom: database unreachable",
        ),
    ]);
    let h = Harness::new(&[("http", Some(&grant(&[server.port])))]).await;
    let message = reject_message(
        h.call(
            "http",
            "do",
            json!({"url": server.url("/broken"), "retries": 1, "backoff": 10}),
        )
        .await,
    );
    assert!(message.contains("answered 500"), "{message}");
    assert!(message.contains("after 2 attempts"), "{message}");
    assert!(message.contains("status_code: 500"), "{message}");
    assert!(
        message.contains("body: boom: database unreachable"),
        "{message}"
    );
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn connection_failures_and_timeouts_are_retried_then_reported() {
    // A port nobody listens on: connection refused on every attempt.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let server = Scripted::start(vec![Reply::Hang]);
    let h = Harness::new(&[("http", Some(&grant(&[closed_port, server.port])))]).await;

    let url = format!("http://127.0.0.1:{closed_port}/");
    let message = reject_message(
        h.call(
            "http",
            "do",
            json!({"url": url, "retries": 1, "backoff": "10ms"}),
        )
        .await,
    );
    assert!(message.starts_with("request failed: GET "), "{message}");
    assert!(message.contains("ConnectionRefused"), "{message}");
    assert!(message.contains("after 2 attempts"), "{message}");

    let message = reject_message(
        h.call(
            "http",
            "do",
            json!({"url": server.url("/slow"), "retries": 0, "timeout": "300ms"}),
        )
        .await,
    );
    assert!(message.starts_with("request failed: GET "), "{message}");
    assert!(message.contains("Timeout"), "{message}");
    assert!(message.contains("after 1 attempt"), "{message}");
}

#[tokio::test]
async fn hosts_outside_the_grant_are_refused_without_a_request() {
    let granted = Scripted::start(vec![]);
    let other = Scripted::start(vec![reply("200 OK", &[], "should not be reached")]);
    let h = Harness::new(&[("http", Some(&grant(&[granted.port])))]).await;
    let message = reject_message(
        h.call("http", "do", json!({"url": other.url("/x"), "retries": 3}))
            .await,
    );
    assert!(message.contains("denied"), "{message}");
    assert!(
        message.contains(&format!("no grant for host 127.0.0.1:{}", other.port)),
        "{message}"
    );
    assert!(message.contains("allowed-hosts in http.toml"), "{message}");
    assert!(
        other.seen().is_empty(),
        "nothing may reach an ungranted host"
    );

    let message = reject_message(h.call("http", "do", json!({"method": "GET"})).await);
    assert!(
        message.starts_with("invalid input: `url` is required"),
        "{message}"
    );
}

#[tokio::test]
async fn a_redirect_to_an_ungranted_host_names_the_refused_host() {
    let other = Scripted::start(vec![reply("200 OK", &[], "should not be reached")]);
    let granted = Scripted::start(vec![reply(
        "302 Found",
        &[("Location", &other.url("/elsewhere"))],
        "",
    )]);
    let h = Harness::new(&[("http", Some(&grant(&[granted.port])))]).await;
    let message = reject_message(
        h.call(
            "http",
            "do",
            json!({"url": granted.url("/start"), "retries": 0}),
        )
        .await,
    );
    assert!(
        message.contains(&format!("no grant for host 127.0.0.1:{}", other.port)),
        "the refused host is named: {message}"
    );
    assert!(
        message.contains(&format!("redirected from {}", granted.url("/start"))),
        "{message}"
    );
    assert!(
        other.seen().is_empty(),
        "nothing reaches the ungranted host"
    );
}
