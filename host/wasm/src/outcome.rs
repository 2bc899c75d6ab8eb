//! Turning what a store ended with into messages: traps, timeouts, memory, denials.

use std::time::Duration;

use hops_core::CallOutput;
use wasmtime::{Store, Trap};

use crate::bindings::hops::app::types::Output;
use crate::settings::format_bytes;
use crate::state::HostState;

/// A trap's backtrace holds at most this many frames (wasmtime's default); an out-of-bounds
/// access whose full backtrace cycles through a handful of functions is taken for what it
/// nearly always is then: a recursion that ran out of stack (a Rust guest's stack lives in its
/// linear memory, so overflowing it reads below address 0).
const RECURSION_FRAMES: usize = 16;
/// At most this many distinct functions in such a backtrace.
const RECURSION_CYCLE: usize = 3;

/// Whether a trap's backtrace looks like a runaway recursion.
fn recursing(err: &wasmtime::Error) -> bool {
    let Some(bt) = err.downcast_ref::<wasmtime::WasmBacktrace>() else {
        return false;
    };
    let frames = bt.frames();
    let distinct: std::collections::HashSet<u32> = frames.iter().map(|f| f.func_index()).collect();
    frames.len() >= RECURSION_FRAMES && distinct.len() <= RECURSION_CYCLE
}

/// Why a guest run failed, worded for an errored result (with the app's secrets masked).
pub(crate) fn failure_message(
    store: &Store<HostState>,
    err: &wasmtime::Error,
    timeout: Duration,
) -> String {
    let message = describe_failure(store, err, timeout);
    store.data().app.masker.text(&message).into_owned()
}

fn describe_failure(store: &Store<HostState>, err: &wasmtime::Error, timeout: Duration) -> String {
    let state = store.data();
    let name = &*state.app.name;
    if state.limiter.hit {
        return format!(
            "app {name} ran out of memory (limit {})",
            format_bytes(state.app.settings.memory)
        );
    }
    if err.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return timeout_message(name, timeout);
    }
    tracing::debug!(app = name, "guest trap details: {err:?}");
    // The trap itself ("wasm `unreachable` instruction executed"), not the context chain
    // around it, which may carry a multi-line wasm backtrace.
    let cause = match err.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => {
            "stack overflow: the app's call stack is exhausted (deep or endless recursion)"
                .to_owned()
        }
        Some(Trap::MemoryOutOfBounds) if recursing(err) => {
            "stack overflow: the app ran out of stack in a deep or endless recursion \
             (its stack lives in linear memory, so wasm reports an out-of-bounds memory access)"
                .to_owned()
        }
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    };
    let mut message = format!("app {name} trapped: {cause}");
    if let Some(stderr) = state.finish_stdio() {
        message.push_str("; stderr: ");
        message.push_str(&stderr);
    }
    if !state.hooks.denied.is_empty() {
        message.push_str(&format!(
            " (outgoing HTTP to {} was denied: not in allowed-hosts)",
            state.hooks.denied.join(", ")
        ));
    }
    message
}

/// `app slow exceeded its 2s timeout`.
pub(crate) fn timeout_message(name: &str, timeout: Duration) -> String {
    format!(
        "app {name} exceeded its {} timeout",
        humantime::format_duration(timeout)
    )
}

/// Converts the guest's output; a `json` field that is not JSON is the app's bug, reported.
pub(crate) fn to_call_output(name: &str, output: Output) -> Result<CallOutput, String> {
    let json = match output.json {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|e| format!("app {name} returned a result that is not valid JSON: {e}"))?,
        ),
    };
    let mut headers = std::collections::BTreeMap::<String, String>::new();
    for header in output.headers {
        let name = header.name.to_ascii_lowercase();
        headers
            .entry(name)
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&header.value);
            })
            .or_insert(header.value);
    }
    Ok(CallOutput {
        json,
        body: output.body,
        status_code: output.status_code,
        headers,
        url: output.url,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::hops::app::types::Header;

    #[test]
    fn converts_outputs() {
        let out = to_call_output(
            "echo",
            Output {
                json: Some(r#"{"a":1}"#.into()),
                body: "b".into(),
                status_code: Some(200),
                headers: vec![
                    Header {
                        name: "Set-Cookie".into(),
                        value: "a".into(),
                    },
                    Header {
                        name: "set-cookie".into(),
                        value: "b".into(),
                    },
                ],
                url: None,
            },
        )
        .unwrap();
        assert_eq!(out.json, Some(serde_json::json!({"a": 1})));
        assert_eq!(out.headers["set-cookie"], "a, b");
        let err = to_call_output(
            "echo",
            Output {
                json: Some("{".into()),
                body: String::new(),
                status_code: None,
                headers: vec![],
                url: None,
            },
        )
        .unwrap_err();
        assert!(
            err.starts_with("app echo returned a result that is not valid JSON"),
            "{err}"
        );
        assert_eq!(
            timeout_message("slow", Duration::from_secs(2)),
            "app slow exceeded its 2s timeout"
        );
    }
}
