//! [`WasmWorker`]: a `hops_core::Worker` that runs each call in a fresh instance.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hops_core::{CallError, CallOutput, CallRequest, Worker};
use tokio::sync::Semaphore;
use tracing::Instrument;
use wasmtime::Store;

use crate::app::LoadedApp;
use crate::bindings::hops::app::types::{Call, CallError as WitCallError};
use crate::engine::EPOCH_TICK;
use crate::outcome::{failure_message, timeout_message, to_call_output};
use crate::state::{CallScope, HostState};

/// Backoff suggested when an instance cannot be created for a moment (pool exhausted).
const BUSY_BACKOFF: Duration = Duration::from_secs(1);

/// One version of a worker app. Each call gets a new `Store` from the app's `InstancePre`
/// (the pooling allocator makes that ~30 µs), the call's epoch deadline and the app's memory
/// cap; a semaphore bounds concurrent calls.
pub struct WasmWorker {
    app: Arc<LoadedApp>,
    permits: Semaphore,
}

impl WasmWorker {
    pub(crate) fn new(app: Arc<LoadedApp>) -> WasmWorker {
        let permits = Semaphore::new(app.ctx.settings.concurrency);
        WasmWorker { app, permits }
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        self.app.name()
    }

    /// The version: the first 12 hex digits of the component's SHA-256.
    pub fn version(&self) -> &str {
        &self.app.ctx.version
    }

    async fn run(&self, call: CallRequest) -> Result<CallOutput, CallError> {
        let name = self.app.name();
        let Some(indices) = &self.app.compiled.worker else {
            return Err(CallError::Reject(format!(
                "app {name} is a listener: it has no handlers to call"
            )));
        };
        if let Some(handlers) = &self.app.ctx.settings.handlers
            && !handlers.contains(&call.handler)
        {
            return Err(CallError::Reject(format!(
                "app {name} has no handler {:?}; its handlers ({name}.toml): {}",
                call.handler,
                handlers.join(", ")
            )));
        }
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CallError::Reject(format!("app {name} is shutting down")))?;
        let timeout = call.timeout.unwrap_or(self.app.ctx.settings.timeout);
        let scope = CallScope {
            run_id: call.run_id.clone(),
            call_id: call.call_id.clone(),
            depth: call.depth,
        };
        let mut store = new_store(&self.app, timeout, Some(scope));
        let wit_call = Call {
            app: call.app,
            handler: call.handler,
            run_id: call.run_id,
            call_id: call.call_id,
            inputs: call.inputs,
            attempt: call.attempt,
        };

        let instance = match self.app.compiled.pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(err) if store.data().limiter.hit => {
                return Err(CallError::Reject(failure_message(&store, &err, timeout)));
            }
            Err(err) => {
                // Most often the pool is full: a transient condition worth a redelivery.
                tracing::warn!(app = name, error = %format!("{err:#}"), "could not instantiate");
                return Err(CallError::Retry {
                    message: format!("app {name} could not be instantiated: {err:#}"),
                    backoff: Some(BUSY_BACKOFF),
                });
            }
        };
        let guest = indices
            .load(&mut store, &instance)
            .map_err(|e| CallError::Reject(format!("app {name}: {e:#}")))?;

        // The epoch deadline interrupts a busy guest; this timeout also covers a guest that
        // waits in a host call (sleep, HTTP), which epochs cannot interrupt. Dropping the
        // future drops the guest's pending work.
        let call_future = guest.call_handle(&mut store, &wit_call);
        let outcome = tokio::time::timeout(timeout + EPOCH_TICK, call_future).await;
        let result = match outcome {
            Err(_elapsed) => Err(CallError::Reject(timeout_message(name, timeout))),
            Ok(Err(err)) => Err(CallError::Reject(failure_message(&store, &err, timeout))),
            Ok(Ok(Ok(output))) => to_call_output(name, output).map_err(CallError::Reject),
            Ok(Ok(Err(WitCallError::Reject(message)))) => Err(CallError::Reject(message)),
            Ok(Ok(Err(WitCallError::Retry(retry)))) => Err(CallError::Retry {
                message: retry.message,
                backoff: retry.backoff_ms.map(Duration::from_millis),
            }),
        };
        store.data().finish_stdio();
        // Whatever the app says goes through its masker: a secret it was given never reaches
        // a run record, whether it returned it or failed with it.
        let masker = &self.app.ctx.masker;
        let stale = self.app.ctx.stale_note();
        match result {
            Ok(mut output) => {
                masker.output(&mut output);
                output.notes.extend(stale);
                Ok(output)
            }
            Err(CallError::Reject(message)) => {
                let mut message = masker.text(&message).into_owned();
                if let Some(note) = stale {
                    message.push_str(&format!(" ({note})"));
                }
                Err(CallError::Reject(message))
            }
            Err(CallError::Retry { message, backoff }) => Err(CallError::Retry {
                message: masker.text(&message).into_owned(),
                backoff,
            }),
        }
    }
}

/// A store for one guest run: fresh state, memory cap, epoch deadline that traps.
pub(crate) fn new_store(
    app: &LoadedApp,
    timeout: Duration,
    call: Option<CallScope>,
) -> Store<HostState> {
    let mut store = Store::new(app.engine.engine(), HostState::new(&app.ctx, call));
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(deadline_ticks(timeout));
    store.epoch_deadline_trap();
    store
}

/// Whole epoch ticks covering `timeout` (at least one).
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

#[async_trait]
impl Worker for WasmWorker {
    async fn handle(&self, call: CallRequest) -> Result<CallOutput, CallError> {
        let span = tracing::info_span!(
            "hops.wasm.call",
            app = %self.app.name(),
            handler = %call.handler,
            run_id = %call.run_id,
            call_id = %call.call_id,
            version = %self.app.ctx.version,
        );
        self.run(call).instrument(span).await
    }

    fn max_concurrency(&self) -> usize {
        self.app.ctx.settings.concurrency
    }

    fn describe(&self) -> String {
        format!("wasm {}", self.app.ctx.version)
    }
}
