//! `hops input list` and `hops input answer`.

use hops_api::testing::Recorded;
use serde_json::json;

use super::support::{hops, output, server};

#[test]
fn open_inputs_are_listed_and_answered_with_typed_values() {
    let server = server();
    let out = output(hops(&server).args(["input", "list"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "no input is waiting for an answer");
    let run = server
        .host
        .start_run(json!({"ask": "Ship it?", "hops": {"source": "t", "event": "deploy"}}))
        .unwrap();

    let out = output(hops(&server).args(["input", "list"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(&format!("{run} approval")), "{out:?}");
    assert!(out.stdout.contains("Ship it?"), "{out:?}");
    assert!(
        out.stdout.contains("--param approve=<bool> (required)"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("hops input answer {run} approval")),
        "{out:?}"
    );
    let listed = output(hops(&server).args(["input", "list", "--json"])).json();
    assert_eq!(listed[0]["prompt"], "Ship it?");

    // Values are converted to the asked types before they are sent.
    let out = output(hops(&server).args([
        "input",
        "answer",
        &run,
        "approval",
        "--param",
        "approve=maybe",
    ]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("parameter `approve` is a bool"),
        "{out:?}"
    );
    let out =
        output(hops(&server).args(["input", "answer", &run, "approval", "--param", "colour=red"]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("input `approval` has no parameter `colour`"),
        "{out:?}"
    );
    let out = output(hops(&server).args(["input", "answer", &run, "approval"]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("approve: Required"), "{out:?}");

    let out = output(hops(&server).args([
        "input",
        "answer",
        &run,
        "approval",
        "--param",
        "approve=yes",
        "--param",
        "reason=looks good",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("answered approval of run {run} as local")),
        "{out:?}"
    );
    assert!(
        server.host.recorded().contains(&Recorded::Answer {
            run_id: run.clone(),
            call: "approval".to_owned(),
            values: json!({"approve": true, "reason": "looks good"})
                .as_object()
                .cloned()
                .unwrap(),
            by: "local".to_owned(),
        })
    );

    let out =
        output(hops(&server).args(["input", "answer", &run, "approval", "--param", "approve=no"]));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("already answered"), "{out:?}");
}
