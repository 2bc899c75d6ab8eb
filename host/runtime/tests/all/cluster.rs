//! A host on a 3-node JetStream cluster with a stream of three replicas: runs of three
//! sequential calls complete while the stream's leader node is killed and started again, each
//! call executed once; `/ready` says so while the stream has no leader.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hops_api::{HostApi as _, RunStatus};
use hops_bus::{Bus, BusConfig};
use hops_runtime::host::Host;
use hops_testutil::NatsCluster;
use serde_json::json;
use std::sync::Arc;

use crate::harness::*;

const PIPELINES: &str = r#"
on step {
  call tools_echo {
    name = "a"
  }
  call tools_echo {
    name = "b"
    if   = a.completed
  }
  call tools_echo {
    name = "c"
    if   = b.completed
  }
}
"#;

/// Runs of the test; enough to be in flight when the leader dies, few enough for CI.
const RUNS: usize = 60;

async fn stream_leader(bus: &Bus) -> Option<String> {
    let mut stream = bus.jetstream().get_stream(bus.stream_name()).await.ok()?;
    stream.info().await.ok()?.cluster.as_ref()?.leader.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_complete_once_each_while_the_stream_leader_is_killed() {
    hops_testutil::init_tracing();
    let mut cluster = NatsCluster::start(3).await;
    let mut bus_config = BusConfig::new(cluster.urls());
    bus_config.stream_replicas = 3;
    let bus = Arc::new(Bus::connect(bus_config).await.unwrap());
    // The cluster elects its meta leader a moment after the nodes are up.
    eventually(
        Duration::from_secs(30),
        "the stream to be created",
        async || bus.ensure_stream().await.is_ok(),
    )
    .await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    let host = Host::start(config(
        Arc::clone(&bus),
        dir.path(),
        workers(&["tools"], &log),
    ))
    .await
    .unwrap();
    eventually(
        Duration::from_secs(10),
        "the host to be ready",
        async || host.services().ready().is_ok(),
    )
    .await;

    // The durable consumers are replicated like the stream: on all three nodes (the cluster
    // reports them once each consumer has elected its leader).
    let stream = bus.jetstream().get_stream(bus.stream_name()).await.unwrap();
    for consumer in [
        bus.runner_consumer_name(),
        bus.worker_consumer_name("tools"),
    ] {
        eventually(
            Duration::from_secs(15),
            "a consumer on three nodes",
            async || {
                let Ok(info) = stream.consumer_info(&consumer).await else {
                    return false;
                };
                info.cluster.as_ref().is_some_and(|c| {
                    let leader_apart = c
                        .leader
                        .as_ref()
                        .is_some_and(|l| !c.replicas.iter().any(|r| &r.name == l));
                    c.replicas.len() + usize::from(leader_apart) == 3
                })
            },
        )
        .await;
    }

    let mut runs = Vec::new();
    for i in 0..RUNS {
        if i == RUNS / 2 {
            let leader = stream_leader(&bus).await.expect("the stream has a leader");
            let node = cluster.index_of(&leader).expect("a node of the cluster");
            cluster.node(node).kill().await;
            println!("killed the stream leader {leader} after {i} runs");
        }
        // While the cluster elects a new leader, publishing may fail: the caller retries.
        let event = json!({"hops": {"source": "t", "event": "step"}, "i": i});
        let run = send_retrying(&host, event, format!("chaos-{i}"), Duration::from_secs(30)).await;
        runs.push(run);
    }
    let started = Instant::now();
    for run in &runs {
        let view = wait_run(&host, run, Duration::from_secs(60)).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    }
    println!(
        "{RUNS} runs of 3 calls completed on a 3-node cluster with its stream leader killed; the last finished {:?} after the last was sent",
        started.elapsed()
    );
    let mut executions: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    for handled in log.all() {
        executions
            .entry((handled.run_id, handled.call))
            .or_default()
            .push(handled.attempt);
    }
    assert_eq!(executions.len(), RUNS * 3, "every call ran");
    let repeated: Vec<_> = executions.iter().filter(|(_, a)| a.len() > 1).collect();
    assert!(
        repeated.is_empty(),
        "calls executed more than once: {repeated:?}"
    );

    // Two of three nodes down: no quorum, no leader, not ready; back up: ready again.
    let survivor = (0..cluster.len())
        .find(|&i| cluster.node(i).pid().is_some())
        .unwrap();
    let down: Vec<usize> = (0..cluster.len()).filter(|&i| i != survivor).collect();
    for &i in &down {
        if cluster.node(i).pid().is_some() {
            cluster.node(i).kill().await;
        }
    }
    eventually(
        Duration::from_secs(30),
        "not ready without a leader",
        async || {
            host.services()
                .ready()
                .is_err_and(|why| why.contains("leader") || why.contains("not connected"))
        },
    )
    .await;
    for &i in &down {
        cluster.node(i).start_again().await;
    }
    eventually(Duration::from_secs(90), "ready again", async || {
        host.services().ready().is_ok()
    })
    .await;
    host.shutdown(Duration::from_secs(5)).await;
}
