//! Replicas, crashes and restarts: nothing lost, nothing dispatched twice.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use hops_api::{CallStatus, RunStatus};
use hops_runtime::{Host, HostConfig, Roles};
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_dispatch_every_call_exactly_once() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let a = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let b = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let mut runs = Vec::new();
    for n in 0..60 {
        let host = if n % 2 == 0 { &a } else { &b };
        runs.push(
            send(
                host,
                json!({"n": n, "hops": {"source": "t", "event": "chain"}}),
            )
            .await,
        );
    }
    for run in &runs {
        let view = wait_run(&a, run, WAIT).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        assert_eq!(view.calls.len(), 3);
    }
    let handled = log.all();
    let unique: HashSet<(String, String)> = handled
        .iter()
        .map(|h| (h.run_id.clone(), h.call.clone()))
        .collect();
    assert_eq!(handled.len(), 180, "every call handled exactly once");
    assert_eq!(unique.len(), 180);
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

/// Starts a host with every role but the API on its own runtime, so the test can kill it; its
/// test configuration changed by `edit`.
async fn start_killable(
    url: String,
    dir: std::path::PathBuf,
    log: CallLog,
    edit: fn(&mut HostConfig),
) -> Killable {
    Killable::spawn(async move {
        let mut config = config(connect(&url).await, &dir, workers(&["tools"], &log));
        config.roles = Roles {
            runner: true,
            workers: true,
            api: false,
        };
        edit(&mut config);
        Host::start(config).await.unwrap()
    })
}

/// An observer: the API role only (no runner, no workers).
async fn observer(url: &str, dir: &std::path::Path) -> Host {
    let mut config = config(connect(url).await, dir, workers(&[], &CallLog::default()));
    config.roles = Roles {
        runner: false,
        workers: false,
        api: true,
    };
    Host::start(config).await.unwrap()
}

/// The test configuration as it is.
fn as_is(_: &mut HostConfig) {}

