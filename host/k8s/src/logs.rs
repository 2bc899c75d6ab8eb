//! The end of a container's log, read through the API (`pods/log`) so it works from inside or
//! outside the cluster. Only a bounded tail is kept, however much the container wrote.

use futures::AsyncReadExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use crate::pod::CONTAINER;

/// Lines asked of the API at most, so a chatty container is not streamed in full.
const MAX_LINES: i64 = 10_000;

/// Keeps the last `max` bytes of what is pushed through it, cut at a character boundary.
#[derive(Debug)]
pub struct Tail {
    max: usize,
    buf: Vec<u8>,
    cut: bool,
}

impl Tail {
    /// A tail of at most `max` bytes.
    pub fn new(max: usize) -> Tail {
        Tail {
            max,
            buf: Vec::new(),
            cut: false,
        }
    }

    /// Adds bytes, dropping the oldest past the bound.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > self.max * 2 {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.buf.len() > self.max {
            let drop = self.buf.len() - self.max;
            self.buf.drain(..drop);
            self.cut = true;
        }
    }

    /// The text kept, and whether earlier text was dropped.
    pub fn finish(mut self) -> (String, bool) {
        self.trim();
        let text = String::from_utf8_lossy(&self.buf);
        // A cut may have split a character: drop the broken start.
        let text = if self.cut {
            text.trim_start_matches('\u{fffd}').to_owned()
        } else {
            text.into_owned()
        };
        (text, self.cut)
    }
}

/// The last `max` bytes of the main container's log, and whether earlier lines were dropped.
///
/// # Errors
///
/// When the API does not give the log.
pub async fn tail(pods: &Api<Pod>, name: &str, max: usize) -> Result<(String, bool), kube::Error> {
    if max == 0 {
        return Ok((String::new(), false));
    }
    let params = LogParams {
        container: Some(CONTAINER.to_owned()),
        tail_lines: Some(MAX_LINES),
        ..LogParams::default()
    };
    let mut stream = pods.log_stream(name, &params).await?;
    let mut tail = Tail::new(max);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(kube::Error::ReadEvents)?;
        if n == 0 {
            break;
        }
        tail.push(&chunk[..n]);
    }
    Ok(tail.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_end() {
        let mut tail = Tail::new(10);
        for _ in 0..100 {
            tail.push(b"0123456789abcdef\n");
        }
        let (text, cut) = tail.finish();
        assert_eq!(text, "789abcdef\n");
        assert!(cut);
        let mut short = Tail::new(100);
        short.push("héllo\n".as_bytes());
        assert_eq!(short.finish(), ("héllo\n".to_owned(), false));
        let mut split = Tail::new(2);
        split.push("é".as_bytes());
        split.push(b"x");
        assert_eq!(split.finish().0, "x");
    }
}
