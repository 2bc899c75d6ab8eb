//! Calls: results, errors, traps, timeouts, memory, concurrency, config, stdio.

use std::time::{Duration, Instant};

use hops_core::CallError;
use serde_json::json;

use crate::harness::{Harness, call_with, reject_message, request};

#[tokio::test]
async fn echo_returns_its_inputs_as_json() {
    let h = Harness::new(&[("echo", None)]).await;
    let out = h
        .call("echo", "echo", json!({"a": 1, "b": [true, null]}))
        .await
        .unwrap();
    assert_eq!(out.json, Some(json!({"a": 1, "b": [true, null]})));
    assert_eq!(out.body, "");
    let worker = h.workers.get("echo").unwrap();
    assert!(worker.describe().starts_with("wasm "));
    assert_eq!(worker.max_concurrency(), 16);
}

#[tokio::test]
async fn every_call_starts_from_a_fresh_instance() {
    let h = Harness::new(&[("echo", None)]).await;
    // Sequential calls reuse the same pooled memory slot, reset in between (by PAGEMAP_SCAN
    // where the kernel has it): neither the data segment nor the heap may carry over.
    for _ in 0..5 {
        let out = h.call("echo", "count", json!(null)).await.unwrap();
        assert_eq!(out.json, Some(json!({"calls": 1, "kept": 65536})));
    }
    // At once: each call has its own instance.
    let worker = h.workers.get("echo").unwrap();
    let calls = (0..8).map(|_| {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .handle(request("echo", "count", json!(null), None))
                .await
        })
    });
    for out in futures_join(calls).await {
        assert_eq!(
            out.unwrap().unwrap().json,
            Some(json!({"calls": 1, "kept": 65536}))
        );
    }
}

#[tokio::test]
async fn fail_is_a_reject_with_the_apps_message() {
    let h = Harness::new(&[("echo", None)]).await;
    let message = reject_message(
        h.call("echo", "fail", json!({"message": "bad input x"}))
            .await,
    );
    assert_eq!(message, "bad input x");
}

