//! App `{{name}}`: a Hops worker. A pipeline calls it as `{{name}}_hello`:
//!
//! ```hcl
//! call {{name}}_hello {
//!   inputs = { name = "Ada" }
//! }
//! # later: {{name}}_hello.json.greeting
//! ```

use hops_sdk::{Call, Output, Result, Worker, route};

struct App;

impl Worker for App {
    fn handle(call: Call) -> Result<Output> {
        // One entry per handler: `{{name}}_<handler>` in pipelines.
        route(call, &[("hello", hello)])
    }
}

/// `{{name}}_hello`: answers `{"greeting": "Hello, <inputs.name>!"}`.
fn hello(call: Call) -> Result<Output> {
    let name = call.inputs_value()["name"]
        .as_str()
        .unwrap_or("world")
        .to_owned();
    Output::json(&serde_json::json!({ "greeting": format!("Hello, {name}!") }))
}

hops_sdk::export_worker!(App);
