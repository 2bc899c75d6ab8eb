//! Listeners: apps that turn outside events (webhooks, polls) into source events.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::{Registry, SourceEvent};

/// An HTTP request routed to a listener through `/listen/<app>/<path>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// The path below `/listen/<app>`, starting with `/`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Request headers, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a listener answers to a webhook.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// Response body.
    pub body: Vec<u8>,
}

/// Why a listener could not handle a webhook or a tick.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ListenerError {
    /// The listener's code failed (trap, timeout, error it returned); it will be restarted.
    #[error("{0}")]
    Failed(String),
    /// The listener is not running right now (restarting after a failure, or quarantined).
    #[error("{0}")]
    Unavailable(String),
}

/// A running listener.
#[async_trait]
pub trait Listener: Send + Sync + 'static {
    /// Handles one webhook delivery.
    async fn webhook(&self, request: WebhookRequest) -> Result<WebhookResponse, ListenerError>;

    /// Runs one poll tick.
    async fn tick(&self) -> Result<(), ListenerError>;

    /// How often [`Listener::tick`] should run; `None` when the listener does not poll.
    fn poll_interval(&self) -> Option<Duration> {
        None
    }
}

/// The listeners of this process, by app name.
pub type Listeners = Registry<dyn Listener>;

/// What happened to an emitted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// The run the event started (or had already started).
    pub run_id: String,
    /// True when the same event had already been published: no new run was started.
    pub duplicate: bool,
}

/// Why an event could not be emitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmitError {
    /// The event itself is unusable.
    #[error(transparent)]
    Invalid(#[from] crate::EventError),
    /// The bus refused or could not be reached; nothing was published.
    #[error("could not publish event: {0}")]
    Bus(String),
}

/// Where source events go: the runtime publishes them as new runs.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Publishes `event` as the start of run `run_id`. Publishing the same run id twice starts
    /// one run and reports the second as a duplicate.
    async fn emit(&self, event: SourceEvent, run_id: String) -> Result<Emitted, EmitError>;
}
