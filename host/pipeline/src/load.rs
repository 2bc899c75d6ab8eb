//! Reading a pipelines directory into memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// Files other than `.hops` larger than this are not loaded (they would be copied into every
/// pinned version); `file()`/`template()` cannot read them.
pub const MAX_OTHER_FILE_BYTES: u64 = 1024 * 1024;

/// Directories at the top of a pipelines directory that belong to the host, not to automations.
pub const RESERVED_TOP_DIRS: &[&str] = &["plugins"];

/// The directory could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read pipelines directory {path}: {source}")]
pub struct LoadError {
    /// The directory.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Files read from a directory, by `/`-separated relative path, plus warnings about skipped ones.
#[derive(Debug, Default)]
pub struct LoadedFiles {
    /// Contents by relative path, sorted.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files that were skipped and why.
    pub warnings: Vec<Diagnostic>,
}

/// Reads every file below `root`: `.hops` files at any depth and the other files they may reach
/// through `file()`/`template()`. Skipped: names starting with `.` (hidden files, the local
/// `.hops/` data directory, Kubernetes ConfigMap `..data` entries), the top-level `plugins/`
/// directory, and directories reached through symlinks (symlinked files are read).
pub fn read_dir(root: &Path) -> Result<LoadedFiles, LoadError> {
    let meta = std::fs::metadata(root).map_err(|source| LoadError {
        path: root.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        let source = std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory");
        return Err(LoadError {
            path: root.to_owned(),
            source,
        });
    }
    let mut out = LoadedFiles::default();
    walk(root, root, &mut out)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut LoadedFiles) -> Result<(), LoadError> {
    let err = |source| LoadError {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || (dir == root && RESERVED_TOP_DIRS.contains(&name)) {
            continue;
        }
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let file_type = entry.file_type().map_err(|source| LoadError {
            path: path.clone(),
            source,
        })?;
        if file_type.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        // Symlinks are followed for files only (ConfigMap mounts), never for directories (loops).
        let Ok(meta) = std::fs::metadata(&path) else {
            out.warnings.push(
                Diagnostic::warning(
                    "Unreadable file skipped",
                    format!("{rel} is a broken symlink"),
                )
                .at_file(&rel),
            );
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let is_hops = rel.to_ascii_lowercase().ends_with(".hops");
        if !is_hops && meta.len() > MAX_OTHER_FILE_BYTES {
            out.warnings.push(
                Diagnostic::warning(
                    "Large file not loaded",
                    format!(
                        "{rel} is {} bytes; files other than .hops are loaded up to 1 MiB",
                        meta.len()
                    ),
                )
                .with_help("move it out of the pipelines directory, or split it")
                .at_file(&rel),
            );
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => {
                out.files.insert(rel, bytes);
            }
            Err(e) => out.warnings.push(
                Diagnostic::warning("Unreadable file skipped", format!("{rel}: {e}")).at_file(&rel),
            ),
        }
    }
    Ok(())
}

impl Diagnostic {
    /// Attributes a diagnostic to a whole file (line 1, column 1).
    pub fn at_file(mut self, path: &str) -> Self {
        self.file = path.to_owned();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_recursively_and_skips_what_is_not_pipelines() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, body) in [
            ("root.hops", "on a {}"),
            ("one/main.hops", "on foo {}"),
            ("one/userList.json", "[]"),
            ("one/deep/more.hops", "on bar {}"),
            ("two/notes.txt", "n"),
            (".hops/jetstream/x", "data"),
            ("one/..data/x.hops", "on nope {}"),
            ("plugins/echo.wasm", "wasm"),
            ("one/.DS_Store", "junk"),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        std::fs::write(
            root.join("two/big.bin"),
            vec![0u8; (MAX_OTHER_FILE_BYTES + 1) as usize],
        )
        .unwrap();
        let loaded = read_dir(root).unwrap();
        let paths: Vec<&str> = loaded.files.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "one/deep/more.hops",
                "one/main.hops",
                "one/userList.json",
                "root.hops",
                "two/notes.txt"
            ]
        );
        assert_eq!(loaded.warnings.len(), 1);
        assert_eq!(loaded.warnings[0].file, "two/big.bin");
    }

    #[test]
    fn unreadable_root_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_dir(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("cannot read pipelines directory"));
        std::fs::write(dir.path().join("file"), "x").unwrap();
        assert!(read_dir(&dir.path().join("file")).is_err());
    }
}
