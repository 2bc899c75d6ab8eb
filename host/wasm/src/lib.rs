//! The WebAssembly side of the Hops host.
//!
//! Apps are components of the `hops:app@0.1.0` contract (`wit/`), dropped into a plugins
//! directory as `<name>.wasm` with an optional `<name>.toml` of grants and limits
//! (its *settings*, [`settings`]). This crate
//!
//! - builds one [`WasmEngine`]: component model, epoch interruption with a ticker thread,
//!   pooling allocator (with a fallback), wasmtime's on-disk compile cache;
//! - keeps a [`AppRegistry`] of a directory: checks each component's world and imports,
//!   compiles it once into an `InstancePre`, registers a [`WasmWorker`] into
//!   `hops_core::Workers` and/or a [`WasmListener`] into `hops_core::Listeners`, and with
//!   [`AppRegistry::watch`] applies adds, replacements and removals without a restart;
//! - runs every call in a fresh store under the call's timeout, the app's memory cap and a
//!   per-app concurrency limit; traps, timeouts and memory blow-ups become errored results;
//! - provides the host imports: `log` (tracing), `config` (toml values and secrets from the
//!   host's environment), `events` (an injected `hops_core::EventSink`) and
//!   `wasi:http/outgoing-handler` limited to the app's `allowed-hosts`;
//! - [`inspect`]s files for `hops plugins inspect`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hops_core::{CallRequest, Listeners, Worker, Workers};
//! use hops_wasm::{EngineConfig, AppRegistry, RegistryConfig, WasmEngine};
//!
//! # async fn run(sink: Arc<dyn hops_core::EventSink>) -> anyhow::Result<()> {
//! let engine = WasmEngine::new(&EngineConfig::with_data_dir(".hops"))?;
//! let (workers, listeners) = (Workers::new(), Listeners::new());
//! let config = RegistryConfig::new("plugins").event_sink(sink);
//! let registry = AppRegistry::new(engine, config, workers.clone(), listeners.clone());
//! registry.load_all().await?;
//! let _watch = registry.watch()?; // hot reload while this lives
//!
//! let echo = workers.get("echo").expect("echo.wasm is in plugins/");
//! let call = CallRequest {
//!     run_id: "r1".into(), call_id: "on-c".into(), app: "echo".into(),
//!     handler: "echo".into(), inputs: r#"{"hi": 1}"#.into(), attempt: 1, timeout: None, depth: 0,
//! };
//! let output = echo.handle(call).await;
//! # Ok(()) }
//! ```

mod app;
mod apps_dir;
mod bindings;
mod engine;
mod error;
mod grants;
mod host_impl;
mod inspect;
mod listener;
mod mask;
mod outcome;
mod registry;
/// An app's `<name>.toml` (grants and limits), parsed in `hops-core` so tools that only read
/// settings need not link wasmtime.
pub use hops_core::app_settings as settings;
mod state;
mod stdio;
mod surface;
mod watch;
mod worker;

pub use apps_dir::{AppsDir, AppsDirOptions};
pub use engine::{CacheStats, EPOCH_TICK, EngineConfig, WasmEngine};
pub use error::LoadError;
pub use inspect::{Inspection, inspect, inspect_bytes};
pub use listener::{ListenerHealth, RestartPolicy, WasmListener};
pub use mask::{MASK, Masker};
pub use registry::{
    AppInfo, AppLimits, AppRegistry, AppStatus, EnvLookup, RegistryConfig, app_name_of,
};
pub use settings::{Defaults, SettingsSummary, declared_handlers};
pub use surface::{FileKind, World};
pub use watch::WatchHandle;
pub use worker::WasmWorker;
