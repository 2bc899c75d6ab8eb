//! Any bytes as a `.hops` file: loading, evaluating every `on` (before and after its calls have
//! results) and rendering every diagnostic never panics.
#![no_main]

use std::collections::{BTreeMap, HashMap};

use hops_pipeline::{EvalContext, PipelineSet, RunBundle, evaluate};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|text: &[u8]| {
    let files: BTreeMap<String, Vec<u8>> = [
        ("a/main.hops".to_owned(), text.to_vec()),
        ("a/x.txt".to_owned(), b"x".to_vec()),
    ]
    .into();
    let set = PipelineSet::from_files(files);
    let env: HashMap<String, String> = [("HOPS_FUZZ".to_owned(), "1".to_owned())].into();
    let env = EvalContext::new(&env);
    for on in &set.ons {
        let (event, action) = on.label.split_once('_').unwrap_or((&on.label, ""));
        let ev = json!({"n": 1, "s": "fix/x", "hops": {"event": event, "action": action}});
        let mut bundle = RunBundle::new(ev);
        let _ = evaluate(&set, &bundle, &env);
        for call in &on.calls {
            bundle = bundle.with_result(
                &call.slug,
                json!({"completed": true, "errored": false, "done": true, "json": {"id": 1}}),
            );
        }
        let _ = evaluate(&set, &bundle, &env);
    }
    for d in &set.diagnostics {
        let _ = d.render(set.sources.get(&d.file).map(|s| s.text.as_str()), true);
    }
});
