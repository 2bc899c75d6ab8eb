//! `GET /api/runs/{id}/live`: Server-Sent Events that follow a run until it ends.

use serde_json::{Value, json};

use crate::support::{get, http, start, start_with, token_config};

/// The `(event, data)` pairs of a finished SSE body.
fn events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(v.trim_start().to_owned());
                }
            }
            Some((event?, data.unwrap_or_default()))
        })
        .collect()
}

#[tokio::test]
async fn a_run_is_followed_until_it_ends() {
    let server = start().await;
    server.host.set_polls_until_done(3);
    let run = server
        .host
        .start_run(json!({"hops": {"source": "t", "event": "deploy"}}))
        .unwrap();
    let response = http()
        .get(server.at(&format!("/api/runs/{run}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), response.text())
        .await
        .expect("the stream ends with the run")
        .unwrap();
    let events = events(&body);
    let (last, rest) = events.split_last().unwrap();
    assert_eq!(last.0, "end", "{body}");
    assert_eq!(last.1, "run completed");
    let statuses: Vec<String> = rest
        .iter()
        .map(|(event, data)| {
            assert_eq!(event, "run");
            let view: Value = serde_json::from_str(data).unwrap();
            assert_eq!(view["run_id"], run.as_str());
            view["status"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        statuses.first().map(String::as_str),
        Some("running"),
        "{body}"
    );
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("completed"),
        "{body}"
    );
    // A view is sent only when it changed.
    assert!(statuses.len() <= 3, "{statuses:?}");
}

#[tokio::test]
async fn an_unknown_run_is_404_and_the_stream_needs_the_token() {
    let server = start().await;
    let (status, body) = get(&server, "/api/runs/nope/live").await;
    assert_eq!(status, 404, "{body}");
    let server = start_with(token_config("s3cret")).await;
    let run = server
        .host
        .start_run(json!({"hops": {"source": "t", "event": "deploy"}}))
        .unwrap();
    let refused = http()
        .get(server.at(&format!("/api/runs/{run}/live")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}
