//! `GET /api/runs`, `GET /api/runs/{id}`, `POST /api/runs/{id}/replay`, `GET /api/apps`.

use hops_api::testing::Recorded;
use serde_json::{Value, json};

use crate::support::{get, post, start};

fn event(n: u32) -> Value {
    json!({"n": n, "hops": {"source": "me", "event": "deploy", "action": "started"}})
}

#[tokio::test]
async fn lists_runs_newest_first_with_a_bounded_limit() {
    let server = start().await;
    let ids: Vec<String> = (0..3)
        .map(|n| server.host.start_run(event(n)).unwrap())
        .collect();
    let (status, runs) = get(&server, "/api/runs").await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]);
    let first = runs[0].as_object().unwrap();
    for key in [
        "run_id",
        "status",
        "source",
        "event",
        "action",
        "started_at",
        "finished_at",
        "error",
    ] {
        assert!(first.contains_key(key), "{key} in {first:?}");
    }
    assert_eq!(runs[0]["status"], "running");
    assert_eq!(runs[0]["event"], "deploy");

    let (_, one) = get(&server, "/api/runs?limit=1").await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    get(&server, "/api/runs?limit=500").await;
    let limits: Vec<usize> = server
        .host
        .recorded()
        .into_iter()
        .filter_map(|r| match r {
            Recorded::ListRuns { limit } => Some(limit),
            _ => None,
        })
        .collect();
    assert_eq!(limits, [20, 1, 500]);

    for bad in ["limit=abc", "limit=0", "limit=-1", "limit=501"] {
        let (status, body) = get(&server, &format!("/api/runs?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(
            body["message"].as_str().unwrap().contains("limit must be"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn shows_a_run_timeline_in_the_documented_shape() {
    let server = start().await;
    let id = server.host.start_run(event(1)).unwrap();
    let (status, run) = get(&server, &format!("/api/runs/{id}")).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["run_id"], id.as_str());
    assert_eq!(run["status"], "running");
    assert_eq!(run["event"], event(1));
    assert_eq!(
        run["pipelines"],
        json!([{"name": "main", "status": "running"}])
    );
    let call = run["calls"][0].as_object().unwrap();
    for key in [
        "name",
        "pipeline",
        "app",
        "handler",
        "status",
        "inputs",
        "result",
        "error",
        "started_at",
        "finished_at",
        "duration_ms",
        "waiting_for",
        "attempts",
    ] {
        assert!(call.contains_key(key), "{key} in {call:?}");
    }
    assert_eq!(run["calls"][0]["status"], "completed");
    assert_eq!(run["calls"][1]["status"], "pending");
    assert_eq!(run["calls"][1]["result"], Value::Null);
    // The fake ends runs after three fetches.
    get(&server, &format!("/api/runs/{id}")).await;
    let (_, done) = get(&server, &format!("/api/runs/{id}")).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["calls"][1]["result"], json!({"ok": true}));
}

#[tokio::test]
async fn an_unknown_run_is_404() {
    let server = start().await;
    let (status, body) = get(&server, "/api/runs/nope").await;
    assert_eq!((status, body), (404, json!({"message": "no run `nope`"})));
    let (status, _) = post(&server, "/api/runs/nope/replay?dry_run=true", "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_dry_run_replay_plans_calls_without_starting_a_run() {
    let server = start().await;
    let id = server.host.start_run(event(1)).unwrap();
    let (status, outcome) = post(&server, &format!("/api/runs/{id}/replay?dry_run=true"), "").await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["dry_run"], true);
    assert_eq!(outcome["run_id"], Value::Null);
    assert_eq!(
        outcome["calls"],
        json!([{"pipeline": "main", "name": "first", "app": "echo", "handler": "echo", "inputs": {"n": 1}}])
    );
    assert_eq!(
        outcome["diagnostics"][0],
        "pipeline `broken`: unknown variable `nope`"
    );
    assert_eq!(server.host.run_ids().len(), 1);
}

#[tokio::test]
async fn a_replay_starts_a_new_run() {
    let server = start().await;
    let id = server.host.start_run(event(1)).unwrap();
    let (status, outcome) = post(&server, &format!("/api/runs/{id}/replay"), "").await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["dry_run"], false);
    let new_run = outcome["run_id"].as_str().unwrap();
    assert_eq!(server.host.run_ids(), [id.as_str(), new_run]);
    let (status, body) = post(&server, &format!("/api/runs/{id}/replay?dry_run=maybe"), "").await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("dry_run must be"),
        "{body}"
    );
}

#[tokio::test]
async fn apps_are_passed_through() {
    let server = start().await;
    let (status, plugins) = get(&server, "/api/apps").await;
    assert_eq!(
        get(&server, "/api/plugins").await.1,
        plugins,
        "the old route still answers"
    );
    assert_eq!(status, 200);
    assert_eq!(plugins[0]["name"], "echo");
}

#[tokio::test]
async fn purge_needs_a_duration_and_passes_it_and_dry_run_on() {
    let server = start().await;
    server.host.start_run(event(1)).unwrap();
    let (status, body) = post(&server, "/api/runs/purge", "").await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("older_than is required"),
        "{body}"
    );
    let (status, body) = post(&server, "/api/runs/purge?older_than=soon", "").await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("such as `30d`"),
        "{body}"
    );
    let (status, body) = post(&server, "/api/runs/purge?older_than=1d&dry_run=maybe", "").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("dry_run must be true or false, got `maybe`"))
    );

    let (status, report) = post(&server, "/api/runs/purge?older_than=30d&dry_run=true", "").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["dry_run"].as_bool(), report["runs"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(server.host.run_ids().len(), 1, "a dry run removes nothing");
    let (status, report) = post(&server, "/api/runs/purge?older_than=30d", "").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["dry_run"], false);
    assert!(server.host.run_ids().is_empty());
    assert!(server.host.recorded().contains(&Recorded::Purge {
        older_than: std::time::Duration::from_secs(30 * 86_400),
        dry_run: false,
    }));
}

#[tokio::test]
async fn runs_are_filtered_by_status_and_task() {
    let server = start().await;
    server.host.set_polls_until_done(0);
    let (status, _) = post(&server, "/api/tasks/ping/runs", "").await;
    assert_eq!(status, 202);
    server
        .host
        .start_run(json!({"fail": true, "hops": {"source": "t", "event": "push"}}))
        .unwrap();
    let (status, errored) = get(&server, "/api/runs?status=errored").await;
    assert_eq!(status, 200);
    assert_eq!(errored.as_array().unwrap().len(), 1);
    assert_eq!(errored[0]["event"], "push");
    let (_, pings) = get(&server, "/api/runs?task=ping").await;
    assert_eq!(pings.as_array().unwrap().len(), 1);
    assert_eq!(pings[0]["action"], "ping");
    let (_, none) = get(&server, "/api/runs?task=deploy&status=completed").await;
    assert_eq!(none, json!([]));
    for bad in ["status=done", "task=a%20b", "before=0", "before=x"] {
        let (status, body) = get(&server, &format!("/api/runs?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}
