//! Schedules fire once per tick across replicas.

use std::collections::HashSet;
use std::time::Duration;

use hops_testutil::NatsServer;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_start_one_run_per_tick() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("schedule");
    let log = CallLog::default();
    let a = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let b = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
    let handled = log.all();
    let runs: HashSet<&str> = handled.iter().map(|h| h.run_id.as_str()).collect();
    assert!(runs.len() >= 2, "expected at least two ticks: {handled:#?}");
    assert_eq!(runs.len(), handled.len(), "one run per tick: {handled:#?}");
    let ats: HashSet<&str> = handled
        .iter()
        .map(|h| h.inputs["at"].as_str().unwrap())
        .collect();
    assert_eq!(ats.len(), handled.len(), "each tick fired once");
}
