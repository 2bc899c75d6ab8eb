//! Slow and idle clients: a request head or body that does not arrive in time is cut off,
//! and connections over the limit are answered 503 instead of queueing without end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hops_api::testing::FakeHost;
use hops_api::{ApiConfig, ServeLimits};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn start(limits: ServeLimits) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = hops_api::router(Arc::new(FakeHost::new()), ApiConfig::default());
    tokio::spawn(hops_api::serve_with(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Reads until the server closes the connection (or `within` passes); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

fn limits() -> ServeLimits {
    ServeLimits {
        header_read_timeout: Duration::from_millis(500),
        body_read_timeout: Duration::from_millis(500),
        max_connections: 3,
        ..ServeLimits::default()
    }
}

#[tokio::test]
async fn a_slow_or_idle_client_is_cut_off() {
    let (addr, _stop) = start(limits()).await;
    // Slow loris: half a request head, then nothing.
    let mut loris = TcpStream::connect(addr).await.unwrap();
    loris
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(
        read_until_closed(&mut loris, Duration::from_secs(5))
            .await
            .is_some(),
        "the connection is closed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A body that never comes: the request ends with an error answer, not a hang.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"hops\":",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    let answer = answer.expect("the server answers or closes within the body timeout");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );

    // An idle keep-alive connection closes after the head timeout too.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let first = read_until_closed(&mut idle, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
}

#[tokio::test]
async fn connections_over_the_limit_are_answered_503_and_served_again_once_free() {
    let (addr, _stop) = start(ServeLimits {
        header_read_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let stream = TcpStream::connect(addr).await.unwrap();
        held.push(stream);
    }
    // Let the server accept them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let answer = read_until_closed(&mut extra, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = reqwest::get(format!("http://{addr}/health"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}
