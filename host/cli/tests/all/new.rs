//! `hops new app`: every scaffold (Rust, Python, JavaScript; worker and listener) builds with
//! the command its README gives and serves a call (or a webhook) in a real host registry.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use hops_core::{
    CallRequest, EmitError, Emitted, EventSink, Listeners, SourceEvent, WebhookRequest, Workers,
};
use hops_wasm::{AppsDir, AppsDirOptions};
use serde_json::json;

use crate::up::HOPS;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `hops new app NAME --lang LANG --world WORLD` in a fresh directory; returns the app's.
fn scaffold(work: &Path, name: &str, lang: &str, world: &str) -> PathBuf {
    let out = Command::new(HOPS)
        .args(["new", "app", name, "--lang", lang, "--world", world])
        .current_dir(work)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("build it:"), "{stdout}");
    work.join(name)
}

/// The first command line of the scaffold's README (the one-line build).
fn readme_build(dir: &Path) -> String {
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    readme
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("```"))
        .unwrap()
        .to_owned()
}

fn run(mut cmd: Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[derive(Default)]
struct Sink(Mutex<Vec<SourceEvent>>);

#[async_trait]
impl EventSink for Sink {
    async fn emit(&self, event: SourceEvent, run_id: String) -> Result<Emitted, EmitError> {
        self.0.lock().unwrap().push(event);
        Ok(Emitted {
            run_id,
            duplicate: false,
        })
    }
}

/// Loads `wasm` as app `name` and checks it answers: `hello` for a worker, `POST /hello` for
/// a listener.
async fn serves(name: &str, wasm: &Path, world: &str) {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(wasm, plugins.path().join(format!("{name}.wasm"))).unwrap();
    let sink = Arc::new(Sink::default());
    let (workers, listeners) = (Workers::new(), Listeners::new());
    let apps = AppsDir::open(
        AppsDirOptions {
            cache_dir: Some(crate::up::shared_cache()),
            event_sink: Some(sink.clone()),
            watch: false,
            ..AppsDirOptions::new(plugins.path())
        },
        &workers,
        &listeners,
    )
    .await
    .unwrap();
    assert!(apps.list().iter().all(|a| a.serving), "{:#?}", apps.list());
    if world == "worker" {
        let worker = workers.get(name).unwrap();
        let out = worker
            .handle(CallRequest {
                run_id: "r".into(),
                call_id: "p-c".into(),
                app: name.into(),
                handler: "hello".into(),
                inputs: json!({"name": "Ada"}).to_string(),
                attempt: 1,
                timeout: None,
                depth: 0,
            })
            .await
            .unwrap();
        assert_eq!(out.json, Some(json!({"greeting": "Hello, Ada!"})), "{name}");
    } else {
        let listener = listeners.get(name).unwrap();
        let answer = listener
            .webhook(WebhookRequest {
                method: "POST".into(),
                path: "/hello".into(),
                query: String::new(),
                headers: vec![("x-delivery-id".into(), "d1".into())],
                body: br#"{"name": "Ada"}"#.to_vec(),
            })
            .await
            .unwrap();
        assert_eq!(answer.status, 202, "{name}: {answer:?}");
        let events = sink.0.lock().unwrap().clone();
        assert_eq!(events.len(), 1, "{name}");
        assert_eq!(events[0].meta().event, "greeting");
        assert_eq!(events[0].payload()["name"], "Ada");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_scaffolds_build_and_serve() {
    let work = tempfile::tempdir().unwrap();
    // Shared with the plugins build, so the SDK and its dependencies are compiled once.
    let target = repo().join("target/plugins");
    for world in ["worker", "listener"] {
        let name = format!("rust{world}");
        let dir = scaffold(work.path(), &name, "rust", world);
        let build = readme_build(&dir);
        assert!(
            build.starts_with("cargo build --release --target wasm32-wasip2"),
            "{build}"
        );
        // The same versions the plugins workspace uses (no registry look-up needed).
        std::fs::copy(repo().join("plugins/Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTC_WORKSPACE_WRAPPER");
        run(cargo);
        let wasm = target.join(format!("wasm32-wasip2/release/{name}.wasm"));
        serves(&name, &wasm, world).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_scaffolds_build_and_serve() {
    let work = tempfile::tempdir().unwrap();
    for world in ["worker", "listener"] {
        let name = format!("py{world}");
        let dir = scaffold(work.path(), &name, "python", world);
        let build = readme_build(&dir);
        assert!(build.starts_with("componentize-py "), "{build}");
        let mut sh = Command::new("sh");
        sh.args(["-c", &build]).current_dir(&dir);
        run(sh);
        serves(&name, &dir.join(format!("{name}.wasm")), world).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_scaffolds_build_and_serve() {
    let work = tempfile::tempdir().unwrap();
    for world in ["worker", "listener"] {
        let name = format!("js{world}");
        let dir = scaffold(work.path(), &name, "js", world);
        assert_eq!(readme_build(&dir), "npm install && npm run build");
        // `npm install` would fetch what `sdk/js` already holds (setup.sh ran `npm ci` there).
        std::os::unix::fs::symlink(repo().join("sdk/js/node_modules"), dir.join("node_modules"))
            .unwrap();
        let mut npm = Command::new("npm");
        npm.args(["run", "--silent", "build"]).current_dir(&dir);
        run(npm);
        serves(&name, &dir.join(format!("{name}.wasm")), world).await;
    }
}

#[test]
fn a_name_that_cannot_be_an_app_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(HOPS)
        .args(["new", "app", "My_App", "--lang", "rust"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot name an app"));
}
