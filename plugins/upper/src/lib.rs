//! Test app `upper`: one handler, `upper`, that returns `inputs.text` upper-cased.
//! Used by multi-app tests and as a distinguishable "new version" in hot-swap tests.

use hops_sdk::{Call, Output, Result, Worker, route};
use serde::Deserialize;

struct Upper;

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    text: String,
}

impl Worker for Upper {
    fn handle(call: Call) -> Result<Output> {
        route(call, &[("upper", upper), ("echo", upper)])
    }
}

/// Upper-cases `inputs.text`; also answers `echo` so it can stand in for the echo app.
fn upper(call: Call) -> Result<Output> {
    let input: Input = call.inputs()?;
    Output::json(&serde_json::json!({ "text": input.text.to_uppercase(), "app": "upper" }))
}

hops_sdk::export_worker!(Upper);
