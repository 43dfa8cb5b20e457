//! The progress stream of Ollama's long operations — [`pull`](super::OllamaProvider::pull),
//! [`push`](super::OllamaProvider::push) and [`create`](super::OllamaProvider::create): NDJSON
//! lines of `{status, digest?, total?, completed?}` ending with `success`, or an `{"error": …}`
//! line. One decoder and one stream type for the three: the wire shape is the same
//! (`api.ProgressResponse` in Ollama), only the words of the errors name the operation.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde_json::Value;

use super::models::Progress;
use super::native::lines_decoder;
use super::wire::{PullLine, reported_error};
use crate::codec::DEFAULT_MAX_LINE;
use crate::codec::lines::{LineHandler, Lines};
use crate::error::{Error, Result};
use crate::stream::Decoded;
use crate::transport::excerpt;

/// The progress reports of a pull, push or create: a stream of [`Progress`] that ends after
/// `success`, or with an error item. Dropping it cancels the operation on the server.
#[must_use = "a stream does nothing unless polled"]
pub struct ProgressStream {
    inner: Decoded<ProgressDecoder>,
}

/// [`ProgressStream`], under the name it had when only pulls reported progress.
pub type PullStream = ProgressStream;

impl ProgressStream {
    pub(super) fn new(inner: Decoded<ProgressDecoder>) -> Self {
        ProgressStream { inner }
    }
}

impl std::fmt::Debug for ProgressStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressStream").finish_non_exhaustive()
    }
}

impl Stream for ProgressStream {
    type Item = Result<Progress>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// Progress reports, decoded: NDJSON lines → [`Progress`], ending after `success`;
/// `{"error": …}` ends the stream with an [`Error::Stream`]. The
/// [`Decoder`](crate::codec::Decoder) pulls, pushes and creates are read with; it does no I/O.
#[derive(Debug)]
pub struct ProgressDecoder {
    lines: Lines<ProgressLines>,
}

/// [`ProgressDecoder`], under the name it had when only pulls reported progress.
pub type PullDecoder = ProgressDecoder;

impl Default for ProgressDecoder {
    /// A decoder with the default line limit ([`DEFAULT_MAX_LINE`]).
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl ProgressDecoder {
    /// A decoder of a pull's progress that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        Self::for_operation("pull", max_line)
    }

    /// A decoder whose errors name `operation` (`pull`, `push`, `create`).
    pub(super) fn for_operation(operation: &'static str, max_line: usize) -> Self {
        ProgressDecoder {
            lines: Lines::new(
                max_line,
                ProgressLines {
                    operation,
                    success: false,
                    lines: 0,
                    progress: false,
                },
            ),
        }
    }
}

lines_decoder!(
    ProgressDecoder,
    Progress,
    "a stream of progress reports (NDJSON)",
    |v| v.get("status").is_some_and(Value::is_string)
);

/// Progress lines → [`Progress`].
#[derive(Debug)]
struct ProgressLines {
    operation: &'static str,
    success: bool,
    lines: u64,
    progress: bool,
}

impl ProgressLines {
    /// The error for an `{"error": …}` line: a registry's refusal of a push
    /// (`unauthorized: access denied`) is an [`Error::Auth`] saying what to do, anything else
    /// an [`Error::Stream`] with the server's words.
    fn failure(&self, err: &str) -> Error {
        if self.operation == "push" && err.starts_with("unauthorized") {
            return Error::Auth {
                status: None,
                message: format!(
                    "the registry refused the push ({err}): push under your own namespace \
                     (<your ollama.com user>/<model>, copy it there with `llmport cp`), and add \
                     this Ollama server's public key (~/.ollama/id_ed25519.pub on the server) \
                     at https://ollama.com/settings/keys"
                ),
                source: None,
            };
        }
        Error::stream(format!("the {} failed: {err}", self.operation))
    }
}

impl LineHandler for ProgressLines {
    type Item = Progress;

    fn on_line(&mut self, line: &str, out: &mut VecDeque<Result<Progress>>) -> Result<()> {
        if self.success {
            return Ok(());
        }
        self.lines += 1;
        let wire: PullLine = serde_json::from_str(line).map_err(|e| Error::Decode {
            message: format!(
                "line {} of the {}'s progress is not a progress report: {}",
                self.lines,
                self.operation,
                excerpt(line.as_bytes())
            ),
            source: Some(Box::new(e)),
        })?;
        if let Some(err) = reported_error(wire.error.as_ref()) {
            return Err(self.failure(&err));
        }
        let progress = Progress {
            status: wire.status,
            digest: wire.digest,
            total: wire.total,
            completed: wire.completed,
        };
        self.success = progress.is_success();
        // Every report is progress: the operation is alive while the server reports on it.
        self.progress = true;
        out.push_back(Ok(progress));
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.success
    }

    fn take_progress(&mut self) -> bool {
        std::mem::take(&mut self.progress)
    }

    fn on_end(&mut self) -> Result<()> {
        if self.success {
            return Ok(());
        }
        Err(Error::stream(format!(
            "the {} ended before the server reported success",
            self.operation
        )))
    }
}
