//! Bad input is a clear error and publishes nothing; a bad message on the bus ends its run
//! visibly errored.

use std::time::Duration;

use bytes::Bytes;
use hops_api::{ApiError, HostApi as _, RunStatus};
use hops_testutil::NatsServer;
use serde_json::{Map, json};

use crate::harness::*;

async fn stored_messages(host: &hops_runtime::Host) -> u64 {
    let mut stream = host
        .bus()
        .jetstream()
        .get_stream(host.bus().stream_name())
        .await
        .unwrap();
    stream.info().await.unwrap().state.messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_and_task_runs_are_refused_and_publish_nothing() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("mixed");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let api = host.services();
    let before = stored_messages(&host).await;

    let err = api.send_event(json!({"data": 1}), None).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { message, .. } if message.contains("hops")),
        "{err:?}"
    );
    let err = api
        .send_event(json!({"hops": {"source": "x"}}), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("event"), "{err}");
    let err = api.send_event(json!([1, 2]), None).await.unwrap_err();
    assert!(matches!(err, ApiError::Invalid { .. }), "{err:?}");

    let err = api.run_task("nope", Map::new()).await.unwrap_err();
    assert!(
        matches!(&err, ApiError::NotFound(m) if m.contains("deploy_service")),
        "{err:?}"
    );
    let params: Map<String, serde_json::Value> =
        serde_json::from_value(json!({"service": "web", "replicas": "three", "colour": "red"}))
            .unwrap();
    match api.run_task("deploy_service", params).await.unwrap_err() {
        ApiError::Invalid { errors, .. } => {
            assert!(errors.contains_key("replicas"), "{errors:?}");
            assert!(errors.contains_key("colour"), "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
    let err = api
        .run_task("deploy_service", Map::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Invalid { errors, .. } if errors.contains_key("service")),
        "{err:?}"
    );

    // Malformed JSON over HTTP: 400 with a message, nothing published.
    let url = format!("http://{}/api/events", host.api_addr().unwrap());
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(!response.text().await.unwrap().is_empty());

    assert_eq!(
        stored_messages(&host).await,
        before,
        "nothing may be half-published"
    );
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_bus_ends_its_run_errored_and_the_host_carries_on() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let subjects = host.bus().subjects().clone();
    let not_json = "garbage-run";
    host.bus()
        .publish_once(
            &subjects.event(not_json).unwrap(),
            Bytes::from_static(b"{oops"),
        )
        .await
        .unwrap();
    let no_meta = "no-meta-run";
    host.bus()
        .publish_once(
            &subjects.event(no_meta).unwrap(),
            Bytes::from_static(br#"{"a": 1}"#),
        )
        .await
        .unwrap();
    for (run, expect) in [(not_json, "not JSON"), (no_meta, "hops")] {
        let view = wait_run(&host, run, Duration::from_secs(20)).await;
        assert_eq!(view.status, RunStatus::Errored);
        let error = view.error.unwrap();
        assert!(
            error.contains("bad event") && error.contains(expect),
            "{error}"
        );
    }
    // The host still serves good runs.
    let run = send(
        &host,
        json!({"n": 1, "hops": {"source": "t", "event": "chain"}}),
    )
    .await;
    assert_eq!(
        wait_run(&host, &run, Duration::from_secs(20)).await.status,
        RunStatus::Completed
    );
    let listed = host.services().list_runs(10).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].run_id, run);
    assert_eq!(listed[0].status, RunStatus::Completed);
    assert_eq!(
        (listed[0].event.as_str(), listed[0].source.as_str()),
        ("chain", "t")
    );
    host.shutdown(Duration::from_secs(5)).await;
}
