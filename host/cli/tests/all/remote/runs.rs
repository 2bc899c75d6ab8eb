//! `hops runs list` and `hops runs show`.

use hops_api::testing::Recorded;
use serde_json::json;

use super::support::{hops, output, server};

#[test]
fn list_json_prints_the_runs_newest_first() {
    let server = server();
    let a = server
        .host
        .start_run(json!({"hops": {"source": "me", "event": "a"}}))
        .unwrap();
    let b = server
        .host
        .start_run(json!({"hops": {"source": "me", "event": "b", "action": "x"}}))
        .unwrap();
    let out = output(hops(&server).args(["runs", "list", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    let runs = out.json();
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()]);
    assert_eq!(runs[0]["action"], "x");
    assert_eq!(runs[0]["status"], "running");

    let out = output(hops(&server).args(["runs", "list", "--limit", "1", "--json"]));
    assert_eq!(out.json().as_array().unwrap().len(), 1);
    assert!(
        server
            .host
            .recorded()
            .contains(&Recorded::ListRuns { limit: 1 })
    );
}

#[test]
fn list_prints_a_table() {
    let server = server();
    let out = output(hops(&server).args(["runs", "list"]));
    assert_eq!(
        out.stdout.trim(),
        "no runs yet; start one with `hops run <task>` or `hops event send`"
    );
    let id = server
        .host
        .start_run(json!({"hops": {"source": "me", "event": "push"}}))
        .unwrap();
    let out = output(hops(&server).args(["runs", "list"]));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("RUN ID"), "{out:?}");
    assert!(
        lines[0].contains("STATUS") && lines[0].ends_with("DURATION"),
        "{out:?}"
    );
    assert!(
        lines[1].starts_with(&format!("{id}  running  me/push  ")),
        "{out:?}"
    );
}

#[test]
fn show_json_has_the_documented_shape() {
    let server = server();
    let id = server
        .host
        .start_run(json!({"n": 1, "hops": {"source": "me", "event": "push"}}))
        .unwrap();
    let out = output(hops(&server).args(["runs", "show", &id, "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    let run = out.json();
    let keys: Vec<&str> = run
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "run_id",
            "status",
            "event",
            "calls",
            "pipelines",
            "started_at",
            "finished_at",
            "error"
        ]
    );
    let call_keys: Vec<&str> = run["calls"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        call_keys,
        [
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
            "attempts"
        ]
    );
    assert_eq!(
        run["pipelines"],
        json!([{"name": "main", "status": "running"}])
    );
    assert_eq!(run["event"]["n"], 1);
}

#[test]
fn show_prints_the_timeline() {
    let server = server();
    let id = server
        .host
        .start_run(json!({"n": 1, "waiting_app": "slack", "hops": {"source": "me", "event": "push", "action": "x"}}))
        .unwrap();
    let out = output(hops(&server).args(["runs", "show", &id]));
    assert_eq!(out.code, 0, "{out:?}");
    let text = out.stdout;
    assert!(text.starts_with(&format!("run {id}  running\n")), "{text}");
    assert!(
        text.contains("event   me/push/x   {\"n\":1,\"waiting_app\":\"slack\"}\n"),
        "{text}"
    );
    assert!(text.contains("  completed main.first  echo.echo  12ms\n      inputs {\"n\":1,\"waiting_app\":\"slack\"}\n      result {\"n\":1,\"waiting_app\":\"slack\"}\n"), "{text}");
    assert!(
        text.contains("  pending   main.second  echo.echo\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  waiting   main.notify  slack.post  waiting for app slack (no worker serves it)\n"
        ),
        "{text}"
    );
    assert!(text.contains("pipelines\n  running   main"), "{text}");
}

#[test]
fn show_of_an_unknown_run_fails() {
    let server = server();
    let out = output(hops(&server).args(["runs", "show", "nope"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: cannot show run nope: no run `nope`"
    );
}

#[test]
fn follow_prints_changes_until_the_run_ends() {
    let server = server();
    let id = server
        .host
        .start_run(json!({"fail": true, "hops": {"source": "me", "event": "push"}}))
        .unwrap();
    let out = output(hops(&server).args(["runs", "show", &id, "--follow"]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("following…\n  errored   main.second  echo.echo  12ms\n      error  boom"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("run {id}  errored  (42ms)\n  errored   main")),
        "{out:?}"
    );

    let done = server
        .host
        .start_run(json!({"hops": {"source": "me", "event": "push"}}))
        .unwrap();
    let out = output(hops(&server).args(["runs", "show", &done, "--follow", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["status"], "completed");
}

#[test]
fn list_filters_by_status_and_task() {
    let server = server();
    server.host.set_polls_until_done(0);
    let failed = server
        .host
        .start_run(json!({"fail": true, "hops": {"source": "me", "event": "push"}}))
        .unwrap();
    server
        .host
        .start_run(json!({"hops": {"source": "hiphops", "event": "task", "action": "ping"}}))
        .unwrap();
    let out = output(hops(&server).args(["runs", "list", "--status", "errored", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    let runs = out.json();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["run_id"], failed.as_str());
    let out = output(hops(&server).args(["runs", "list", "--task", "ping", "--json"]));
    assert_eq!(out.json()[0]["action"], "ping");
    let out = output(hops(&server).args(["runs", "list", "--status", "done"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("running, completed, errored"),
        "{out:?}"
    );
}
