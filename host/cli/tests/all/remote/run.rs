//! `hops run`.

use hops_api::ApiConfig;
use serde_json::json;

use super::support::{closed_port, hops, output, server, server_with, task_runs};

#[test]
fn converts_params_to_the_declared_types_and_prints_the_run_id() {
    let server = server();
    let out = output(hops(&server).args([
        "run",
        "deploy",
        "-p",
        "service=billing",
        "--param",
        "replicas=3",
        "-p",
        "dry_run=yes",
        "-p",
        "notes=two words",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), server.host.run_ids()[0]);
    let runs = task_runs(&server);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "deploy");
    assert_eq!(
        serde_json::Value::Object(runs[0].1.clone()),
        json!({"service": "billing", "replicas": 3, "dry_run": true, "notes": "two words"})
    );
}

#[test]
fn json_without_wait_reports_the_run_as_running() {
    let server = server();
    let out = output(hops(&server).args(["run", "ping", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.json(),
        json!({"run_id": server.host.run_ids()[0], "status": "running"})
    );
}

#[test]
fn unknown_params_and_tasks_are_errors_that_list_the_known_ones() {
    let server = server();
    let out = output(hops(&server).args(["run", "deploy", "-p", "color=red"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: task `deploy` has no parameter `color`; its parameters: service, replicas, dry_run, fail, notes"
    );
    let out = output(hops(&server).args(["run", "nope"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: no task named `nope`; known tasks: deploy, ping"
    );
    let out = output(hops(&server).args(["run", "deploy", "-p", "replicas=three"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: parameter `replicas` is a number; `three` is not one"
    );
    let out = output(hops(&server).args(["run", "deploy", "-p", "dry_run=maybe"]));
    assert!(
        out.stderr.contains("parameter `dry_run` is a bool"),
        "{out:?}"
    );
    assert!(task_runs(&server).is_empty(), "nothing was started");
}

#[test]
fn the_hosts_field_errors_are_shown() {
    let server = server();
    let out = output(hops(&server).args(["run", "deploy", "-p", "replicas=2"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: cannot run task `deploy`: invalid inputs for deploy (service: Required)"
    );
}

#[test]
fn wait_json_exits_zero_for_a_completed_run() {
    let server = server();
    let out = output(hops(&server).args(["run", "deploy", "-p", "service=a", "--wait", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1, "exactly one object: {out:?}");
    let json = out.json();
    assert_eq!(json["run_id"], server.host.run_ids()[0]);
    assert_eq!(json["status"], "completed");
    assert_eq!(json["error"], serde_json::Value::Null);
    assert!(
        json["calls"].as_array().is_some_and(|c| !c.is_empty()),
        "{json}"
    );
}

#[test]
fn wait_json_exits_one_for_an_errored_run() {
    let server = server();
    let out = output(hops(&server).args([
        "run",
        "deploy",
        "-p",
        "service=a",
        "-p",
        "fail=true",
        "--wait",
        "--json",
    ]));
    assert_eq!(out.code, 1, "{out:?}");
    let json = out.json();
    assert_eq!(json["run_id"], server.host.run_ids()[0]);
    assert_eq!(json["status"], "errored");
    // The reasons come along: the run's error (a key, even when the host gave none) and the
    // failed call's.
    assert!(json.get("error").is_some(), "{json}");
    let failed: Vec<_> = json["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "errored")
        .collect();
    assert!(
        !failed.is_empty() && failed.iter().all(|c| c["error"].is_string()),
        "{json}"
    );
}

#[test]
fn wait_prints_calls_as_they_finish_and_the_outcome() {
    let server = server();
    server.host.set_hidden_polls(2);
    let out =
        output(hops(&server).args(["run", "deploy", "-p", "service=a", "-p", "fail=1", "--wait"]));
    assert_eq!(out.code, 1, "{out:?}");
    let id = &server.host.run_ids()[0];
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("run {id}"));
    assert_eq!(lines[1], "  completed main.first  echo.echo  12ms");
    assert_eq!(lines[2], "  errored   main.second  echo.echo  12ms");
    assert_eq!(lines[3], "      error  boom: the fake failed this run");
    assert_eq!(lines[4], format!("run {id}  errored  (42ms)"));
}

#[test]
fn wait_gives_up_after_the_timeout_with_exit_three() {
    let server = server();
    server.host.set_polls_until_done(u32::MAX);
    let out = output(hops(&server).args(["run", "ping", "--wait", "--timeout", "300ms", "--json"]));
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.json()["status"], "running");
    assert!(
        out.stderr.contains("timed out after 300ms waiting for run"),
        "{out:?}"
    );
}

#[test]
fn the_token_comes_from_the_environment() {
    let server = server_with(ApiConfig {
        token: Some("s3cret".into()),
        ..ApiConfig::default()
    });
    let out = output(hops(&server).args(["run", "ping"]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("set HOPS_API_TOKEN"), "{out:?}");
    let out = output(
        hops(&server)
            .env("HOPS_API_TOKEN", "s3cret")
            .args(["run", "ping"]),
    );
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn an_unreachable_host_says_what_to_do() {
    let server = server();
    let url = format!("http://127.0.0.1:{}", closed_port());
    let out = output(hops(&server).args(["run", "ping", "--api", &url]));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "error: cannot list the host's tasks: cannot reach the Hops host at {url}: connection refused — is `hops up` running? (set --api or HOPS_API)"
        )
    );
}
