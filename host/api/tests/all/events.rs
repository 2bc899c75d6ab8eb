//! `POST /api/events`.

use hops_api::testing::Recorded;
use serde_json::json;

use crate::support::{http, json, post, start};

#[tokio::test]
async fn accepts_an_event_with_202_and_a_run_id() {
    let server = start().await;
    let (status, body) = post(
        &server,
        "/api/events",
        r#"{"n": 1, "hops": {"source": "me", "event": "deploy", "action": "started"}}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["duplicate"], false);
    assert_eq!(
        server.host.run_ids(),
        vec![body["run_id"].as_str().unwrap()]
    );
    assert_eq!(
        server.host.recorded(),
        vec![Recorded::Event {
            event: json!({"n": 1, "hops": {"source": "me", "event": "deploy", "action": "started", "started_by": "local"}}),
            dedup: None,
        }]
    );
}

#[tokio::test]
async fn an_idempotency_key_yields_the_same_run_and_no_second_one() {
    let server = start().await;
    let send = || async {
        json(
            http()
                .post(server.at("/api/events"))
                .header("Idempotency-Key", "delivery-7")
                .body(r#"{"hops": {"source": "me", "event": "deploy"}}"#)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let (first_status, first) = send().await;
    let (second_status, second) = send().await;
    assert_eq!((first_status, second_status), (202, 202));
    assert_eq!(first["run_id"], second["run_id"]);
    assert_eq!(
        (&first["duplicate"], &second["duplicate"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(server.host.run_ids().len(), 1);
    assert!(matches!(
        &server.host.recorded()[0],
        Recorded::Event { dedup: Some(key), .. } if key == "delivery-7"
    ));
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_400_with_a_message() {
    let server = start().await;
    let cases = [
        ("", "the event is empty"),
        ("   ", "the event is empty"),
        ("null", "must be a JSON object, got null"),
        ("[1, 2]", "must be a JSON object, got an array"),
        ("\"text\"", "must be a JSON object, got a string"),
        ("{nope", "is not valid JSON"),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(&server, "/api/events", body).await;
        assert_eq!(status, 400, "{body:?}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body:?}: {message}");
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    assert!(
        server.host.recorded().is_empty(),
        "nothing reached the host"
    );
}

#[tokio::test]
async fn an_event_without_a_usable_hops_object_is_400_from_the_host() {
    let server = start().await;
    let (status, answer) = post(&server, "/api/events", r#"{"a": 1}"#).await;
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("`hops` is missing"),
        "{answer}"
    );
    assert!(server.host.run_ids().is_empty());
}

#[tokio::test]
async fn an_event_over_the_body_limit_is_413() {
    let server = start().await;
    let big = format!(
        r#"{{"pad": "{}", "hops": {{"event": "x"}}}}"#,
        "x".repeat(hops_api::DEFAULT_BODY_LIMIT)
    );
    let response = http()
        .post(server.at("/api/events"))
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 413);
    assert_eq!(
        body["message"],
        format!(
            "the event is too large; the limit is {} bytes",
            hops_api::DEFAULT_BODY_LIMIT
        )
    );
    assert!(server.host.recorded().is_empty());
}
