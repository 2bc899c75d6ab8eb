//! Runs end to end: spec §2.7, default done, a broken `on`, tasks, waiting apps, replays,
//! per-call retry and timeout.

use std::time::Duration;

use hops_api::{CallStatus, HostApi as _, RunStatus};
use hops_testutil::NatsServer;
use serde_json::{Map, json};

use crate::harness::*;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_2_7_end_to_end() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("review");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["github", "slack"], &log).await;
    let run = send(
        &host,
        json!({"number": 7, "hops": {"source": "github", "event": "pullrequest", "action": "opened"}}),
    )
    .await;
    let view = wait_run(&host, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(view.event["number"], 7);
    let calls: Vec<(&str, &str, &str, CallStatus)> = view
        .calls
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.app.as_str(),
                c.handler.as_str(),
                c.status,
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("label", "github", "add_label", CallStatus::Completed),
            ("ping", "slack", "post_message", CallStatus::Completed),
        ]
    );
    assert_eq!(view.calls[0].inputs, json!({"pr": 7, "label": "triage"}));
    // The second call's inputs were rendered from the first call's result.
    assert_eq!(
        view.calls[1].inputs,
        json!({"text": "PR 7 labelled by add_label"})
    );
    assert_eq!(
        view.calls[1].result.as_ref().unwrap()["inputs"]["text"],
        "PR 7 labelled by add_label"
    );
    assert!(
        view.calls
            .iter()
            .all(|c| c.started_at.is_some() && c.finished_at.is_some())
    );
    assert_eq!(view.pipelines.len(), 1);
    assert_eq!(
        (view.pipelines[0].name.as_str(), view.pipelines[0].status),
        ("review", RunStatus::Completed)
    );
    assert!(view.finished_at.is_some());
    // Each call ran once.
    let handled: Vec<(String, String)> = log
        .of_run(&run)
        .into_iter()
        .map(|h| (h.app, h.handler))
        .collect();
    assert_eq!(
        handled,
        [
            ("github".to_owned(), "add_label".to_owned()),
            ("slack".to_owned(), "post_message".to_owned())
        ]
    );
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_on_is_isolated_and_default_done_follows_the_last_result() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("mixed");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let run = send(
        &host,
        json!({"service": "api", "hops": {"source": "ci", "event": "deploy"}}),
    )
    .await;
    let view = wait_run(&host, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let pipelines: Vec<(&str, RunStatus)> = view
        .pipelines
        .iter()
        .map(|p| (p.name.as_str(), p.status))
        .collect();
    assert_eq!(
        pipelines,
        [
            ("broken", RunStatus::Errored),
            ("failing", RunStatus::Errored),
            ("healthy", RunStatus::Completed),
        ]
    );
    let error = view.error.clone().unwrap();
    assert!(
        error.contains("pipeline broken errored") && error.contains("missing"),
        "{error}"
    );
    assert!(error.contains("pipeline failing errored"), "{error}");
    let attempt = view.calls.iter().find(|c| c.name == "attempt").unwrap();
    assert_eq!(attempt.status, CallStatus::Errored);
    assert_eq!(attempt.error.as_deref(), Some("disk full"));
    let second = view.calls.iter().find(|c| c.name == "second").unwrap();
    assert_eq!(second.inputs, json!({"after": "api"}));
    // The broken pipeline dispatched nothing; the others ran their three calls once each.
    let mut handled: Vec<String> = log.of_run(&run).into_iter().map(|h| h.call).collect();
    handled.sort();
    assert_eq!(
        handled,
        ["failing-attempt", "healthy-first", "healthy-second"]
    );
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_check_params_and_every_run_is_new() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("mixed");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let api = host.services();
    let tasks = api.tasks().await.unwrap();
    assert_eq!(tasks[0].name, "deploy_service");
    let params: Map<String, serde_json::Value> =
        serde_json::from_value(json!({"service": "web"})).unwrap();
    let first = api
        .run_task("deploy_service", params.clone())
        .await
        .unwrap();
    let second = api.run_task("deploy_service", params).await.unwrap();
    assert_ne!(first.run_id, second.run_id);
    for run in [&first.run_id, &second.run_id] {
        let view = wait_run(&host, run, WAIT).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        // The default applied.
        assert_eq!(
            view.calls[0].inputs,
            json!({"service": "web", "replicas": 1})
        );
        assert_eq!(
            view.event["hops"],
            json!({"source": "hiphops", "event": "task", "action": "deploy_service"})
        );
    }
    host.shutdown(Duration::from_secs(5)).await;
}

