//! Shared test setup: one engine with a warm compile cache, plugin dirs in temp dirs, a
//! recording event sink.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hops_core::{
    CallError, CallOutput, CallRequest, EmitError, Emitted, EventSink, Listeners, SourceEvent,
    Workers,
};
use hops_wasm::{AppRegistry, EngineConfig, RegistryConfig, RestartPolicy, WasmEngine};
use tempfile::TempDir;

/// One engine for the whole binary, its compile cache warmed with every test plugin, so
/// tests measure loading and hot reload rather than cranelift.
pub static ENGINE: LazyLock<WasmEngine> = LazyLock::new(|| {
    let cache = std::env::temp_dir().join("hops-wasm-tests-cache");
    let engine = WasmEngine::new(&EngineConfig {
        cache_dir: Some(cache),
        max_instances: 64,
        max_memory_size: 1 << 30,
        ..EngineConfig::default()
    })
    .unwrap();
    for (_, path) in hops_test_plugins::ALL {
        let bytes = std::fs::read(path).unwrap();
        wasmtime::component::Component::new(engine.engine(), &bytes).unwrap();
    }
    engine
});

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Records every event; a run id seen before is reported as a duplicate, like the bus.
#[derive(Default)]
pub struct RecordingSink {
    pub events: Mutex<Vec<(SourceEvent, String)>>,
    seen: Mutex<HashSet<String>>,
}

#[async_trait]
impl EventSink for RecordingSink {
    async fn emit(&self, event: SourceEvent, run_id: String) -> Result<Emitted, EmitError> {
        let duplicate = !self.seen.lock().unwrap().insert(run_id.clone());
        self.events.lock().unwrap().push((event, run_id.clone()));
        Ok(Emitted { run_id, duplicate })
    }
}

/// A plugins directory with a registry over it.
pub struct Harness {
    pub dir: TempDir,
    pub registry: AppRegistry,
    pub workers: Workers,
    pub listeners: Listeners,
    pub sink: Arc<RecordingSink>,
}

impl Harness {
    /// Copies the named test plugins (with optional toml text) and loads them.
    pub async fn new(apps: &[(&str, Option<&str>)]) -> Harness {
        Self::with_restart(apps, RestartPolicy::default()).await
    }

    pub async fn with_restart(apps: &[(&str, Option<&str>)], restart: RestartPolicy) -> Harness {
        init_tracing();
        let dir = tempfile::tempdir().unwrap();
        for (name, toml) in apps {
            copy_plugin(name, &dir.path().join(format!("{name}.wasm")));
            if let Some(toml) = toml {
                std::fs::write(dir.path().join(format!("{name}.toml")), toml).unwrap();
            }
        }
        let sink = Arc::new(RecordingSink::default());
        let mut config = RegistryConfig::new(dir.path()).event_sink(sink.clone());
        config.restart = restart;
        config.debounce = Duration::from_millis(100);
        config.env = Arc::new(|name| (name == "HOPS_TEST_TOKEN").then(|| "t0k3n".to_owned()));
        let (workers, listeners) = (Workers::new(), Listeners::new());
        let registry = AppRegistry::new(ENGINE.clone(), config, workers.clone(), listeners.clone());
        registry.load_all().await.unwrap();
        Harness {
            dir,
            registry,
            workers,
            listeners,
            sink,
        }
    }

    pub fn path(&self, file: &str) -> std::path::PathBuf {
        self.dir.path().join(file)
    }

    /// Calls `<app>_<handler>` with JSON inputs.
    pub async fn call(
        &self,
        app: &str,
        handler: &str,
        inputs: serde_json::Value,
    ) -> Result<CallOutput, CallError> {
        call_with(&self.workers, app, handler, inputs, None).await
    }
}

pub async fn call_with(
    workers: &Workers,
    app: &str,
    handler: &str,
    inputs: serde_json::Value,
    timeout: Option<Duration>,
) -> Result<CallOutput, CallError> {
    let worker = workers
        .get(app)
        .unwrap_or_else(|| panic!("no worker {app}"));
    worker.handle(request(app, handler, inputs, timeout)).await
}

pub fn request(
    app: &str,
    handler: &str,
    inputs: serde_json::Value,
    timeout: Option<Duration>,
) -> CallRequest {
    CallRequest {
        run_id: "run-1".into(),
        call_id: "on-call".into(),
        app: app.into(),
        handler: handler.into(),
        inputs: inputs.to_string(),
        attempt: 1,
        timeout,
        depth: 0,
    }
}

/// Copies a built test plugin atomically (write + rename), as a careful deploy would.
pub fn copy_plugin(name: &str, dest: &Path) {
    let source = hops_test_plugins::ALL
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no test plugin {name}"))
        .1;
    let tmp = dest.with_extension("tmp");
    std::fs::copy(source, &tmp).unwrap();
    std::fs::rename(&tmp, dest).unwrap();
}

/// Polls `check` every 20 ms until it holds or `limit` passes; returns the time it took.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if check() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn reject_message(result: Result<CallOutput, CallError>) -> String {
    match result {
        Err(CallError::Reject(message)) => message,
        other => panic!("expected a reject, got {other:?}"),
    }
}
