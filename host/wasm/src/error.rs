//! Why an app could not be loaded.

use std::path::PathBuf;

/// Why an app file could not become a running app. Callers branch on the kind (the
/// registry keeps the previous version serving for all of them; `hops plugins inspect`
/// explains them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path:?}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The file name does not make a valid app name.
    #[error(
        "{0:?} is not a valid app name: use lowercase letters and digits only (no `_`, `-`, dots or capitals), at most 50"
    )]
    BadName(String),
    /// The name belongs to an app built into the host.
    #[error("{0:?} is the name of an app built into the host; rename {0}.wasm")]
    ReservedName(String),
    /// Not a WebAssembly component (a core module, or not wasm at all).
    #[error("not a component: {0}")]
    NotAComponent(String),
    /// A component, but not of a `hops:app` world.
    #[error("wrong world: {0}")]
    WrongWorld(String),
    /// It imports interfaces the host does not provide.
    #[error("imports what Hops does not provide: {}", .0.join(", "))]
    UnsatisfiedImports(Vec<String>),
    /// wasmtime could not compile or link it.
    #[error("compile error: {0}")]
    Compile(String),
    /// The app's `<name>.toml` is invalid.
    #[error("bad {file}: {message}")]
    BadSettings {
        /// The toml file name.
        file: String,
        /// What is wrong, naming the key.
        message: String,
    },
}

impl LoadError {
    /// The message, naming the file it is about (`echo.wasm: …`), unless it already does.
    pub fn with_file(&self, app: &str) -> String {
        match self {
            LoadError::BadSettings { .. } | LoadError::Io { .. } => self.to_string(),
            other => format!("{app}.wasm: {other}"),
        }
    }

    /// A short machine-readable kind, for listings and JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::Io { .. } => "io",
            LoadError::BadName(_) | LoadError::ReservedName(_) => "bad-name",
            LoadError::NotAComponent(_) => "not-a-component",
            LoadError::WrongWorld(_) => "wrong-world",
            LoadError::UnsatisfiedImports(_) => "unsatisfied-imports",
            LoadError::Compile(_) => "compile",
            LoadError::BadSettings { .. } => "bad-settings",
        }
    }
}