/// The run's view once its first call shows as waiting for its app.
async fn once_first_call_waits(host: &hops_runtime::Host, run: &str) -> hops_api::RunView {
    eventually(WAIT, "the call to show as waiting", async || {
        host.services().run(run).await.is_ok_and(|v| {
            v.calls
                .first()
                .is_some_and(|c| c.status == CallStatus::Waiting)
        })
    })
    .await;
    host.services().run(run).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_nobody_serves_shows_as_waiting_then_runs_when_the_app_appears() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("waiting");
    let log = CallLog::default();
    let config = config(connect(&nats.url()).await, dir.path(), workers(&[], &log));
    let workers = config.workers.clone();
    let host = hops_runtime::Host::start(config).await.unwrap();
    let run = send(&host, json!({"hops": {"source": "t", "event": "lonely"}})).await;
    let view = once_first_call_waits(&host, &run).await;
    assert_eq!(view.status, RunStatus::Running);
    let why = view.calls[0].waiting_for.clone().unwrap();
    assert!(why.contains("nobody"), "{why}");
    // The app arrives: the waiting call runs.
    workers.insert(
        "nobody",
        std::sync::Arc::new(TestApp {
            log: log.clone(),
            by: String::new(),
        }),
    );
    let view = wait_run(&host, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(log.of_run(&run).len(), 1);
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_an_app_nobody_serves_ends_errored_after_the_wait_naming_the_app() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("waiting");
    let log = CallLog::default();
    let mut config = config(connect(&nats.url()).await, dir.path(), workers(&[], &log));
    config.runner.app_wait_timeout = Duration::from_secs(2);
    let host = hops_runtime::Host::start(config).await.unwrap();
    let started = std::time::Instant::now();
    let run = send(&host, json!({"hops": {"source": "t", "event": "lonely"}})).await;
    let view = wait_run(&host, &run, WAIT).await;
    let took = started.elapsed();
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let error = view.calls[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("no worker took this call to app nobody within 2s"),
        "{error}"
    );
    assert!(error.contains("add nobody.wasm"), "{error}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "ended after {took:?}"
    );
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_loaded_by_a_host_without_the_workers_role_is_not_shown_as_served() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("waiting");
    let log = CallLog::default();
    let mut config = config(
        connect(&nats.url()).await,
        dir.path(),
        workers(&["nobody"], &log),
    );
    config.roles = hops_runtime::Roles {
        runner: true,
        workers: false,
        api: true,
    };
    let host = hops_runtime::Host::start(config).await.unwrap();
    let run = send(&host, json!({"hops": {"source": "t", "event": "lonely"}})).await;
    let why = once_first_call_waits(&host, &run).await.calls[0]
        .waiting_for
        .clone()
        .unwrap();
    assert!(why.contains("no worker serves app nobody"), "{why}");
    // A host with the workers role picks the call up.
    let worker = start_host(&nats.url(), dir.path(), &["nobody"], &log).await;
    let view = wait_run(&host, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    worker.shutdown(Duration::from_secs(5)).await;
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_plans_and_real_replay_starts_a_new_run() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let run = send(
        &host,
        json!({"n": 1, "hops": {"source": "t", "event": "chain"}}),
    )
    .await;
    let view = wait_run(&host, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed);
    assert_eq!(view.calls[2].inputs, json!({"n": 3}));
    let published_before = log.all().len();
    let dry = host.services().replay(&run, true).await.unwrap();
    assert!(dry.dry_run && dry.run_id.is_none());
    assert_eq!(dry.calls.len(), 1);
    assert_eq!(
        (dry.calls[0].name.as_str(), &dry.calls[0].inputs),
        ("one", &json!({"n": 1}))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        log.all().len(),
        published_before,
        "a dry run must not dispatch"
    );
    let real = host.services().replay(&run, false).await.unwrap();
    let new_run = real.run_id.unwrap();
    assert_ne!(new_run, run);
    assert_eq!(
        wait_run(&host, &new_run, WAIT).await.status,
        RunStatus::Completed
    );
    let missing = host
        .services()
        .replay("no-such-run", true)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, hops_api::ApiError::NotFound(_)),
        "{missing:?}"
    );
    host.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_retry_and_timeout() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("timing");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let flaky = send(&host, json!({"hops": {"source": "t", "event": "flaky"}})).await;
    let stuck = send(&host, json!({"hops": {"source": "t", "event": "stuck"}})).await;
    let view = wait_run(&host, &flaky, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(view.calls[0].attempts, Some(3));
    let attempts: Vec<u32> = log.of_run(&flaky).iter().map(|h| h.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    let view = wait_run(&host, &stuck, WAIT).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let error = view.calls[0].error.clone().unwrap();
    assert!(error.contains("exceeded its 300ms timeout"), "{error}");
    host.shutdown(Duration::from_secs(5)).await;
}
