//! Listeners: webhooks become events, state lives between calls, traps restart the
//! instance with backoff, repeated traps quarantine it.

use std::time::Duration;

use hops_core::{ListenerError, WebhookRequest};
use hops_wasm::{AppStatus, ListenerHealth, RestartPolicy};

use crate::harness::Harness;

fn post(path: &str, body: &str, delivery: Option<&str>) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers: delivery
            .map(|d| vec![("x-delivery".to_owned(), d.to_owned())])
            .unwrap_or_default(),
        body: body.as_bytes().to_vec(),
    }
}

fn get(path: &str) -> WebhookRequest {
    WebhookRequest {
        method: "GET".into(),
        path: path.into(),
        ..WebhookRequest::default()
    }
}

const POLICY: RestartPolicy = RestartPolicy {
    base_backoff: Duration::from_millis(200),
    max_backoff: Duration::from_millis(400),
    quarantine_after: 3,
};

#[tokio::test]
async fn a_webhook_emits_an_event_and_redeliveries_share_a_run() {
    let h = Harness::with_restart(&[("hook", Some("poll-interval = \"1s\""))], POLICY).await;
    let hook = h.listeners.get("hook").unwrap();
    assert_eq!(hook.poll_interval(), Some(Duration::from_secs(1)));
    assert!(
        h.workers.get("hook").is_none(),
        "a listener is not a worker"
    );

    let first = hook
        .webhook(post("/event", r#"{"event": "deploy", "n": 7}"#, Some("d1")))
        .await
        .unwrap();
    assert_eq!(first.status, 202);
    let second = hook
        .webhook(post("/event", r#"{"event": "deploy", "n": 7}"#, Some("d1")))
        .await
        .unwrap();
    assert_eq!(first.body, second.body, "same delivery, same run");
    let events = h.sink.events.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    let (event, run_id) = &events[0];
    assert_eq!(run_id.as_bytes(), first.body.as_slice());
    assert_eq!(
        (event.meta().source.as_str(), event.meta().event.as_str()),
        ("hook", "deploy")
    );
    assert_eq!(event.payload()["n"], 7);

    let missing = hook.webhook(get("/nope")).await.unwrap();
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn a_trapping_listener_is_restarted_with_backoff_then_quarantined() {
    let h = Harness::with_restart(&[("hook", None)], POLICY).await;
    let hook = h.listeners.get("hook").unwrap();
    let wasm_listener = h.registry.listener("hook").unwrap();
    hook.tick().await.unwrap();
    hook.tick().await.unwrap();
    assert_eq!(hook.webhook(get("/ticks")).await.unwrap().body, b"2");
    assert_eq!(wasm_listener.health(), ListenerHealth::Running);

    // A trap drops the instance; during the backoff the listener is unavailable.
    match hook.webhook(post("/trap", "", None)).await {
        Err(ListenerError::Failed(message)) => {
            assert!(message.starts_with("app hook trapped: "), "{message}");
            assert!(message.contains("trap requested by /trap"), "{message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    match hook.webhook(get("/ticks")).await {
        Err(ListenerError::Unavailable(message)) => {
            assert!(message.contains("restarting after a failure"), "{message}");
        }
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert!(matches!(
        wasm_listener.health(),
        ListenerHealth::Restarting { failures: 1, .. }
    ));

    // After the backoff a fresh instance serves (its counter starts again).
    tokio::time::sleep(POLICY.backoff(1) + Duration::from_millis(50)).await;
    assert_eq!(hook.webhook(get("/ticks")).await.unwrap().body, b"0");
    assert_eq!(wasm_listener.health(), ListenerHealth::Running);

    // Consecutive traps: restart after 200 ms, 400 ms, then quarantine.
    for failures in 1..=POLICY.quarantine_after {
        assert!(hook.webhook(post("/trap", "", None)).await.is_err());
        if failures < POLICY.quarantine_after {
            tokio::time::sleep(POLICY.backoff(failures) + Duration::from_millis(50)).await;
        }
    }
    assert!(matches!(
        wasm_listener.health(),
        ListenerHealth::Quarantined { failures: 3, .. }
    ));
    match hook.tick().await {
        Err(ListenerError::Unavailable(message)) => {
            assert!(message.contains("quarantined"), "{message}")
        }
        other => panic!("expected quarantine, got {other:?}"),
    }
    assert!(matches!(
        h.registry.get("hook").unwrap().status,
        AppStatus::Quarantined { .. }
    ));
}
