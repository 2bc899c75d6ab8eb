//! A replicated stream on a 3-node JetStream cluster: created with three replicas, written
//! and read through any node, and still exactly-once when its leader is killed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hops_bus::{Bus, BusConfig, Channels, StreamStatus};
use hops_testutil::NatsCluster;

use crate::common::run_id;

async fn leader(bus: &Bus) -> Option<String> {
    let mut stream = bus.jetstream().get_stream(bus.stream_name()).await.ok()?;
    let info = stream.info().await.ok()?;
    info.cluster.as_ref()?.leader.clone()
}

/// Retries `publish_once` while the cluster elects a leader; returns whether it was new.
async fn publish_until_stored(bus: &Bus, subject: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match bus
            .publish_once(subject, Bytes::from(subject.to_owned()))
            .await
        {
            Ok(published) => return !published.duplicate,
            Err(err) if Instant::now() < deadline => {
                tracing::debug!(error = %err, "not stored yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => panic!("{subject} not stored within {within:?}: {err}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_stream_survives_its_leader_and_stays_exactly_once() {
    hops_testutil::init_tracing();
    let mut cluster = NatsCluster::start(3).await;
    let mut config = BusConfig::new(cluster.urls());
    config.stream_replicas = 3;
    config.request_timeout = Duration::from_secs(5);
    let bus = Bus::connect(config).await.unwrap();
    // The meta leader is elected a moment after the nodes are up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        match bus.ensure_stream().await {
            Ok(status) => break status,
            Err(err) if Instant::now() < deadline => {
                tracing::debug!(error = %err, "stream not created yet");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => panic!("no stream on the cluster: {err}"),
        }
    };
    assert_eq!(status, StreamStatus::Created);
    let mut stream = bus.jetstream().get_stream(bus.stream_name()).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.config.num_replicas, 3);
    assert!(info.config.allow_direct, "direct gets are allowed on R3");
    assert!(bus.reads_directly());

    let run = run_id();
    let s = bus.subjects();
    let before = [s.event(&run).unwrap(), s.pin(&run).unwrap()];
    for subject in &before {
        assert!(publish_until_stored(&bus, subject, Duration::from_secs(10)).await);
    }

    let leader_name = leader(&bus).await.expect("the stream has a leader");
    let killed = cluster
        .index_of(&leader_name)
        .expect("a node of this cluster");
    cluster.node(killed).kill().await;
    let killed_at = Instant::now();

    // A new leader takes over; what was stored is still there, and still stored once.
    let result = s.result(&run, "p0-echo_echo0").unwrap();
    assert!(publish_until_stored(&bus, &result, Duration::from_secs(30)).await);
    let recovered = killed_at.elapsed();
    for subject in &before {
        assert!(
            !publish_until_stored(&bus, subject, Duration::from_secs(10)).await,
            "{subject} was stored a second time after the leader changed"
        );
    }
    let new_leader = leader(&bus).await.expect("a new leader");
    assert_ne!(new_leader, leader_name);
    let read = bus.read_run(&run, Channels::All).await.unwrap();
    assert_eq!(read.len(), 3, "{read:?}");
    assert!(
        bus.reads_directly(),
        "a run was read with direct gets, not the leader's get"
    );
    let last = bus.read_last(&result).await.unwrap().expect("the result");
    assert_eq!(last.payload, Bytes::from(result.clone()));
    hops_testutil::report_figure(&format!(
        "cluster: stream leader {leader_name} killed: writes stored again after {recovered:?} (new leader {new_leader})"
    ));

    // The killed node comes back and catches up.
    cluster.node(killed).start_again().await;
    let done = s.done(&run, "p0").unwrap();
    assert!(publish_until_stored(&bus, &done, Duration::from_secs(30)).await);
    // A follower may lag behind what the leader stored a moment ago, so a read of the run may
    // too — but it catches up, and the checks that decide whether a call runs ask the leader.
    let deadline = Instant::now() + Duration::from_secs(10);
    while bus.read_run(&run, Channels::All).await.unwrap().len() < 4 {
        assert!(Instant::now() < deadline, "the run's reads never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(bus.has_message(&done).await.unwrap());
    assert!(bus.reads_directly());
}