/// Starts a `slow` run on a killable host (its configuration changed by `edit`) and kills the
/// host while the run's middle call (`slow-nap`, 1.5 s) runs. Returns the run id.
async fn kill_during_the_nap(
    url: String,
    dir: &std::path::Path,
    log: &CallLog,
    watcher: &Host,
    edit: fn(&mut HostConfig),
) -> String {
    let first = start_killable(url, dir.to_owned(), log.clone(), edit).await;
    let run = send(
        watcher,
        json!({"ms": 1500, "hops": {"source": "t", "event": "slow"}}),
    )
    .await;
    eventually(WAIT, "the slow call to start", async || {
        log.of_run(&run).iter().any(|h| h.call == "slow-nap")
    })
    .await;
    first.kill();
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_killed_mid_run_and_restarted_completes_the_run() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    let watcher = observer(&nats.url(), dir.path()).await;
    let run = kill_during_the_nap(nats.url(), dir.path(), &log, &watcher, as_is).await;
    let second = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let view = wait_run(&watcher, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(view.calls.len(), 3, "each call requested once: {view:#?}");
    assert!(view.calls.iter().all(|c| c.status == CallStatus::Completed));
    assert_eq!(view.calls[2].inputs, json!({"slept": 1500}));
    let handled = log.of_run(&run);
    let count = |call: &str| handled.iter().filter(|h| h.call == call).count();
    assert_eq!(count("slow-before"), 1);
    // The call that was running when the host died ran again on the new host, once.
    assert_eq!(count("slow-nap"), 2, "{handled:#?}");
    assert_eq!(count("slow-after"), 1);
    second.shutdown(Duration::from_secs(5)).await;
    watcher.shutdown(Duration::from_secs(5)).await;
}

/// Calls may run on one delivery only.
fn one_delivery(config: &mut HostConfig) {
    config.worker_consumer.max_deliver = 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_during_a_calls_last_allowed_delivery_ends_the_run_errored() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    let watcher = observer(&nats.url(), dir.path()).await;
    let run = kill_during_the_nap(nats.url(), dir.path(), &log, &watcher, one_delivery).await;
    let mut config = config(
        connect(&nats.url()).await,
        dir.path(),
        workers(&["tools"], &log),
    );
    one_delivery(&mut config);
    let second = Host::start(config).await.unwrap();
    let view = wait_run(&watcher, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let nap = view
        .calls
        .iter()
        .find(|c| c.name == "nap")
        .expect("the nap call is in the run");
    assert_eq!(nap.status, CallStatus::Errored, "{view:#?}");
    let error = nap.error.clone().unwrap_or_default();
    assert!(
        error.contains("delivered once without finishing"),
        "the give-up names what happened: {error}"
    );
    assert_eq!(
        log.of_run(&run)
            .iter()
            .filter(|h| h.call == "slow-nap")
            .count(),
        1,
        "the call is not run past its allowed deliveries"
    );
    second.shutdown(Duration::from_secs(5)).await;
    watcher.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_that_dies_on_a_steps_last_allowed_delivery_leaves_an_errored_run() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    let watcher = observer(&nats.url(), dir.path()).await;
    let bus = connect(&nats.url()).await;
    // A runner that takes the run's event and dies before it acks.
    let options = hops_bus::RunnerConsumerOptions {
        ack_wait: Duration::from_secs(2),
        max_deliver: 1,
        ..Default::default()
    };
    let consumer = bus
        .runner_consumer(&bus.runner_consumer_name(), &options)
        .await
        .unwrap();
    let mut deliveries = consumer.messages(1).await.unwrap();
    let run = send(
        &watcher,
        json!({"ms": 1, "hops": {"source": "t", "event": "slow"}}),
    )
    .await;
    let taken = tokio::time::timeout(WAIT, deliveries.next())
        .await
        .expect("the event is delivered")
        .expect("the consumer is open")
        .expect("a delivery");
    assert_eq!(taken.subject.run_id, run);
    drop((taken, deliveries, consumer));

    let mut config = config(Arc::clone(&bus), dir.path(), workers(&["tools"], &log));
    config.runner.consumer.max_deliver = 1;
    let host = Host::start(config).await.unwrap();
    let view = wait_run(&watcher, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Errored, "{view:#?}");
    let error = view.error.clone().unwrap_or_default();
    assert!(
        error.contains("a step was delivered once without finishing"),
        "{error}"
    );
    assert!(
        log.of_run(&run).is_empty(),
        "nothing ran for the dropped step"
    );
    host.shutdown(Duration::from_secs(5)).await;
    watcher.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarted_mid_run_the_run_completes() {
    hops_testutil::init_tracing();
    let mut nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let run = send(
        &host,
        json!({"ms": 1000, "hops": {"source": "t", "event": "slow"}}),
    )
    .await;
    eventually(WAIT, "the slow call to start", async || {
        log.of_run(&run).iter().any(|h| h.call == "slow-nap")
    })
    .await;
    nats.restart().await;
    let view = wait_run(&host, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(view.calls.len(), 3);
    assert!(view.calls.iter().all(|c| c.status == CallStatus::Completed));
    let handled = log.of_run(&run);
    let count = |call: &str| handled.iter().filter(|h| h.call == call).count();
    assert_eq!(
        (count("slow-before"), count("slow-after")),
        (1, 1),
        "{handled:#?}"
    );
    assert!(count("slow-nap") <= 2);
    host.shutdown(Duration::from_secs(5)).await;
}

/// The production worker timings (short ack wait kept alive by in-progress acks).
fn production_worker_timing(config: &mut HostConfig) {
    config.worker_consumer = hops_bus::WorkerConsumerOptions::default();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_on_a_killed_host_runs_again_within_seconds_as_attempt_2() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("resilience");
    let log = CallLog::default();
    let watcher = observer(&nats.url(), dir.path()).await;
    let run = kill_during_the_nap(
        nats.url(),
        dir.path(),
        &log,
        &watcher,
        production_worker_timing,
    )
    .await;
    let killed = std::time::Instant::now();
    let mut config = config(
        connect(&nats.url()).await,
        dir.path(),
        workers(&["tools"], &log),
    );
    production_worker_timing(&mut config);
    let second = Host::start(config).await.unwrap();
    eventually(WAIT, "the interrupted call to run again", async || {
        log.of_run(&run)
            .iter()
            .any(|h| h.call == "slow-nap" && h.attempt == 2)
    })
    .await;
    let again = killed.elapsed();
    // The ack wait (5 s), then one more in case the host was only cut off (workers/grace.rs).
    assert!(
        again < Duration::from_secs(15),
        "the call of a dead host runs again after two short ack waits, not a minute later: {again:?}"
    );
    let view = wait_run(&watcher, &run, WAIT).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    let nap = view.calls.iter().find(|c| c.name == "nap").unwrap();
    assert_eq!(nap.attempts, Some(2), "{nap:#?}");
    assert_eq!(nap.previous_attempts.len(), 1, "{nap:#?}");
    assert!(
        nap.previous_attempts[0].starts_with("host lost during attempt 1"),
        "{nap:#?}"
    );
    let naps = log
        .of_run(&run)
        .iter()
        .filter(|h| h.call == "slow-nap")
        .count();
    assert_eq!(naps, 2, "once on the dead host, once after");
    second.shutdown(Duration::from_secs(5)).await;
    watcher.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_killed_during_a_stream_of_calls_every_call_runs_once() {
    hops_testutil::init_tracing();
    let mut nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let host = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let mut runs = Vec::new();
    for n in 0..200 {
        runs.push(
            send(
                &host,
                json!({"n": n, "hops": {"source": "t", "event": "chain"}}),
            )
            .await,
        );
    }
    // Kill the server (file storage, no chance to write what it holds) while calls complete:
    // acks it had not written are lost, so deliveries come back for calls already done.
    eventually(WAIT, "calls to be under way", async || {
        log.all().len() >= 60
    })
    .await;
    nats.kill().await;
    let during = log.all().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.start_again().await;
    for run in &runs {
        let view = wait_run(&host, run, Duration::from_secs(90)).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    }
    let handled = log.all();
    let mut seen = std::collections::HashMap::new();
    for h in &handled {
        *seen.entry((h.run_id.clone(), h.call.clone())).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{} calls ran more than once ({during} had run when the server died): {twice:?}",
        twice.len()
    );
    assert_eq!(seen.len(), 600, "every call of the 200 runs ran");
    host.shutdown(Duration::from_secs(5)).await;
}
