//! [`WasmListener`]: a `hops_core::Listener` backed by one long-lived instance.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hops_core::{Listener, ListenerError, WebhookRequest, WebhookResponse};
use serde::Serialize;
use tracing::Instrument;
use wasmtime::Store;

use crate::app::LoadedApp;
use crate::bindings::exports::hops::app::listener::Guest;
use crate::bindings::hops::app::types::{
    Header, WebhookRequest as WitRequest, WebhookResponse as WitResponse,
};
use crate::engine::EPOCH_TICK;
use crate::outcome::{failure_message, timeout_message};
use crate::state::HostState;
use crate::worker::{deadline_ticks, new_store};

/// How a listener that keeps failing is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Wait after the first failure; doubled after each further one.
    pub base_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// Consecutive failures (traps, timeouts, failed starts) after which the listener is
    /// quarantined: no more attempts until its file or toml changes.
    pub quarantine_after: u32,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            quarantine_after: 5,
        }
    }
}

impl RestartPolicy {
    /// The wait after `failures` consecutive failures (1-based).
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.base_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// A listener's state, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ListenerHealth {
    /// No instance yet; one starts on the first webhook or tick.
    Idle,
    /// An instance is running.
    Running,
    /// The last run failed; the next webhook or tick after the backoff starts a new instance.
    Restarting {
        /// Consecutive failures so far.
        failures: u32,
        /// Milliseconds until a new instance may start.
        retry_in_ms: u64,
        /// What went wrong last.
        last_error: String,
    },
    /// Failed too often; serves nothing until its `.wasm` or `.toml` changes.
    Quarantined {
        /// Consecutive failures.
        failures: u32,
        /// What went wrong last.
        last_error: String,
    },
}

struct Running {
    store: Store<HostState>,
    guest: Guest,
}

#[derive(Default)]
struct Slot {
    running: Option<Running>,
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    quarantined: bool,
    started: bool,
}

/// One version of a listener app: a single instance, kept alive between webhooks and ticks
/// (calls are serialized), dropped and restarted with exponential backoff when it traps or
/// times out, and quarantined after repeated failures.
pub struct WasmListener {
    app: Arc<LoadedApp>,
    policy: RestartPolicy,
    slot: tokio::sync::Mutex<Slot>,
    /// A copy of the slot's status that listings can read without waiting for a call.
    health: Mutex<ListenerHealth>,
}

enum Op<'a> {
    Webhook(&'a WitRequest),
    Tick,
}

enum OpResult {
    Webhook(WitResponse),
    Tick,
}

impl WasmListener {
    pub(crate) fn new(app: Arc<LoadedApp>, policy: RestartPolicy) -> WasmListener {
        WasmListener {
            app,
            policy,
            slot: tokio::sync::Mutex::new(Slot::default()),
            health: Mutex::new(ListenerHealth::Idle),
        }
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        self.app.name()
    }

    /// Running, restarting or quarantined.
    pub fn health(&self) -> ListenerHealth {
        self.health
            .lock()
            .map(|h| h.clone())
            .unwrap_or(ListenerHealth::Idle)
    }

    fn publish_health(&self, slot: &Slot) {
        let health = if slot.quarantined {
            ListenerHealth::Quarantined {
                failures: slot.failures,
                last_error: slot.last_error.clone().unwrap_or_default(),
            }
        } else if slot.failures > 0 && slot.running.is_none() {
            let retry_in = slot
                .retry_at
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or_default();
            ListenerHealth::Restarting {
                failures: slot.failures,
                retry_in_ms: u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
                last_error: slot.last_error.clone().unwrap_or_default(),
            }
        } else if slot.running.is_some() {
            ListenerHealth::Running
        } else {
            ListenerHealth::Idle
        };
        if let Ok(mut current) = self.health.lock() {
            *current = health;
        }
    }

    /// Records a failure that poisons the instance: drop it, back off, maybe quarantine.
    fn fail(&self, slot: &mut Slot, message: String) {
        slot.running = None;
        slot.failures += 1;
        let name = self.app.name();
        if slot.failures >= self.policy.quarantine_after {
            slot.quarantined = true;
            tracing::error!(
                app = name,
                failures = slot.failures,
                error = %message,
                "listener quarantined after repeated failures; replace its .wasm or edit its .toml to retry"
            );
        } else {
            let backoff = self.policy.backoff(slot.failures);
            slot.retry_at = Some(Instant::now() + backoff);
            tracing::warn!(
                app = name,
                failures = slot.failures,
                retry_in = %humantime::format_duration(backoff),
                error = %message,
                "listener failed; restarting it after a backoff"
            );
        }
        slot.last_error = Some(message);
        self.publish_health(slot);
    }

