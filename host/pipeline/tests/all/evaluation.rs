//! The evaluator: spec §2.7 replayed step by step, the spec §8 evaluation fixture, and Hops'
//! fixes (default done, broken-pipeline isolation, done markers apart from results).

use std::collections::HashMap;

use hops_pipeline::{Decisions, EvalContext, PipelineStatus, RunBundle, evaluate};
use serde_json::{Value, json};

use crate::set_of;

fn ok_result() -> Value {
    json!({"body": "", "completed": true, "done": true, "errored": false, "hops": {"started_at": "2024-04-25T10:00:00Z", "finished_at": "2024-04-25T10:00:01Z"}})
}

fn err_result(message: &str) -> Value {
    json!({"body": "", "completed": false, "done": true, "errored": true, "hops": {"started_at": "2024-04-25T10:00:00Z", "finished_at": "2024-04-25T10:00:01Z", "error": message}})
}

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

fn run(set: &hops_pipeline::PipelineSet, bundle: &RunBundle) -> Decisions {
    let env = no_env();
    evaluate(set, bundle, &EvalContext::new(&env)).unwrap()
}

fn calls(d: &Decisions) -> Vec<&str> {
    d.calls.iter().map(|c| c.call.as_str()).collect()
}

/// Marks the decisions' calls as requested, as the runner does after publishing them.
fn requested(mut bundle: RunBundle, d: &Decisions) -> RunBundle {
    bundle
        .requested
        .extend(d.calls.iter().map(|c| c.call.clone()));
    bundle
}

const REVIEW: &str = r#"
on pullrequest_opened {
  name = "review"
  call github_add_label {
    name   = "label"
    inputs = { pr = event.number, label = "triage" }
  }
  call slack_post_message {
    name   = "ping"
    if     = label.completed
    inputs = { text = "PR ${event.number} labelled" }
  }
  done {
    completed = ping.completed
    errored   = label.errored || ping.errored
  }
}
"#;

#[test]
fn spec_2_7_replayed_step_by_step() {
    let set = set_of(&[("review/main.hops", REVIEW)]);
    assert!(!set.has_errors(), "{:?}", set.diagnostics);
    let event = json!({"number": 7, "hops": {"source": "github", "event": "pullrequest", "action": "opened"}});

    // 1–2: event only → the label call with its inputs, ping waits.
    let bundle = RunBundle::new(event);
    let d = run(&set, &bundle);
    assert_eq!(calls(&d), ["review-label"]);
    assert_eq!(d.calls[0].app, "github");
    assert_eq!(d.calls[0].handler, "add_label");
    assert_eq!(d.calls[0].inputs, Some(json!({"label": "triage", "pr": 7})));
    assert!(d.done.is_empty());
    assert_eq!(d.run_status(), PipelineStatus::Running);

    // 3: the pin arrives: nothing new (label already requested).
    let mut bundle = requested(bundle, &d);
    bundle.pin = Some("abc".into());
    let d = run(&set, &bundle);
    assert!(d.calls.is_empty() && d.done.is_empty());

    // 4–5: label's result → ping, with its template rendered; label not repeated.
    let bundle = bundle.with_result("review-label", ok_result());
    let d = run(&set, &bundle);
    assert_eq!(calls(&d), ["review-ping"]);
    assert_eq!(d.calls[0].inputs, Some(json!({"text": "PR 7 labelled"})));

    // 6–7: ping's result → the done block completes the pipeline.
    let bundle = requested(bundle, &d).with_result("review-ping", ok_result());
    let d = run(&set, &bundle);
    assert!(d.calls.is_empty());
    assert_eq!(d.done.len(), 1);
    assert_eq!(
        (d.done[0].on.as_str(), d.done[0].errored),
        ("review", false)
    );
    assert_eq!(d.run_status(), PipelineStatus::Completed);

    // A done marker ends the pipeline for good: nothing is decided again.
    let mut bundle = bundle;
    bundle.done.insert(
        "review".into(),
        json!({"completed": true, "errored": false, "done": true}),
    );
    let d = run(&set, &bundle);
    assert!(d.calls.is_empty() && d.done.is_empty());
    assert_eq!(d.run_status(), PipelineStatus::Completed);
}

