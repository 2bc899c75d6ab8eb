//! The `http` app: `call http_do` sends one HTTP request and returns the response.
//!
//! Inputs (only `url` is required):
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `url` | — | `http://` or `https://` URL with a host |
//! | `method` | `GET` | GET HEAD POST PUT DELETE OPTIONS PATCH (any case) |
//! | `params` | — | map appended to the URL's query (the existing query is kept) |
//! | `headers` | — | map of request headers |
//! | `json` | — | any value, sent as JSON with `Content-Type: application/json` |
//! | `text` | — | text body, sent with `Content-Type: text/plain; charset=utf-8` |
//! | `data` | — | base64 body bytes, sent as they are |
//! | `retries` | 2 (GET HEAD PUT DELETE OPTIONS), 0 (POST PATCH) | extra attempts, at most 10 |
//! | `backoff` | `"1s"` | wait before the first retry, doubled each time, at most 30 s |
//! | `timeout` | `"10s"` | per attempt: connecting, the first byte, and between bytes |
//!
//! Connection failures, timeouts, 429 and 5xx (but 501) are retried; a `Retry-After` in
//! seconds sets the wait. Any other status, 4xx included, completes the call with
//! `status_code`, `headers`, `body`, `json` (when the response is JSON) and `url` (after
//! redirects). A 429/5xx still there after the last attempt errors the call with a message
//! that carries the status code and the start of the body. The app reaches only the hosts
//! its `http.toml` grants (`allowed-hosts`). Every request carries
//! `Idempotency-Key: <run id>/<call id>` (unless the inputs set one), the same on every retry
//! and redelivery of the call.

mod client;
mod input;
mod output;

use hops_sdk::{Call, Output, Result, Worker, route};

struct Http;

impl Worker for Http {
    fn handle(call: Call) -> Result<Output> {
        route(call, &[("do", send)])
    }
}

hops_sdk::export_worker!(Http);

fn send(call: Call) -> Result<Output> {
    let mut plan = input::plan(&call.inputs)?;
    // The same key on every attempt and every redelivery of this call, so a server that
    // honours it applies a POST once even when the call runs again after a lost host.
    plan.add_header_unless_set(
        "Idempotency-Key",
        &format!("{}/{}", call.run_id, call.call_id),
    );
    let done = client::execute(&plan)?;
    Ok(output::output(&done))
}
