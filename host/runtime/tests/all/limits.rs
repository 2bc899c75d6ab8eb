//! Limits on runaway work, against a real nats-server.

use std::time::Duration;

use hops_api::RunStatus;
use hops_runtime::{Host, RunRateLimit};
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_starting_runs_faster_than_the_limit_has_them_stopped_with_the_reason() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = fixture("chain");
    let log = CallLog::default();
    let mut config = config(
        connect(&nats.url()).await,
        dir.path(),
        workers(&["tools"], &log),
    );
    config.runner.run_rate = RunRateLimit {
        per_second: 0.5,
        burst: 3.0,
    };
    let host = Host::start(config).await.unwrap();
    let mut runs = Vec::new();
    for n in 0..6 {
        runs.push(
            send(
                &host,
                json!({"n": n, "hops": {"source": "t", "event": "chain"}}),
            )
            .await,
        );
    }
    let mut completed = 0;
    let mut stopped = Vec::new();
    for run in &runs {
        let view = wait_run(&host, run, Duration::from_secs(30)).await;
        match view.status {
            RunStatus::Completed => completed += 1,
            _ => stopped.push(view),
        }
    }
    assert_eq!(completed, 3, "the burst passes: {stopped:#?}");
    assert_eq!(stopped.len(), 3);
    for view in &stopped {
        let error = view.error.clone().unwrap_or_default();
        assert!(
            error.contains("pipeline steps started more than 0.5 runs per second"),
            "{error}"
        );
        assert!(error.contains("--max-runs-per-second"), "{error}");
        assert!(view.calls.is_empty(), "a stopped run dispatches nothing");
    }
    host.shutdown(Duration::from_secs(5)).await;
}