#[test]
fn errored_call_ends_pipeline_through_its_done_block() {
    let set = set_of(&[("review/main.hops", REVIEW)]);
    let event = json!({"number": 7, "hops": {"source": "github", "event": "pullrequest", "action": "opened"}});
    // `label.errored || ping.errored` short-circuits, so it is true while ping has no result.
    let bundle = RunBundle::new(event).with_result("review-label", err_result("no such PR"));
    let d = run(&set, &bundle);
    assert!(d.calls.is_empty());
    assert!(d.done[0].errored);
    assert_eq!(d.run_status(), PipelineStatus::Errored);
}

const SENSORS: &str = r#"
on change_merged {
  name = "a_sensor"

  call first_app_task {
    name   = "first_task"
    inputs = { a = "b", from_env = env("SPEC_TEST_UNSET_VARIABLE", ""), source = event.source }
  }

  call second_app_task {
    name = "second_task"
    if   = glob(event.branch, "fix/*")
  }

  call index_id_call {}

  call third_app_task {
    name = "depends"
    if   = first_task.done
  }

  done {
    errored = second_task.errored
  }
}

on change {
  name = "another_sensor"
}

on change {}
"#;

#[test]
fn spec_8_evaluation_fixture() {
    let set = set_of(&[("sensors/valid.hops", SENSORS)]);
    assert!(!set.has_errors(), "{:?}", set.diagnostics);
    let event = json!({"branch": "release/vocational-heading", "source": "GITHUB_COM", "hops": {"event": "change", "action": "merged", "source": "hiphops"}});

    let bundle = RunBundle::new(event);
    let d = run(&set, &bundle);
    let names: Vec<(&str, PipelineStatus)> = d
        .pipelines
        .iter()
        .map(|p| (p.name.as_str(), p.status))
        .collect();
    assert_eq!(
        names,
        [
            ("a_sensor", PipelineStatus::Running),
            ("another_sensor", PipelineStatus::Completed),
            ("change2", PipelineStatus::Completed)
        ]
    );
    assert_eq!(
        calls(&d),
        ["a_sensor-first_task", "a_sensor-index_id_call2"]
    );
    assert_eq!(
        d.calls[0].inputs,
        Some(json!({"a": "b", "from_env": "", "source": "GITHUB_COM"}))
    );
    assert_eq!(d.calls[1].inputs, None);
    let done: Vec<&str> = d.done.iter().map(|x| x.on.as_str()).collect();
    assert_eq!(
        done,
        ["another_sensor", "change2"],
        "pipelines without calls are done at once"
    );

    // first_task's result → depends becomes dispatchable.
    let bundle = requested(bundle, &d).with_result(
        "a_sensor-first_task",
        json!({"hops": {"error": null}, "completed": true, "done": true, "errored": false}),
    );
    let d = run(&set, &bundle);
    assert_eq!(calls(&d), ["a_sensor-depends"]);

    // depends' result: index_id_call2 still has none → still running (Hops' default-done rule).
    let bundle = requested(bundle, &d).with_result("a_sensor-depends", ok_result());
    let d = run(&set, &bundle);
    assert!(d.calls.is_empty());
    assert_eq!(d.pipelines[0].status, PipelineStatus::Running);

    // The last result → default done, completed (the done block errors on second_task: false).
    let bundle = bundle.with_result("a_sensor-index_id_call2", ok_result());
    let d = run(&set, &bundle);
    assert!(d.calls.is_empty());
    assert_eq!(
        d.done
            .iter()
            .map(|x| (x.on.as_str(), x.errored))
            .collect::<Vec<_>>(),
        [
            ("a_sensor", false),
            ("another_sensor", false),
            ("change2", false)
        ]
    );
}

#[test]
fn default_done_after_last_result_is_errored_when_a_call_errored() {
    let set = set_of(&[(
        "a/main.hops",
        "on go {\n  call x_one { name = \"one\" }\n  call x_two { name = \"two\" }\n}\n",
    )]);
    let event = json!({"hops": {"event": "go"}});
    let bundle = RunBundle::new(event).with_result("go0-one", ok_result());
    let mut bundle = bundle;
    bundle.requested.insert("go0-two".into());
    let d = run(&set, &bundle);
    assert!(d.done.is_empty(), "waiting for two");
    let d = run(
        &set,
        &bundle.clone().with_result("go0-two", err_result("boom")),
    );
    assert_eq!(d.done.len(), 1);
    assert!(d.done[0].errored);
    assert_eq!(d.run_status(), PipelineStatus::Errored);
    let d = run(&set, &bundle.with_result("go0-two", ok_result()));
    assert!(!d.done[0].errored);
}

