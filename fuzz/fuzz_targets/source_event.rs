//! Any bytes as a source event (what `hops send`, `POST /api/events` and listeners hand the
//! host): parsing either refuses it with an error or yields an event that a fixed pipeline set,
//! which reads it through every kind of expression, evaluates without panicking.
#![no_main]

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use hops_core::SourceEvent;
use hops_pipeline::{EvalContext, PipelineSet, RunBundle, evaluate};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const PIPELINES: &str = r#"
on pull_request_opened {
  if = event.pull_request.draft != true && length(event.labels) > 0
  call tools_echo {
    name = "first"
    inputs = {
      title  = upper(event.pull_request.title)
      n      = event.number + 1
      labels = [for l in event.labels : l.name if l.name != ""]
      sha    = try(event.commits[0].sha, "none")
      text   = "${event.repo}/${event.number}"
      parts  = split("/", try(event.ref, "a/b"))
      found  = regex("[a-z]+", tostring(try(event.body, "x")))
    }
  }
  call tools_echo {
    name   = "second"
    if     = first.done && try(first.json.ok, false)
    inputs = { both = merge(event, { extra = 1 }), keys = keys(event) }
  }
}

on push {
  if = anytrue([for c in try(event.commits, []) : startswith(c.message, "fix")])
  call tools_echo {
    inputs = { ref = replace(event.ref, "refs/heads/", ""), size = length(event.commits) }
  }
}
"#;

static SET: LazyLock<PipelineSet> = LazyLock::new(|| {
    let files: BTreeMap<String, Vec<u8>> =
        [("a/main.hops".to_owned(), PIPELINES.as_bytes().to_vec())].into();
    let set = PipelineSet::from_files(files);
    assert!(set.diagnostics.is_empty(), "the fuzz pipelines must load: {:?}", set.diagnostics);
    set
});

fuzz_target!(|bytes: &[u8]| {
    let Ok(event) = SourceEvent::from_slice(bytes) else {
        return;
    };
    let _ = event.meta();
    let _ = event.depth();
    let env: HashMap<String, String> = HashMap::new();
    let env = EvalContext::new(&env);
    let bundle = RunBundle::new(Value::Object(event.payload().clone()));
    let _ = evaluate(&SET, &bundle, &env);
    let done = bundle.with_result(
        "first",
        serde_json::json!({"completed": true, "done": true, "json": {"ok": true}}),
    );
    let _ = evaluate(&SET, &done, &env);
});
