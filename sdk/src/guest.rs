//! The traits a plugin implements, and the glue to the generated export traits.

use crate::bindings::{listener, worker};
use crate::{Call, CallError, Output, WebhookRequest, WebhookResponse};

/// An app that handles calls. Implement it on a unit struct and export it with
/// [`export_worker!`](crate::export_worker) (or [`export_app!`](crate::export_app)).
///
/// The component is instantiated afresh for every call: keep no state between calls.
pub trait Worker {
    /// Handles one call. Any error becomes an errored result (`reject`) with the error's
    /// context chain as its message, unless it is a [`CallError::Retry`] (see
    /// [`retry`](crate::retry)), which asks the host to deliver the call again later.
    fn handle(call: Call) -> crate::Result<Output>;
}

/// An app that receives webhooks and polls. Export it with
/// [`export_listener!`](crate::export_listener) (or [`export_app!`](crate::export_app)).
///
/// The host keeps one instance alive, so statics (e.g. atomics) keep their values between
/// calls, until a trap makes the host start a fresh instance.
pub trait Listener {
    /// Handles one webhook sent to `/listen/<app>/<path>`. An `Err` answers 500; refuse bad
    /// requests with an `Ok` 4xx response instead.
    fn handle_webhook(request: WebhookRequest) -> crate::Result<WebhookResponse>;

    /// Runs one poll; called every `poll-interval` of the app's toml. Does nothing by default.
    fn tick() -> crate::Result<()> {
        Ok(())
    }
}

/// One handler of a worker: a function from the call to its output.
pub type Handler = fn(Call) -> crate::Result<Output>;

/// Runs the handler named by `call.handler`, or rejects the call with the list of handlers
/// when there is none of that name.
///
/// ```
/// use hops_sdk::{route, Call, Output, Result};
///
/// fn ping(_call: Call) -> Result<Output> {
///     Ok(Output::text("pong"))
/// }
///
/// fn handle(call: Call) -> Result<Output> {
///     route(call, &[("ping", ping)])
/// }
/// # let call = Call { app: "demo".into(), handler: "nope".into(), run_id: String::new(),
/// #     call_id: String::new(), inputs: "null".into(), attempt: 1 };
/// # let err = handle(call).unwrap_err();
/// # assert_eq!(err.to_string(), r#"unknown handler "nope" of app demo; handlers: ping"#);
/// ```
///
/// # Errors
///
/// What the handler returns, or a `reject` for an unknown handler.
pub fn route(call: Call, handlers: &[(&str, Handler)]) -> crate::Result<Output> {
    match handlers.iter().find(|(name, _)| *name == call.handler) {
        Some((_, handler)) => handler(call),
        None => {
            let names: Vec<&str> = handlers.iter().map(|(name, _)| *name).collect();
            Err(crate::reject(call.unknown_handler(&names).message()))
        }
    }
}

impl<T: Worker> worker::exports::hops::app::worker::Guest for T {
    fn handle(call: Call) -> Result<Output, CallError> {
        T::handle(call).map_err(CallError::from_error)
    }
}

impl<T: Listener> listener::exports::hops::app::listener::Guest for T {
    fn handle_webhook(request: WebhookRequest) -> Result<WebhookResponse, String> {
        T::handle_webhook(request).map_err(|e| format!("{e:#}"))
    }

    fn tick() -> Result<(), String> {
        T::tick().map_err(|e| format!("{e:#}"))
    }
}

/// Exports a type implementing both [`Worker`] and [`Listener`] as an app of world
/// `hops:app/app`.
#[macro_export]
macro_rules! export_app {
    ($ty:ident) => {
        $crate::export_worker!($ty);
        $crate::export_listener!($ty);
    };
}

impl WebhookResponse {
    /// A response with `status` and no body.
    pub fn status(status: u16) -> WebhookResponse {
        WebhookResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with `status` and a text body.
    pub fn text(status: u16, body: impl Into<String>) -> WebhookResponse {
        WebhookResponse {
            status,
            headers: vec![crate::Header {
                name: "content-type".into(),
                value: "text/plain; charset=utf-8".into(),
            }],
            body: body.into().into_bytes(),
        }
    }
}

impl WebhookRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Errors
    ///
    /// When the body is not JSON or does not fit `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> crate::Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| anyhow::anyhow!("webhook body is not the expected JSON: {e}"))
    }
}
