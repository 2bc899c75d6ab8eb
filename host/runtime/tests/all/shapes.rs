//! Runs that grow wide: one run fans out to many parallel calls and joins them, on two host
//! replicas sharing the work. The runner evaluates such a run in batches (a step reads every
//! result delivered to a waiting step of the same run), and knows the requests it published
//! without reading them back; every call must still run exactly once and the join once, after
//! all of them.

use std::collections::HashSet;
use std::time::Duration;

use hops_api::{CallStatus, RunStatus};
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

const FAN_OUT: usize = 200;

/// `FAN_OUT` independent calls, then one that waits for all of them.
fn fan_out_pipeline() -> String {
    let mut text = String::from("on fan {\n");
    for i in 1..=FAN_OUT {
        text.push_str(&format!(
            "  call tools_echo {{\n    name = \"w{i}\"\n    inputs = {{ i = {i} }}\n  }}\n"
        ));
    }
    let all: Vec<String> = (1..=FAN_OUT).map(|i| format!("w{i}.completed")).collect();
    text.push_str(&format!(
        "  call tools_echo {{\n    name = \"join\"\n    if = alltrue({})\n    inputs = {{ last = w{FAN_OUT}.json.inputs.i }}\n  }}\n}}\n",
        all.join(", ")
    ));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_fans_out_and_joins_on_two_replicas_runs_every_call_once() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("fan", &fan_out_pipeline());
    let log = CallLog::default();
    let a = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let b = start_host(&nats.url(), dir.path(), &["tools"], &log).await;
    let runs = [
        send(&a, json!({"hops": {"source": "t", "event": "fan"}})).await,
        send(&b, json!({"hops": {"source": "t", "event": "fan"}})).await,
    ];
    for run in &runs {
        let view = wait_run(&a, run, Duration::from_secs(60)).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        assert_eq!(view.calls.len(), FAN_OUT + 1);
        assert!(view.calls.iter().all(|c| c.status == CallStatus::Completed));
        let join = view.calls.iter().find(|c| c.name == "join").unwrap();
        assert_eq!(join.inputs, json!({"last": FAN_OUT}));
        let handled = log.of_run(run);
        let unique: HashSet<&str> = handled.iter().map(|h| h.call.as_str()).collect();
        assert_eq!(
            (handled.len(), unique.len()),
            (FAN_OUT + 1, FAN_OUT + 1),
            "every call of run {run} handled exactly once"
        );
        assert_eq!(
            handled.last().map(|h| h.call.as_str()),
            Some("fan0-join"),
            "the join runs after every call it waits for"
        );
    }
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}
