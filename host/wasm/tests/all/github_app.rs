//! The `github` listener: signed webhooks become `github` events, deduplicated by
//! delivery id; unsigned or wrongly signed ones are refused and emit nothing.

use hops_core::WebhookRequest;
use hops_testutil::github_signature as sign;

use crate::harness::Harness;

/// The harness resolves `HOPS_TEST_TOKEN` to `t0k3n`, so this is the webhook secret.
const TOML: &str = "[secrets]\nsecret = \"HOPS_TEST_TOKEN\"\n";
const SECRET: &[u8] = b"t0k3n";

/// HMAC-SHA256 (RFC 2104) over `body`, as GitHub's `X-Hub-Signature-256` header value.
fn delivery(event: &str, id: &str, body: &str, signature: Option<String>) -> WebhookRequest {
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("x-github-event".to_owned(), event.to_owned()),
        ("x-github-delivery".to_owned(), id.to_owned()),
    ];
    if let Some(signature) = signature {
        headers.push(("x-hub-signature-256".to_owned(), signature));
    }
    WebhookRequest {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn body_json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[test]
fn the_test_signer_matches_githubs_documented_example() {
    assert_eq!(
        sign(b"It's a Secret to Everybody", b"Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
}

#[tokio::test]
async fn a_signed_delivery_emits_one_event_and_a_redelivery_shares_its_run() {
    let h = Harness::new(&[("github", Some(TOML))]).await;
    let github = h.listeners.get("github").unwrap();
    let body = r#"{"action": "opened", "number": 7, "pull_request": {"title": "Add http app"}}"#;

    let first = github
        .webhook(delivery(
            "pull_request",
            "d-1",
            body,
            Some(sign(SECRET, body.as_bytes())),
        ))
        .await
        .unwrap();
    assert_eq!(
        first.status,
        202,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let first = body_json(&first.body);
    assert_eq!(first["duplicate"], false);

    let events = h.sink.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let (event, run_id) = &events[0];
    let meta = event.meta();
    assert_eq!(
        (
            meta.source.as_str(),
            meta.event.as_str(),
            meta.action.as_str()
        ),
        ("github", "pullrequest", "opened"),
        "GitHub's pull_request is Hops' pullrequest: on pullrequest_opened matches it"
    );
    assert_eq!(event.payload()["number"], 7);
    assert_eq!(event.payload()["pull_request"]["title"], "Add http app");
    assert_eq!(first["run_id"], run_id.as_str());

    // GitHub redelivers with the same delivery id: same run, reported as a duplicate.
    let again = github
        .webhook(delivery(
            "pull_request",
            "d-1",
            body,
            Some(sign(SECRET, body.as_bytes())),
        ))
        .await
        .unwrap();
    assert_eq!(again.status, 202);
    let again = body_json(&again.body);
    assert_eq!(again["run_id"], first["run_id"]);
    assert_eq!(again["duplicate"], true);

    // Another delivery of the same content is another run.
    let other = github
        .webhook(delivery(
            "pull_request",
            "d-2",
            body,
            Some(sign(SECRET, body.as_bytes())),
        ))
        .await
        .unwrap();
    assert_ne!(body_json(&other.body)["run_id"], first["run_id"]);
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_malformed_deliveries_emit_nothing() {
    let h = Harness::new(&[("github", Some(TOML))]).await;
    let github = h.listeners.get("github").unwrap();
    let body = r#"{"action": "created"}"#;

    let missing = github
        .webhook(delivery("issue_comment", "d-1", body, None))
        .await
        .unwrap();
    assert_eq!(missing.status, 401);
    assert!(String::from_utf8_lossy(&missing.body).contains("missing X-Hub-Signature-256"));

    let wrong_secret = sign(b"not-the-secret", body.as_bytes());
    let wrong = github
        .webhook(delivery("issue_comment", "d-2", body, Some(wrong_secret)))
        .await
        .unwrap();
    assert_eq!(wrong.status, 401);

    // Signed for another body: the signature covers the exact bytes.
    let tampered = github
        .webhook(delivery(
            "issue_comment",
            "d-3",
            body,
            Some(sign(SECRET, br#"{"action": "deleted"}"#)),
        ))
        .await
        .unwrap();
    assert_eq!(tampered.status, 401);

    let not_json = "not json";
    let bad = github
        .webhook(delivery(
            "issue_comment",
            "d-4",
            not_json,
            Some(sign(SECRET, not_json.as_bytes())),
        ))
        .await
        .unwrap();
    assert_eq!(bad.status, 400);

    let ping_body = r#"{"zen": "Keep it logically awesome."}"#;
    let ping = github
        .webhook(delivery(
            "ping",
            "d-5",
            ping_body,
            Some(sign(SECRET, ping_body.as_bytes())),
        ))
        .await
        .unwrap();
    assert_eq!(ping.status, 200);

    assert!(
        h.sink.events.lock().unwrap().is_empty(),
        "nothing may be emitted"
    );
}

#[tokio::test]
async fn without_a_secret_the_app_refuses_to_emit() {
    let h = Harness::new(&[("github", None)]).await;
    let github = h.listeners.get("github").unwrap();
    let body = r#"{"action": "opened"}"#;
    let result = github
        .webhook(delivery(
            "pull_request",
            "d-1",
            body,
            Some(sign(SECRET, body.as_bytes())),
        ))
        .await;
    let message = format!("{result:?}");
    assert!(result.is_err(), "{message}");
    assert!(message.contains("missing config key `secret`"), "{message}");
    assert!(h.sink.events.lock().unwrap().is_empty());
}
