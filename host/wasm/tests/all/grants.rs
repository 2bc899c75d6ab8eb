//! Capabilities: no files, no environment, outgoing HTTP only to granted hosts.

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::json;

use crate::harness::{Harness, reject_message};

/// A tiny HTTP/1.1 server on a free loopback port that answers `hello` to up to `max`
/// requests, then stops.
fn serve_hello(max: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\nConnection: close\r\n\r\nhello",
            );
        }
    });
    port
}

#[tokio::test]
async fn an_app_without_grants_cannot_read_files_env_or_reach_hosts() {
    let port = serve_hello(4);
    let h = Harness::new(&[("echo", None)]).await;
    let url = format!("http://127.0.0.1:{port}/");
    let message = reject_message(
        h.call(
            "echo",
            "escape",
            json!({"path": "/etc/passwd", "env": "PATH", "url": url}),
        )
        .await,
    );
    assert!(message.starts_with("denied: "), "{message}");
    assert!(message.contains("file /etc/passwd ("), "{message}");
    assert!(message.contains("env PATH ("), "{message}");
    assert!(
        message.contains(&format!("http {url} (denied by host)")),
        "{message}"
    );
}

#[tokio::test]
async fn a_granted_host_is_reachable_and_others_stay_denied() {
    let port = serve_hello(4);
    let other = serve_hello(1);
    let toml = format!("allowed-hosts = [\"127.0.0.1:{port}\"]");
    let h = Harness::new(&[("echo", Some(&toml))]).await;

    let url = format!("http://127.0.0.1:{port}/path?q=1");
    let out = h.call("echo", "fetch", json!({"url": url})).await.unwrap();
    assert_eq!(out.status_code, Some(200));
    assert_eq!(out.body, "hello");
    assert_eq!(out.headers.get("x-test").map(String::as_str), Some("yes"));
    assert_eq!(out.url.as_deref(), Some(url.as_str()));

    // Same host, other port: not granted.
    let denied = format!("http://127.0.0.1:{other}/");
    let message = reject_message(h.call("echo", "fetch", json!({"url": denied})).await);
    assert!(
        message.contains("denied: the app has no grant for this host"),
        "{message}"
    );
}
