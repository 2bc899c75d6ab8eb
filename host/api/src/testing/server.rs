//! [`FakeServer`]: a [`FakeHost`] served from a background thread.

use std::net::SocketAddr;
use std::sync::Arc;

use super::FakeHost;
use crate::ApiConfig;

/// A [`FakeHost`] served on a free loopback port by a background thread; stops when dropped.
#[derive(Debug)]
pub struct FakeServer {
    /// The host behind the server.
    pub host: Arc<FakeHost>,
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    /// Serves a new [`FakeHost`] with `config`.
    ///
    /// # Errors
    ///
    /// When the runtime cannot be built or no port can be bound.
    pub fn start(config: ApiConfig) -> std::io::Result<Self> {
        Self::start_with(Arc::new(FakeHost::new()), config)
    }

    /// Serves `host` with `config`.
    ///
    /// # Errors
    ///
    /// When the runtime cannot be built or no port can be bound.
    pub fn start_with(host: Arc<FakeHost>, config: ApiConfig) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = crate::router(host.clone(), config);
        let thread = std::thread::Builder::new()
            .name("hops-fake-api".to_owned())
            .spawn(move || {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(err) = runtime.block_on(crate::serve(listener, app, shutdown)) {
                    tracing::error!(%err, "fake API server stopped");
                }
            })?;
        Ok(FakeServer {
            host,
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
