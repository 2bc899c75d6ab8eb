//! What stops the host from doing what its files say (`GET /api/problems`): the diagnostics of
//! the last pipeline load and the apps that failed to load.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The host's current problems.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problems {
    /// The last time the pipelines directory was read; `null` before the first load.
    #[serde(default)]
    pub pipelines: Option<PipelineLoad>,
    /// Apps whose current files do not serve (failed to load, or quarantined).
    #[serde(default)]
    pub apps: Vec<AppProblem>,
}

/// One read of the pipelines directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PipelineLoad {
    /// When it was read.
    pub loaded_at: DateTime<Utc>,
    /// False when errors kept the previous version (or nothing) running.
    pub applied: bool,
    /// The version that read made (first 12 hex digits of its hash).
    pub version: String,
    /// The version new runs use (`null`: none loaded yet).
    #[serde(default)]
    pub current_version: Option<String>,
    /// Errors and warnings of that read, in file order.
    #[serde(default)]
    pub diagnostics: Vec<DiagnosticView>,
}

/// One error or warning about the pipelines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DiagnosticView {
    /// `error` (the pipelines cannot be used as written) or `warning`.
    pub severity: String,
    /// One line saying what is wrong.
    pub summary: String,
    /// More detail (may be empty).
    #[serde(default)]
    pub detail: String,
    /// How to fix it (may be empty).
    #[serde(default)]
    pub help: String,
    /// File, relative to the pipelines directory (empty when not about one file).
    #[serde(default)]
    pub file: String,
    /// 1-based line, when known.
    #[serde(default)]
    pub line: Option<usize>,
    /// 1-based column, when known.
    #[serde(default)]
    pub column: Option<usize>,
}

/// An app whose current files do not serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppProblem {
    /// The app.
    pub name: String,
    /// `error` (could not load) or `quarantined` (a listener that failed too often).
    pub state: String,
    /// What is wrong.
    pub message: String,
    /// True when an older version still answers.
    pub serving: bool,
}

impl AppProblem {
    /// The problems in an app listing (`[{"name", "status": {"state", "message"}, "serving"}]`).
    pub fn from_listing(listing: &serde_json::Value) -> Vec<AppProblem> {
        listing
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|app| {
                let state = app.pointer("/status/state")?.as_str()?;
                if state != "error" && state != "quarantined" {
                    return None;
                }
                Some(AppProblem {
                    name: app.get("name")?.as_str()?.to_owned(),
                    state: state.to_owned(),
                    message: app
                        .pointer("/status/message")
                        .and_then(|m| m.as_str())
                        .unwrap_or("")
                        .to_owned(),
                    serving: app
                        .get("serving")
                        .and_then(|s| s.as_bool())
                        .unwrap_or(false),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_apps_that_do_not_serve() {
        let listing = json!([
            {"name": "echo", "status": {"state": "ready"}, "serving": true},
            {"name": "bad", "status": {"state": "error", "kind": "not-a-component", "message": "not a component"}, "serving": false},
            {"name": "hook", "status": {"state": "quarantined", "message": "failed 5 times"}, "serving": false},
            {"name": "slow", "status": {"state": "loading", "for_ms": 10}},
        ]);
        let problems = AppProblem::from_listing(&listing);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].name, "bad");
        assert_eq!(problems[0].message, "not a component");
        assert_eq!(problems[1].state, "quarantined");
        assert!(AppProblem::from_listing(&json!({})).is_empty());
    }
}
