//! Guest stdout and stderr: captured per store and logged line by line with the app's name.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A line longer than this is logged in pieces: a guest printing without newlines must not
/// make the host buffer without bound.
const MAX_LINE: usize = 8 * 1024;
/// How many stderr lines error messages may quote.
const RECENT_STDERR: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Stdout,
    Stderr,
}

/// The partial lines of both streams and the last complete stderr line.
pub(crate) struct Captured {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// The last few stderr lines, for error messages: a Rust guest prints its panic message
    /// there just before it traps.
    recent_stderr: std::collections::VecDeque<String>,
    /// The app's secrets, masked in every line.
    masker: std::sync::Arc<crate::mask::Masker>,
    /// The run of the call being served, named in every line (workers only).
    run: Option<String>,
}

impl Captured {
    pub(crate) fn new(masker: std::sync::Arc<crate::mask::Masker>, run: Option<String>) -> Self {
        Captured {
            stdout: Vec::new(),
            stderr: Vec::new(),
            recent_stderr: std::collections::VecDeque::new(),
            masker,
            run,
        }
    }

    fn push(&mut self, which: Which, app: &str, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                self.emit(which, app);
                continue;
            }
            let buf = self.buf(which);
            buf.push(byte);
            if buf.len() >= MAX_LINE {
                self.emit(which, app);
            }
        }
    }

    fn buf(&mut self, which: Which) -> &mut Vec<u8> {
        match which {
            Which::Stdout => &mut self.stdout,
            Which::Stderr => &mut self.stderr,
        }
    }

    fn emit(&mut self, which: Which, app: &str) {
        let line = std::mem::take(self.buf(which));
        let text = String::from_utf8_lossy(&line);
        let text = self.masker.text(text.trim_end_matches('\r')).into_owned();
        if text.trim().is_empty() {
            return;
        }
        let run = self.run.as_deref().unwrap_or("");
        match which {
            Which::Stdout => {
                tracing::info!(target: "hops::app", app, run, stream = "stdout", "{text}")
            }
            Which::Stderr => {
                tracing::warn!(target: "hops::app", app, run, stream = "stderr", "{text}");
                // Rust's "note: run with `RUST_BACKTRACE=1`" says nothing about the failure.
                if !text.starts_with("note: run with") {
                    if self.recent_stderr.len() == RECENT_STDERR {
                        self.recent_stderr.pop_front();
                    }
                    self.recent_stderr.push_back(text.trim().to_owned());
                }
            }
        }
    }

    /// The last few stderr lines joined with ` / `, if there were any.
    pub(crate) fn recent_stderr(&self) -> Option<String> {
        if self.recent_stderr.is_empty() {
            return None;
        }
        Some(Vec::from(self.recent_stderr.clone()).join(" / "))
    }

    /// Logs what is left of unterminated lines.
    pub(crate) fn flush(&mut self, app: &str) {
        for which in [Which::Stdout, Which::Stderr] {
            if !self.buf(which).is_empty() {
                self.emit(which, app);
            }
        }
    }
}

/// One of the two output streams handed to WASI.
#[derive(Clone)]
pub(crate) struct LogStream {
    app: Arc<str>,
    which: Which,
    captured: Arc<Mutex<Captured>>,
}

impl LogStream {
    pub(crate) fn stdout(app: Arc<str>, captured: Arc<Mutex<Captured>>) -> LogStream {
        LogStream {
            app,
            which: Which::Stdout,
            captured,
        }
    }

    pub(crate) fn stderr(app: Arc<str>, captured: Arc<Mutex<Captured>>) -> LogStream {
        LogStream {
            app,
            which: Which::Stderr,
            captured,
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        if let Ok(mut captured) = self.captured.lock() {
            captured.push(self.which, &self.app, bytes);
        }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogStream {
    async fn ready(&mut self) {}
}

impl OutputStream for LogStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