    /// Makes sure an instance is running, starting one if the backoff allows.
    async fn ensure_running(&self, slot: &mut Slot) -> Result<(), ListenerError> {
        let name = self.app.name();
        if slot.quarantined {
            return Err(ListenerError::Unavailable(format!(
                "app {name} is quarantined after {} consecutive failures (last: {}); replace its .wasm or edit its .toml to retry",
                slot.failures,
                slot.last_error.as_deref().unwrap_or("unknown")
            )));
        }
        if slot.running.is_some() {
            return Ok(());
        }
        if let Some(at) = slot.retry_at {
            let now = Instant::now();
            if at > now {
                return Err(ListenerError::Unavailable(format!(
                    "app {name} is restarting after a failure; next attempt in {}",
                    humantime::format_duration(round_ms(at - now))
                )));
            }
        }
        let Some(indices) = &self.app.compiled.listener else {
            return Err(ListenerError::Unavailable(format!(
                "app {name} is not a listener"
            )));
        };
        let timeout = self.app.ctx.settings.timeout;
        let mut store = new_store(&self.app, timeout, None);
        let started = async {
            let instance = self.app.compiled.pre.instantiate_async(&mut store).await?;
            indices.load(&mut store, &instance)
        }
        .await;
        match started {
            Ok(guest) => {
                if slot.started {
                    tracing::info!(app = name, "listener restarted");
                }
                slot.started = true;
                slot.running = Some(Running { store, guest });
                Ok(())
            }
            Err(err) => {
                let message = format!(
                    "app {name} could not start: {}",
                    failure_message(&store, &err, timeout)
                );
                self.fail(slot, message.clone());
                Err(ListenerError::Failed(message))
            }
        }
    }

    async fn run(&self, op: Op<'_>) -> Result<OpResult, ListenerError> {
        let mut slot = self.slot.lock().await;
        self.ensure_running(&mut slot).await?;
        let name = self.app.name().to_owned();
        let timeout = self.app.ctx.settings.timeout;
        let Some(running) = slot.running.as_mut() else {
            return Err(ListenerError::Unavailable(format!(
                "app {name} is not running"
            )));
        };
        running.store.set_epoch_deadline(deadline_ticks(timeout));
        // The emit limit counts per webhook and per tick.
        running.store.data_mut().emitted = 0;
        let store = &mut running.store;
        let outcome = match op {
            Op::Webhook(request) => tokio::time::timeout(
                timeout + EPOCH_TICK,
                running.guest.call_handle_webhook(&mut *store, request),
            )
            .await
            .map(|r| r.map(|r| r.map(OpResult::Webhook))),
            Op::Tick => {
                tokio::time::timeout(timeout + EPOCH_TICK, running.guest.call_tick(&mut *store))
                    .await
                    .map(|r| r.map(|r| r.map(|()| OpResult::Tick)))
            }
        };
        running.store.data().finish_stdio();
        match outcome {
            Ok(Ok(Ok(result))) => {
                if slot.failures > 0 {
                    slot.failures = 0;
                    slot.retry_at = None;
                }
                self.publish_health(&slot);
                Ok(result)
            }
            // The guest reported an error: its instance is fine and stays.
            Ok(Ok(Err(message))) => Err(ListenerError::Failed(format!(
                "app {name}: {}",
                self.app.ctx.masker.text(&message)
            ))),
            Ok(Err(err)) => {
                let message = failure_message(&running.store, &err, timeout);
                self.fail(&mut slot, message.clone());
                Err(ListenerError::Failed(message))
            }
            Err(_elapsed) => {
                let message = timeout_message(&name, timeout);
                self.fail(&mut slot, message.clone());
                Err(ListenerError::Failed(message))
            }
        }
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[async_trait]
impl Listener for WasmListener {
    async fn webhook(&self, request: WebhookRequest) -> Result<WebhookResponse, ListenerError> {
        let span = tracing::info_span!(
            "hops.wasm.webhook",
            app = %self.app.name(),
            method = %request.method,
            path = %request.path,
        );
        let request = WitRequest {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: request
                .headers
                .into_iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
            body: request.body,
        };
        let masker = &self.app.ctx.masker;
        match self.run(Op::Webhook(&request)).instrument(span).await? {
            OpResult::Webhook(response) => Ok(WebhookResponse {
                status: response.status,
                headers: response
                    .headers
                    .into_iter()
                    .map(|h| (h.name, masker.text(&h.value).into_owned()))
                    .collect(),
                body: masker.bytes(response.body),
            }),
            OpResult::Tick => Err(ListenerError::Failed(
                "internal: tick result for a webhook".into(),
            )),
        }
    }

    async fn tick(&self) -> Result<(), ListenerError> {
        let span = tracing::debug_span!("hops.wasm.tick", app = %self.app.name());
        self.run(Op::Tick).instrument(span).await.map(|_| ())
    }

    fn poll_interval(&self) -> Option<Duration> {
        self.app.ctx.settings.poll_interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RestartPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            quarantine_after: 5,
        };
        let waits: Vec<u128> = (1..=5).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }
}
