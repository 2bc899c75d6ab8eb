//! What the host offers: logging, configuration and events.

/// Logging into the host's log, tagged with the app's name.
pub mod log {
    use crate::bindings::hops::app::log::{Level, log};

    /// Logs at `trace`.
    pub fn trace(message: impl AsRef<str>) {
        log(Level::Trace, message.as_ref());
    }
    /// Logs at `debug`.
    pub fn debug(message: impl AsRef<str>) {
        log(Level::Debug, message.as_ref());
    }
    /// Logs at `info`.
    pub fn info(message: impl AsRef<str>) {
        log(Level::Info, message.as_ref());
    }
    /// Logs at `warn`.
    pub fn warn(message: impl AsRef<str>) {
        log(Level::Warn, message.as_ref());
    }
    /// Logs at `error`.
    pub fn error(message: impl AsRef<str>) {
        log(Level::Error, message.as_ref());
    }
}

/// The app's configuration: `[config]` values and `[secrets]` from its `<name>.toml`.
pub mod config {
    use std::collections::BTreeMap;

    use crate::bindings::hops::app::config as wit;

    /// The value of `key`, if the app has one.
    pub fn get(key: &str) -> Option<String> {
        wit::get(key)
    }

    /// The value of `key`.
    ///
    /// # Errors
    ///
    /// When the app has no such key; the message says where to set it.
    pub fn require(key: &str) -> crate::Result<String> {
        wit::get(key).ok_or_else(|| {
            anyhow::anyhow!(
                "missing config key `{key}`: set it under [config] (or [secrets]) in the app's toml"
            )
        })
    }

    /// Every key and value.
    pub fn all() -> BTreeMap<String, String> {
        wit::get_all().into_iter().collect()
    }
}

/// Starting runs from a listener.
pub mod events {
    use serde::Serialize;

    use crate::{Emitted, SourceEvent};

    impl SourceEvent {
        /// An event with an empty payload object and no dedup key.
        pub fn new(
            source: impl Into<String>,
            event: impl Into<String>,
            action: impl Into<String>,
        ) -> SourceEvent {
            SourceEvent {
                source: source.into(),
                event: event.into(),
                action: action.into(),
                payload: "{}".to_owned(),
                dedup_key: None,
            }
        }

        /// Sets the payload; it must serialize to a JSON object.
        ///
        /// # Errors
        ///
        /// When `payload` does not serialize to a JSON object.
        pub fn with_payload<T: Serialize + ?Sized>(
            mut self,
            payload: &T,
        ) -> crate::Result<SourceEvent> {
            let value = serde_json::to_value(payload)?;
            anyhow::ensure!(value.is_object(), "an event payload must be a JSON object");
            self.payload = value.to_string();
            Ok(self)
        }

        /// Sets the dedup key: emitting the same source and key again yields the same run.
        pub fn with_dedup_key(mut self, key: impl Into<String>) -> SourceEvent {
            self.dedup_key = Some(key.into());
            self
        }
    }

    /// Emits `event`: starts a run, or finds the one this event already started.
    ///
    /// # Errors
    ///
    /// When the host refuses the event (invalid) or cannot publish it.
    pub fn emit(event: &SourceEvent) -> crate::Result<Emitted> {
        crate::bindings::hops::app::events::emit(event).map_err(|e| anyhow::anyhow!(e))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn builds_events() {
            let ev = SourceEvent::new("github", "push", "")
                .with_payload(&serde_json::json!({"ref": "main"}))
                .unwrap()
                .with_dedup_key("d1");
            assert_eq!(ev.payload, r#"{"ref":"main"}"#);
            assert_eq!(ev.dedup_key.as_deref(), Some("d1"));
            assert!(
                SourceEvent::new("s", "e", "")
                    .with_payload(&[1, 2])
                    .is_err()
            );
        }
    }
}