#[tokio::test]
async fn retry_asks_for_redelivery_with_the_backoff() {
    let h = Harness::new(&[("echo", None)]).await;
    match h.call("echo", "retry", json!({"backoff_ms": 1500})).await {
        Err(CallError::Retry { message, backoff }) => {
            assert_eq!(message, "attempt 1 asked for a retry");
            assert_eq!(backoff, Some(Duration::from_millis(1500)));
        }
        other => panic!("expected retry, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_handler_is_an_errored_result_listing_the_handlers() {
    let h = Harness::new(&[("echo", None)]).await;
    let message = reject_message(h.call("echo", "nope", json!(null)).await);
    assert!(
        message.starts_with(
            r#"unknown handler "nope" of app echo; handlers: echo, fail, retry, sleep"#
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_trap_is_reported_and_the_next_call_works() {
    let h = Harness::new(&[("echo", None)]).await;
    let message = reject_message(h.call("echo", "trap", json!({})).await);
    assert!(message.starts_with("app echo trapped: "), "{message}");
    // The guest's panic message (from its captured stderr) makes it into the error.
    assert!(message.contains("trap requested"), "{message}");
    let out = h
        .call("echo", "echo", json!({"after": "trap"}))
        .await
        .unwrap();
    assert_eq!(out.json, Some(json!({"after": "trap"})));
}

#[tokio::test]
async fn a_call_blocked_in_the_host_past_its_timeout_is_rejected() {
    let h = Harness::new(&[("echo", None)]).await;
    let start = Instant::now();
    let result = call_with(
        &h.workers,
        "echo",
        "sleep",
        json!({"ms": 10_000}),
        Some(Duration::from_millis(300)),
    )
    .await;
    assert_eq!(
        reject_message(result),
        "app echo exceeded its 300ms timeout"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    // The host and the app are fine.
    let out = h.call("echo", "sleep", json!({"ms": 10})).await.unwrap();
    assert_eq!(out.json, Some(json!({"slept_ms": 10})));
}

#[tokio::test]
async fn a_busy_guest_is_interrupted_by_the_epoch_deadline() {
    let h = Harness::new(&[("echo", Some("timeout = \"2s\""))]).await;
    let start = Instant::now();
    let message = reject_message(h.call("echo", "spin", json!({})).await);
    assert_eq!(message, "app echo exceeded its 2s timeout");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    assert!(h.call("echo", "echo", json!(1)).await.is_ok());
}

#[tokio::test]
async fn a_memory_hog_hits_the_apps_limit() {
    let h = Harness::new(&[("echo", Some("memory = \"32 MiB\""))]).await;
    let message = reject_message(h.call("echo", "hog", json!({})).await);
    assert_eq!(message, "app echo ran out of memory (limit 32 MiB)");
    assert!(h.call("echo", "echo", json!(1)).await.is_ok());
}

#[tokio::test]
async fn the_concurrency_limit_queues_calls() {
    let h = Harness::new(&[("echo", Some("concurrency = 1"))]).await;
    let worker = h.workers.get("echo").unwrap();
    assert_eq!(worker.max_concurrency(), 1);
    let start = Instant::now();
    let calls = (0..3).map(|_| {
        let worker = worker.clone();
        tokio::spawn(async move {
            worker
                .handle(request("echo", "sleep", json!({"ms": 200}), None))
                .await
        })
    });
    for call in futures_join(calls).await {
        call.unwrap().unwrap();
    }
    // One at a time: three 200 ms sleeps cannot finish in less than 600 ms.
    assert!(
        start.elapsed() >= Duration::from_millis(600),
        "{:?}",
        start.elapsed()
    );
}

async fn futures_join<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await);
    }
    out
}

#[tokio::test]
async fn config_values_and_secrets_reach_the_app() {
    let toml = "[config]\ngreeting = \"hi\"\n[secrets]\ntoken = \"HOPS_TEST_TOKEN\"\n";
    let h = Harness::new(&[("echo", Some(toml))]).await;
    let out = h.call("echo", "config", json!(null)).await.unwrap();
    // The app got the secret's value; what it returns is masked (see `hardening`).
    assert_eq!(out.json, Some(json!({"greeting": "hi", "token": "***"})));
    // Listings show the secret's source variable, never its value.
    let info = serde_json::to_string(&h.registry.get("echo").unwrap()).unwrap();
    assert!(
        info.contains("HOPS_TEST_TOKEN") && !info.contains("t0k3n"),
        "{info}"
    );
}

#[tokio::test]
async fn stdout_stderr_and_log_are_captured() {
    let h = Harness::new(&[("echo", None)]).await;
    let out = h
        .call("echo", "log", json!({"message": "hello log"}))
        .await
        .unwrap();
    assert_eq!(out.body, "hello log");
}

#[tokio::test]
async fn workers_emit_events_through_the_sink() {
    let h = Harness::new(&[("echo", None)]).await;
    let inputs =
        json!({"event": "deploy", "action": "done", "payload": {"n": 1}, "dedup_key": "k1"});
    let first = h
        .call("echo", "emit", inputs.clone())
        .await
        .unwrap()
        .json
        .unwrap();
    let second = h.call("echo", "emit", inputs).await.unwrap().json.unwrap();
    assert_eq!(first["run_id"], second["run_id"]);
    assert_eq!(
        (first["duplicate"].clone(), second["duplicate"].clone()),
        (json!(false), json!(true))
    );
    let events = h.sink.events.lock().unwrap().clone();
    let (event, _) = &events[0];
    assert_eq!(
        (event.meta().source.as_str(), event.meta().event.as_str()),
        ("echo", "deploy")
    );
    assert_eq!(event.payload()["n"], 1);
    let message = reject_message(h.call("echo", "emit", json!({"event": ""})).await);
    assert!(message.contains("`hops.event` is empty"), "{message}");
}
