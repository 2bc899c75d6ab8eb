//! Per-store state: WASI without resources, wasi:http behind grants, captured stdio,
//! the memory limiter and the app's context.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hops_core::EventSink;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::grants::GrantHooks;
use crate::mask::Masker;
use crate::registry::AppLimits;
use crate::settings::AppSettings;
use crate::stdio::{Captured, LogStream};

/// What every store of one app version shares: name, version, settings, the event sink, the
/// masker of its secrets and the host's limits on what it may emit.
pub(crate) struct AppContext {
    pub(crate) name: Arc<str>,
    pub(crate) version: String,
    pub(crate) settings: AppSettings,
    pub(crate) sink: Option<Arc<dyn EventSink>>,
    pub(crate) masker: Arc<Masker>,
    pub(crate) limits: AppLimits,
    /// Why a newer version of this app did not load, while this one keeps serving.
    pub(crate) superseded: std::sync::RwLock<Option<String>>,
}

impl AppContext {
    /// The note calls served by this version carry while a newer one failed to load.
    pub(crate) fn stale_note(&self) -> Option<String> {
        let why = self.superseded.read().ok()?.clone()?;
        Some(format!(
            "served by the previous version {} of app {}: {why}",
            self.version, self.name
        ))
    }
}

/// The call a worker store runs (listener stores have none).
#[derive(Debug, Clone, Default)]
pub(crate) struct CallScope {
    pub(crate) run_id: String,
    pub(crate) call_id: String,
    pub(crate) depth: u32,
}

/// The `T` of every `Store<T>`.
pub(crate) struct HostState {
    pub(crate) app: Arc<AppContext>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    pub(crate) hooks: GrantHooks,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) stdio: Arc<Mutex<Captured>>,
    /// The call being run, for workers.
    pub(crate) call: Option<CallScope>,
    /// Events emitted during the current call, webhook or tick.
    pub(crate) emitted: u32,
}

impl HostState {
    pub(crate) fn new(app: &Arc<AppContext>, call: Option<CallScope>) -> HostState {
        let stdio = Arc::new(Mutex::new(Captured::new(
            app.masker.clone(),
            call.as_ref().map(|c| c.run_id.clone()),
        )));
        // No args, no environment, no preopened directories, no sockets: an app reaches the
        // outside only through the hops:app imports and granted wasi:http hosts.
        let wasi = WasiCtx::builder()
            .stdout(LogStream::stdout(app.name.clone(), stdio.clone()))
            .stderr(LogStream::stderr(app.name.clone(), stdio.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            hooks: GrantHooks::new(app.clone()),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(app.settings.memory),
            stdio,
            app: app.clone(),
            call,
            emitted: 0,
        }
    }

    /// Logs any partial last line the guest printed; returns the last stderr lines, for
    /// trap messages.
    pub(crate) fn finish_stdio(&self) -> Option<String> {
        let mut captured = self.stdio.lock().ok()?;
        captured.flush(&self.app.name);
        captured.recent_stderr()
    }

    /// A config value, for the `config` import.
    pub(crate) fn config(&self) -> &BTreeMap<String, String> {
        &self.app.settings.config
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Caps each linear memory at the app's limit and remembers whether the cap was hit, so a
/// trap that follows (Rust aborts when an allocation fails) can be reported as what it is.
pub(crate) struct MemoryLimiter {
    limit: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    fn new(limit: u64) -> MemoryLimiter {
        MemoryLimiter {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far beyond any real guest.
        Ok(desired <= 1_000_000)
    }
}
