//! A compiled app: the component, its `InstancePre` and the export indices, checked against
//! the `hops:app` worlds.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre};

use crate::bindings::exports::hops::app::{listener, worker};
use crate::engine::WasmEngine;
use crate::error::LoadError;
use crate::settings::AppSettings;
use crate::state::{AppContext, HostState};
use crate::surface::{self, FileKind, World};

/// The hint for core modules, shared with `inspect`.
pub(crate) const CORE_MODULE_HINT: &str =
    "looks like a core wasm module; build for wasm32-wasip2 or run `wasm-tools component new`";

/// A component compiled and linked once; every call instantiates from `pre`.
pub(crate) struct Compiled {
    pub(crate) world: World,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) worker: Option<worker::GuestIndices>,
    pub(crate) listener: Option<listener::GuestIndices>,
    /// Hex SHA-256 of the file.
    pub(crate) sha256: String,
    pub(crate) size: usize,
}

impl Compiled {
    /// Checks, compiles (through wasmtime's on-disk cache) and pre-links a component.
    /// Blocking: run it off the async runtime.
    pub(crate) fn new(engine: &WasmEngine, bytes: &[u8]) -> Result<Compiled, LoadError> {
        match surface::file_kind(bytes) {
            FileKind::Component => {}
            FileKind::CoreModule => {
                return Err(LoadError::NotAComponent(CORE_MODULE_HINT.into()));
            }
            FileKind::NotWasm => {
                return Err(LoadError::NotAComponent(
                    "not a WebAssembly file (no `\\0asm` header)".into(),
                ));
            }
        }
        let surface = surface::read_surface(bytes).map_err(LoadError::NotAComponent)?;
        let world = surface::world_of(&surface.exports).map_err(LoadError::WrongWorld)?;
        let missing = surface::unsupported_imports(&surface.imports);
        if !missing.is_empty() {
            return Err(LoadError::UnsatisfiedImports(missing));
        }
        let component = Component::new(engine.engine(), bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let pre = engine
            .linker()
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let worker = if world.is_worker() {
            Some(
                worker::GuestIndices::new(&pre)
                    .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?,
            )
        } else {
            None
        };
        let listener = if world.is_listener() {
            Some(
                listener::GuestIndices::new(&pre)
                    .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?,
            )
        } else {
            None
        };
        Ok(Compiled {
            world,
            pre,
            worker,
            listener,
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len(),
        })
    }

    /// The short version shown in listings: the first 12 hex digits of the SHA-256.
    pub(crate) fn version(&self) -> String {
        self.sha256.chars().take(12).collect()
    }
}

/// One version of one app: compiled code plus the settings it runs with. Workers and
/// listeners hold an `Arc` of it, so a replaced version lives until its last call ends.
pub(crate) struct LoadedApp {
    pub(crate) compiled: Arc<Compiled>,
    pub(crate) ctx: Arc<AppContext>,
    pub(crate) engine: WasmEngine,
}

impl LoadedApp {
    pub(crate) fn new(
        engine: &WasmEngine,
        name: &str,
        compiled: Arc<Compiled>,
        settings: AppSettings,
        sink: Option<Arc<dyn hops_core::EventSink>>,
        limits: crate::registry::AppLimits,
    ) -> LoadedApp {
        let masker = Arc::new(crate::mask::Masker::new(
            settings
                .secrets
                .keys()
                .filter_map(|key| settings.config.get(key))
                .map(String::as_str),
        ));
        let ctx = Arc::new(AppContext {
            name: Arc::from(name),
            version: compiled.version(),
            settings,
            sink,
            masker,
            limits,
            superseded: std::sync::RwLock::new(None),
        });
        LoadedApp {
            compiled,
            ctx,
            engine: engine.clone(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.ctx.name
    }
}
