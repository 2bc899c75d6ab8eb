//! What the console's run list, apps and problems pages read: the pipelines a finished run
//! matched, each app's recent errors, and the last pipeline load's diagnostics.

use std::sync::Arc;
use std::time::Duration;

use hops_api::{HostApi as _, RunStatus};
use hops_runtime::host::Host;
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

const PIPELINES: &str = r#"
on bad {
  call tools_fail {
    name = "b"
    inputs = { message = "the disk is full" }
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_name_their_pipelines_apps_their_errors_and_problems_their_diagnostics() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    let mut config = config(
        connect(&nats.url()).await,
        dir.path(),
        workers(&["tools"], &log),
    );
    config.app_listing = Some(Arc::new(|| {
        json!([
            {"name": "tools", "status": {"state": "ready"}, "serving": true},
            {"name": "slack", "status": {"state": "error", "kind": "wrong-world", "message": "slack.wasm exports no handler"}, "serving": false},
        ])
    }));
    let host = Host::start(config).await.unwrap();
    let api = host.services();

    let run = send(&host, json!({"hops": {"source": "t", "event": "bad"}})).await;
    let view = wait_run(&host, &run, Duration::from_secs(20)).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let pipeline = view.pipelines[0].name.clone();

    let runs = api.list_runs(10).await.unwrap();
    assert_eq!(runs[0].run_id, run);
    assert_eq!(runs[0].pipelines, vec![pipeline]);

    let apps = api.apps().await.unwrap();
    let tools = &apps[0]["recent_errors"];
    assert_eq!(tools[0]["run_id"], run.as_str(), "{apps:#}");
    assert_eq!(
        tools[0]["call"],
        format!("{}-b", runs[0].pipelines[0]),
        "{apps:#}"
    );
    assert!(
        tools[0]["message"]
            .as_str()
            .unwrap()
            .contains("the disk is full"),
        "{apps:#}"
    );

    let problems = api.problems().await.unwrap();
    let load = problems.pipelines.clone().unwrap();
    assert!(load.applied);
    assert!(load.diagnostics.is_empty(), "{load:?}");
    assert_eq!(problems.apps.len(), 1);
    assert_eq!(problems.apps[0].name, "slack");
    assert_eq!(problems.apps[0].message, "slack.wasm exports no handler");

    // A broken edit: the last read has errors, the previous version keeps running.
    std::fs::write(
        dir.path().join("p/broken.hops"),
        "on oops {\n  call x_y {\n",
    )
    .unwrap();
    eventually(
        Duration::from_secs(20),
        "the broken edit to be read",
        async || {
            api.problems()
                .await
                .unwrap()
                .pipelines
                .is_some_and(|l| !l.applied)
        },
    )
    .await;
    let load = api.problems().await.unwrap().pipelines.unwrap();
    let before = problems.pipelines.unwrap().version;
    assert_eq!(load.current_version, Some(before.clone()));
    assert_ne!(load.version, before);
    let error = load
        .diagnostics
        .iter()
        .find(|d| d.severity == "error")
        .unwrap_or_else(|| panic!("no error in {load:?}"));
    assert_eq!(error.file, "p/broken.hops");
    assert!(error.line.is_some(), "{error:?}");
    host.shutdown(Duration::from_secs(5)).await;
}
