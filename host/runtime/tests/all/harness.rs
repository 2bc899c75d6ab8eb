//! A test host: a pipelines directory from `testdata/runs`, native workers that record every
//! call, and helpers that wait for runs to finish.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hops_api::{HostApi as _, RunView};
use hops_bus::{Bus, BusConfig, WorkerConsumerOptions};
use hops_core::{CallError, CallOutput, CallRequest, Worker, Workers};
use hops_runtime::{Host, HostConfig, RunnerOptions};
use serde_json::{Value, json};

/// Copies fixture `testdata/runs/<name>` into a fresh temporary directory.
pub fn fixture(name: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/runs")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&src, dir.path());
    dir
}

/// A fresh temporary pipelines directory holding `text` as `<folder>/main.hops`.
pub fn pipelines(folder: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(folder)).unwrap();
    std::fs::write(dir.path().join(folder).join("main.hops"), text).unwrap();
    dir
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("{}: {e}", src.display())) {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), to).unwrap();
        }
    }
}

/// One call a test worker handled.
#[derive(Debug, Clone)]
pub struct Handled {
    pub run_id: String,
    pub call: String,
    pub app: String,
    pub handler: String,
    pub inputs: Value,
    pub attempt: u32,
    /// The [`TestApp::by`] of the worker that handled it.
    pub by: String,
}

/// Every call the test workers handled, across hosts.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Handled>>>);

impl CallLog {
    pub fn all(&self) -> Vec<Handled> {
        self.0.lock().unwrap().clone()
    }

    pub fn of_run(&self, run_id: &str) -> Vec<Handled> {
        self.all()
            .into_iter()
            .filter(|h| h.run_id == run_id)
            .collect()
    }
}

/// A native app: `echo` returns `{app, handler, inputs}`, `fail` rejects with
/// `inputs.message`, `sleep` waits `inputs.ms`, `flaky` asks for a retry until attempt
/// `inputs.fail_times + 1`; any other handler echoes.
pub struct TestApp {
    pub log: CallLog,
    /// Which host this worker belongs to, recorded with each call (empty: untagged).
    pub by: String,
}

#[async_trait]
impl Worker for TestApp {
    async fn handle(&self, call: CallRequest) -> Result<CallOutput, CallError> {
        let inputs = call.inputs_json();
        self.log.0.lock().unwrap().push(Handled {
            run_id: call.run_id.clone(),
            call: call.call_id.clone(),
            app: call.app.clone(),
            handler: call.handler.clone(),
            inputs: inputs.clone(),
            attempt: call.attempt,
            by: self.by.clone(),
        });
        match call.handler.as_str() {
            "fail" => Err(CallError::Reject(
                inputs["message"].as_str().unwrap_or("failed").to_owned(),
            )),
            "sleep" => {
                tokio::time::sleep(Duration::from_millis(inputs["ms"].as_u64().unwrap_or(0))).await;
                Ok(CallOutput::json(
                    json!({"slept": inputs["ms"], "inputs": inputs}),
                ))
            }
            "flaky" if u64::from(call.attempt) <= inputs["fail_times"].as_u64().unwrap_or(0) => {
                Err(CallError::Retry {
                    message: format!("not yet (attempt {})", call.attempt),
                    backoff: None,
                })
            }
            _ => Ok(CallOutput::json(
                json!({"app": call.app, "handler": call.handler, "inputs": inputs}),
            )),
        }
    }
}

/// Workers serving `apps` with [`TestApp`], all recording into `log`.
pub fn workers(apps: &[&str], log: &CallLog) -> Workers {
    tagged_workers(apps, log, "")
}

/// [`workers`] whose calls are recorded as handled `by` the given host.
pub fn tagged_workers(apps: &[&str], log: &CallLog, by: &str) -> Workers {
    let workers = Workers::new();
    for app in apps {
        let app_worker = TestApp {
            log: log.clone(),
            by: by.to_owned(),
        };
        workers.insert(app, Arc::new(app_worker));
    }
    workers
}

/// Test timings: short ack waits so redelivery after a "crash" happens within a test.
pub fn config(bus: Arc<Bus>, dir: &Path, workers: Workers) -> HostConfig {
    let mut config = HostConfig::new(bus, dir);
    config.workers = workers;
    config.worker_consumer = WorkerConsumerOptions {
        ack_wait: Duration::from_secs(2),
        ..WorkerConsumerOptions::default()
    };
    config.runner = RunnerOptions {
        consumer: hops_bus::RunnerConsumerOptions {
            ack_wait: Duration::from_secs(2),
            ..Default::default()
        },
        ..RunnerOptions::default()
    };
    config
}

pub async fn connect(url: &str) -> Arc<Bus> {
    Arc::new(Bus::connect(BusConfig::new(url)).await.unwrap())
}

/// Starts a host with every role over `url`, serving `apps` with test workers.
pub async fn start_host(url: &str, dir: &Path, apps: &[&str], log: &CallLog) -> Host {
    Host::start(config(connect(url).await, dir, workers(apps, log)))
        .await
        .unwrap()
}

/// Sends an event through the host's API surface; returns the run id.
pub async fn send(host: &Host, event: Value) -> String {
    host.services()
        .send_event(event, None)
        .await
        .unwrap()
        .run_id
}

/// Polls the run until it is finished.
pub async fn wait_run(host: &Host, run_id: &str, within: Duration) -> RunView {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(view) = host.services().run(run_id).await
            && view.status.is_finished()
        {
            return view;
        }
        if tokio::time::Instant::now() > deadline {
            let view = host.services().run(run_id).await;
            panic!("run {run_id} did not finish within {within:?}: {view:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until `check` holds.
pub async fn eventually(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A host on its own tokio runtime, so the test can kill it like `kill -9` would: every task,
/// the bus connection and the calls in flight stop at once, without a graceful stop.
pub struct Killable {
    runtime: tokio::runtime::Runtime,
}

impl Killable {
    /// Runs `start` (which connects and starts a host) on a runtime of its own and keeps the
    /// host alive until [`Killable::kill`].
    pub fn spawn(start: impl Future<Output = Host> + Send + 'static) -> Killable {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        drop(runtime.spawn(async move {
            let host = start.await;
            std::future::pending::<()>().await;
            drop(host);
        }));
        Killable { runtime }
    }

    /// Stops everything the host runs, at once.
    pub fn kill(self) {
        self.runtime.shutdown_background();
    }
}

/// Sends `event` with idempotency key `dedup`, retrying for up to `within` while the bus does
/// not take it (a cluster electing a leader); returns the run id.
pub async fn send_retrying(host: &Host, event: Value, dedup: String, within: Duration) -> String {
    let deadline = std::time::Instant::now() + within;
    loop {
        match host
            .services()
            .send_event(event.clone(), Some(dedup.clone()))
            .await
        {
            Ok(accepted) => return accepted.run_id,
            Err(err) if std::time::Instant::now() < deadline => {
                tracing::debug!(error = %err, "event not taken yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("event {dedup} not taken within {within:?}: {err}"),
        }
    }
}
