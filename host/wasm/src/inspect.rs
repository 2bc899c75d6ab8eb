//! `inspect`: what a `.wasm` file is, what it imports and exports, and whether Hops can run it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::CORE_MODULE_HINT;
use crate::surface::{self, FileKind, World};

/// What to tell the author of a `wasi:cli` command (a program with a `main`).
const COMMAND_HINT: &str = "this is a WASI command (it exports wasi:cli/run: a program with a main), not an app; \
     an app exports hops:app/worker: in Rust build a cdylib with hops-sdk and `export_worker!` \
     (`hops new app NAME --lang rust` writes one), in Python componentize with `-w worker-app`, \
     in JavaScript with `--world-name worker-app`";

/// The result of [`inspect`]: serializable for `--json`, and `Display` for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The file inspected.
    pub path: PathBuf,
    /// Component, core module or not wasm.
    pub kind: FileKind,
    /// File size.
    pub size_bytes: u64,
    /// Hex SHA-256 of the file; its first 12 digits are the app version in listings.
    pub sha256: String,
    /// The `hops:app` world it fits, if it fits one.
    pub world: Option<World>,
    /// Imported interfaces, by name with version.
    pub imports: Vec<String>,
    /// Exported interfaces, by name with version.
    pub exports: Vec<String>,
    /// Whether the host can load it as an app (ignoring its toml).
    pub fits: bool,
    /// Everything that stops it from loading, one sentence each.
    pub problems: Vec<String>,
}

/// Reads and inspects a file. Does not compile it, so it is fast and needs no engine.
///
/// # Errors
///
/// When the file cannot be read.
pub fn inspect(path: impl AsRef<Path>) -> std::io::Result<Inspection> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)?;
    Ok(inspect_bytes(path, &bytes))
}

/// Inspects bytes that were read from `path` (the path is only reported and used for the
/// app-name check).
pub fn inspect_bytes(path: &Path, bytes: &[u8]) -> Inspection {
    let mut inspection = Inspection {
        path: path.to_owned(),
        kind: surface::file_kind(bytes),
        size_bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        world: None,
        imports: Vec::new(),
        exports: Vec::new(),
        fits: false,
        problems: Vec::new(),
    };
    if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        && !hops_core::is_valid_app_name(stem)
    {
        inspection.problems.push(format!(
            "file name {stem:?} is not a valid app name: rename it to lowercase letters and digits only (no `_`, `-` or capitals)"
        ));
    }
    match inspection.kind {
        FileKind::NotWasm => {
            inspection
                .problems
                .push("not a component: not a WebAssembly file (no `\\0asm` header)".into());
        }
        FileKind::CoreModule => {
            inspection
                .problems
                .push(format!("not a component: {CORE_MODULE_HINT}"));
        }
        FileKind::Component => match surface::read_surface(bytes) {
            Err(message) => inspection.problems.push(message),
            Ok(found) => {
                match surface::world_of(&found.exports) {
                    Ok(world) => inspection.world = Some(world),
                    Err(message) => inspection.problems.push(message),
                }
                if found.exports.iter().any(|e| e.starts_with("wasi:cli/run")) {
                    inspection.problems.push(COMMAND_HINT.to_owned());
                }
                for import in surface::unsupported_imports(&found.imports) {
                    inspection
                        .problems
                        .push(format!("imports {import} which Hops does not provide"));
                }
                inspection.imports = found.imports;
                inspection.exports = found.exports;
            }
        },
    }
    inspection.fits = inspection.problems.is_empty();
    inspection
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FileKind::Component => "component",
            FileKind::CoreModule => "core module",
            FileKind::NotWasm => "not WebAssembly",
        };
        let file = self.path.display();
        // The verdict first, in one line.
        match (self.fits, self.world, self.problems.first()) {
            (true, Some(world), _) => writeln!(f, "ok: {file} runs as a {world} app")?,
            (_, _, Some(problem)) => writeln!(f, "cannot run: {file}: {problem}")?,
            _ => writeln!(f, "cannot run: {file} does not fit hops:app@0.1")?,
        }
        writeln!(
            f,
            "{kind}, {} bytes, version {}",
            self.size_bytes,
            &self.sha256[..self.sha256.len().min(12)]
        )?;
        if self.kind == FileKind::Component {
            writeln!(f, "world {{")?;
            for import in &self.imports {
                writeln!(f, "  import {import};")?;
            }
            for export in &self.exports {
                writeln!(f, "  export {export};")?;
            }
            writeln!(f, "}}")?;
        }
        for problem in self.problems.iter().skip(1) {
            writeln!(f, "problem: {problem}")?;
        }
        Ok(())
    }
}
