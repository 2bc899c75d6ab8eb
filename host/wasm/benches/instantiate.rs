//! Instantiate + call of the `echo` app through `WasmWorker::handle`, the path every call
//! takes: fresh store from the `InstancePre` (pooling allocator), epoch deadline, memory
//! limiter, semaphore, the call, output conversion.
//!
//! `cargo bench -p hops-wasm --bench instantiate` prints criterion's estimate and, after it,
//! p50/p90/p99 over individually timed calls (budget: p50 ≤ 50 µs).

// A benchmark aborts on setup failure; there is no caller to report to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hops_core::{CallRequest, Listeners, Workers};
use hops_wasm::{AppRegistry, EngineConfig, RegistryConfig, WasmEngine};

fn instantiate_and_call(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(hops_test_plugins::ECHO, plugins.path().join("echo.wasm")).unwrap();
    let engine = WasmEngine::new(&EngineConfig {
        cache_dir: Some(std::env::temp_dir().join("hops-wasm-bench-cache")),
        ..EngineConfig::default()
    })
    .unwrap();
    assert!(
        engine.is_pooling(),
        "the benchmark needs the pooling allocator"
    );
    let workers = Workers::new();
    let registry = AppRegistry::new(
        engine,
        RegistryConfig::new(plugins.path()),
        workers.clone(),
        Listeners::new(),
    );
    rt.block_on(registry.load_all()).unwrap();
    let worker = workers.get("echo").unwrap();
    let call = CallRequest {
        run_id: "0b5e5a52-1b8c-4e55-9d49-0b3f5d2c7a10".into(),
        call_id: "on-echo".into(),
        app: "echo".into(),
        handler: "echo".into(),
        inputs: r#"{"greeting":"hello","n":42,"tags":["a","b"]}"#.into(),
        attempt: 1,
        timeout: None,
        depth: 0,
    };

    c.bench_function("wasm_worker_echo_call", |b| {
        b.iter(|| rt.block_on(worker.handle(call.clone())).unwrap());
    });

    let mut samples: Vec<Duration> = (0..5_000)
        .map(|_| {
            let start = Instant::now();
            rt.block_on(worker.handle(call.clone())).unwrap();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let pct = |p: usize| samples[samples.len() * p / 100].as_secs_f64() * 1e6;
    println!(
        "wasm_worker_echo_call: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs over {} calls",
        pct(50),
        pct(90),
        pct(99),
        samples.len()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = instantiate_and_call
}
criterion_main!(benches);
