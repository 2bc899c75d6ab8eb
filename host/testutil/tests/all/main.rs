//! Tests of the test harness itself: servers start, restart on the same port, and go away.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Duration;

use hops_testutil::{NatsServer, free_port, init_tracing};

fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(") ")
            .is_some_and(|(_, s)| s.starts_with('Z'))
    })
}

#[tokio::test]
async fn a_server_starts_restarts_on_its_port_and_stops() {
    init_tracing();
    init_tracing(); // twice is fine
    let mut server = NatsServer::start().await;
    let (port, pid) = (server.port(), server.pid().unwrap());
    assert_eq!(server.url(), format!("nats://127.0.0.1:{port}"));
    async_nats::connect(server.url()).await.unwrap();

    server.restart().await;
    assert_eq!(server.port(), port);
    assert!(!running(pid), "the old process is gone");
    let client = async_nats::connect(server.url()).await.unwrap();
    client.flush().await.unwrap();

    let pid = server.pid().unwrap();
    server.stop().await;
    assert!(!running(pid));
    assert!(server.pid().is_none());
}

#[tokio::test]
async fn dropping_a_server_kills_it_and_removes_its_directory() {
    let server = NatsServer::start().await;
    let (pid, dir) = (server.pid().unwrap(), server.dir().to_owned());
    assert!(dir.join("data/jetstream").is_dir());
    drop(server);
    for _ in 0..100 {
        if !running(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!running(pid));
    assert!(!dir.exists());
}

#[tokio::test]
async fn a_token_server_refuses_clients_without_it() {
    let server = NatsServer::with_token("s3cret").await;
    assert!(async_nats::connect(server.url()).await.is_err());
    async_nats::ConnectOptions::with_token("s3cret".into())
        .connect(server.url())
        .await
        .unwrap();
}

#[test]
fn free_ports_are_bindable() {
    let port = free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}
