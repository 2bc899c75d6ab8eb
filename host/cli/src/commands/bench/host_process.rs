//! The host process the throughput and memory figures come from: `hops start --roles
//! runner,workers` (this same binary) with [`APPS`] apps loaded, on the bench's nats-server,
//! so `peak_rss_mb` is what a production host with that many apps holds while it works.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// Apps the measured host loads.
pub const APPS: usize = 20;

/// Time the host gets to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Fills `dir` with every app of `plugins` (its `.wasm` and `.toml`) and then copies of
/// `echo.wasm` named `echo2`, `echo3`, … until it holds [`APPS`] apps. Returns how many it holds
/// (more than [`APPS`] when `plugins` has more).
pub fn twenty_apps(plugins: &Path, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut apps = std::collections::BTreeSet::new();
    let entries =
        std::fs::read_dir(plugins).with_context(|| format!("reading {}", plugins.display()))?;
    for entry in entries {
        let path = entry?.path();
        // The same files the registry would load: `<app>.wasm` and `<app>.toml`.
        let (Some(app), Some(file)) = (hops_wasm::app_name_of(&path), path.file_name()) else {
            continue;
        };
        std::fs::copy(&path, dir.join(file))
            .with_context(|| format!("copying {}", path.display()))?;
        if path.extension().is_some_and(|ext| ext == "wasm") {
            apps.insert(app);
        }
    }
    let echo = plugins.join("echo.wasm");
    let mut n = 2;
    while apps.len() < APPS {
        let name = format!("echo{n}");
        n += 1;
        if apps.contains(&name) {
            continue;
        }
        std::fs::copy(&echo, dir.join(format!("{name}.wasm")))
            .with_context(|| format!("copying {}", echo.display()))?;
        apps.insert(name);
    }
    Ok(apps.len())
}

/// A running `hops start` child. Killed if dropped without [`HostProcess::stop`].
pub struct HostProcess {
    child: Child,
    pid: u32,
    log: PathBuf,
}

/// Where the measured host reads and writes.
pub struct HostPaths<'a> {
    /// The pipelines directory.
    pub pipelines: &'a Path,
    /// The plugins directory.
    pub plugins: &'a Path,
    /// Its data directory (the compile cache: share it with the in-process host so the apps
    /// are compiled once).
    pub data: &'a Path,
    /// Its log (stdout and stderr).
    pub log: PathBuf,
}

impl HostProcess {
    /// Starts `hops start --roles runner,workers` against `nats_url`. `HOPS_*` variables of
    /// this process are not passed on, so only the flags decide its account, topic and dirs.
    pub fn start(paths: HostPaths<'_>, nats_url: &str) -> anyhow::Result<HostProcess> {
        let exe = std::env::current_exe().context("locating the hops binary")?;
        let log = std::fs::File::create(&paths.log)
            .with_context(|| format!("creating {}", paths.log.display()))?;
        let mut command = Command::new(exe);
        command
            .arg("start")
            .arg(paths.pipelines)
            .args(["--nats-url", nats_url, "--roles", "runner,workers"])
            .arg("--plugins")
            .arg(paths.plugins)
            .arg("--data-dir")
            .arg(paths.data)
            // The bench floods one pipeline on purpose.
            .args(["--max-runs-per-second", "0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HOPS_") {
                command.env_remove(key);
            }
        }
        let child = command
            .spawn()
            .context("starting `hops start` for the bench")?;
        let pid = child
            .id()
            .context("the bench's hops start exited at once")?;
        Ok(HostProcess {
            child,
            pid,
            log: paths.log,
        })
    }

    /// Resolves when the process exits (an early exit is a failure of the bench).
    pub async fn exited(&mut self) -> anyhow::Error {
        match self.child.wait().await {
            Ok(status) => anyhow::anyhow!(
                "the bench's `hops start` exited ({status}); its log ends with:\n{}",
                self.log_tail()
            ),
            Err(err) => anyhow::anyhow!("waiting for the bench's `hops start`: {err}"),
        }
    }

    /// Its peak resident set so far (VmHWM), in MiB.
    pub fn peak_rss_mb(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .context("reading the host process's /proc status")?;
        vm_hwm_mb(&status).context("no VmHWM in the host process's /proc status")
    }

    /// Restarts its peak-resident-set count from what it holds now (Linux `clear_refs` 5), so
    /// the next [`HostProcess::peak_rss_mb`] is the peak since this call.
    pub fn reset_peak_rss(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")
            .context("resetting the host process's peak RSS (/proc/<pid>/clear_refs)")
    }

    /// Stops it with SIGTERM (as an orchestrator would) and waits; kills it after a grace.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdin(Stdio::null())
            .status()
            .await;
        match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
            Ok(status) => {
                status?;
                Ok(())
            }
            Err(_) => {
                self.child.kill().await?;
                anyhow::bail!(
                    "the bench's `hops start` did not stop within {}s of SIGTERM",
                    STOP_GRACE.as_secs()
                )
            }
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The peak resident set (`VmHWM`) in a `/proc/<pid>/status` text, in MiB.
fn vm_hwm_mb(status: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(super::stats::round3(kb / 1024.0))
}
