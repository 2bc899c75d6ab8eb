//! What an app may not do to the host: leak its secrets, overflow its stack unnoticed, emit
//! without end, or keep a pipeline re-triggering itself.

use hops_core::CallError;
use serde_json::json;

use crate::harness::{Harness, reject_message, request};

const SECRET_TOML: &str = "[secrets]\ntoken = \"HOPS_TEST_TOKEN\"\n";

#[tokio::test]
async fn a_secret_never_leaves_the_app_unmasked() {
    let h = Harness::new(&[("echo", Some(SECRET_TOML))]).await;
    // Returned in a result: JSON, text and keys alike.
    let out = h
        .call(
            "echo",
            "echo",
            json!({"t0k3n": "Bearer t0k3n", "list": ["t0k3n"]}),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&out.json).unwrap();
    assert!(!text.contains("t0k3n"), "{text}");
    assert_eq!(
        out.json,
        Some(json!({"***": "Bearer ***", "list": ["***"]}))
    );
    // In an error message.
    let message = reject_message(
        h.call("echo", "fail", json!({"message": "bad token t0k3n"}))
            .await,
    );
    assert_eq!(message, "bad token ***");
    // In an emitted event.
    h.call(
        "echo",
        "emit",
        json!({"event": "leak", "payload": {"token": "t0k3n"}}),
    )
    .await
    .unwrap();
    let events = h.sink.events.lock().unwrap().clone();
    assert_eq!(events[0].0.payload()["token"], "***");
}

#[tokio::test]
async fn a_stack_overflow_is_called_one() {
    let h = Harness::new(&[("echo", None)]).await;
    let message = reject_message(h.call("echo", "recurse", json!(null)).await);
    assert!(message.contains("stack overflow"), "{message}");
    assert!(message.contains("recursion"), "{message}");
    // The app keeps serving.
    h.call("echo", "echo", json!({"ok": true})).await.unwrap();
}

#[tokio::test]
async fn a_call_emits_at_most_the_limit() {
    let h = Harness::new(&[("echo", None)]).await;
    let message = reject_message(
        h.call("echo", "emit", json!({"event": "flood", "times": 150}))
            .await,
    );
    assert!(
        message.contains("may emit at most 100 events per call"),
        "{message}"
    );
    assert_eq!(h.sink.events.lock().unwrap().len(), 100);
    // The next call has its own allowance.
    h.call("echo", "emit", json!({"event": "one"}))
        .await
        .unwrap();
    assert_eq!(h.sink.events.lock().unwrap().len(), 101);
}

#[tokio::test]
async fn events_emitted_in_a_call_carry_the_chain_and_a_deep_chain_is_refused() {
    let h = Harness::new(&[("echo", None)]).await;
    let echo = h.workers.get("echo").unwrap();
    let mut call = request("echo", "emit", json!({"event": "again"}), None);
    call.depth = 3;
    echo.handle(call.clone()).await.unwrap();
    let (event, _) = h.sink.events.lock().unwrap()[0].clone();
    assert_eq!(event.depth(), 4);
    assert_eq!(event.payload()["hops"]["parent"], "run-1");

    call.depth = 8;
    let Err(CallError::Reject(message)) = echo.handle(call).await else {
        panic!("a chain past the depth limit must be refused");
    };
    assert!(message.contains("stopped at depth 8"), "{message}");
    assert!(
        message.contains("Is pipeline on triggering itself?"),
        "the pipeline is named: {message}"
    );
    assert_eq!(h.sink.events.lock().unwrap().len(), 1);
}
