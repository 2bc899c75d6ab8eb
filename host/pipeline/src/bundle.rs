//! A run's bundle: everything the evaluator may read about one run.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// The messages of one run, as the evaluator sees them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunBundle {
    /// The source event (validated JSON object with `hops.event`).
    pub event: Value,
    /// The pinned pipeline version hash, once pinned (the `hops` variable).
    pub pin: Option<String>,
    /// Call results by call slug (`<on slug>-<call name>`), in the result message shape.
    pub results: HashMap<String, Value>,
    /// Call slugs that have been requested (whether or not they have a result yet).
    pub requested: HashSet<String>,
    /// Pipeline done markers by on slug; kept apart from results (a Hops fix).
    pub done: HashMap<String, Value>,
}

impl RunBundle {
    /// A bundle holding only the source event.
    pub fn new(event: Value) -> Self {
        RunBundle {
            event,
            ..RunBundle::default()
        }
    }

    /// Adds a call result.
    pub fn with_result(mut self, call_slug: &str, result: Value) -> Self {
        self.requested.insert(call_slug.to_owned());
        self.results.insert(call_slug.to_owned(), result);
        self
    }
}
