//! Text from a server, made safe to print: a server (or a model) must not be able to drive
//! the user's terminal. `\x1b]52;c;…\x07` writes the clipboard on some terminals,
//! `\x1b[2J` clears the screen, `\r` or `\x08` can hide what was printed before them.
//!
//! Everything `llmport` prints that came from a server goes through this module: model
//! names and details (`models`, `ps`, `show`), pull status lines, the server's version,
//! error messages, and the model's answer and reasoning when they go to a terminal. JSON
//! output is escaped by [`json`]. One exception, on purpose: the model's answer (and its
//! reasoning) going to a pipe or a file, *not* a terminal, passes through byte for byte,
//! since whoever reads it wants exactly what the model said.
//!
//! The rules, the same for every function here:
//!
//! - escape sequences are removed whole: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or
//!   `ESC \`), DCS, SOS, PM and APC strings, and two-character `ESC x` sequences, in their
//!   7-bit and C1 (U+009B, U+009D, …) forms;
//! - every other control character (C0, DEL, C1) is dropped — except that [`text`] and
//!   [`Sanitizer`] keep `\n` and `\t`, and [`line()`] turns `\n`, `\r` and `\t` into one space;
//! - everything else, including all printable Unicode, is kept.
//!
//! Colours a model might send are lost on a terminal; that is the price of not letting it
//! send anything else.

use std::borrow::Cow;

/// Where a [`Sanitizer`] is within an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Plain text.
    #[default]
    Text,
    /// After ESC.
    Escape,
    /// In `ESC` followed by intermediate bytes (`ESC ( B`).
    EscapeIntermediate,
    /// In a CSI sequence, until its final byte.
    Csi,
    /// In an OSC, DCS, SOS, PM or APC string, until BEL or ST.
    Str,
    /// After ESC inside such a string: `\` ends it (ST).
    StrEscape,
}

/// Removes escape sequences and control characters from text that arrives in pieces (a
/// streamed answer): a sequence split across two pieces is still removed whole. Keeps `\n`
/// and `\t`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sanitizer {
    state: State,
}

impl Sanitizer {
    /// A sanitizer in plain-text state.
    pub(crate) fn new() -> Self {
        Sanitizer::default()
    }

    /// `piece` without escape sequences and control characters other than `\n` and `\t`;
    /// borrowed when there was nothing to remove.
    pub(crate) fn push<'a>(&mut self, piece: &'a str) -> Cow<'a, str> {
        if self.state == State::Text && !piece.chars().any(needs_care) {
            return Cow::Borrowed(piece);
        }
        let mut out = String::with_capacity(piece.len());
        for c in piece.chars() {
            if let Some(c) = self.step(c) {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }

    /// Feeds one character; returns it if it is to be printed.
    fn step(&mut self, c: char) -> Option<char> {
        match self.state {
            State::Text => self.text(c),
            State::Escape => {
                self.state = match c {
                    '[' => State::Csi,
                    ']' | 'P' | 'X' | '^' | '_' => State::Str,
                    ' '..='/' => State::EscapeIntermediate,
                    // A control character cuts the sequence short and is handled as itself.
                    c if c.is_control() => return self.text(c),
                    _ => State::Text,
                };
                None
            }
            State::EscapeIntermediate => {
                match c {
                    ' '..='/' => {}
                    c if c.is_control() => return self.text(c),
                    _ => self.state = State::Text,
                }
                None
            }
            State::Csi => {
                match c {
                    // Parameter and intermediate bytes.
                    '0'..='?' | ' '..='/' => {}
                    // The final byte ends it.
                    '@'..='~' => self.state = State::Text,
                    // Anything else (a control, non-ASCII) cuts it short.
                    c => return self.text(c),
                }
                None
            }
            State::Str => {
                match c {
                    '\u{07}' | '\u{9c}' => self.state = State::Text,
                    '\u{1b}' => self.state = State::StrEscape,
                    // A line break ends the damage an unterminated string can do to the
                    // visible text (the terminal never saw the ESC that started it).
                    '\n' => {
                        self.state = State::Text;
                        return Some('\n');
                    }
                    _ => {}
                }
                None
            }
            State::StrEscape => {
                if c == '\\' {
                    self.state = State::Text;
                    None
                } else {
                    // ESC followed by anything else starts a new sequence.
                    self.state = State::Escape;
                    self.step(c)
                }
            }
        }
    }

    /// A character in plain-text state.
    fn text(&mut self, c: char) -> Option<char> {
        self.state = State::Text;
        match c {
            '\n' | '\t' => Some(c),
            '\u{1b}' => {
                self.state = State::Escape;
                None
            }
            '\u{9b}' => {
                self.state = State::Csi;
                None
            }
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                self.state = State::Str;
                None
            }
            c if c.is_control() => None,
            c => Some(c),
        }
    }
}

