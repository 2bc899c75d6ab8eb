//! The `github` app: a listener for GitHub webhooks.
//!
//! Point a repository's or organisation's webhook at `https://<hops>/listen/github/`
//! (content type `application/json`) with a secret, and give the app the same secret:
//!
//! ```toml
//! # plugins/github.toml
//! [secrets]
//! secret = "GITHUB_WEBHOOK_SECRET"   # config key `secret` = the host's $GITHUB_WEBHOOK_SECRET
//! ```
//!
//! Each `POST` is checked against `X-Hub-Signature-256` (HMAC-SHA256 of the raw body,
//! compared in constant time) and then emitted as a source event: source `github`, event
//! from `X-GitHub-Event` with its underscores dropped (`pull_request` → `pullrequest`, as
//! in the original engine: an `on` label is `<event>_<action>`, so the event itself keeps no
//! `_`), action from the body's `action` (e.g. `opened`; empty when there is none), the
//! webhook JSON as the payload, and `X-GitHub-Delivery` as the dedup key, so a redelivery
//! lands in the run the first delivery started. Pipelines match it with `on pullrequest` or
//! `on pullrequest_opened`.
//!
//! Answers: 202 with `{"run_id", "duplicate"}` when emitted; 200 for `ping` (nothing
//! emitted); 401 for a missing or wrong signature; 400 for a missing event header or a body
//! that is not a JSON object; 405 for anything but `POST`. Without a `secret` the app answers
//! 500 and logs why: it never emits unverified events.

mod signature;

use hops_sdk::{
    Header, Listener, Result, SourceEvent, WebhookRequest, WebhookResponse, config, events, log,
};

/// The source name events carry (`hops.source`).
const SOURCE: &str = "github";

struct GitHub;

impl Listener for GitHub {
    fn handle_webhook(request: WebhookRequest) -> Result<WebhookResponse> {
        if request.method != "POST" {
            return Ok(WebhookResponse::text(405, "only POST is accepted"));
        }
        let secret = config::require("secret").map_err(|e| {
            hops_sdk::anyhow!(
                "{e:#}; map it to the webhook secret with [secrets] secret = \"GITHUB_WEBHOOK_SECRET\" in github.toml"
            )
        })?;
        if let Err(refusal) = signature::verify(
            secret.as_bytes(),
            &request.body,
            request.header("x-hub-signature-256"),
        ) {
            log::warn(format!("refused a webhook: {}", refusal.message()));
            return Ok(WebhookResponse::text(401, refusal.message()));
        }
        let Some(event) = request
            .header("x-github-event")
            .map(str::trim)
            .filter(|e| !e.is_empty())
        else {
            return Ok(WebhookResponse::text(400, "missing X-GitHub-Event header"));
        };
        if event == "ping" {
            return Ok(WebhookResponse::text(200, "pong"));
        }
        let payload: serde_json::Map<String, serde_json::Value> =
            match serde_json::from_slice(&request.body) {
                Ok(payload) => payload,
                Err(e) => {
                    return Ok(WebhookResponse::text(
                        400,
                        format!("the body is not a JSON object: {e}"),
                    ));
                }
            };
        let action = payload
            .get("action")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut source_event =
            SourceEvent::new(SOURCE, event_name(event), action).with_payload(&payload)?;
        if let Some(delivery) = request.header("x-github-delivery") {
            source_event = source_event.with_dedup_key(delivery);
        }
        let emitted = events::emit(&source_event)?;
        let body = serde_json::json!({ "run_id": emitted.run_id, "duplicate": emitted.duplicate });
        Ok(WebhookResponse {
            status: 202,
            headers: vec![Header {
                name: "content-type".into(),
                value: "application/json".into(),
            }],
            body: body.to_string().into_bytes(),
        })
    }
}

/// The Hops event name of a GitHub event: `pull_request_review` → `pullrequestreview`.
fn event_name(github_event: &str) -> String {
    github_event.replace('_', "")
}

hops_sdk::export_listener!(GitHub);
