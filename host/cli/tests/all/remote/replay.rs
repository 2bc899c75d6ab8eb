//! `hops replay`.

use serde_json::json;

use super::support::{hops, output, server};

#[test]
fn dry_run_prints_the_plan_and_starts_nothing() {
    let server = server();
    let id = server
        .host
        .start_run(json!({"n": 1, "hops": {"source": "me", "event": "push"}}))
        .unwrap();
    let out = output(hops(&server).args(["replay", &id, "--dry-run"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!(
            "dry run: replaying run {id} with the current pipelines would dispatch 1 call\n  main.first  echo.echo  {{\"n\":1}}\npipelines\n  running   main\ndiagnostics\n  warning: pipeline `broken`: unknown variable `nope`\n"
        )
    );
    assert_eq!(server.host.run_ids(), std::slice::from_ref(&id));

    let out = output(hops(&server).args(["replay", &id, "--dry-run", "--json"]));
    let plan = out.json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["run_id"], serde_json::Value::Null);
    assert_eq!(plan["calls"][0]["inputs"], json!({"n": 1}));
}

#[test]
fn replay_starts_a_new_run_and_can_wait_for_it() {
    let server = server();
    let id = server
        .host
        .start_run(json!({"hops": {"source": "me", "event": "push"}}))
        .unwrap();
    let out = output(hops(&server).args(["replay", &id]));
    assert_eq!(out.code, 0, "{out:?}");
    let ids = server.host.run_ids();
    assert_eq!(ids.len(), 2);
    assert_eq!(out.stdout.trim(), ids[1]);

    let out = output(hops(&server).args(["replay", &id, "--wait", "--json"]));
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["run_id"], server.host.run_ids()[2]);
    assert_eq!(json["status"], "completed");
}

#[test]
fn dry_run_and_wait_do_not_mix() {
    let server = server();
    let out = output(hops(&server).args(["replay", "x", "--dry-run", "--wait"]));
    assert_eq!(out.code, 2, "{out:?}");
}
