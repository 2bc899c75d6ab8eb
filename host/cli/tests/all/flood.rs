//! Flood and backpressure against a real `hops up`: 10,000 events stored in the stream at once.
//! The runner pulls no more than `--max-in-flight` at a time, so memory stays bounded while the
//! backlog waits in JetStream; every run completes, none is lost. Prints the time and the
//! host's peak RSS. `HOPS_FLOOD_EVENTS` sets the count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use hops_bus::{Bus, BusConfig};

use crate::up::Up;

const PIPELINE: &str = r#"
on flood {
  call echo_echo {
    inputs = { i = event.i }
  }
}
"#;

/// Peak resident memory of a process (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

#[test]
fn ten_thousand_events_at_once_all_complete_with_bounded_memory() {
    let events: usize = std::env::var("HOPS_FLOOD_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::write(dir.path().join("p/main.hops"), PIPELINE).unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        hops_test_plugins::ECHO,
        dir.path().join("plugins/echo.wasm"),
    )
    .unwrap();
    // No per-pipeline run rate: the flood is the point; the runner's pull limit is the brake.
    let up = Up::start_with(
        dir.path(),
        &[
            ("HOPS_MAX_RUNS_PER_SECOND", "0"),
            ("HOPS_MAX_IN_FLIGHT", "64"),
        ],
    );
    let pid = up.pid();
    let before = peak_rss_mib(pid);
    let url = up.nats_url();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (published, all_done, errored) = runtime.block_on(async move {
        let bus = Arc::new(Bus::connect(BusConfig::new(url)).await.unwrap());
        let started = Instant::now();
        let ids: Vec<String> = (0..events).map(|i| format!("flood-{i:06}")).collect();
        let stored = futures::stream::iter(ids.iter().enumerate())
            .map(|(i, id)| {
                let bus = Arc::clone(&bus);
                async move {
                    let subject = bus.subjects().event(id).unwrap();
                    let event =
                        format!(r#"{{"hops":{{"source":"flood","event":"flood"}},"i":{i}}}"#);
                    bus.publish_once(&subject, Bytes::from(event))
                        .await
                        .unwrap();
                }
            })
            .buffer_unordered(512)
            .count()
            .await;
        assert_eq!(stored, events);
        let published = started.elapsed();
        // Every run ends with its run marker; none may be missing or errored.
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut pending: Vec<String> = ids;
        let mut errored = Vec::new();
        while !pending.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{} of {events} runs did not finish within 10 minutes, e.g. {:?}",
                pending.len(),
                &pending[..pending.len().min(5)]
            );
            let mut still = Vec::new();
            let checks = futures::stream::iter(pending)
                .map(|id| {
                    let bus = Arc::clone(&bus);
                    async move {
                        let subject = bus.subjects().done(&id, "hops").unwrap();
                        let marker = bus.read_last(&subject).await.unwrap();
                        (id, marker)
                    }
                })
                .buffer_unordered(256)
                .collect::<Vec<_>>()
                .await;
            for (id, marker) in checks {
                match marker {
                    None => still.push(id),
                    Some(marker) => {
                        let done: serde_json::Value =
                            serde_json::from_slice(&marker.payload).unwrap();
                        if done["errored"] != false {
                            errored.push((id, done));
                        }
                    }
                }
            }
            pending = still;
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        (published, started.elapsed(), errored)
    });
    assert!(
        errored.is_empty(),
        "errored runs: {:?}",
        &errored[..errored.len().min(5)]
    );
    let peak = peak_rss_mib(pid);
    hops_testutil::report_figure(&format!(
        "flood: {events} events stored in {published:?}; all {events} runs completed {all_done:?} after the first was stored \
         ({:.0} runs/s); host peak RSS {peak} MiB (before the flood: {before} MiB), --max-in-flight 64",
        events as f64 / all_done.as_secs_f64()
    ));
    // Bounded: the backlog stays in JetStream. 10,000 runs held in memory at once would show.
    assert!(
        peak < before + 400,
        "peak RSS {peak} MiB (before: {before} MiB)"
    );
    up.terminate();
}
