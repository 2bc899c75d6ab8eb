//! The watched plugins directory: add, replace (with a call in flight), remove, broken
//! files, wrong worlds, bad tomls, toml-only edits.

use std::time::Duration;

use hops_wasm::AppStatus;
use serde_json::json;

use crate::harness::{Harness, copy_plugin, eventually};

const SECOND: Duration = Duration::from_secs(1);

fn error_of(h: &Harness, name: &str) -> (String, String) {
    match h.registry.get(name).map(|info| info.status) {
        Some(AppStatus::Error { kind, message }) => (kind, message),
        other => panic!("expected an error status for {name}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dropped_in_app_serves_within_a_second_and_a_removed_one_stops() {
    let h = Harness::new(&[("echo", None)]).await;
    let _watch = h.registry.watch().unwrap();
    copy_plugin("upper", &h.path("upper.wasm"));
    let took = eventually(SECOND, || h.workers.get("upper").is_some()).await;
    tracing::info!(?took, "upper served");
    let out = h
        .call("upper", "upper", json!({"text": "abc"}))
        .await
        .unwrap();
    assert_eq!(out.json, Some(json!({"text": "ABC", "app": "upper"})));

    std::fs::remove_file(h.path("upper.wasm")).unwrap();
    eventually(SECOND, || h.workers.get("upper").is_none()).await;
    assert!(h.registry.get("upper").is_none());
    assert!(h.workers.get("echo").is_some());
}

#[tokio::test]
async fn a_replaced_app_finishes_in_flight_calls_on_the_old_version() {
    let h = Harness::new(&[("echo", None)]).await;
    let _watch = h.registry.watch().unwrap();
    let old_version = h.registry.get("echo").unwrap().version.unwrap();

    let workers = h.workers.clone();
    let in_flight = tokio::spawn(async move {
        crate::harness::call_with(&workers, "echo", "sleep", json!({"ms": 1500}), None).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The new version is a different app answering `echo` differently.
    copy_plugin("upper", &h.path("echo.wasm"));
    eventually(2 * SECOND, || {
        h.registry.get("echo").and_then(|i| i.version) != Some(old_version.clone())
    })
    .await;
    let out = h
        .call("echo", "echo", json!({"text": "new"}))
        .await
        .unwrap();
    assert_eq!(out.json, Some(json!({"text": "NEW", "app": "upper"})));

    let old = in_flight.await.unwrap().unwrap();
    assert_eq!(old.json, Some(json!({"slept_ms": 1500})));
}

#[tokio::test]
async fn a_broken_file_is_reported_and_the_previous_version_keeps_serving() {
    let h = Harness::new(&[("echo", None)]).await;
    let _watch = h.registry.watch().unwrap();
    std::fs::write(h.path("echo.wasm.tmp"), b"this is not wasm").unwrap();
    std::fs::rename(h.path("echo.wasm.tmp"), h.path("echo.wasm")).unwrap();
    eventually(SECOND, || {
        matches!(
            h.registry.get("echo").map(|i| i.status),
            Some(AppStatus::Error { .. })
        )
    })
    .await;
    let (kind, message) = error_of(&h, "echo");
    assert_eq!(kind, "not-a-component");
    assert!(message.contains("not a WebAssembly file"), "{message}");
    assert!(h.registry.get("echo").unwrap().serving);
    let out = h
        .call("echo", "echo", json!({"still": "here"}))
        .await
        .unwrap();
    assert_eq!(out.json, Some(json!({"still": "here"})));

    // A core module is told how to become a component.
    std::fs::write(h.path("echo.wasm"), b"\0asm\x01\0\0\0").unwrap();
    eventually(SECOND, || {
        error_of(&h, "echo").1.contains("core wasm module")
    })
    .await;
    let (_, message) = error_of(&h, "echo");
    assert!(message.contains("wasm-tools component new"), "{message}");
}

#[tokio::test]
async fn a_component_of_another_world_is_reported() {
    let h = Harness::new(&[]).await;
    // The smallest valid component: it exports nothing.
    std::fs::write(h.path("empty.wasm"), b"\0asm\x0d\0\x01\0").unwrap();
    h.registry.load_all().await.unwrap();
    let (kind, message) = error_of(&h, "empty");
    assert_eq!(kind, "wrong-world");
    assert!(
        message.contains("exports nothing Hops can call: expected hops:app/worker@0.1.x"),
        "{message}"
    );
    assert!(!h.registry.get("empty").unwrap().serving);
    assert!(h.workers.get("empty").is_none());
}

#[tokio::test]
async fn bad_names_and_unknown_toml_keys_are_reported() {
    let h = Harness::new(&[("echo", Some("colour = \"blue\""))]).await;
    let (kind, message) = error_of(&h, "echo");
    assert_eq!(kind, "bad-settings");
    assert!(
        message.contains("echo.toml") && message.contains("unknown field `colour`"),
        "{message}"
    );
    assert!(h.workers.get("echo").is_none());

    copy_plugin("upper", &h.path("my_app.wasm"));
    h.registry.load_all().await.unwrap();
    let (kind, _) = error_of(&h, "my_app");
    assert_eq!(kind, "bad-name");
}

#[tokio::test]
async fn editing_only_the_toml_reloads_settings() {
    let h = Harness::new(&[("echo", Some("[config]\ngreeting = \"a\""))]).await;
    let _watch = h.registry.watch().unwrap();
    let version = h.registry.get("echo").unwrap().version;
    std::fs::write(h.path("echo.toml"), "[config]\ngreeting = \"b\"").unwrap();
    let mut seen = None;
    let start = std::time::Instant::now();
    while start.elapsed() < 2 * SECOND {
        let out = h.call("echo", "config", json!(null)).await.unwrap();
        seen = out.json;
        if seen == Some(json!({"greeting": "b"})) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen, Some(json!({"greeting": "b"})));
    assert_eq!(h.registry.get("echo").unwrap().version, version);
    assert_eq!(h.registry.get("echo").unwrap().status, AppStatus::Ready);
}

#[tokio::test]
async fn calls_served_by_the_previous_version_say_why_the_new_one_did_not_load() {
    let h = Harness::new(&[("echo", None)]).await;
    // A toml whose secret the host does not have: the new settings cannot load.
    std::fs::write(
        h.path("echo.toml"),
        "[secrets]\ntoken = \"HOPS_TEST_NOT_SET\"\n",
    )
    .unwrap();
    h.registry.reload("echo").await;
    let info = h.registry.get("echo").unwrap();
    assert!(info.serving, "the previous version keeps serving");
    let AppStatus::Error { message, .. } = &info.status else {
        panic!("the failed load is listed: {info:?}");
    };
    assert!(
        message.contains("echo.toml") && message.contains("HOPS_TEST_NOT_SET"),
        "the file and the cause are named: {message}"
    );
    let out = h.call("echo", "echo", json!({"a": 1})).await.unwrap();
    assert_eq!(out.notes.len(), 1, "{out:?}");
    assert!(
        out.notes[0].starts_with("served by the previous version")
            && out.notes[0].contains("echo.toml"),
        "{:?}",
        out.notes
    );
}

#[tokio::test]
async fn declared_handlers_are_enforced_before_the_app_runs() {
    let h = Harness::new(&[("echo", Some("handlers = [\"echo\"]\n"))]).await;
    h.call("echo", "echo", json!({"a": 1})).await.unwrap();
    let message = crate::harness::reject_message(h.call("echo", "fail", json!(null)).await);
    assert!(
        message.contains("has no handler \"fail\"") && message.contains("echo.toml"),
        "{message}"
    );
}
