//! Evaluating a 20-call pipeline over a full bundle (budget: well under 100 µs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, HashMap};

use criterion::{Criterion, criterion_group, criterion_main};
use hops_pipeline::{EvalContext, PipelineSet, RunBundle, evaluate};
use serde_json::json;

fn pipeline(calls: usize) -> String {
    let mut src = String::from(
        "on deploy_started {\n  name = \"deploy\"\n  if   = glob(event.branch, \"release/*\")\n",
    );
    for i in 0..calls {
        let condition = if i == 0 {
            "true".to_owned()
        } else {
            format!("step{}.completed", i - 1)
        };
        src.push_str(&format!(
            "  call app_handler{i} {{\n    name = \"step{i}\"\n    if   = {condition}\n    inputs = {{\n      service = event.service\n      step    = {i}\n      text    = \"deploying ${{event.service}} step {i} of {calls}\"\n      tags    = [for t in event.tags : upper(t)]\n      prev    = try(step{p}.json.id, null)\n    }}\n  }}\n",
            p = i.saturating_sub(1)
        ));
    }
    src.push_str(&format!(
        "  done {{\n    errored   = anytrue([for s in [{}] : s.errored]...)\n  }}\n}}\n",
        (0..calls)
            .map(|i| format!("try(step{i}, {{errored = false}})"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    src
}

fn bench(c: &mut Criterion) {
    let files: BTreeMap<String, Vec<u8>> =
        [("deploy/main.hops".to_owned(), pipeline(20).into_bytes())].into();
    let set = PipelineSet::from_files(files);
    assert!(!set.has_errors(), "{:?}", set.diagnostics);
    let event = json!({"service": "billing", "branch": "release/1.2", "tags": ["a", "b", "c"], "hops": {"source": "ci", "event": "deploy", "action": "started"}});
    let env: HashMap<String, String> = HashMap::new();
    let env = EvalContext::new(&env);

    // Full bundle: every call has a result, so every condition and the done block are evaluated.
    let mut full = RunBundle::new(event.clone());
    for i in 0..20 {
        full = full.with_result(&format!("deploy-step{i}"), json!({"completed": true, "errored": false, "done": true, "body": "", "json": {"id": i}, "hops": {"started_at": "2024-04-25T10:00:00Z", "finished_at": "2024-04-25T10:00:01Z"}}));
    }
    let decisions = evaluate(&set, &full, &env).unwrap();
    assert_eq!(decisions.done.len(), 1);
    c.bench_function("evaluate_20_calls_full_bundle", |b| {
        b.iter(|| evaluate(&set, &full, &env).unwrap())
    });

    // Mid-run: 19 results in, the 20th call is dispatched (inputs evaluated).
    let mut mid = RunBundle::new(event);
    for i in 0..19 {
        mid = mid.with_result(
            &format!("deploy-step{i}"),
            json!({"completed": true, "errored": false, "done": true, "json": {"id": i}}),
        );
    }
    assert_eq!(evaluate(&set, &mid, &env).unwrap().calls.len(), 1);
    c.bench_function("evaluate_20_calls_dispatch_last", |b| {
        b.iter(|| evaluate(&set, &mid, &env).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
