//! Watching the benchmark's runs: when each run's calls entered the app (a wrapper around the
//! echo worker) and when each run finished (its run-level done marker).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt as _;
use hops_bus::Bus;
use hops_core::{CallError, CallOutput, CallRequest, Worker};
use hops_runtime::run_record::RUN_MARKER;
use tokio::sync::oneshot;

/// When each run's calls entered the app and how long they took.
#[derive(Default)]
pub struct Probe {
    /// By run id.
    pub runs: Mutex<HashMap<String, RunProbe>>,
}

/// What the probe saw of one run's calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunProbe {
    /// When its first call entered the handler.
    pub first: Option<Instant>,
    /// Time spent in handlers, summed over its calls.
    pub busy: Duration,
    /// Handler executions (each call must run once).
    pub calls: usize,
}

/// Wraps the echo app to time its handler.
pub struct Timed {
    /// The echo app.
    pub inner: Arc<dyn Worker>,
    /// Where its timings go.
    pub probe: Arc<Probe>,
}

#[async_trait]
impl Worker for Timed {
    async fn handle(&self, call: CallRequest) -> Result<CallOutput, CallError> {
        let entered = Instant::now();
        let run = call.run_id.clone();
        let outcome = self.inner.handle(call).await;
        if let Ok(mut runs) = self.probe.runs.lock() {
            let entry = runs.entry(run).or_default();
            entry.first = Some(entry.first.map_or(entered, |first| first.min(entered)));
            entry.busy += entered.elapsed();
            entry.calls += 1;
        }
        outcome
    }

    fn max_concurrency(&self) -> usize {
        self.inner.max_concurrency()
    }
}

/// Run completions, from the run-level done markers.
#[derive(Default)]
pub struct Completions {
    /// Runs someone waits for, by run id.
    pub waiting: Mutex<HashMap<String, oneshot::Sender<Instant>>>,
    /// How many done markers each run got (must be exactly one).
    pub seen: Mutex<HashMap<String, usize>>,
}

impl Completions {
    /// Registers interest in `run`'s end; resolves with when its done marker arrived.
    pub fn expect(&self, run: &str) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(run.to_owned(), tx);
        }
        rx
    }
}

/// Subscribes to every run-level done marker of the bus's topic and records each arrival in
/// `done`. Returns once the subscription is in place; abort the task to stop watching.
pub async fn watch_completions(
    bus: &Bus,
    done: Arc<Completions>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let subjects = bus.subjects().clone();
    let mut markers = bus
        .client()
        .subscribe(format!(
            "{}.{}.notify.*.{RUN_MARKER}.done",
            subjects.account(),
            subjects.topic()
        ))
        .await?;
    bus.client().flush().await?;
    Ok(tokio::spawn(async move {
        while let Some(message) = markers.next().await {
            let at = Instant::now();
            let Ok(parsed) = subjects.parse(&message.subject) else {
                continue;
            };
            if let Ok(mut seen) = done.seen.lock() {
                *seen.entry(parsed.run_id.clone()).or_default() += 1;
            }
            let waiter = done
                .waiting
                .lock()
                .ok()
                .and_then(|mut w| w.remove(&parsed.run_id));
            if let Some(tx) = waiter {
                let _ = tx.send(at);
            }
        }
    }))
}
