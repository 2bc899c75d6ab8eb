//! Builds the example apps written in other languages: `sdk/python/examples/pyecho`
//! (componentize-py) and `sdk/js/examples/jsecho` (componentize-js), into
//! `target/plugins/<name>.wasm`.
//!
//! Each build is skipped when a stamp beside the output records the same inputs (source
//! bytes, the WIT, the tool's version), so unrelated plugin edits do not pay the ~15 s these
//! toolchains take. A missing tool fails with the command that installs it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned componentize-py; `scripts/setup.sh` installs the same version.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// One example app in another language.
pub struct Example {
    /// App name: the `.wasm` file stem and the constant name (upper-cased).
    pub name: &'static str,
    /// Files and directories whose changes must rebuild it, relative to the repository root.
    pub inputs: &'static [&'static str],
    build: fn(&Path, &Path, &Path) -> Result<(), String>,
}

/// Every example, in constant order.
pub const EXAMPLES: &[Example] = &[
    Example {
        name: "pyecho",
        inputs: &[
            "sdk/python/hops_app.py",
            "sdk/python/examples/pyecho/app.py",
        ],
        build: build_python,
    },
    Example {
        name: "jsecho",
        inputs: &[
            "sdk/js/hops.js",
            "sdk/js/examples/jsecho/app.js",
            "sdk/js/package.json",
            "sdk/js/package-lock.json",
        ],
        build: build_js,
    },
];

/// Builds every example whose inputs changed since its last build, in parallel.
pub fn build_all(root: &Path, target_dir: &Path) -> Result<(), String> {
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = EXAMPLES
            .iter()
            .map(|example| scope.spawn(move || build_one(example, root, target_dir)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a build thread panicked".into()))
            })
            .collect()
    });
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

fn build_one(example: &Example, root: &Path, target_dir: &Path) -> Result<(), String> {
    let out = target_dir.join(format!("{}.wasm", example.name));
    let stamp_path = target_dir.join(format!("{}.stamp", example.name));
    let tool = tool_version(example)?;
    let stamp = format!("{tool}\n{:016x}\n", inputs_hash(root, example)?);
    if out.is_file() && fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(());
    }
    let tmp = target_dir.join(format!("{}.wasm.tmp", example.name));
    (example.build)(root, target_dir, &tmp)
        .map_err(|e| format!("building the {} example app: {e}", example.name))?;
    fs::rename(&tmp, &out).map_err(|e| format!("moving {}: {e}", tmp.display()))?;
    fs::write(&stamp_path, stamp).map_err(|e| format!("writing {}: {e}", stamp_path.display()))
}

/// The version line of the example's toolchain; fails with the install command when the
/// tool is missing.
fn tool_version(example: &Example) -> Result<String, String> {
    match example.name {
        "pyecho" => {
            let out =
                run_capture(Command::new(componentize_py()).arg("--version")).map_err(|e| {
                    format!(
                        "componentize-py is needed to build the Python example app ({e}); \
                         install it with `python3 -m pip install {COMPONENTIZE_PY}` \
                         (or run scripts/setup.sh)"
                    )
                })?;
            Ok(out.trim().to_owned())
        }
        _ => {
            let out = run_capture(Command::new("node").arg("--version")).map_err(|e| {
                format!(
                    "node is needed to build the JavaScript example app ({e}); install \
                     Node.js 20+ (`apt-get install nodejs npm`) then run `npm ci` in sdk/js \
                     (or run scripts/setup.sh)"
                )
            })?;
            Ok(format!("node {}", out.trim()))
        }
    }
}

fn componentize_py() -> String {
    std::env::var("HOPS_COMPONENTIZE_PY").unwrap_or_else(|_| "componentize-py".into())
}

/// componentize-py writes `__pycache__` beside the sources it reads, so it builds from a
/// copy under the target dir: the source tree stays clean and never re-triggers this script.
fn build_python(root: &Path, target_dir: &Path, out: &Path) -> Result<(), String> {
    let stage = target_dir.join("python").join("pyecho");
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(|e| format!("clearing {}: {e}", stage.display()))?;
    }
    fs::create_dir_all(&stage).map_err(|e| format!("creating {}: {e}", stage.display()))?;
    for file in [
        "sdk/python/hops_app.py",
        "sdk/python/examples/pyecho/app.py",
    ] {
        let from = root.join(file);
        let name = from.file_name().unwrap_or_default();
        fs::copy(&from, stage.join(name)).map_err(|e| format!("copying {file}: {e}"))?;
    }
    let mut cmd = Command::new(componentize_py());
    cmd.arg("-d")
        .arg(root.join("wit"))
        .args(["-w", "worker-app", "componentize", "app", "-p", "."])
        .arg("-o")
        .arg(out)
        .current_dir(&stage)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run(&mut cmd, "componentize-py")
}

/// componentize-js is run from the repository root with the WIT path relative to it (it
/// resolves the path against the working directory).
fn build_js(root: &Path, _target_dir: &Path, out: &Path) -> Result<(), String> {
    let cli = root.join("sdk/js/node_modules/@bytecodealliance/componentize-js/src/cli.js");
    if !cli.is_file() {
        return Err(
            "componentize-js is not installed: run `npm ci` in sdk/js (or run scripts/setup.sh)"
                .into(),
        );
    }
    let mut cmd = Command::new("node");
    cmd.arg(cli)
        .arg("sdk/js/examples/jsecho/app.js")
        .args(["--wit", "wit", "--world-name", "worker-app"])
        // fetch() stays (its `fetch` handler uses it); no incoming-handler export.
        .args(["--disable", "fetch-event"])
        .arg("-o")
        .arg(out)
        .current_dir(root);
    run(&mut cmd, "componentize-js")
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let output = cmd
        .output()
        .map_err(|e| format!("could not run {what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn run_capture(cmd: &mut Command) -> Result<String, String> {
    let output = cmd.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!("exited with {}", output.status))
    }
}

/// FNV-1a over every input file (path and bytes) and the WIT, in a fixed order: stable
/// across Rust versions, unlike `DefaultHasher`.
fn inputs_hash(root: &Path, example: &Example) -> Result<u64, String> {
    let mut files: Vec<PathBuf> = example.inputs.iter().map(|p| root.join(p)).collect();
    collect_files(&root.join("wit"), &mut files)?;
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in &files {
        let bytes = fs::read(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
        feed(file.to_string_lossy().as_bytes());
        feed(&bytes);
    }
    Ok(hash)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
