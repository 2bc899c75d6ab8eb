//! The last few errored calls of each app this process ran, for the app listing
//! (`GET /api/apps` → `recent_errors`): what an app author looks at first when an app
//! misbehaves, without searching the log.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// How many errors are kept per app; older ones drop off.
pub const RECENT_ERRORS_PER_APP: usize = 5;

/// One errored call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecentError {
    /// The run the call belongs to.
    pub run_id: String,
    /// The call's slug within the run.
    pub call: String,
    /// The call's error.
    pub message: String,
    /// When its result was stored.
    pub at: DateTime<Utc>,
}

/// The last [`RECENT_ERRORS_PER_APP`] errors of every app, newest first.
#[derive(Debug, Default)]
pub struct RecentErrors {
    by_app: Mutex<BTreeMap<String, VecDeque<RecentError>>>,
}

impl RecentErrors {
    /// Remembers an errored call of `app`.
    pub fn record(&self, app: &str, error: RecentError) {
        let Ok(mut by_app) = self.by_app.lock() else {
            return;
        };
        let errors = by_app.entry(app.to_owned()).or_default();
        errors.push_front(error);
        errors.truncate(RECENT_ERRORS_PER_APP);
    }

    /// The errors of `app`, newest first.
    pub fn of(&self, app: &str) -> Vec<RecentError> {
        self.by_app
            .lock()
            .ok()
            .and_then(|by_app| by_app.get(app).map(|e| e.iter().cloned().collect()))
            .unwrap_or_default()
    }

    /// Adds `recent_errors` to every object of an app listing (`[{"name": …}, …]`).
    pub fn annotate(&self, listing: &mut Value) {
        for app in listing.as_array_mut().into_iter().flatten() {
            let Some(name) = app.get("name").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            if let Some(object) = app.as_object_mut() {
                let errors = serde_json::to_value(self.of(&name)).unwrap_or_default();
                object.insert("recent_errors".to_owned(), errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(n: usize) -> RecentError {
        RecentError {
            run_id: format!("r{n}"),
            call: "echo_echo".to_owned(),
            message: format!("boom {n}"),
            at: Utc::now(),
        }
    }

    #[test]
    fn keeps_the_newest_errors_of_each_app() {
        let recent = RecentErrors::default();
        for n in 0..7 {
            recent.record("echo", error(n));
        }
        recent.record("other", error(99));
        let echo = recent.of("echo");
        assert_eq!(echo.len(), RECENT_ERRORS_PER_APP);
        assert_eq!(echo[0].message, "boom 6");
        assert_eq!(echo[4].message, "boom 2");
        assert!(recent.of("nobody").is_empty());

        let mut listing = json!([{"name": "echo"}, {"name": "quiet"}, "not an object"]);
        recent.annotate(&mut listing);
        assert_eq!(listing[0]["recent_errors"][0]["message"], "boom 6");
        assert_eq!(listing[0]["recent_errors"][0]["run_id"], "r6");
        assert_eq!(listing[1]["recent_errors"], json!([]));
    }
}
