//! The hops:app imports: log, config, events (types has no functions).

use hops_core::{EmitError, EventMeta, SourceEvent};
use serde_json::Value;

use crate::bindings::hops::app::events::{Emitted as WitEmitted, SourceEvent as WitSourceEvent};
use crate::bindings::hops::app::log::Level;
use crate::bindings::hops::app::{config, events, log, types};
use crate::state::HostState;

impl types::Host for HostState {}

impl log::Host for HostState {
    async fn log(&mut self, level: Level, message: String) {
        let app = &*self.app.name;
        let message = self.app.masker.text(&message);
        let run = self.call.as_ref().map_or("", |c| c.run_id.as_str());
        // One target for everything apps say, so `HOPS_LOG=hops::app=debug` selects it.
        match level {
            Level::Trace => tracing::trace!(target: "hops::app", app, run, "{message}"),
            Level::Debug => tracing::debug!(target: "hops::app", app, run, "{message}"),
            Level::Info => tracing::info!(target: "hops::app", app, run, "{message}"),
            Level::Warn => tracing::warn!(target: "hops::app", app, run, "{message}"),
            Level::Error => tracing::error!(target: "hops::app", app, run, "{message}"),
        }
    }
}

impl config::Host for HostState {
    async fn get(&mut self, key: String) -> Option<String> {
        self.config().get(&key).cloned()
    }

    async fn get_all(&mut self) -> Vec<(String, String)> {
        self.config()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl events::Host for HostState {
    async fn emit(&mut self, event: WitSourceEvent) -> anyhow::Result<Result<WitEmitted, String>> {
        let Some(sink) = self.app.sink.clone() else {
            return Ok(Err(
                "this host does not accept events (no event sink configured)".into(),
            ));
        };
        let limits = self.app.limits;
        if self.emitted >= limits.max_emits {
            tracing::warn!(app = %self.app.name, limit = limits.max_emits, "app emitted too many events in one invocation; refusing more");
            return Ok(Err(format!(
                "app {} may emit at most {} events per call, webhook or tick (the host's --max-emits); this one was refused",
                self.app.name, limits.max_emits
            )));
        }
        let (mut source_event, dedup_key) =
            match to_source_event(&self.app.name, event, &self.app.masker) {
                Ok(parts) => parts,
                Err(message) => return Ok(Err(message)),
            };
        if let Some(call) = &self.call {
            // An event emitted during a call starts a run one deeper than the call's run: a
            // pipeline that keeps re-triggering itself is stopped at the depth limit.
            let depth = call.depth.saturating_add(1);
            if depth > limits.max_event_depth {
                let pipeline = call.call_id.split('-').next().unwrap_or_default();
                tracing::warn!(
                    app = %self.app.name,
                    pipeline,
                    run_id = %call.run_id,
                    depth,
                    "event loop stopped: pipeline {pipeline} keeps triggering new runs through app {}",
                    self.app.name
                );
                return Ok(Err(format!(
                    "event refused: it would start a run {depth} events deep (run {} was itself started by an emitted event, {} deep); \
                     runs that trigger each other are stopped at depth {} (the host's --max-event-depth). Is pipeline {pipeline} triggering itself?",
                    call.run_id, call.depth, limits.max_event_depth
                )));
            }
            source_event = source_event.emitted_from(&call.run_id, depth);
        }
        self.emitted += 1;
        // A dedup key makes redeliveries land in the same run; without one every emit is a
        // new run (two identical pings are two runs).
        let run_id = match &dedup_key {
            Some(key) => source_event.stable_run_id(Some(key)),
            None => SourceEvent::fresh_run_id(),
        };
        tracing::info!(
            app = %self.app.name,
            event = %source_event.meta().event,
            action = %source_event.meta().action,
            run_id = %run_id,
            "app emitted an event"
        );
        Ok(match sink.emit(source_event, run_id).await {
            Ok(emitted) => Ok(WitEmitted {
                run_id: emitted.run_id,
                duplicate: emitted.duplicate,
            }),
            Err(EmitError::Invalid(err)) => Err(err.to_string()),
            Err(err @ EmitError::Bus(_)) => Err(err.to_string()),
        })
    }
}

/// Validates the guest's event: the payload must be a JSON object; `hops` metadata comes from
/// the typed fields (source defaults to the app name).
fn to_source_event(
    app: &str,
    event: WitSourceEvent,
    masker: &crate::mask::Masker,
) -> Result<(SourceEvent, Option<String>), String> {
    let mut payload: Value = serde_json::from_str(&event.payload)
        .map_err(|e| format!("event payload is not valid JSON: {e}"))?;
    masker.value(&mut payload);
    let Value::Object(mut payload) = payload else {
        return Err("event payload must be a JSON object".into());
    };
    let meta = EventMeta {
        source: if event.source.is_empty() {
            app.to_owned()
        } else {
            event.source
        },
        event: event.event,
        action: event.action,
    };
    payload.insert(
        "hops".into(),
        serde_json::json!({"source": meta.source, "event": meta.event, "action": meta.action}),
    );
    let source_event =
        SourceEvent::from_value(Value::Object(payload)).map_err(|e| e.to_string())?;
    let dedup_key = event.dedup_key.filter(|k| !k.is_empty());
    Ok((source_event, dedup_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wit_event(event: &str, payload: &str) -> WitSourceEvent {
        WitSourceEvent {
            source: String::new(),
            event: event.into(),
            action: "opened".into(),
            payload: payload.into(),
            dedup_key: Some("d1".into()),
        }
    }

    #[test]
    fn builds_validated_source_events() {
        let masker = crate::mask::Masker::new(["tok-123"]);
        let (ev, key) = to_source_event(
            "hook",
            wit_event("push", r#"{"n": 1, "t": "tok-123"}"#),
            &masker,
        )
        .unwrap();
        assert_eq!(ev.payload()["t"], "***");
        assert_eq!(ev.meta().source, "hook");
        assert_eq!(ev.meta().action, "opened");
        assert_eq!(ev.payload()["n"], 1);
        assert_eq!(key.as_deref(), Some("d1"));
        let err = to_source_event("hook", wit_event("", "{}"), &masker).unwrap_err();
        assert!(err.contains("`hops.event` is empty"), "{err}");
        let err = to_source_event("hook", wit_event("e", "[1]"), &masker).unwrap_err();
        assert!(err.contains("JSON object"), "{err}");
    }
}
