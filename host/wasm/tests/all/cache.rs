//! The on-disk compile cache: a second engine (a restart) loads without compiling.

use hops_core::{Listeners, Workers};
use hops_wasm::{AppRegistry, EngineConfig, RegistryConfig, WasmEngine};

#[tokio::test]
async fn a_restarted_host_loads_apps_from_the_compile_cache() {
    crate::harness::init_tracing();
    let cache = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    crate::harness::copy_plugin("upper", &plugins.path().join("upper.wasm"));
    let config = EngineConfig {
        cache_dir: Some(cache.path().to_owned()),
        max_instances: 16,
        max_memory_size: 1 << 30,
        ..EngineConfig::default()
    };

    let load = |engine: WasmEngine| {
        let registry = AppRegistry::new(
            engine,
            RegistryConfig::new(plugins.path()),
            Workers::new(),
            Listeners::new(),
        );
        async move { registry.load_all().await.unwrap() }
    };

    let first = WasmEngine::new(&config).unwrap();
    load(first.clone()).await;
    let stats = first.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (0, 1));
    // wasmtime writes cache entries from a background worker; wait for it.
    crate::harness::eventually(std::time::Duration::from_secs(10), || {
        walk_files(cache.path()) > 0
    })
    .await;
    drop(first);

    let second = WasmEngine::new(&config).unwrap();
    let apps = load(second.clone()).await;
    assert!(apps[0].serving);
    let stats = second.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 0), "the restart recompiled");
}

fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() { walk_files(&path) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}
