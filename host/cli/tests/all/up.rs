//! `hops up` as people run it: the README's quickstart, signals, restarts, hot reload, and a
//! missing nats-server — all with the real binary, a real nats-server and real wasm apps.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const HOPS: &str = env!("CARGO_BIN_EXE_hops");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A copy of the quickstart project with the echo app in its plugins directory.
fn quickstart_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("examples/quickstart/hello");
    std::fs::create_dir_all(dir.path().join("hello")).unwrap();
    for file in ["main.hops", "manifest.yaml"] {
        std::fs::copy(src.join(file), dir.path().join("hello").join(file)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        hops_test_plugins::ECHO,
        dir.path().join("plugins/echo.wasm"),
    )
    .unwrap();
    dir
}

/// Processes whose command line mentions `needle` (to find a nats-server left behind).
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat.split_whitespace().nth(2) == Some("Z");
        if !zombie
            && String::from_utf8_lossy(&cmdline).contains(needle)
            && pid != std::process::id()
        {
            found.push(pid);
        }
    }
    found
}

fn nats_processes_in(dir: &Path) -> Vec<u32> {
    processes_mentioning(&dir.join(".hops").display().to_string())
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "nats-server")
        })
        .collect()
}

#[test]
fn readme_main_command_runs_the_quickstart_in_local_mode() {
    let dir = quickstart_copy();
    let addr = format!("127.0.0.1:{}", hops_testutil::free_port());
    let output = Command::new("bash")
        .arg(repo().join("scripts/quickstart.sh"))
        .env("HOPS_BIN", HOPS)
        .env("HOPS_ECHO_WASM", hops_test_plugins::ECHO)
        .env("QUICKSTART_DIR", dir.path())
        .env("HOPS_API_ADDR", &addr)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains(r#""status":"completed""#), "{stdout}");
    // Results flowed from the first wasm call into the second one's inputs.
    assert!(
        stdout.contains(r#"inputs {"text":"HELLO, HOPS!"}"#),
        "{stdout}"
    );
    assert!(stdout.contains("quickstart done"), "{stdout}");
    assert!(
        nats_processes_in(dir.path()).is_empty(),
        "nats-server left behind"
    );
}

/// The compile cache the tests' hosts share.
pub fn shared_cache() -> PathBuf {
    std::env::temp_dir().join("hops-cli-tests-wasm-cache")
}

/// A running `hops up` with its stderr (the log) and stdout collected.
pub struct Up {
    child: Child,
    pub api: String,
    log: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

/// The lines `from` gives, gathered by a thread as they come.
fn collect(from: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    text
}

impl Up {
    pub fn start(dir: &Path) -> Up {
        Up::start_with(dir, &[])
    }

    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Up {
        let args = [std::ffi::OsStr::new("up"), dir.as_os_str()];
        Up::spawn(&args, env)
    }

    /// Runs `hops <args>` (a command that serves the API) and waits until it is ready.
    pub fn spawn(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Up {
        let mut command = Command::new(HOPS);
        command
            .args(args)
            // One compile cache for every host the tests start: each would compile the
            // Python and JavaScript apps again otherwise.
            .env("HOPS_CACHE_DIR", shared_cache())
            .envs(env.iter().copied());
        Up::spawn_command(command)
    }

    /// Runs `command` (a host that serves the API at `HOPS_API_ADDR`, which this sets) and
    /// waits until it is ready.
    pub fn spawn_command(mut command: Command) -> Up {
        let addr = format!("127.0.0.1:{}", hops_testutil::free_port());
        let mut child = command
            .env("HOPS_API_ADDR", &addr)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = collect(child.stderr.take().unwrap());
        let stdout = collect(child.stdout.take().unwrap());
        let up = Up {
            child,
            api: format!("http://{addr}"),
            log,
            stdout,
        };
        up.wait_for("ready", |up| up.get("/ready").is_some_and(|s| s == 200));
        up
    }

    pub fn get(&self, path: &str) -> Option<u16> {
        reqwest::blocking_get(&format!("{}{path}", self.api))
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// What the host printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The URL of the nats-server `hops up` started (from its start-up line).
    pub fn nats_url(&self) -> String {
        let log = self.log();
        let line = log
            .lines()
            .find(|l| l.contains("nats-server (pid"))
            .unwrap_or_else(|| panic!("no nats-server line in the log:\n{log}"));
        let start = line.find("nats://").unwrap();
        line[start..].split_whitespace().next().unwrap().to_owned()
    }

    pub fn wait_for(&self, what: &str, check: impl Fn(&Up) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn hops(&self, args: &[&str]) -> std::process::Output {
        Command::new(HOPS)
            .args(args)
            .env("HOPS_API", &self.api)
            .output()
            .unwrap()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(self) -> String {
        self.send_term();
        self.wait_exit()
    }

    /// Sends SIGTERM.
    pub fn send_term(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for a clean exit (status 0) and returns the log.
    pub fn wait_exit(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "hops up exited with {status}; log:\n{}",
                    self.log()
                );
                break;
            }
            assert!(Instant::now() < deadline, "hops up did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.log()
    }
}

impl Drop for Up {
    /// A test that fails mid-way still stops the host the way a user would (SIGTERM), so the
    /// host stops its nats-server too; SIGKILL only if it does not stop within 10 s.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod reqwest {
    /// Status of a GET, `None` when nothing answers (tiny blocking client for polling).
    pub fn blocking_get(url: &str) -> Option<u16> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async { ::reqwest::get(url).await.ok().map(|r| r.status().as_u16()) })
    }
}

#[test]
fn sigterm_stops_the_child_a_restart_keeps_history_and_broken_edits_keep_the_last_good_version() {
    let dir = quickstart_copy();
    let up = Up::start(dir.path());
    let nats = nats_processes_in(dir.path());
    assert_eq!(nats.len(), 1, "one nats-server child; log:\n{}", up.log());

    let sent = up.hops(&[
        "event",
        "send",
        "--source",
        "cli",
        "--event",
        "task",
        "--action",
        "hello_world",
        "--data",
        r#"{"greeting": "Hi", "name": "you", "shout": false}"#,
        "--wait",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&sent.stdout).to_string();
    assert!(
        sent.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(stdout.contains(r#""status":"completed""#), "{stdout}");

    // A broken edit: diagnostics printed, the last good version keeps serving.
    let main = dir.path().join("hello/main.hops");
    let good = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        format!("{good}\non broken {{\n  call nope {{}}\n}}\n"),
    )
    .unwrap();
    up.wait_for("the broken edit to be reported", |up| {
        up.log().contains("last good version keeps running")
    });
    assert!(up.log().contains("main.hops"), "{}", up.log());
    assert_eq!(up.get("/ready"), Some(200));
    let ran = up.hops(&["run", "hello_world", "--wait", "--json"]);
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    std::fs::write(&main, good).unwrap();

    let log = up.terminate();
    assert!(log.contains("stopping"), "{log}");
    assert!(
        nats_processes_in(dir.path()).is_empty(),
        "nats-server left behind after SIGTERM"
    );

    // Restarted on the same directory: the earlier runs are still there.
    let up = Up::start(dir.path());
    let listed = up.hops(&["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(2), "{runs}");

    // Retention: a dry run counts the ended runs, a purge removes them.
    let dry = up.hops(&["runs", "purge", "--older-than", "0s", "--dry-run"]);
    let said = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success() && said.contains("2 runs ended before") && said.contains("dry run"),
        "{said}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let purged = up.hops(&["runs", "purge", "--older-than", "0s", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&purged.stdout).unwrap();
    assert_eq!(
        (report["runs"].as_u64(), report["dry_run"].as_bool()),
        (Some(2), Some(false)),
        "{report}"
    );
    let listed = up.hops(&["runs", "list", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(0), "{runs}");
    let bad = up.hops(&["runs", "purge", "--older-than", "soon"]);
    assert!(!bad.status.success());
    up.terminate();
    assert!(nats_processes_in(dir.path()).is_empty());
}

#[test]
fn a_missing_nats_server_is_a_clear_error() {
    let dir = quickstart_copy();
    let output = Command::new(HOPS)
        .arg("up")
        .arg(dir.path())
        .env("HOPS_NATS_SERVER", "/nonexistent/nats-server")
        .env(
            "HOPS_API_ADDR",
            format!("127.0.0.1:{}", hops_testutil::free_port()),
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nats-server not found") && stderr.contains("apt-get install nats-server"),
        "{stderr}"
    );
}

#[test]
fn hops_start_serves_against_an_existing_nats_and_checks_its_roles() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nats = runtime.block_on(hops_testutil::NatsServer::start());
    let dir = quickstart_copy();
    let plugins = dir.path().join("plugins");
    let data = dir.path().join("data");
    let args = [
        std::ffi::OsStr::new("start"),
        dir.path().as_os_str(),
        std::ffi::OsStr::new("--plugins"),
        plugins.as_os_str(),
        std::ffi::OsStr::new("--data-dir"),
        data.as_os_str(),
    ];
    let up = Up::spawn(
        &args,
        &[
            ("HOPS_NATS_URL", &nats.url()),
            ("HOPS_ROLES", "runner,workers,api"),
        ],
    );
    let ran = up.hops(&[
        "run",
        "hello_world",
        "--param",
        "name=prod",
        "--wait",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        ran.status.success() && stdout.contains(r#""status":"completed""#),
        "{stdout}\n{}",
        up.log()
    );
    up.terminate();

    let bad = Command::new(HOPS)
        .args(["start", "--nats-url", &nats.url(), "--roles", "runner,cook"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("unknown role \"cook\""), "{stderr}");
    drop(nats);
}

#[test]
fn app_output_and_hot_added_apps_show_in_the_log_by_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("p")).unwrap();
    std::fs::write(
        dir.path().join("p/main.hops"),
        "on hi {\n  call echo_log {\n    inputs = { message = \"hello from the app\" }\n  }\n}\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        hops_test_plugins::ECHO,
        dir.path().join("plugins/echo.wasm"),
    )
    .unwrap();
    // No HOPS_LOG: the defaults.
    let up = Up::start(dir.path());
    let sent = up.hops(&[
        "event", "send", "--source", "t", "--event", "hi", "--wait", "--json",
    ]);
    let stdout = String::from_utf8_lossy(&sent.stdout).to_string();
    assert!(sent.status.success(), "{stdout}");
    let run = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    up.wait_for("the app's log line", |up| {
        up.log().contains("hello from the app")
    });
    let log = up.log();
    let line = log
        .lines()
        .find(|l| l.contains("hello from the app"))
        .unwrap();
    assert!(
        line.contains("echo") && line.contains(&run),
        "app and run named: {line}"
    );
    // A file dropped in while the host runs: one line when it is ready.
    let staged = dir.path().join("upper.part");
    std::fs::copy(hops_test_plugins::UPPER, &staged).unwrap();
    std::fs::rename(&staged, dir.path().join("plugins/upper.wasm")).unwrap();
    up.wait_for("the new app's ready line", |up| {
        up.log().contains("app upper ready")
    });
    let log = up.log();
    let ready = log.lines().find(|l| l.contains("app upper ready")).unwrap();
    assert!(ready.contains("loaded in"), "{ready}");
    up.terminate();
}

#[test]
fn a_closed_terminal_sighup_stops_the_host_cleanly() {
    let dir = quickstart_copy();
    let up = Up::start(dir.path());
    let status = Command::new("kill")
        .args(["-HUP", &up.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let log = up.wait_exit();
    assert!(log.contains("hung up: stopping"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
