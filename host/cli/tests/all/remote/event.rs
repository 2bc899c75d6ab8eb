//! `hops event send`.

use hops_api::testing::Recorded;
use serde_json::{Value, json};

use super::support::{hops, output, output_with_stdin, server};

fn events(server: &hops_api::testing::FakeServer) -> Vec<(Value, Option<String>)> {
    server
        .host
        .recorded()
        .into_iter()
        .filter_map(|r| match r {
            Recorded::Event { event, dedup } => Some((event, dedup)),
            _ => None,
        })
        .collect()
}

#[test]
fn sends_the_data_with_the_hops_object() {
    let server = server();
    let out = output(hops(&server).args([
        "event",
        "send",
        "--source",
        "me",
        "--event",
        "deploy",
        "--action",
        "started",
        "--data",
        r#"{"ref": "main", "hops": "replaced"}"#,
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), server.host.run_ids()[0]);
    assert_eq!(
        events(&server),
        [(
            json!({"ref": "main", "hops": {"source": "me", "event": "deploy", "action": "started", "started_by": "local"}}),
            None
        )]
    );
}

#[test]
fn reads_data_from_a_file_and_from_stdin() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, r#"{"from": "file"}"#).unwrap();
    let out = output(
        hops(&server)
            .args(["event", "send", "--source", "me", "--event", "x"])
            .arg(format!("--data=@{}", file.display())),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let out = output_with_stdin(
        hops(&server).args([
            "event", "send", "--source", "me", "--event", "x", "--data", "-",
        ]),
        r#"{"from": "stdin"}"#,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let sent: Vec<Value> = events(&server)
        .into_iter()
        .map(|(e, _)| e["from"].clone())
        .collect();
    assert_eq!(sent, [json!("file"), json!("stdin")]);
}

#[test]
fn data_that_is_not_an_object_is_refused_before_sending() {
    let server = server();
    let out = output(hops(&server).args([
        "event", "send", "--source", "me", "--event", "x", "--data", "[1, 2]",
    ]));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("error: --data must be a JSON object"),
        "{out:?}"
    );
    assert!(events(&server).is_empty());
}

#[test]
fn the_same_dedup_key_yields_the_same_run() {
    let server = server();
    let send = || {
        output(hops(&server).args([
            "event", "send", "--source", "me", "--event", "x", "--dedup", "d-1",
        ]))
    };
    let first = send();
    let second = send();
    assert_eq!((first.code, second.code), (0, 0), "{second:?}");
    assert_eq!(first.stdout, second.stdout);
    assert!(second.stderr.contains("no new run started"), "{second:?}");
    assert_eq!(server.host.run_ids().len(), 1);
    assert_eq!(events(&server)[0].1.as_deref(), Some("d-1"));
}

#[test]
fn wait_json_reports_the_outcome_and_exit_code() {
    let server = server();
    let base = [
        "event", "send", "--source", "me", "--event", "x", "--wait", "--json",
    ];
    let ok = output(hops(&server).args(base));
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(ok.json()["status"], "completed");
    let failed = output(
        hops(&server)
            .args(base)
            .args(["--data", r#"{"fail": true}"#]),
    );
    assert_eq!(failed.code, 1, "{failed:?}");
    assert_eq!(failed.json()["status"], "errored");
    assert_eq!(failed.json()["run_id"], server.host.run_ids()[1].as_str());
}

#[test]
fn a_host_rejection_is_shown() {
    let server = server();
    let out = output(hops(&server).args(["event", "send", "--source", "me", "--event", ""]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("`hops.event` is empty"), "{out:?}");
}
