//! The loader and the evaluator never panic, whatever the input: random bytes, mutated valid
//! files, random events.

use std::collections::{BTreeMap, HashMap};

use hops_pipeline::{EvalContext, PipelineSet, RunBundle, evaluate};
use proptest::prelude::*;
use serde_json::json;

fn valid_sources() -> Vec<String> {
    let mut out = Vec::new();
    let root = crate::testdata();
    for kind in ["valid", "invalid"] {
        for entry in walk(&root.join(kind)) {
            if entry.extension().is_some_and(|e| e == "hops") {
                out.push(std::fs::read_to_string(entry).unwrap());
            }
        }
    }
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

fn exercise(text: Vec<u8>) {
    let files: BTreeMap<String, Vec<u8>> = [
        ("a/main.hops".to_owned(), text),
        ("a/x.txt".to_owned(), b"x".to_vec()),
    ]
    .into();
    let set = PipelineSet::from_files(files);
    let env: HashMap<String, String> = HashMap::new();
    let env = EvalContext::new(&env);
    for on in &set.ons {
        let (event, action) = on.label.split_once('_').unwrap_or((&on.label, ""));
        let ev = json!({"n": 1, "s": "fix/x", "hops": {"event": event, "action": action}});
        let mut bundle = RunBundle::new(ev.clone());
        let _ = evaluate(&set, &bundle, &env);
        for call in &on.calls {
            bundle = bundle.with_result(
                &call.slug,
                json!({"completed": true, "errored": false, "done": true, "json": {"id": 1}}),
            );
        }
        let _ = evaluate(&set, &bundle, &env);
        let plain = RunBundle::new(json!({"hops": {"event": on.label}}));
        let _ = evaluate(&set, &plain, &env);
    }
    for d in &set.diagnostics {
        let _ = d.render(set.sources.get(&d.file).map(|s| s.text.as_str()), true);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        exercise(bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        index in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let sources = valid_sources();
        let mut bytes = sources[index.index(sources.len())].clone().into_bytes();
        for (at, byte, op) in edits {
            if bytes.is_empty() { bytes.push(byte); continue; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        exercise(bytes);
    }

    #[test]
    fn random_token_soup_never_panics(tokens in proptest::collection::vec(prop::sample::select(vec![
        "on", "call", "done", "task", "param", "schedule", "{", "}", "=", "\"", "${", "%{", "if", "for", "in", ":", "[", "]",
        "(", ")", "event", ".", "x_y", "name", "inputs", "completed", "errored", "\n", "1", "true", "null", "...", "*", "?",
        "try", "can", "glob", "template", "file", "<<EOT\n", "EOT\n", "~", ",", "=>", "!", "-", "/", "cron", "retry", "timeout",
    ]), 0..80)) {
        exercise(tokens.join(" ").into_bytes());
    }
}
