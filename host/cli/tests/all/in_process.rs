//! A whole host in this process, wired the way `hops up` wires it: a real nats-server, real
//! wasm components from a plugins directory (`AppsDir`), and a `Host` — including an app file
//! dropped into the directory while a run waits for it.

use std::sync::Arc;
use std::time::Duration;

use hops_api::{HostApi as _, RunStatus};
use hops_bus::{Bus, BusConfig};
use hops_core::{EventSink, Listeners, Workers};
use hops_runtime::{BusEvents, Host, HostConfig};
use hops_testutil::NatsServer;
use hops_wasm::{AppsDir, AppsDirOptions};
use serde_json::json;

const PIPELINES: &str = r#"
on shout {
  name = "shout"
  call echo_echo {
    name   = "first"
    inputs = { text = event.text }
  }
  call upper_upper {
    name   = "loud"
    if     = first.completed
    inputs = { text = first.json.text }
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_in_process_serves_wasm_apps_and_picks_up_a_dropped_file() {
    hops_testutil::init_tracing();
    let nats = NatsServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::write(dir.path().join("p/main.hops"), PIPELINES).unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(hops_test_plugins::ECHO, plugins.join("echo.wasm")).unwrap();

    let bus = Arc::new(Bus::connect(BusConfig::new(nats.url())).await.unwrap());
    let sink: Arc<dyn EventSink> = Arc::new(BusEvents(Arc::clone(&bus)));
    let (workers, listeners) = (Workers::new(), Listeners::new());
    let apps = AppsDir::open(
        AppsDirOptions {
            cache_dir: Some(crate::up::shared_cache()),
            event_sink: Some(sink),
            ..AppsDirOptions::new(&plugins)
        },
        &workers,
        &listeners,
    )
    .await
    .unwrap();
    let mut config = HostConfig::new(Arc::clone(&bus), dir.path());
    config.workers = workers;
    config.listeners = listeners;
    config.app_listing = Some(apps.listing());
    let host = Host::start(config).await.unwrap();
    let services = host.services();

    let run = services
        .send_event(
            json!({"text": "hi", "hops": {"source": "t", "event": "shout"}}),
            None,
        )
        .await
        .unwrap()
        .run_id;
    // The first call runs on echo.wasm; the second waits for an app nobody serves yet.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let view = services.run(&run).await.unwrap();
        if let Some(why) = view.calls.get(1).and_then(|c| c.waiting_for.clone()) {
            assert!(why.contains("upper"), "{why}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{view:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Drop upper.wasm into the running host's directory (written elsewhere, then renamed in).
    let staged = dir.path().join("upper.wasm.part");
    std::fs::copy(hops_test_plugins::UPPER, &staged).unwrap();
    std::fs::rename(&staged, plugins.join("upper.wasm")).unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let view = loop {
        let view = services.run(&run).await.unwrap();
        if view.status.is_finished() {
            break view;
        }
        assert!(tokio::time::Instant::now() < deadline, "{view:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(view.status, RunStatus::Completed, "{view:#?}");
    assert_eq!(
        view.calls[1].result.as_ref().map(|r| &r["text"]),
        Some(&json!("HI")),
        "{view:#?}"
    );
    let listed = apps.list();
    assert!(
        listed.iter().any(|a| a.name == "upper" && a.serving),
        "{listed:#?}"
    );
    host.shutdown(Duration::from_secs(5)).await;
}
