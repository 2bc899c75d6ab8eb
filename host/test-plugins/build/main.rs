//! Builds the apps in `plugins/` for `wasm32-wasip2` with a nested cargo, copies each to
//! `target/plugins/<name>.wasm` and generates a constant with its path. The example apps in
//! Python and JavaScript (`sdk/python`, `sdk/js`) are built too (see `polyglot.rs`).
//!
//! The nested build uses its own target dir (`target/plugins`), never the outer one, so the
//! two cargos never wait on each other's lock; only `-D warnings` is forwarded from
//! `RUSTFLAGS`, so host-only flags never reach the wasm build (wasmtime's and Spin's
//! test-program builders do the same). `HOPS_SKIP_PLUGIN_BUILD=1` skips the build and only
//! emits the constants (for `cargo check` loops and rust-analyzer).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};

mod polyglot;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|e| fail(&format!("cannot find the workspace root: {e}")));
    let plugins = root.join("plugins");
    let target_dir = root.join("target").join("plugins");

    println!("cargo:rerun-if-env-changed=HOPS_SKIP_PLUGIN_BUILD");
    println!("cargo:rerun-if-env-changed=RUSTFLAGS");
    println!("cargo:rerun-if-env-changed=HOPS_COMPONENTIZE_PY");
    // Precise paths, never a directory that contains a target dir: a nested target inside a
    // watched directory would make every build re-trigger itself.
    for path in [
        plugins.join("Cargo.toml"),
        plugins.join("Cargo.lock"),
        root.join("sdk/Cargo.toml"),
        root.join("sdk/src"),
        root.join("wit"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for example in polyglot::EXAMPLES {
        for input in example.inputs {
            println!("cargo:rerun-if-changed={}", root.join(input).display());
        }
    }
    let apps = app_crates(&plugins);
    for app in &apps {
        println!(
            "cargo:rerun-if-changed={}",
            plugins.join(app).join("Cargo.toml").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            plugins.join(app).join("src").display()
        );
    }

    let skip = env::var("HOPS_SKIP_PLUGIN_BUILD").is_ok_and(|v| v == "1");
    if !skip {
        check_target();
        build(&plugins, &target_dir);
        for app in &apps {
            let built = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{app}.wasm"));
            let dest = target_dir.join(format!("{app}.wasm"));
            if let Err(e) = fs::copy(&built, &dest) {
                fail(&format!(
                    "copying {} to {}: {e}",
                    built.display(),
                    dest.display()
                ));
            }
        }
        if let Err(e) = polyglot::build_all(&root, &target_dir) {
            fail(&e);
        }
    }
    let mut all = apps;
    all.extend(polyglot::EXAMPLES.iter().map(|e| e.name.to_owned()));
    write_constants(&target_dir, &all);
}

/// The app crates: every directory of `plugins/` with a `Cargo.toml`. The directory name is
/// the crate name and the app name.
fn app_crates(plugins: &Path) -> Vec<String> {
    let entries = fs::read_dir(plugins)
        .unwrap_or_else(|e| fail(&format!("reading {}: {e}", plugins.display())));
    let mut apps: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    apps.sort();
    apps
}

/// Fails early, with the fix, when the wasm target is not installed (Spin's build.rs does
/// the same check).
fn check_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    let installed = output.is_ok_and(|out| {
        out.status.success() && Path::new(String::from_utf8_lossy(&out.stdout).trim()).exists()
    });
    if !installed {
        fail(&format!(
            "the {TARGET} target is not installed; run `rustup target add {TARGET}` \
             (or set HOPS_SKIP_PLUGIN_BUILD=1 to skip building the test plugins)"
        ));
    }
}

fn build(plugins: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTFLAGS", rustflags())
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        // Set by `cargo clippy` for the outer build; the guests need no clippy here.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!(
            "building the plugins failed ({status}); see the output above"
        )),
        Err(e) => fail(&format!("could not run cargo to build the plugins: {e}")),
    }
}

/// Only `-D warnings` from the outer `RUSTFLAGS`, so CI keeps the guests warning-free.
fn rustflags() -> &'static str {
    match env::var("RUSTFLAGS") {
        Ok(flags) if flags.contains("-D warnings") || flags.contains("-Dwarnings") => "-D warnings",
        _ => "",
    }
}

fn write_constants(target_dir: &Path, apps: &[String]) {
    let mut code = String::new();
    let _ = writeln!(
        code,
        "/// The directory holding every built app as `<name>.wasm`.\npub const DIR: &str = {:?};",
        target_dir.display().to_string()
    );
    for app in apps {
        let path = target_dir.join(format!("{app}.wasm"));
        let _ = writeln!(
            code,
            "/// Path of the built `{app}` app.\npub const {}: &str = {:?};",
            app.to_uppercase(),
            path.display().to_string()
        );
    }
    let _ = writeln!(
        code,
        "/// Every app: `(name, path)`.\npub const ALL: &[(&str, &str)] = &["
    );
    for app in apps {
        let _ = writeln!(code, "    ({app:?}, {}),", app.to_uppercase());
    }
    let _ = writeln!(code, "];");
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default()).join("plugins.rs");
    if let Err(e) = fs::write(&out, code) {
        fail(&format!("writing {}: {e}", out.display()));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1);
}
