//! What a component imports and exports, read straight from its binary (no compilation),
//! and how that compares with what Hops provides.

use serde::Serialize;
use wasmparser::{Parser, Payload};

/// Interfaces the host links, without versions. `wasi:*` are served at 0.2.x, `hops:app/*`
/// at 0.1.x; the linker matches semver-compatible versions.
const PROVIDED: &[&str] = &[
    "hops:app/types",
    "hops:app/log",
    "hops:app/config",
    "hops:app/events",
    "wasi:http/types",
    "wasi:http/outgoing-handler",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
];

/// The export a worker must have.
pub(crate) const WORKER_EXPORT: &str = "hops:app/worker";
/// The export a listener must have.
pub(crate) const LISTENER_EXPORT: &str = "hops:app/listener";

/// What kind of app a component is, from its exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum World {
    /// Exports `hops:app/worker`: handles calls.
    Worker,
    /// Exports `hops:app/listener`: webhooks and ticks.
    Listener,
    /// Exports both.
    App,
}

impl World {
    /// Whether calls can be sent to it.
    pub fn is_worker(self) -> bool {
        matches!(self, World::Worker | World::App)
    }

    /// Whether it receives webhooks and ticks.
    pub fn is_listener(self) -> bool {
        matches!(self, World::Listener | World::App)
    }
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            World::Worker => "worker",
            World::Listener => "listener",
            World::App => "app",
        })
    }
}

/// What kind of file this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// A WebAssembly component.
    Component,
    /// A core WebAssembly module (not a component).
    CoreModule,
    /// Not WebAssembly at all.
    NotWasm,
}

/// Top-level imports and exports of a component, by name (`ns:pkg/iface@version`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Surface {
    pub(crate) imports: Vec<String>,
    pub(crate) exports: Vec<String>,
}

/// Sniffs the file kind from the header.
pub(crate) fn file_kind(bytes: &[u8]) -> FileKind {
    if Parser::is_component(bytes) {
        FileKind::Component
    } else if Parser::is_core_wasm(bytes) {
        FileKind::CoreModule
    } else {
        FileKind::NotWasm
    }
}

/// Reads the outermost component's import and export names. Nested modules and components
/// are skipped: only the outer boundary is what the host links against.
pub(crate) fn read_surface(bytes: &[u8]) -> Result<Surface, String> {
    let mut surface = Surface::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| format!("malformed component: {e}"))? {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| format!("malformed import: {e}"))?;
                    surface.imports.push(import.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(|e| format!("malformed export: {e}"))?;
                    surface.exports.push(export.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(surface)
}

/// Splits `ns:pkg/iface@1.2.3` into `ns:pkg/iface` and the version.
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((base, version)) => (base, Some(version)),
        None => (name, None),
    }
}

/// Whether `version` is in the series the host serves for `base`: 0.1.x for hops:app,
/// 0.2.x for WASI.
fn version_served(base: &str, version: Option<&str>) -> bool {
    let series = if base.starts_with("hops:") {
        "0.1."
    } else {
        "0.2."
    };
    version.is_some_and(|v| v.starts_with(series))
}

/// Which world the exports make this component, or a message saying what is wrong.
pub(crate) fn world_of(exports: &[String]) -> Result<World, String> {
    let mut worker = false;
    let mut listener = false;
    let mut wrong_version = Vec::new();
    for export in exports {
        let (base, version) = split_version(export);
        let slot = match base {
            WORKER_EXPORT => &mut worker,
            LISTENER_EXPORT => &mut listener,
            _ => continue,
        };
        if version_served(base, version) {
            *slot = true;
        } else {
            wrong_version.push(export.clone());
        }
    }
    match (worker, listener) {
        (true, true) => Ok(World::App),
        (true, false) => Ok(World::Worker),
        (false, true) => Ok(World::Listener),
        (false, false) if !wrong_version.is_empty() => Err(format!(
            "exports {} but this host serves hops:app@0.1.x",
            wrong_version.join(", ")
        )),
        (false, false) => Err(format!(
            "exports nothing Hops can call: expected {WORKER_EXPORT}@0.1.x or {LISTENER_EXPORT}@0.1.x{}",
            if exports.is_empty() {
                String::new()
            } else {
                format!(" (it exports {})", exports.join(", "))
            }
        )),
    }
}

/// Imports the host does not provide (or provides at another version), by name.
pub(crate) fn unsupported_imports(imports: &[String]) -> Vec<String> {
    imports
        .iter()
        .filter(|name| {
            let (base, version) = split_version(name);
            !(PROVIDED.contains(&base) && version_served(base, version))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn worlds_from_exports() {
        assert_eq!(
            world_of(&names(&["hops:app/worker@0.1.0"])),
            Ok(World::Worker)
        );
        assert_eq!(
            world_of(&names(&[
                "hops:app/listener@0.1.3",
                "hops:app/worker@0.1.0"
            ])),
            Ok(World::App)
        );
        let err = world_of(&names(&["wasi:cli/run@0.2.0"])).unwrap_err();
        assert!(err.starts_with("exports nothing Hops can call"), "{err}");
        assert!(err.contains("wasi:cli/run@0.2.0"), "{err}");
        let err = world_of(&names(&["hops:app/worker@0.2.0"])).unwrap_err();
        assert!(err.contains("serves hops:app@0.1.x"), "{err}");
    }

    #[test]
    fn flags_imports_the_host_lacks() {
        let imports = names(&[
            "wasi:io/streams@0.2.4",
            "hops:app/log@0.1.0",
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:http/types@0.3.0",
            "hops:app/events@0.2.0",
        ]);
        assert_eq!(
            unsupported_imports(&imports),
            names(&[
                "wasi:keyvalue/store@0.2.0-draft",
                "wasi:http/types@0.3.0",
                "hops:app/events@0.2.0"
            ])
        );
    }
}
