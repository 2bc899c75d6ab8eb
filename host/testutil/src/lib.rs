//! Test support for Hops crates: real `nats-server` processes on free loopback ports with
//! temporary JetStream directories, tracing for tests, and GitHub-style webhook signatures.
//!
//! ```no_run
//! # async fn example() {
//! let mut server = hops_testutil::NatsServer::start().await;
//! let bus = hops_bus::Bus::connect(hops_bus::BusConfig::new(server.url())).await.unwrap();
//! server.restart().await; // same port, same data: the bus reconnects
//! # drop(bus);
//! # }
//! ```
//!
//! The binary comes from `HOPS_TEST_NATS_BIN`, else `HOPS_NATS_SERVER`, `nats-server` on `PATH`
//! or `/usr/sbin/nats-server`. A missing binary panics with install instructions: this crate is
//! for tests only, where a panic is the failure report.

// Test support: failing loudly is the point, so panics and expects are the error handling here.
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

mod cluster;
mod figures;
mod github;
pub mod scripted;

use std::path::{Path, PathBuf};

use hops_bus::{LocalNats, LocalNatsOptions};

pub use cluster::NatsCluster;
pub use figures::{artifacts_dir, report_figure};
pub use github::github_signature;

/// Environment variable naming the nats-server binary for tests.
pub const TEST_NATS_BIN_ENV: &str = "HOPS_TEST_NATS_BIN";

/// Installs a `tracing` subscriber for tests, filtered by `HOPS_LOG` (default `warn`). Safe to
/// call from every test: only the first call installs it.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOPS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init()
        .ok();
}

/// A free TCP port on 127.0.0.1 (free when asked; another process may take it later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind a free loopback port")
}

/// A nats-server with JetStream on a free loopback port and a temporary data directory, killed
/// and cleaned up when dropped.
#[derive(Debug)]
pub struct NatsServer {
    nats: LocalNats,
    // Dropped after `nats` (fields drop in order): the server is gone before its files are.
    dir: tempfile::TempDir,
}

/// Builds a [`NatsServer`] with a configuration file and files beside it.
#[derive(Debug, Default)]
pub struct NatsServerBuilder {
    config: Option<String>,
    files: Vec<(String, Vec<u8>)>,
}

impl NatsServerBuilder {
    /// nats-server configuration text. `{dir}` is replaced by the server's directory, where
    /// [`NatsServerBuilder::file`]s are written (for certificate paths).
    pub fn config(mut self, text: impl Into<String>) -> Self {
        self.config = Some(text.into());
        self
    }

    /// A file written into the server's directory before it starts.
    pub fn file(mut self, name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((name.into(), contents.into()));
        self
    }

    /// Starts the server. Panics (with install hints when the binary is missing) on failure.
    pub async fn start(self) -> NatsServer {
        let dir = tempfile::Builder::new()
            .prefix("hops-nats-")
            .tempdir()
            .expect("cannot create a temporary directory for nats-server");
        for (name, contents) in &self.files {
            std::fs::write(dir.path().join(name), contents).expect("cannot write a server file");
        }
        let config_file = self.config.map(|text| {
            let path = dir.path().join("nats.conf");
            let text = text.replace("{dir}", &dir.path().display().to_string());
            std::fs::write(&path, text).expect("cannot write nats.conf");
            path
        });
        let options = LocalNatsOptions {
            data_dir: dir.path().join("data"),
            binary: test_binary(),
            port: None,
            config_file,
            startup_timeout: None,
        };
        match LocalNats::start(options).await {
            Ok(nats) => NatsServer { nats, dir },
            Err(err) => panic!("cannot start nats-server for the test: {err}"),
        }
    }
}

fn test_binary() -> Option<PathBuf> {
    std::env::var_os(TEST_NATS_BIN_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl NatsServer {
    /// A plain server: no authentication, no TLS.
    pub async fn start() -> NatsServer {
        Self::builder().start().await
    }

    /// A builder for servers with a configuration file (authentication, TLS).
    pub fn builder() -> NatsServerBuilder {
        NatsServerBuilder::default()
    }

    /// A server requiring `user` / `password`.
    pub async fn with_user_password(user: &str, password: &str) -> NatsServer {
        Self::builder()
            .config(format!(
                "authorization {{ users = [ {{ user: {user:?}, password: {password:?} }} ] }}"
            ))
            .start()
            .await
    }

    /// A server requiring `token`.
    pub async fn with_token(token: &str) -> NatsServer {
        Self::builder()
            .config(format!("authorization {{ token: {token:?} }}"))
            .start()
            .await
    }

    /// A server accepting the NKey user `public_key` (`U…`).
    pub async fn with_nkey(public_key: &str) -> NatsServer {
        Self::builder()
            .config(format!(
                "authorization {{ users = [ {{ nkey: {public_key:?} }} ] }}"
            ))
            .start()
            .await
    }

    /// A server requiring TLS with the given PEM certificate and key. With `client_ca`, clients
    /// must present a certificate signed by it (mutual TLS).
    pub async fn with_tls(cert_pem: &str, key_pem: &str, client_ca: Option<&str>) -> NatsServer {
        let mut tls =
            "tls { cert_file: \"{dir}/server-cert.pem\", key_file: \"{dir}/server-key.pem\""
                .to_owned();
        let mut builder = Self::builder()
            .file("server-cert.pem", cert_pem)
            .file("server-key.pem", key_pem);
        if let Some(ca) = client_ca {
            tls.push_str(", ca_file: \"{dir}/client-ca.pem\", verify: true");
            builder = builder.file("client-ca.pem", ca);
        }
        tls.push_str(" }");
        builder.config(tls).start().await
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.nats.url()
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.nats.port()
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.nats.pid()
    }

    /// The server's temporary directory (configuration, extra files, `data/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The underlying launcher.
    pub fn local(&self) -> &LocalNats {
        &self.nats
    }

    /// Stops and starts the server on the same port with the same data (for "the server
    /// restarted mid-run" tests).
    pub async fn restart(&mut self) {
        if let Err(err) = self.nats.restart().await {
            panic!("cannot restart nats-server: {err}");
        }
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub async fn kill(&mut self) {
        self.nats.kill().await;
    }

    /// Starts a stopped or killed server again on the same port and data.
    pub async fn start_again(&mut self) {
        if let Err(err) = self.nats.start_again().await {
            panic!("cannot start nats-server again: {err}");
        }
    }

    /// Stops the server (cleanly, waiting for it to exit). Drop kills it otherwise.
    pub async fn stop(&mut self) {
        if let Err(err) = self.nats.stop().await {
            panic!("cannot stop nats-server: {err}");
        }
    }
}
