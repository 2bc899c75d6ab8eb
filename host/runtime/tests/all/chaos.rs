//! Chaos on a 3-node JetStream cluster (stream and consumers of three replicas): two host
//! replicas run 1,000 runs of three sequential calls; mid-flight one replica is killed (its
//! runtime dropped at once, like `kill -9`) together with the stream's leader node, then both
//! come back. Every run completes, every call runs once (a repeat only for a call in flight on
//! the killed replica, as attempt 2 or later), no consumer is left with pending work, and the
//! time to recover is printed. `HOPS_CHAOS_RUNS` sets the count (`scripts/chaos.sh`: larger).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use hops_api::{HostApi as _, RunStatus};
use hops_bus::WorkerConsumerOptions;
use hops_bus::{Bus, BusConfig};
use hops_runtime::{Host, Roles, RunnerOptions};
use hops_testutil::NatsCluster;
use serde_json::json;

use crate::harness::*;

const PIPELINES: &str = r#"
on step {
  call tools_sleep {
    name   = "a"
    inputs = { ms = 5 }
  }
  call tools_sleep {
    name   = "b"
    if     = a.completed
    inputs = { ms = 5 }
  }
  call tools_sleep {
    name   = "c"
    if     = b.completed
    inputs = { ms = 5 }
  }
}
"#;