/// Whether `c` is a character the sanitizer may drop or act on.
fn needs_care(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Multi-line text from a server (a template, a license, a whole answer) for a terminal:
/// keeps `\n` and `\t`.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    Sanitizer::new().push(s)
}

/// One line of text from a server (a model name, a table cell, a status, an error message):
/// line breaks and tabs become one space, so it stays one line.
pub(crate) fn line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut last_space = false;
    for c in text(s).chars() {
        if c == '\n' || c == '\t' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = c == ' ';
        }
    }
    Cow::Owned(out)
}

/// JSON text as `serde_json` writes it, with DEL and the C1 controls (which it leaves raw;
/// some terminals obey U+009B as CSI) written as `\u` escapes. Still the same JSON value.
pub(crate) fn json(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| matches!(c, '\u{7f}'..='\u{9f}')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if matches!(c, '\u{7f}'..='\u{9f}') {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(text("héllo\n\tworld"), Cow::Borrowed(_)));
        assert!(matches!(line("qwen3:8b"), Cow::Borrowed(_)));
        assert!(matches!(json("{\"a\":\"ü\"}"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_are_removed_whole() {
        // OSC 52 (clipboard), ended by BEL and by ST.
        assert_eq!(text("a\x1b]52;c;aGVsbG8=\x07b"), "ab");
        assert_eq!(text("a\x1b]52;c;aGVsbG8=\x1b\\b"), "ab");
        // CSI: clear screen, colours, cursor movement.
        assert_eq!(text("\x1b[2Jx\x1b[1;31mred\x1b[0m\x1b[10A"), "xred");
        // Two-character and intermediate forms.
        assert_eq!(text("\x1bc\x1b(Bok\x1b7"), "ok");
        // DCS, APC.
        assert_eq!(text("\x1bPq#0;2;0;0;0\x1b\\\x1b_hidden\x07ok"), "ok");
        // C1 forms: CSI and OSC as single characters.
        assert_eq!(text("\u{9b}2Jok\u{9d}0;title\u{9c}!"), "ok!");
    }

    #[test]
    fn other_controls_are_dropped_but_text_keeps_newlines_and_tabs() {
        assert_eq!(text("a\rb\x08c\x07d\x7fe\u{85}f\n\tg"), "abcdef\n\tg");
        assert_eq!(line("a\nb\r\n\tc \x1b[2J d"), "a b c  d");
    }

    #[test]
    fn an_unterminated_string_ends_at_a_line_break() {
        assert_eq!(text("a\x1b]0;title\nvisible"), "a\nvisible");
        assert_eq!(text("a\x1b"), "a");
        assert_eq!(text("a\x1b[12"), "a");
    }

    #[test]
    fn a_sequence_split_across_pieces_is_still_removed() {
        let mut s = Sanitizer::new();
        let out: String = ["Hi \x1b", "]52;c;", "aGk=", "\x07the", "re\x1b[", "2J!"]
            .iter()
            .map(|p| s.push(p).into_owned())
            .collect();
        assert_eq!(out, "Hi there!");
    }

    #[test]
    fn json_escapes_del_and_c1() {
        let raw =
            serde_json::to_string(&serde_json::json!({"name": "a\u{9b}2J\u{7f}b\x1b"})).unwrap();
        let safe = json(&raw);
        assert_eq!(safe, r#"{"name":"a\u009b2J\u007fb\u001b"}"#);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["name"], "a\u{9b}2J\u{7f}b\x1b");
    }
}
