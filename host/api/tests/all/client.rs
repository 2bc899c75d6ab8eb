//! `ApiClient` against the fake host: typed answers and errors that say what to do.

use hops_api::{ApiClient, ClientError, ParamKind, RunStatus};
use serde_json::{Map, json};

use crate::support::{start, start_with, token_config};

fn params(value: serde_json::Value) -> Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn round_trips_tasks_runs_events_and_replays() {
    let server = start().await;
    let client = ApiClient::new(&format!("{}/", server.url), None).unwrap();
    assert_eq!(client.base_url(), server.url);
    client.health().await.unwrap();
    assert!(client.ready().await.unwrap().ready);

    let tasks = client.tasks().await.unwrap();
    assert_eq!(tasks[0].name, "deploy");
    assert_eq!(tasks[0].params[1].kind, ParamKind::Number);

    let accepted = client
        .run_task("deploy", &params(json!({"service": "billing"})))
        .await
        .unwrap();
    let run = client.run(&accepted.run_id).await.unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.event["replicas"], 2, "defaults applied by the host");

    let sent = client
        .send_event(&json!({"hops": {"source": "me", "event": "x"}}), Some("k1"))
        .await
        .unwrap();
    let again = client
        .send_event(&json!({"hops": {"source": "me", "event": "x"}}), Some("k1"))
        .await
        .unwrap();
    assert_eq!(sent.run_id, again.run_id);
    assert!(again.duplicate);

    let runs = client.list_runs(5).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].run_id, sent.run_id);

    let dry = client.replay(&accepted.run_id, true).await.unwrap();
    assert!(dry.dry_run && dry.run_id.is_none());
    let real = client.replay(&accepted.run_id, false).await.unwrap();
    assert!(real.run_id.is_some());
    assert_eq!(client.apps().await.unwrap()[0]["name"], "echo");

    server.host.set_ready(Err("loading pipelines".into()));
    let readiness = client.ready().await.unwrap();
    assert!(!readiness.ready);
    assert_eq!(readiness.reason.as_deref(), Some("loading pipelines"));
}

#[tokio::test]
async fn surfaces_the_servers_message_and_field_errors() {
    let server = start().await;
    let client = ApiClient::new(&server.url, None).unwrap();
    let err = client
        .run_task("deploy", &params(json!({"replicas": "x"})))
        .await
        .unwrap_err();
    let ClientError::Invalid { errors, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors["service"], ["Required"]);
    assert_eq!(
        err.to_string(),
        "invalid inputs for deploy (replicas: Should be a number; service: Required)"
    );
    let missing = client.run("nope").await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(missing.to_string(), "no run `nope`");
    let task = client.run_task("a/b", &Map::new()).await.unwrap_err();
    assert_eq!(
        task.to_string(),
        "no task named `a/b`",
        "segments are encoded"
    );
}

#[tokio::test]
async fn says_when_the_token_is_missing_or_wrong() {
    let server = start_with(token_config("s3cret")).await;
    let err = ApiClient::new(&server.url, None)
        .unwrap()
        .tasks()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("set HOPS_API_TOKEN"), "{err}");
    let ok = ApiClient::new(&server.url, Some("s3cret".into()))
        .unwrap()
        .tasks()
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn says_how_to_fix_an_unreachable_host() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let err = ApiClient::new(&url, None)
        .unwrap()
        .list_runs(1)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reach the Hops host at {url}: connection refused — is `hops up` running? (set --api or HOPS_API)"
        )
    );
}

#[test]
fn rejects_addresses_that_are_not_http_urls() {
    for bad in ["127.0.0.1:8916", "ftp://host", "not a url"] {
        let err = ApiClient::new(bad, None).unwrap_err();
        assert!(matches!(err, ClientError::BadUrl { .. }), "{bad}: {err:?}");
        assert!(err.to_string().contains("--api or HOPS_API"), "{err}");
    }
}