fn runs() -> usize {
    std::env::var("HOPS_CHAOS_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

async fn cluster_bus(urls: &str) -> Arc<Bus> {
    let mut config = BusConfig::new(urls);
    config.stream_replicas = 3;
    Arc::new(Bus::connect(config).await.unwrap())
}

/// A host replica (runner and workers, no API) whose calls are recorded as handled by `tag`.
fn replica(urls: String, dir: std::path::PathBuf, log: CallLog, tag: &'static str) -> Killable {
    Killable::spawn(async move {
        let mut config = config(
            cluster_bus(&urls).await,
            &dir,
            tagged_workers(&["tools"], &log, tag),
        );
        config.roles = Roles {
            runner: true,
            workers: true,
            api: false,
        };
        // The production ack waits, not the tests' short ones: a host that keeps working on a
        // call while the cluster elects a new consumer leader (seconds) must keep its call.
        config.worker_consumer = WorkerConsumerOptions::default();
        config.runner = RunnerOptions::default();
        Host::start(config).await.unwrap()
    })
}

async fn stream_leader(bus: &Bus) -> Option<String> {
    let mut stream = bus.jetstream().get_stream(bus.stream_name()).await.ok()?;
    stream.info().await.ok()?.cluster.as_ref()?.leader.clone()
}

/// Sends event `i`, retrying while the cluster elects a leader.
async fn send_step(host: &Host, i: usize) -> String {
    let event = json!({"hops": {"source": "chaos", "event": "step"}, "i": i});
    send_retrying(host, event, format!("chaos-{i}"), Duration::from_secs(60)).await
}

/// Durable consumers of the stream that still have messages to deliver or unacknowledged ones.
async fn pending_consumers(bus: &Bus) -> Vec<String> {
    let Ok(stream) = bus.jetstream().get_stream(bus.stream_name()).await else {
        return vec!["(the stream is unreachable)".to_owned()];
    };
    let mut infos = stream.consumers();
    let mut busy = Vec::new();
    while let Some(info) = infos.next().await {
        match info {
            Ok(info) if info.num_pending > 0 || info.num_ack_pending > 0 => busy.push(format!(
                "{}: {} pending, {} unacknowledged",
                info.name, info.num_pending, info.num_ack_pending
            )),
            Ok(_) => {}
            Err(err) => busy.push(format!("(listing failed: {err})")),
        }
    }
    busy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_kill_a_replica_and_the_stream_leader_mid_flight() {
    hops_testutil::init_tracing();
    let runs = runs();
    let mut cluster = NatsCluster::start(3).await;
    let urls = cluster.urls();
    let bus = cluster_bus(&urls).await;
    eventually(
        Duration::from_secs(30),
        "the stream to be created",
        async || bus.ensure_stream().await.is_ok(),
    )
    .await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    // The observer sends and reads; it runs nothing.
    let mut observer_config = config(Arc::clone(&bus), dir.path(), workers(&[], &log));
    observer_config.roles = Roles {
        runner: false,
        workers: false,
        api: true,
    };
    let observer = Host::start(observer_config).await.unwrap();
    let first = replica(urls.clone(), dir.path().to_owned(), log.clone(), "a");
    let second = replica(urls.clone(), dir.path().to_owned(), log.clone(), "b");
    // Both replicas serve before anything is killed: warm-up runs until each has run calls
    // (a replica still connecting when the kill comes would make the kill test nothing).
    let mut warm = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let id = send_step(&observer, usize::MAX - warm.len()).await;
        let view = wait_run(&observer, &id, Duration::from_secs(60)).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        warm.push(id);
        let ran = |tag: &str| log.all().iter().any(|h| h.by == tag);
        if ran("a") && ran("b") {
            break;
        }
        assert!(Instant::now() < deadline, "replica a or b never ran a call");
    }

    let started = Instant::now();
    let mut ids = Vec::with_capacity(runs);
    let mut first = Some(first);
    let mut killed_at = None;
    let mut killed_node = None;
    let mut after_kill = None;
    let mut restarted = None;
    for i in 0..runs {
        if i == runs / 3 {
            let leader = stream_leader(&bus).await.expect("the stream has a leader");
            let node = cluster.index_of(&leader).expect("a node of the cluster");
            first.take().expect("replica a runs").kill();
            cluster.node(node).kill().await;
            killed_at = Some(Instant::now());
            killed_node = Some(node);
            println!(
                "chaos: killed replica a and the stream leader {leader} after {i} runs were sent"
            );
        }
        if i == 2 * runs / 3 {
            cluster
                .node(killed_node.expect("a node was killed"))
                .start_again()
                .await;
            restarted = Some(replica(
                urls.clone(),
                dir.path().to_owned(),
                log.clone(),
                "a2",
            ));
            println!("chaos: restarted replica a (as a2) and the node after {i} runs were sent");
        }
        let id = send_step(&observer, i).await;
        if killed_at.is_some() && after_kill.is_none() {
            after_kill = Some(id.clone());
        }
        ids.push(id);
    }
    let sent = started.elapsed();
    let killed_at = killed_at.expect("the kill happened");
    let probe = after_kill.expect("a run was sent after the kill");
    let probe_done = {
        let view = wait_run(&observer, &probe, Duration::from_secs(120)).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        killed_at.elapsed()
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    for id in &ids {
        loop {
            if let Ok(view) = observer.services().run(id).await
                && view.status.is_finished()
            {
                assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
                break;
            }
            if Instant::now() > deadline {
                let view = observer.services().run(id).await;
                panic!(
                    "run {id} did not finish; consumers with work: {:?}; {view:#?}",
                    pending_consumers(&bus).await
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let all_done = started.elapsed();

    // Each call once; a repeat only after an execution on the killed replica, as a later attempt.
    let mut executions: BTreeMap<(String, String), Vec<(u32, String)>> = BTreeMap::new();
    let measured: Vec<_> = log
        .all()
        .into_iter()
        .filter(|h| !warm.contains(&h.run_id))
        .collect();
    for handled in measured.iter().cloned() {
        executions
            .entry((handled.run_id, handled.call))
            .or_default()
            .push((handled.attempt, handled.by));
    }
    assert_eq!(executions.len(), runs * 3, "every call ran");
    let mut repeats = 0;
    for ((run, call), tries) in &executions {
        if tries.len() == 1 {
            continue;
        }
        repeats += 1;
        let (last, earlier) = tries.split_last().unwrap();
        assert!(
            earlier.iter().all(|(_, by)| by == "a"),
            "{run}/{call} repeated, but not after the killed replica: {tries:?}"
        );
        assert!(
            earlier.iter().all(|(attempt, _)| *attempt < last.0) && last.0 >= 2,
            "{run}/{call}: the repeat must be a later attempt: {tries:?}"
        );
    }
    let by_replica = |tag: &str| measured.iter().filter(|h| h.by == tag).count();
    assert!(
        by_replica("a") > 0,
        "replica a ran none of the runs before it was killed"
    );
    eventually(
        Duration::from_secs(30),
        "no consumer with pending work",
        async || pending_consumers(&bus).await.is_empty(),
    )
    .await;
    hops_testutil::report_figure(&format!(
        "chaos: {runs} runs x 3 calls on 2 replicas over a 3-node cluster: sent in {sent:?}, all completed {all_done:?} after the first was sent; \
         a run sent right after the kill completed {probe_done:?} after it (time to recover); \
         {repeats} calls repeated after the killed replica; calls by a/b/a2: {}/{}/{}",
        by_replica("a"),
        by_replica("b"),
        by_replica("a2"),
    ));
    second.kill();
    if let Some(replica) = restarted {
        replica.kill();
    }
    observer.shutdown(Duration::from_secs(5)).await;
}
