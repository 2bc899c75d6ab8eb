//! App `{{name}}`: a Hops listener. `POST /listen/{{name}}/hello` with a JSON body starts a run
//! of the pipelines that say `on greeting`:
//!
//! ```hcl
//! on greeting {
//!   call echo_echo {
//!     inputs = { from = event.name }
//!   }
//! }
//! ```

use hops_sdk::{Listener, Result, SourceEvent, WebhookRequest, WebhookResponse, events};

struct App;

impl Listener for App {
    fn handle_webhook(request: WebhookRequest) -> Result<WebhookResponse> {
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/hello") => {
                let body: serde_json::Map<String, serde_json::Value> = request.json()?;
                let mut event = SourceEvent::new("{{name}}", "greeting", "").with_payload(&body)?;
                // A redelivery of the same webhook lands in the same run.
                if let Some(id) = request.header("x-delivery-id") {
                    event = event.with_dedup_key(id);
                }
                let emitted = events::emit(&event)?;
                Ok(WebhookResponse::text(202, emitted.run_id))
            }
            _ => Ok(WebhookResponse::text(404, "send POST /hello with a JSON body")),
        }
    }

    /// Runs every `poll-interval` of `{{name}}.toml` (never without one).
    fn tick() -> Result<()> {
        Ok(())
    }
}

hops_sdk::export_listener!(App);
