//! Domain types shared by every part of the Hops host.
//!
//! The pipeline evaluator, the NATS bus, the WebAssembly runtime and the native workers all speak
//! in these terms: a [`CallRequest`] goes to a [`Worker`], which answers with a [`CallOutput`] or a
//! [`CallError`]; the runtime turns that into one [`ResultMessage`] on the run's result subject.
//! Source events enter as [`SourceEvent`]s, validated once at the edge.
//!
//! ```
//! use hops_core::{CallOutput, ResultMessage};
//! use chrono::Utc;
//!
//! let now = Utc::now();
//! let msg = ResultMessage::from_outcome(&Ok(CallOutput::json(serde_json::json!({"id": 7}))), now, now);
//! assert!(msg.completed && !msg.errored);
//! ```

pub mod app_settings;
mod call;
mod event;
mod listener;
mod result;
mod version;
mod worker;

pub use call::{CallError, CallOutput, CallRequest};
pub use event::{EventError, EventMeta, STARTED_BY, SourceEvent, json_type};
pub use listener::{
    EmitError, Emitted, EventSink, Listener, ListenerError, Listeners, WebhookRequest,
    WebhookResponse,
};
pub use result::{ResultMessage, ResultMeta};
pub use version::pipeline_set_hash;
pub use worker::{Registry, Worker, Workers};

/// Returns true when `name` follows the label rule shared by every identifier in Hops:
/// lowercase ASCII letters and digits in groups separated by single underscores, 1–50 characters.
pub fn is_valid_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 50
        && name.split('_').all(|group| {
            !group.is_empty()
                && group
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Returns true when `name` can name an app: the label rule without underscores, because a call
/// label `<app>_<handler>` is split at its first underscore.
pub fn is_valid_app_name(name: &str) -> bool {
    is_valid_label(name) && !name.contains('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rule_matches_the_original_engine() {
        for ok in ["a", "foo", "foo_bar", "a1_2b", &"x".repeat(50)] {
            assert!(is_valid_label(ok), "{ok}");
        }
        for bad in [
            "",
            "FOO",
            "_foo",
            "foo_",
            "fo-o",
            "foo__bar",
            &"x".repeat(51),
            "é",
        ] {
            assert!(!is_valid_label(bad), "{bad}");
        }
        assert!(is_valid_app_name("slack"));
        assert!(!is_valid_app_name("my_app"));
    }
}
