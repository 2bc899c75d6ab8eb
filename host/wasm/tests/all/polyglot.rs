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
        format!("unknown handler \"nope\" of app {app}; handlers: echo, tag")
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
