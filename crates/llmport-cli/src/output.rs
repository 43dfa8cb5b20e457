//! Writing results: JSON documents, tables, text that must end a line, and a "waiting"
//! spinner.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::error::{CliError, stdout_error};
use crate::sanitize;

/// Writes `value` as pretty-printed JSON and a newline, then flushes.
pub(crate) fn write_json<W: Write, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
) -> Result<(), CliError> {
    end_json(out, serde_json::to_string_pretty(value))
}

/// Writes `value` as JSON on one line (long number arrays such as embeddings stay
/// readable by line-oriented tools), then flushes.
pub(crate) fn write_json_line<W: Write, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
) -> Result<(), CliError> {
    end_json(out, serde_json::to_string(value))
}

/// Writes an encoded JSON document with the control characters `serde_json` leaves raw
/// escaped ([`sanitize::json`]), ends its line and flushes.
fn end_json<W: Write>(out: &mut W, encoded: serde_json::Result<String>) -> Result<(), CliError> {
    let encoded = encoded
        .map_err(|e| CliError::io("cannot encode the answer as JSON", io::Error::other(e)))?;
    out.write_all(sanitize::json(&encoded).as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// A plain-text table: a header row, then one row per item, columns left-aligned and
/// separated by [`Table::GAP`] spaces, without trailing spaces (like `ollama list`).
#[derive(Debug, Clone)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Spaces between two columns.
    pub(crate) const GAP: usize = 4;

    /// A table with these column titles.
    pub(crate) fn new(header: &[&str]) -> Self {
        Table {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    /// Adds a row (one cell per column). Cells come from servers: each is made one safe
    /// line ([`sanitize::line`]).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| match sanitize::line(&c) {
                    std::borrow::Cow::Borrowed(_) => c,
                    std::borrow::Cow::Owned(safe) => safe,
                })
                .collect(),
        );
    }

    /// The table as text, every line ended with a newline.
    pub(crate) fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut text = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(cell);
                let pad = width - cell.chars().count() + Self::GAP;
                line.extend(std::iter::repeat_n(' ', pad));
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }

    /// Writes the table to `out` and flushes.
    pub(crate) fn write<W: Write>(&self, out: &mut W) -> Result<(), CliError> {
        out.write_all(self.render().as_bytes())
            .map_err(stdout_error)?;
        out.flush().map_err(stdout_error)
    }
}

/// Ends the current line of output: writes a newline unless `printed` already ends with one
/// (an empty answer still gets its newline), then flushes.
pub(crate) fn end_line<W: Write>(out: &mut W, printed: &str) -> io::Result<()> {
    if !printed.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// A spinner on stderr while waiting for the first words of an answer. It draws only when
/// stderr is a terminal, and clears itself when stopped or dropped.
#[derive(Debug)]
pub(crate) struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Starts a spinner if `enabled` and stderr is a terminal; otherwise does nothing.
    pub(crate) fn start(enabled: bool) -> Self {
        if !enabled || !io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::default_spinner());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }

    /// Stops and clears the spinner (before the answer is printed).
    pub(crate) fn stop(&mut self) {
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
    fn json_line_is_compact_and_ends_with_a_newline() {
        let mut out = Vec::new();
        write_json_line(&mut out, &serde_json::json!({"a": [1, 2]})).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\"a\":[1,2]}\n");
    }

    #[test]
    fn table_columns_are_aligned_without_trailing_spaces() {
        let mut t = Table::new(&["NAME", "SIZE", "NOTE"]);
        t.row(vec!["qwen3:8b".into(), "5.2 GB".into(), String::new()]);
        t.row(vec!["a".into(), "274 MB".into(), "ünï".into()]);
        assert_eq!(
            t.render(),
            "NAME        SIZE      NOTE\n\
             qwen3:8b    5.2 GB\n\
             a           274 MB    ünï\n"
        );
        assert_eq!(Table::new(&["NAME", "SIZE"]).render(), "NAME    SIZE\n");
    }

    #[test]
    fn json_is_pretty_and_ends_with_a_newline() {
        let mut out = Vec::new();
        write_json(&mut out, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\n  \"a\": 1\n}\n");
    }
}
