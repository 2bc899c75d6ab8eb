//! The original engine's acceptance cases (spec §8): loading, decoding and indexing.

use crate::{set_of, testdata};
use hops_pipeline::PipelineSet;
use serde_json::json;

#[test]
fn loading_counts_pipelines_files_and_manifests() {
    assert_eq!(set_of(&[("one/main.hops", "on foo {}")]).ons.len(), 1);
    assert_eq!(
        set_of(&[("one/a.hops", "on foo {}"), ("one/b.hops", "on bar {}")])
            .ons
            .len(),
        2
    );
    assert_eq!(
        set_of(&[
            ("one/main.hops", "on foo {}"),
            ("two/main.hops", "on bar {}")
        ])
        .ons
        .len(),
        2
    );
    let set = PipelineSet::load_dir(&testdata().join("valid/multi_automation")).unwrap();
    assert!(set.files.contains_key("one/userList.json"));
    assert!(set.files.contains_key("two/notes.txt"));
    assert_eq!(set.manifests.keys().collect::<Vec<_>>(), ["one", "two"]);
    assert_eq!(set.manifests["two"].emoji, "🚀");
    assert_eq!(set.manifests["one"].emoji, "⚪️");
    assert_eq!(set.file_count(), 6);
}

#[test]
fn decoding_keeps_labels_names_and_defaults() {
    let set = set_of(&[
        ("one/main.hops", "on foo {}"),
        ("two/main.hops", "on foo {}\non bar {}"),
    ]);
    let labels: Vec<&str> = set.ons.iter().map(|o| o.label.as_str()).collect();
    assert_eq!(labels, ["foo", "foo", "bar"]);
    let slugs: Vec<&str> = set.ons.iter().map(|o| o.slug.as_str()).collect();
    assert_eq!(slugs, ["foo0", "foo1", "bar2"]);

    let set = PipelineSet::load_dir(&testdata().join("valid/full")).unwrap();
    let on = &set.ons[0];
    assert_eq!(
        (on.label.as_str(), on.name.as_deref(), on.dones.len()),
        ("foo", Some("pipeline"), 1)
    );
    let calls: Vec<(&str, &str, &str, &str)> = on
        .calls
        .iter()
        .map(|c| {
            (
                c.label.as_str(),
                c.name.as_str(),
                c.app.as_str(),
                c.handler.as_str(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("app_handler", "a_call", "app", "handler"),
            (
                "otherapp_handler",
                "otherapp_handler1",
                "otherapp",
                "handler"
            )
        ]
    );
    assert_eq!(on.calls[0].slug, "pipeline-a_call");

    let atask = set.task("atask").unwrap();
    assert_eq!(
        (atask.display_name.as_str(), atask.filepath.as_str()),
        ("Atask", "one/main.hops")
    );
    let some = set.task("some_task").unwrap();
    let tasks = serde_json::to_value(some).unwrap();
    assert_eq!(
        tasks["params"][0],
        json!({"name": "p_one", "type": "string", "required": false, "display_name": "P One", "help": "", "flag": "--p_one", "shortflag": ""})
    );
    assert_eq!(tasks["params"][1]["type"], "text");
    assert_eq!(tasks["params"][1]["required"], true);
    assert_eq!(tasks["params"][1]["default"], "a");
    assert_eq!(tasks["params"][1]["display_name"], "Param Two");
    // A false default is kept (the original dropped it from its task JSON).
    assert_eq!(tasks["params"][3]["default"], false);
    assert_eq!(set.task("other").unwrap().display_name, "OTHER TASK");

    let names: Vec<&str> = set.schedules.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["hourly", "midnight"]);
    assert_eq!(set.schedules[0].cron.text, "@hourly");
    assert_eq!(
        serde_json::Value::Object(set.schedules[1].inputs.clone()),
        json!({"foo": "FOO"})
    );
}

#[test]
fn index_orders_candidates() {
    let set = set_of(&[
        (
            "a/main.hops",
            "on foo {}\non event_action {}\non foo_action {}",
        ),
        ("b/main.hops", "on foo {}\non bar {}"),
    ]);
    let slugs = |e: &str, a: &str| {
        set.candidates(e, a)
            .map(|o| o.slug.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(slugs("foo", ""), ["foo0", "foo3"]);
    assert_eq!(slugs("foo", "action"), ["foo_action2", "foo0", "foo3"]);
    assert_eq!(slugs("event", "action"), ["event_action1"]);
    assert_eq!(slugs("bar", "x"), ["bar4"]);
    assert!(slugs("nothing", "").is_empty());
}

#[test]
fn version_hash_changes_with_paths_and_contents() {
    let a = set_of(&[("one/main.hops", "on foo {}")]);
    assert_eq!(a.hash, set_of(&[("one/main.hops", "on foo {}")]).hash);
    assert_ne!(a.hash, set_of(&[("two/main.hops", "on foo {}")]).hash);
    assert_ne!(a.hash, set_of(&[("one/main.hops", "on bar {}")]).hash);
}

#[test]
fn unreadable_directory_is_an_error_not_a_panic() {
    assert!(PipelineSet::load_dir(&testdata().join("does-not-exist")).is_err());
}
