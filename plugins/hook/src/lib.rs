//! Test listener `hook`: exercises the listener contract.
//!
//! - `POST /event` with a JSON body: emits it as source event `hook`/`<body.event>` (dedup key
//!   from the `x-delivery` header) and answers 202 with the run id.
//! - `GET /ticks`: answers how many ticks this instance has seen (state survives between
//!   calls of one instance, and resets when the host restarts it).
//! - `POST /trap`: traps, so the host must restart the instance.
//! - anything else: 404.
//!
//! `tick` counts ticks.

use std::sync::atomic::{AtomicU64, Ordering};

use hops_sdk::{Listener, Result, SourceEvent, WebhookRequest, WebhookResponse, events};

static TICKS: AtomicU64 = AtomicU64::new(0);

struct Hook;

impl Listener for Hook {
    fn handle_webhook(request: WebhookRequest) -> Result<WebhookResponse> {
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/event") => emit(&request),
            ("GET", "/ticks") => Ok(WebhookResponse::text(
                200,
                TICKS.load(Ordering::Relaxed).to_string(),
            )),
            ("POST", "/trap") => trap(),
            _ => Ok(WebhookResponse::text(404, "no such route")),
        }
    }

    fn tick() -> Result<()> {
        TICKS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

hops_sdk::export_listener!(Hook);

fn emit(request: &WebhookRequest) -> Result<WebhookResponse> {
    let body: serde_json::Map<String, serde_json::Value> = request.json()?;
    let name = body
        .get("event")
        .and_then(|v| v.as_str())
        .unwrap_or("ping")
        .to_owned();
    let mut event = SourceEvent::new("hook", name, "").with_payload(&body)?;
    if let Some(delivery) = request.header("x-delivery") {
        event = event.with_dedup_key(delivery);
    }
    let emitted = events::emit(&event)?;
    Ok(WebhookResponse::text(202, emitted.run_id))
}

// A trap on purpose: the host's restart-with-backoff is what this route tests.
#[allow(clippy::panic)]
fn trap() -> Result<WebhookResponse> {
    panic!("trap requested by /trap");
}
