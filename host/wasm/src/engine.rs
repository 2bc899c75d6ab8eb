//! The shared wasmtime [`Engine`] and [`Linker`]: configured once per process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Cache, CacheConfig, Config, Enabled, Engine, InstanceAllocationStrategy,
    PoolingAllocationConfig,
};

use crate::bindings::hops::app as wit;
use crate::state::HostState;

/// How often the epoch advances. Deadlines are whole ticks, so a call may overrun its timeout
/// by up to one tick; 10 ms keeps that invisible while costing one atomic add per tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Settings of the [`WasmEngine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where compiled code is cached on disk so restarts do not recompile; `None` disables
    /// the cache. Default: none; [`EngineConfig::with_data_dir`] puts it in `<data>/wasm-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Use the pooling allocator (fast per-call instantiation). If the pool cannot be
    /// reserved (too little address space, e.g. under `ulimit -v`), the engine falls back to
    /// on-demand allocation and logs a warning.
    pub pooling: bool,
    /// How many component instances may exist at once (all apps together): in-flight calls
    /// plus one per listener. Sizes the pool.
    pub max_instances: u32,
    /// The largest linear memory any app may grow to, in bytes; per-app limits from the toml
    /// must stay below it.
    pub max_memory_size: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cache_dir: None,
            pooling: true,
            max_instances: 1000,
            max_memory_size: 4 << 30,
        }
    }
}

impl EngineConfig {
    /// The defaults, with the compile cache in `<data_dir>/wasm-cache`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            cache_dir: Some(data_dir.into().join("wasm-cache")),
            ..EngineConfig::default()
        }
    }
}

/// Hits and misses of the on-disk compile cache since the engine started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Components loaded from the cache without compiling.
    pub hits: usize,
    /// Components compiled (and then written to the cache).
    pub misses: usize,
}

/// The wasmtime engine and the linker with every host interface, shared by all apps.
/// Cheap to clone.
#[derive(Clone)]
pub struct WasmEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<Cache>,
    pooling: bool,
    max_memory_size: usize,
}

impl WasmEngine {
    /// Builds the engine, links the host interfaces and starts the epoch ticker thread.
    ///
    /// # Errors
    ///
    /// When the cache directory cannot be used or wasmtime rejects the configuration.
    pub fn new(config: &EngineConfig) -> anyhow::Result<WasmEngine> {
        let cache = match &config.cache_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the wasm cache directory {dir:?}"))?;
                let mut cache_config = CacheConfig::new();
                cache_config.with_directory(dir);
                Some(
                    Cache::new(cache_config)
                        .map_err(anyhow::Error::from)
                        .context("configuring the wasm compile cache")?,
                )
            }
            None => None,
        };

        let mut wasm_config = Config::new();
        wasm_config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cache(cache.clone());

        let (engine, pooling) = if config.pooling {
            let mut pooled = wasm_config.clone();
            pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(config)));
            match Engine::new(&pooled) {
                Ok(engine) => (engine, true),
                Err(err) => {
                    tracing::warn!(
                        error = %format!("{err:#}"),
                        "could not reserve the instance pool; falling back to on-demand allocation (slower instantiation)"
                    );
                    (
                        Engine::new(&wasm_config).map_err(anyhow::Error::from)?,
                        false,
                    )
                }
            }
        } else {
            (
                Engine::new(&wasm_config).map_err(anyhow::Error::from)?,
                false,
            )
        };

        spawn_epoch_ticker(&engine);
        let linker = build_linker(&engine)?;
        Ok(WasmEngine {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                cache,
                pooling,
                max_memory_size: config.max_memory_size,
            }),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.inner.linker
    }

    /// Whether the pooling allocator is in use (false after a fallback).
    pub fn is_pooling(&self) -> bool {
        self.inner.pooling
    }

    /// The largest memory an app may be given.
    pub fn max_memory_size(&self) -> usize {
        self.inner.max_memory_size
    }

    /// Compile-cache statistics; `None` when the cache is off.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.inner.cache.as_ref().map(|cache| CacheStats {
            hits: cache.cache_hits(),
            misses: cache.cache_misses(),
        })
    }

    /// The compile cache directory, if the cache is on.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        self.inner
            .cache
            .as_ref()
            .map(|cache| cache.directory().clone())
    }
}

fn pool_config(config: &EngineConfig) -> PoolingAllocationConfig {
    let instances = config.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    // A Rust wasip2 component is one main module plus a few small shim modules (each its own
    // core instance with a table), so core instances and tables get a multiple of the
    // component count; memories and async stacks are about one per component instance.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(4))
        .total_tables(instances.saturating_mul(4))
        .total_memories(instances.saturating_mul(2))
        .total_stacks(instances)
        .max_memory_size(config.max_memory_size)
        // Large guests (componentize-py) carry a lot of per-instance metadata.
        .max_component_instance_size(4 << 20)
        .max_core_instance_size(4 << 20);
    // Measured with the echo bench (p50): resetting the small tables and the used top of the
    // async stack with memset beats madvise + page faults (54 -> 42 µs).
    pool.table_keep_resident(16 << 10)
        .async_stack_keep_resident(16 << 10);
    // Linear memory: a Rust guest's hot pages (stack just below 1 MiB, data and heap above)
    // are few but spread out, so a memset of a fixed low prefix misses them (256 KiB made
    // calls slower) and madvise costs a TLB shootdown on every core per call. Linux 6.7+
    // can list exactly the pages a call dirtied (PAGEMAP_SCAN): then those, up to 1 MiB, are
    // reset in place and stay resident. `hops bench`: rust call p50 26.6 -> 12.5 µs. `Auto`:
    // where a sandbox forbids the ioctl, wasmtime falls back to a memset of the prefix rather
    // than refusing the pool.
    if pagemap_scan_supported() {
        pool.pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(1 << 20);
    }
    pool
}

/// Whether the kernel has the `PAGEMAP_SCAN` ioctl (Linux 6.7 and later).
fn pagemap_scan_supported() -> bool {
    cfg!(target_os = "linux")
        && std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|release| kernel_version(&release))
            .is_some_and(|version| version >= (6, 7))
}

/// `(major, minor)` of a kernel release string such as `6.18.44-fc-v769`.
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a plain thread; it holds only a weak
/// reference, so it ends by itself once the engine is dropped (Spin does the same).
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("hops-wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(err) = spawned {
        tracing::error!(%err, "could not start the epoch ticker; call timeouts will not interrupt busy guests");
    }
}

/// Links WASI 0.2 (all of it: toolchains import clocks, random, stdio, filesystem and
/// sockets by themselves; the per-call `WasiCtx` grants none of the resources), wasi:http
/// (checked against grants by the hooks in [`HostState`]) and the hops:app interfaces.
fn build_linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wit::types::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    wit::log::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    wit::config::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    wit::events::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

#[cfg(test)]
mod tests {
    use super::kernel_version;

    #[test]
    fn kernel_versions_parse_from_release_strings() {
        assert_eq!(kernel_version("6.18.44-fc-v769\n"), Some((6, 18)));
        assert_eq!(kernel_version("5.10.0-28-amd64"), Some((5, 10)));
        assert_eq!(kernel_version("6.7"), Some((6, 7)));
        assert_eq!(kernel_version("garbage"), None);
        assert!((6, 6) < (6, 7) && (6, 7) <= (6, 18) && (5, 19) < (6, 7));
    }
}