#[test]
fn broken_pipeline_is_isolated_and_reported() {
    let set = set_of(&[(
        "a/main.hops",
        r#"
on deploy {
  name = "broken"
  call x_y {
    inputs = { id = event.missing.field }
  }
}

on deploy {
  name = "healthy"
  call x_z { inputs = { ok = true } }
}

on deploy {
  name = "bad_if"
  if   = "yes"
  call x_w {}
}
"#,
    )]);
    assert!(!set.has_errors(), "{:?}", set.diagnostics);
    let d = run(&set, &RunBundle::new(json!({"hops": {"event": "deploy"}})));
    assert_eq!(calls(&d), ["healthy-x_z0"]);
    let broken: Vec<(&str, bool)> = d.done.iter().map(|x| (x.on.as_str(), x.errored)).collect();
    assert_eq!(broken, [("broken", true), ("bad_if", true)]);
    let error = d.done[0].error.as_deref().unwrap();
    assert!(
        error.contains("a/main.hops:5:")
            && error.contains("Unable to evaluate inputs of call `x_y0`"),
        "{error}"
    );
    assert!(
        error.contains("does not have an attribute named \"missing\""),
        "{error}"
    );
    assert_eq!(d.diagnostics.len(), 2);
    assert_eq!(d.diagnostics[1].summary, "Must be true, false or unset");
    assert_eq!(d.diagnostics[1].start.unwrap().line, 16);
    assert_eq!(d.run_status(), PipelineStatus::Running);
}

#[test]
fn inputs_needing_a_result_suggest_waiting() {
    let set = set_of(&[(
        "a/main.hops",
        "on go {\n  call a_b { name = \"first\" }\n  call a_c { inputs = { id = first.json.id } }\n}\n",
    )]);
    let d = run(&set, &RunBundle::new(json!({"hops": {"event": "go"}})));
    assert!(
        d.calls.is_empty(),
        "nothing dispatched from a broken pipeline"
    );
    assert!(
        d.diagnostics[0].help.contains("add `if = first.completed`"),
        "{:?}",
        d.diagnostics[0]
    );
}

#[test]
fn if_errors_are_false_and_non_bool_is_a_diagnostic() {
    let set = set_of(&[(
        "a/main.hops",
        r#"
on go {
  name = "p"
  call a_b {
    name = "waits"
    if   = event.flag.missing
  }
  call a_c {
    name = "null_if"
    if   = null
  }
  call a_d {
    name = "numeric_if"
    if   = 1
  }
}
"#,
    )]);
    let d = run(
        &set,
        &RunBundle::new(json!({"flag": {}, "hops": {"event": "go"}})),
    );
    assert!(d.calls.is_empty());
    assert_eq!(d.diagnostics.len(), 1);
    assert!(
        d.diagnostics[0]
            .detail
            .contains("The `if` of call numeric_if"),
        "{:?}",
        d.diagnostics[0]
    );

    let set = set_of(&[(
        "a/main.hops",
        "on go {\n  name = \"p\"\n  call a_b { if = event.flag.missing }\n  call a_c { if = null }\n}\n",
    )]);
    let d = run(
        &set,
        &RunBundle::new(json!({"flag": {}, "hops": {"event": "go"}})),
    );
    assert_eq!(calls(&d), ["p-a_c1"], "error → false, null → true");
    assert!(d.diagnostics.is_empty());
}

#[test]
fn on_if_filters_pipelines() {
    let set = set_of(&[(
        "a/main.hops",
        "on push {\n  name = \"main_only\"\n  if = event.branch == \"main\"\n  call a_b {}\n}\non push {\n  name = \"erroring_if\"\n  if = event.nope\n  call a_c {}\n}\n",
    )]);
    let d = run(
        &set,
        &RunBundle::new(json!({"branch": "dev", "hops": {"event": "push"}})),
    );
    assert!(d.pipelines.is_empty() && d.calls.is_empty());
    assert_eq!(
        d.run_status(),
        PipelineStatus::Completed,
        "no matching pipeline: nothing to do"
    );
    let d = run(
        &set,
        &RunBundle::new(json!({"branch": "main", "hops": {"event": "push"}})),
    );
    assert_eq!(calls(&d), ["main_only-a_b0"]);
}

