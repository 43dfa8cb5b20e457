//! Writing results: JSON documents, text that must end a line, and a "waiting" spinner.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::{CliError, stdout_error};

/// Writes `value` as pretty-printed JSON and a newline, then flushes.
pub fn write_json<W: Write, T: Serialize + ?Sized>(out: &mut W, value: &T) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| {
        if e.is_io() {
            stdout_error(io::Error::from(e))
        } else {
            CliError::io("cannot encode the answer as JSON", io::Error::other(e))
        }
    })?;
    out.write_all(b"\n").map_err(stdout_error)?;
    out.flush().map_err(stdout_error)
}

/// Ends the current line of output: writes a newline unless `printed` already ends with one
/// (an empty answer still gets its newline), then flushes.
pub fn end_line<W: Write>(out: &mut W, printed: &str) -> io::Result<()> {
    if !printed.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// A spinner on stderr while waiting for the first words of an answer. It draws only when
/// stderr is a terminal, and clears itself when stopped or dropped.
#[derive(Debug)]
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Starts a spinner if `enabled` and stderr is a terminal; otherwise does nothing.
    pub fn start(enabled: bool) -> Self {
        if !enabled || !io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::default_spinner());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }

    /// Stops and clears the spinner (before the answer is printed).
    pub fn stop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_line_adds_a_newline_only_when_needed() {
        let mut out = Vec::new();
        end_line(&mut out, "abc").unwrap();
        end_line(&mut out, "abc\n").unwrap();
        end_line(&mut out, "").unwrap();
        assert_eq!(out, b"\n\n");
    }

    #[test]
    fn json_is_pretty_and_ends_with_a_newline() {
        let mut out = Vec::new();
        write_json(&mut out, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\n  \"a\": 1\n}\n");
    }
}
