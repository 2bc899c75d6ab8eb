//! SIGTERM on one of two `hops start` replicas while its calls run: they finish within the
//! drain timeout, or are handed back to the other replica; every run completes, exit code 0.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::up::Up;

/// A slow HTTP endpoint that remembers every request it got (the calls' side effect).
struct SlowServer {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl SlowServer {
    fn start(delay: Duration) -> SlowServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        return;
                    }
                    let path = line
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    log.lock().unwrap().push(path);
                    std::thread::sleep(delay);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                });
            }
        });
        SlowServer { port, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn project(port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.hops"),
        format!(
            "on slow {{\n  call echo_fetch {{\n    name   = \"wait\"\n    inputs = {{ url = \"http://127.0.0.1:{port}/${{event.n}}\" }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(hops_test_plugins::ECHO, plugins.join("echo.wasm")).unwrap();
    std::fs::write(
        plugins.join("echo.toml"),
        format!("allowed-hosts = [\"127.0.0.1:{port}\"]\ntimeout = \"60s\"\n"),
    )
    .unwrap();
    dir
}

fn replica(dir: &Path, nats: &str, drain: &str) -> Up {
    let plugins = dir.join("plugins");
    let args = [
        std::ffi::OsStr::new("start"),
        dir.as_os_str(),
        std::ffi::OsStr::new("--plugins"),
        plugins.as_os_str(),
    ];
    Up::spawn(
        &args,
        &[
            ("HOPS_NATS_URL", nats),
            ("HOPS_DRAIN_TIMEOUT", drain),
            ("HOPS_NO_K8S", "true"),
            ("HOPS_LOG", "warn,hops_runtime=info"),
        ],
    )
}

/// Sends `n` runs through `up`; returns their ids.
fn send_runs(up: &Up, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let out = up.hops(&[
                "event",
                "send",
                "--source",
                "t",
                "--event",
                "slow",
                "--data",
                &format!("{{\"n\": {i}}}"),
                "--json",
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).unwrap()["run_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn wait_completed(up: &Up, run: &str) -> Value {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = format!("{}/api/runs/{run}", up.api);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let view: Value =
            runtime.block_on(async { reqwest::get(&url).await.unwrap().json().await.unwrap() });
        if view["status"] == "completed" {
            return view;
        }
        assert!(
            std::time::Instant::now() < deadline && view["status"] != "errored",
            "{view:#}\n{}",
            up.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Replica A stopped mid-calls, and what is left running.
struct Scene {
    /// A's log, up to its exit.
    log: String,
    b: Up,
    runs: Vec<String>,
    server: SlowServer,
    _dir: tempfile::TempDir,
    _nats: hops_testutil::NatsServer,
    _runtime: tokio::runtime::Runtime,
}

/// Starts replica A, sends four slow runs and waits until A runs all four calls; starts B;
/// then stops A with SIGTERM (which must exit 0).
fn stop_a_mid_calls(delay: Duration, drain: &str) -> Scene {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nats = runtime.block_on(hops_testutil::NatsServer::start());
    let server = SlowServer::start(delay);
    let dir = project(server.port);
    let a = replica(dir.path(), &nats.url(), drain);
    let runs = send_runs(&a, 4);
    a.wait_for("all four calls running on A", |_| {
        server.requests().len() == 4
    });
    let b = replica(dir.path(), &nats.url(), drain);
    a.send_term();
    // While it drains, A is alive but not ready: traffic goes to B.
    a.wait_for("A's /ready to answer 503", |a| a.get("/ready") == Some(503));
    assert_eq!(a.get("/health"), Some(200));
    let log = a.wait_exit();
    Scene {
        log,
        b,
        runs,
        server,
        _dir: dir,
        _nats: nats,
        _runtime: runtime,
    }
}

#[test]
fn sigterm_drains_calls_in_flight_before_exiting() {
    let scene = stop_a_mid_calls(Duration::from_secs(3), "25s");
    let (log, b, runs, server) = (&scene.log, &scene.b, &scene.runs, &scene.server);
    assert!(
        log.contains("drained: 4 calls in flight, 4 finished, 0 handed back"),
        "{log}"
    );
    for run in runs {
        let view = wait_completed(b, run);
        assert!(
            view["calls"][0]["attempts"].is_null(),
            "one attempt: {view:#}"
        );
    }
    assert_eq!(server.requests().len(), 4, "no call ran twice");
    drop(scene);
}

#[test]
fn calls_past_the_drain_timeout_are_handed_back_to_the_other_replica() {
    let scene = stop_a_mid_calls(Duration::from_secs(8), "1s");
    let (log, b, runs, server) = (&scene.log, &scene.b, &scene.runs, &scene.server);
    assert!(
        log.contains("drained: 4 calls in flight, 0 finished, 4 handed back"),
        "{log}"
    );
    for run in runs {
        let view = wait_completed(b, run);
        let call = &view["calls"][0];
        assert_eq!(call["attempts"], 2, "{view:#}");
        let before = call["previous_attempts"][0].as_str().unwrap_or_default();
        assert!(
            before.contains("attempt 1 was handed back unfinished: its host was stopping"),
            "{view:#}"
        );
    }
    // Each call ran once to the end, on B; A's four were cut off.
    assert_eq!(server.requests().len(), 8);
    drop(scene);
}

#[test]
fn ctrl_c_on_hops_up_drains_before_its_nats_server_stops() {
    use std::os::unix::process::CommandExt as _;
    let server = SlowServer::start(Duration::from_secs(2));
    let dir = project(server.port);
    // As a terminal runs it: in a foreground process group that Ctrl-C signals as a whole.
    let mut command = std::process::Command::new(crate::up::HOPS);
    command
        .arg("up")
        .arg(dir.path())
        .env("HOPS_CACHE_DIR", crate::up::shared_cache())
        .env("HOPS_NO_K8S", "true")
        .env("HOPS_LOG", "warn,hops_runtime=info")
        .process_group(0);
    let up = Up::spawn_command(command);
    send_runs(&up, 1);
    up.wait_for("the call to run", |_| server.requests().len() == 1);
    let status = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", up.pid())])
        .status()
        .unwrap();
    assert!(status.success());
    let log = up.wait_exit();
    assert!(
        log.contains("drained: 1 calls in flight, 1 finished, 0 handed back"),
        "{log}"
    );
    assert_eq!(server.requests().len(), 1);
}
