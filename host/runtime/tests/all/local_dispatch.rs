//! Local dispatch: the host whose runner publishes a request runs the call itself. Its
//! request's worker deliveries — on the same host or another one — must never run it again,
//! and a publisher that dies before or during its run must leave the call to run once more
//! elsewhere, as attempt 2.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use hops_api::RunStatus;
use hops_bus::HeaderMap;
use hops_core::ResultMessage;
use hops_runtime::{Host, Roles};
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

const WAIT: Duration = Duration::from_secs(30);

/// Every (run, call) ran exactly once, as attempt 1.
fn assert_each_ran_once_as_attempt_1(log: &CallLog, expected: usize) {
    let mut seen: HashMap<(String, String), Vec<u32>> = HashMap::new();
    for h in log.all() {
        seen.entry((h.run_id, h.call)).or_default().push(h.attempt);
    }
    let wrong: Vec<_> = seen.iter().filter(|(_, a)| a.as_slice() != [1]).collect();
    assert!(
        wrong.is_empty(),
        "calls that did not run exactly once: {wrong:?}"
    );
    assert_eq!(seen.len(), expected);
}

/// Waits until no request of `app` is delivered and unacknowledged or undelivered: every
/// delivery, wherever it went, was settled.
async fn wait_settled(host: &Host, app: &str) {
    eventually(WAIT, "every request delivery to be settled", async || {
        host.bus()
            .worker_activity(app)
            .await
            .ok()
            .flatten()
            .is_some_and(|a| a.in_flight == 0 && a.pending == 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_on_another_host_wait_for_the_local_run_and_never_run_the_call() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    // The only runner: it runs every call itself. The second host serves the same app, so
    // about half the requests' deliveries reach it while the call is running on the first
    // (the nap takes 400 ms), and must wait and only ack.
    let runner = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let mut config = config(
        connect(&nats.url()).await,
        dir.path(),
        workers(&["tools"], &log),
    );
    config.roles = Roles {
        runner: false,
        workers: true,
        api: false,
    };
    let other = Host::start(config).await.unwrap();
    let mut runs = Vec::new();
    for _ in 0..16 {
        runs.push(
            send(
                &runner,
                json!({"ms": 400, "hops": {"source": "t", "event": "slow"}}),
            )
            .await,
        );
    }
    for run in &runs {
        let view = wait_run(&runner, run, WAIT).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        assert!(view.calls.iter().all(|c| c.attempts.is_none()), "{view:#?}");
    }
    assert_each_ran_once_as_attempt_1(&log, 48);
    wait_settled(&runner, "tools").await;
    other.shutdown(Duration::from_secs(5)).await;
    runner.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_local_dispatch_run_every_call_once_under_load() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let a = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let b = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    // Events sent at once to both: each replica's runner gets the other's results and
    // requests too, and their local runs race their requests' deliveries.
    let sends = (0..200).map(|n| {
        let host = if n % 2 == 0 { &a } else { &b };
        send(
            host,
            json!({"n": n, "hops": {"source": "t", "event": "chain"}}),
        )
    });
    let runs = futures::future::join_all(sends).await;
    for run in &runs {
        let view = wait_run(&a, run, WAIT).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        assert_eq!(view.calls.len(), 3, "{view:#?}");
    }
    assert_each_ran_once_as_attempt_1(&log, 600);
    wait_settled(&a, "tools").await;
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_publisher_died_before_running_it_runs_once_as_attempt_2() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    // What a host leaves behind when it dies right after its request was stored and before
    // its local run began: the request, naming a host that no longer answers.
    let bus = host.bus();
    let run = "local-dispatch-orphan";
    let subject = bus
        .subjects()
        .request(run, "orphan-call", "tools", "echo")
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("Hops-Local", "0123456789abcdef0123456789abcdef");
    let published = bus
        .publish_once_with_headers(&subject, headers, Bytes::from(r#"{"n": 7}"#))
        .await
        .unwrap();
    assert!(!published.duplicate);
    let result_subject = bus.subjects().result(run, "orphan-call").unwrap();
    let mut stored = None;
    eventually(WAIT, "the orphaned call's result", async || {
        stored = bus.read_last(&result_subject).await.unwrap();
        stored.is_some()
    })
    .await;
    let result: ResultMessage = serde_json::from_slice(&stored.unwrap().payload).unwrap();
    assert!(!result.errored, "{result:#?}");
    assert_eq!(result.hops.attempts, Some(2), "{result:#?}");
    assert_eq!(result.hops.previous_attempts.len(), 1, "{result:#?}");
    assert!(
        result.hops.previous_attempts[0].starts_with("host lost during attempt 1"),
        "{result:#?}"
    );
    let ran: Vec<_> = log.all().into_iter().filter(|h| h.run_id == run).collect();
    assert_eq!(
        ran.len(),
        1,
        "the call ran once, after the dead host's turn: {ran:#?}"
    );
    assert_eq!(ran[0].attempt, 2);
    assert_eq!(ran[0].inputs, json!({"n": 7}));
    host.shutdown(Duration::from_secs(5)).await;
}