#[test]
fn event_and_action_matching_order() {
    let set = set_of(&[(
        "a/main.hops",
        "on pullrequest {\n  call a_any {}\n}\non pullrequest_opened {\n  call a_opened {}\n}\non pullrequest_closed {\n  call a_closed {}\n}\non push {\n  call a_push {}\n}\n",
    )]);
    let ev =
        |action: &str| RunBundle::new(json!({"hops": {"event": "pullrequest", "action": action}}));
    let order = |d: &Decisions| {
        d.pipelines
            .iter()
            .map(|p| p.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        order(&run(&set, &ev("opened"))),
        ["pullrequest_opened1", "pullrequest0"]
    );
    assert_eq!(
        order(&run(&set, &ev("closed"))),
        ["pullrequest_closed2", "pullrequest0"]
    );
    assert_eq!(order(&run(&set, &ev(""))), ["pullrequest0"]);
    assert_eq!(order(&run(&set, &ev("merged"))), ["pullrequest0"]);
}

#[test]
fn cross_pipeline_results_and_done_markers_apart_from_results() {
    let set = hops_pipeline::PipelineSet::load_dir(&crate::testdata().join("valid/cross_pipeline"))
        .unwrap();
    let event = json!({"hops": {"event": "build"}});
    let d = run(&set, &RunBundle::new(event.clone()));
    assert_eq!(calls(&d), ["builder-compile"]);
    let mut bundle = RunBundle::new(event).with_result(
        "builder-compile",
        json!({"completed": true, "errored": false, "done": true, "json": {"id": 42}}),
    );
    // The builder's done marker lives apart from its results, so `builder.compile` still resolves.
    bundle.done.insert(
        "builder".into(),
        json!({"completed": true, "errored": false, "done": true}),
    );
    let d = run(&set, &bundle);
    assert_eq!(calls(&d), ["reporter-chat_post0"]);
    assert_eq!(d.calls[0].inputs, Some(json!({"text": "built 42"})));
}

#[test]
fn timeouts_and_retries_travel_with_dispatches() {
    let set =
        hops_pipeline::PipelineSet::load_dir(&crate::testdata().join("valid/extensions")).unwrap();
    let d = run(
        &set,
        &RunBundle::new(
            json!({"service": "billing", "hops": {"source": "hiphops", "event": "task", "action": "deploy"}}),
        ),
    );
    assert_eq!(calls(&d), ["deploy-build"]);
    let call = &d.calls[0];
    assert_eq!(call.timeout, Some(std::time::Duration::from_secs(600)));
    let retry = call.retry.unwrap();
    assert_eq!(
        (retry.attempts, retry.backoff),
        (3, std::time::Duration::from_secs(2))
    );
    assert_eq!(retry.delay_before(3), std::time::Duration::from_secs(4));
    let inputs = call.inputs.as_ref().unwrap();
    assert_eq!(inputs["command"], json!(["sh", "-c", "echo building\n"]));
    assert_eq!(inputs["tag"], json!("YmlsbGluZw=="));
    assert_eq!(inputs["ok"], json!(true));
    // template() renders relative to the pipeline's file.
    let bundle = RunBundle::new(json!({"service": "billing", "hops": {"source": "hiphops", "event": "task", "action": "deploy"}}))
        .with_result("deploy-build", json!({"completed": true, "errored": false, "done": true}));
    let d = run(&set, &bundle);
    assert_eq!(
        d.calls[0].inputs.as_ref().unwrap()["json"]["text"],
        json!("Deploy of billing: ok\n")
    );
}

#[test]
fn bad_events_are_errors_not_panics() {
    let set = set_of(&[("a/main.hops", "on go {}")]);
    for event in [
        json!([1]),
        json!({"no": "hops"}),
        json!({"hops": {"event": 3}}),
        json!(null),
    ] {
        assert!(
            evaluate(
                &set,
                &RunBundle::new(event.clone()),
                &EvalContext::new(&no_env())
            )
            .is_err(),
            "{event}"
        );
    }
}
