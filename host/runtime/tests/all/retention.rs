//! Retention: `purge_runs` removes runs that ended before the cutoff — their messages and the
//! payload objects they reference — and never a run still going, which then completes with
//! each of its calls run once.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use hops_api::{ApiError, HostApi as _, RunStatus};
use hops_bus::{Bus, BusConfig, PAYLOADS_BUCKET};
use hops_runtime::Host;
use hops_testutil::NatsServer;
use serde_json::json;

use crate::harness::*;

const PIPELINES: &str = r#"
on quick {
  call tools_echo {
    name = "a"
    inputs = { blob = event.blob }
  }
}

on slow {
  call tools_sleep {
    name = "s"
    inputs = { ms = 2000 }
  }
}
"#;

async fn payload_objects(bus: &Bus) -> usize {
    let js = async_nats::jetstream::new(bus.client().clone());
    let Ok(store) = js.get_object_store(PAYLOADS_BUCKET).await else {
        return 0;
    };
    let mut list = store.list().await.unwrap();
    let mut n = 0;
    while let Some(object) = list.next().await {
        object.unwrap();
        n += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_runs_are_purged_with_their_payloads_and_a_run_still_going_is_not() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = pipelines("p", PIPELINES);
    let log = CallLog::default();
    // Payloads over 1 KiB go to the object store, so a purge has objects to remove.
    let mut bus_config = BusConfig::new(nats.url());
    bus_config.payload_inline_max = Some(1024);
    let bus = Arc::new(Bus::connect(bus_config).await.unwrap());
    let host = Host::start(config(
        Arc::clone(&bus),
        dir.path(),
        workers(&["tools"], &log),
    ))
    .await
    .unwrap();
    let services = host.services();

    let blob = "x".repeat(4000);
    let mut quick = Vec::new();
    for _ in 0..3 {
        let run = send(
            &host,
            json!({"blob": blob, "hops": {"source": "t", "event": "quick"}}),
        )
        .await;
        let view = wait_run(&host, &run, Duration::from_secs(20)).await;
        assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
        quick.push(run);
    }
    // Each quick run stored its event, request and result in the object store.
    assert_eq!(payload_objects(&bus).await, 9);
    let slow = send(&host, json!({"hops": {"source": "t", "event": "slow"}})).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !log.of_run(&slow).iter().any(|h| h.handler == "sleep") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow call never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let dry = services.purge_runs(Duration::ZERO, true).await.unwrap();
    assert_eq!((dry.dry_run, dry.runs, dry.messages), (true, 3, 0));
    assert!(
        services.run(&quick[0]).await.is_ok(),
        "a dry run removes nothing"
    );
    // Nothing ended an hour ago.
    let none = services
        .purge_runs(Duration::from_secs(3600), false)
        .await
        .unwrap();
    assert_eq!((none.runs, none.messages), (0, 0));

    let report = services.purge_runs(Duration::ZERO, false).await.unwrap();
    assert_eq!(report.runs, 3, "{report:?}");
    // Event, pin, request, result, the pipeline's and the run's done markers.
    assert_eq!(report.messages, 3 * 6, "{report:?}");
    for run in &quick {
        assert!(
            matches!(services.run(run).await, Err(ApiError::NotFound(_))),
            "purged run {run} is gone"
        );
    }
    assert_eq!(
        payload_objects(&bus).await,
        0,
        "their payload objects went too"
    );

    // The run that was going when the purge ran finishes, its call run once.
    let view = wait_run(&host, &slow, Duration::from_secs(20)).await;
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(log.of_run(&slow).len(), 1);
    // New runs work as before, and only the slow run is left to purge.
    let again = send(
        &host,
        json!({"blob": "small", "hops": {"source": "t", "event": "quick"}}),
    )
    .await;
    assert_eq!(
        wait_run(&host, &again, Duration::from_secs(20))
            .await
            .status,
        RunStatus::Completed
    );
    let left = services.purge_runs(Duration::ZERO, true).await.unwrap();
    assert_eq!(left.runs, 2, "the slow run and the new one");
    host.shutdown(Duration::from_secs(5)).await;
}
