//! A request body streamed from a local file ([`Upload`]), for uploads too large to hold in
//! memory (a model's weights). The file is opened again for every attempt, so a retry or a
//! 307/308 redirect sends it from its first byte rather than replaying a half-consumed
//! stream; it is read in [`CHUNK`]-sized pieces, never whole.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::AsyncReadExt;

use crate::error::{Error, Result, TimeoutKind};

/// The size of the pieces the file is read and sent in.
const CHUNK: usize = 256 * 1024;

/// A file sent as a request body (`Content-Type: application/octet-stream`, with its
/// `Content-Length`). Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    path: Arc<PathBuf>,
    len: u64,
    /// Bytes of the current attempt's body handed to the HTTP client so far.
    sent: Arc<AtomicU64>,
}

impl Upload {
    /// The first `len` bytes of the file at `path` (its size when the upload was decided:
    /// a file that grows meanwhile is cut there, one that shrinks fails the upload).
    pub(crate) fn file(path: &Path, len: u64) -> Self {
        Upload {
            path: Arc::new(path.to_owned()),
            len,
            sent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The body's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The file, opened again from its first byte, as a body of `len` bytes read in pieces.
    pub(crate) fn open(&self) -> Result<reqwest::Body> {
        // A blocking open, not a read: it takes microseconds, and `Service::send` (where a
        // body is made for each attempt) has no other way to fail than a `SendError`.
        let file = std::fs::File::open(&*self.path).map_err(|e| Error::Config {
            setting: None,
            message: format!("cannot open {} to upload it: {e}", self.path.display()),
            source: Some(Box::new(e)),
        })?;
        let reader = tokio::fs::File::from_std(file).take(self.len);
        self.sent.store(0, Ordering::Relaxed);
        let sent = Arc::clone(&self.sent);
        let pieces =
            tokio_util::io::ReaderStream::with_capacity(reader, CHUNK).inspect(move |piece| {
                if let Ok(piece) = piece {
                    sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                }
            });
        Ok(reqwest::Body::wrap_stream(pieces))
    }

    /// Resolves with a timeout error when the upload stalls: no byte taken by the HTTP client
    /// for `idle` while the body is being sent (a server that stopped reading), or no answer
    /// within `first_byte` once all of it is sent. The first-byte limit of other requests
    /// cannot apply from the start: sending a model's weights can take longer than any
    /// sensible wait for an answer. Never resolves without limits.
    pub(crate) async fn stalled(
        &self,
        idle: Option<Duration>,
        first_byte: Option<Duration>,
    ) -> Error {
        const TICK: Duration = Duration::from_millis(100);
        let mut last = (self.sent.load(Ordering::Relaxed), Instant::now());
        loop {
            tokio::time::sleep(TICK).await;
            let now = Instant::now();
            let sent = self.sent.load(Ordering::Relaxed);
            if sent != last.0 {
                last = (sent, now);
                continue;
            }
            let quiet = now.duration_since(last.1);
            let (limit, kind) = if sent >= self.len {
                (first_byte, TimeoutKind::FirstByte)
            } else {
                (idle, TimeoutKind::Idle)
            };
            if let Some(after) = limit
                && quiet >= after
            {
                return Error::Timeout { kind, after };
            }
        }
    }
}
