//! Workers written in Python (componentize-py) and JavaScript (componentize-js), built from
//! `sdk/python/examples/pyecho` and `sdk/js/examples/jsecho` by `hops-test-plugins`, run
//! through the same `WasmWorker` as Rust apps.

use serde_json::json;

use crate::harness::{Harness, reject_message};

async fn check_example(app: &str, suffix: &str) {
    let h = Harness::new(&[(app, None)]).await;

    let inputs = json!({"text": "hi", "n": 3, "list": [true, null, 1.5], "nested": {"k": "v"}});
    let out = h.call(app, "echo", inputs.clone()).await.unwrap();
    assert_eq!(out.json, Some(inputs));
    assert_eq!(out.status_code, None);

    let out = h.call(app, "tag", json!({"text": "hello"})).await.unwrap();
    assert_eq!(out.json, Some(json!({"text": format!("hello{suffix}")})));

    let message = reject_message(h.call(app, "nope", json!({})).await);
    assert_eq!(
        message,
        format!("unknown handler \"nope\" of app {app}; handlers: echo, tag, fetch")
    );

    // A handler's own error is an errored result (reject), not a trap.
    let message = reject_message(h.call(app, "tag", json!({"text": 7})).await);
    assert_eq!(message, "inputs.text must be a string");
}

#[tokio::test]
async fn a_python_worker_echoes_tags_and_rejects_unknown_handlers() {
    check_example("pyecho", " (python)").await;
}

#[tokio::test]
async fn a_javascript_worker_echoes_tags_and_rejects_unknown_handlers() {
    check_example("jsecho", " (js)").await;
}

/// A one-shot HTTP server on a free loopback port: answers `body` to one request.
fn serve_once(body: &'static str) -> u16 {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

async fn check_fetch(app: &str) {
    let port = serve_once("from the server");
    let grant = format!("allowed-hosts = [\"127.0.0.1:{port}\"]\n");
    let h = Harness::new(&[(app, Some(&grant))]).await;
    let url = format!("http://127.0.0.1:{port}/x");
    let out = h.call(app, "fetch", json!({"url": url})).await.unwrap();
    assert_eq!(
        out.json,
        Some(json!({"status": 200, "body": "from the server"})),
        "{app}"
    );
    // A host outside the grant is refused.
    let other = serve_once("should not be reached");
    let denied = h
        .call(
            app,
            "fetch",
            json!({"url": format!("http://127.0.0.1:{other}/x")}),
        )
        .await;
    assert!(denied.is_err(), "{app}: {denied:?}");
}

#[tokio::test]
async fn a_python_worker_reaches_only_granted_hosts() {
    check_fetch("pyecho").await;
    let port = serve_once("x");
    let h = Harness::new(&[("pyecho", None)]).await;
    let message = reject_message(
        h.call(
            "pyecho",
            "fetch",
            json!({"url": format!("http://127.0.0.1:{port}/")}),
        )
        .await,
    );
    assert!(message.contains("denied"), "{message}");
}

#[tokio::test]
async fn a_javascript_worker_fetches_granted_hosts() {
    check_fetch("jsecho").await;
}
