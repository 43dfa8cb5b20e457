//! An incremental decoder for newline-delimited JSON (NDJSON, JSON Lines).
//!
//! Lines end with `"\n"`; one `"\r"` before it is removed too, so CRLF works (a lone CR is
//! not a line end). Lines that are empty or only ASCII whitespace are skipped. A last line
//! without a newline is delivered by [`NdjsonDecoder::finish`], as Go's `bufio.Scanner` does.
//! The decoder only splits lines: parsing the JSON is the caller's business.
//!
//! Bytes may be split across [`NdjsonDecoder::decode`] calls at any position. A line that lies
//! inside one input is handed to the callback as a slice of that input: no copy and no
//! allocation is made for it.

use memchr::memchr;

use super::{CodecError, DEFAULT_MAX_LINE};

/// An incremental NDJSON line splitter. See the [module documentation](self) for the rules.
///
/// ```
/// # use llmport::codec::{CodecError, NdjsonDecoder};
/// let mut decoder = NdjsonDecoder::new();
/// let mut lines = Vec::new();
/// for piece in [&b"{\"a\":1}\r\n\n{\"b\""[..], b":2}\n{\"done\":true}"] {
///     decoder.decode(piece, |line| {
///         lines.push(line.to_owned());
///         Ok::<(), CodecError>(())
///     })?;
/// }
/// decoder.finish(|line| {
///     lines.push(line.to_owned());
///     Ok::<(), CodecError>(())
/// })?;
/// assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}", "{\"done\":true}"]);
/// # Ok::<(), CodecError>(())
/// ```
#[derive(Debug, Clone)]
pub struct NdjsonDecoder {
    /// Cap on one line (without its `"\r\n"` or `"\n"`), in bytes.
    max: usize,
    /// Bytes of an unfinished line carried over from earlier inputs.
    line: Vec<u8>,
    /// How many lines (blank ones included) have been completed so far in this stream.
    lines: u64,
}

impl NdjsonDecoder {
    /// A decoder with the default cap of [`DEFAULT_MAX_LINE`] bytes.
    pub fn new() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A decoder that fails with [`CodecError::LineTooLong`] as soon as one line is longer
    /// than `max` bytes (its `"\n"` or `"\r\n"` not counted).
    pub fn with_max_line(max: usize) -> Self {
        Self {
            max,
            line: Vec::new(),
            lines: 0,
        }
    }

    /// Calls `on_line` for every complete non-blank line (without its "\n" and without a
    /// trailing "\r").
    ///
    /// Stops at, and returns, the first error: a [`CodecError`] (converted into `E`) or an
    /// error returned by `on_line`. After an error the decoder should not be used further.
    pub fn decode<E, F>(&mut self, input: &[u8], mut on_line: F) -> Result<(), E>
    where
        E: From<CodecError>,
        F: FnMut(&str) -> Result<(), E>,
    {
        let mut pos = 0;
        while let Some(rest) = input.get(pos..).filter(|rest| !rest.is_empty()) {
            pos += self.decode_line(rest, &mut on_line)?;
        }
        Ok(())
    }

    /// Decodes at most one line from the start of `input`: calls `on_line` if a complete
    /// non-blank line ends in it, and returns how many bytes of `input` were used (up to and
    /// including the first `"\n"`, or all of `input` when it holds none: those bytes are
    /// carried over to the next call). Errors as [`NdjsonDecoder::decode`].
    ///
    /// What lets a stream decode one line per item asked for (`codec::lines`), consuming its
    /// input by offset, with one `memchr` per line.
    #[allow(
        clippy::indexing_slicing,
        reason = "the hot path: the window is at most `input.len()` long, and `end` is a \
                  position memchr found in the window, a prefix of `input`"
    )]
    pub(crate) fn decode_line<E, F>(&mut self, input: &[u8], mut on_line: F) -> Result<usize, E>
    where
        E: From<CodecError>,
        F: FnMut(&str) -> Result<(), E>,
    {
        if !self.line.is_empty() {
            let next = self.complete_carried_line(input, &mut on_line)?;
            return Ok(next.unwrap_or(input.len()));
        }
        // A line's bytes before its "\n" may number `max + 1` if the last is a "\r".
        let limit = self.max.saturating_add(2);
        let Some(end) = memchr(b'\n', &input[..input.len().min(limit)]) else {
            if input.len() >= limit {
                return Err(self.too_long().into());
            }
            self.line.extend_from_slice(input);
            self.check_carried_len()?;
            return Ok(input.len());
        };
        self.lines += 1;
        emit(&input[..end], self.max, self.lines, &mut on_line)?;
        Ok(end + 1)
    }

    /// End of input: a final line without a trailing newline is still delivered (as Go's
    /// bufio.Scanner does), unless it is blank.
    ///
    /// The decoder is then ready for a new stream.
    pub fn finish<E, F>(&mut self, mut on_line: F) -> Result<(), E>
    where
        E: From<CodecError>,
        F: FnMut(&str) -> Result<(), E>,
    {
        let mut buf = std::mem::take(&mut self.line);
        let result = if buf.is_empty() {
            Ok(())
        } else {
            emit(&buf, self.max, self.lines + 1, &mut on_line)
        };
        buf.clear();
        self.line = buf;
        self.lines = 0;
        result
    }

    /// Whether bytes of an unfinished line are pending.
    pub fn has_pending(&self) -> bool {
        !self.line.is_empty()
    }

    /// Appends the start of `input` to the carried-over line. Returns the position after the
    /// `"\n"` if the line is now complete (and delivered), or `None` if `input` holds no
    /// `"\n"` (it has all been carried over).
    #[cold]
    fn complete_carried_line<E, F>(
        &mut self,
        input: &[u8],
        on_line: &mut F,
    ) -> Result<Option<usize>, E>
    where
        E: From<CodecError>,
        F: FnMut(&str) -> Result<(), E>,
    {
        // The "\n" must come within `room` bytes for the line to fit (see `decode`).
        let room = self.max.saturating_add(2).saturating_sub(self.line.len());
        let Some(end) = memchr(b'\n', input.get(..room).unwrap_or(input)) else {
            if input.len() >= room {
                return Err(self.too_long().into());
            }
            self.line.extend_from_slice(input);
            self.check_carried_len()?;
            return Ok(None);
        };
        #[allow(
            clippy::indexing_slicing,
            reason = "`end` is a position memchr found in a prefix of `input`"
        )]
        self.line.extend_from_slice(&input[..end]);
        self.lines += 1;
        let mut buf = std::mem::take(&mut self.line);
        let result = emit(&buf, self.max, self.lines, on_line);
        buf.clear();
        self.line = buf;
        result.map(|()| Some(end + 1))
    }

    /// Fails if the carried-over bytes already make the line too long: they may exceed the
    /// cap by one byte only if that is a "\r" (which a following "\n" would remove).
    fn check_carried_len(&self) -> Result<(), CodecError> {
        let len = self.line.len();
        if len > self.max && (len - 1 > self.max || self.line.last() != Some(&b'\r')) {
            return Err(self.too_long());
        }
        Ok(())
    }

    /// The error for a line over the cap.
    fn too_long(&self) -> CodecError {
        CodecError::LineTooLong { limit: self.max }
    }
}

impl Default for NdjsonDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// Delivers the line `raw` (without its "\n"; a trailing "\r" is removed here) unless it is
/// blank. `number` is its 1-based line number.
#[inline]
fn emit<E, F>(raw: &[u8], max: usize, number: u64, on_line: &mut F) -> Result<(), E>
where
    E: From<CodecError>,
    F: FnMut(&str) -> Result<(), E>,
{
    let content = raw.strip_suffix(b"\r").unwrap_or(raw);
    if content.len() > max {
        return Err(CodecError::LineTooLong { limit: max }.into());
    }
    if content.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match std::str::from_utf8(content) {
        Ok(line) => on_line(line),
        Err(_) => Err(CodecError::InvalidUtf8 { line: number }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `pieces` with a fresh decoder, then finishes; returns every delivered line.
    fn decode_pieces<'p>(
        max: usize,
        pieces: impl IntoIterator<Item = &'p [u8]>,
    ) -> Result<Vec<String>, CodecError> {
        let mut dec = NdjsonDecoder::with_max_line(max);
        let mut out = Vec::new();
        for piece in pieces {
            dec.decode(piece, |line| {
                out.push(line.to_owned());
                Ok(())
            })?;
        }
        dec.finish(|line| {
            out.push(line.to_owned());
            Ok(())
        })?;
        assert!(!dec.has_pending());
        Ok(out)
    }

    /// Decodes `stream` whole, split in two at every position, in three pieces at many
    /// positions, and byte by byte; asserts that every way gives the same result, and returns it.
    fn decode_every_way(max: usize, stream: &[u8]) -> Result<Vec<String>, CodecError> {
        let whole = decode_pieces(max, [stream]);
        for i in 0..=stream.len() {
            let (a, b) = stream.split_at(i);
            assert_eq!(decode_pieces(max, [a, b]), whole, "split at {i}");
        }
        for i in (0..=stream.len()).step_by(3) {
            for j in (i..=stream.len()).step_by(5) {
                let pieces = [&stream[..i], &stream[i..j], &stream[j..]];
                assert_eq!(decode_pieces(max, pieces), whole, "split at {i} and {j}");
            }
        }
        assert_eq!(decode_pieces(max, stream.chunks(1)), whole, "byte by byte");
        whole
    }

    const OLLAMA_LINES: [&str; 3] = [
        r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00.000Z","message":{"role":"assistant","content":"H\u00e9llo \u003cb\u003e"},"done":false}"#,
        r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00.100Z","message":{"role":"assistant","content":" wörld 😀"},"done":false}"#,
        r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00.200Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":123,"eval_count":3}"#,
    ];

    #[test]
    fn ollama_stream_decodes_the_same_however_it_is_split() {
        let stream = OLLAMA_LINES.join("\n") + "\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok(OLLAMA_LINES.map(str::to_owned).to_vec())
        );
        let crlf = OLLAMA_LINES.join("\r\n") + "\r\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, crlf.as_bytes()),
            Ok(OLLAMA_LINES.map(str::to_owned).to_vec())
        );
    }

    #[test]
    fn crlf_loses_its_cr_but_a_lone_cr_is_no_line_end() {
        assert_eq!(
            decode_every_way(64, b"{\"a\":1}\r\n{\"b\":2}\n"),
            Ok(vec![r#"{"a":1}"#.to_owned(), r#"{"b":2}"#.to_owned()])
        );
        assert_eq!(decode_every_way(64, b"a\rb\n"), Ok(vec!["a\rb".to_owned()]));
        // Only one CR is removed.
        assert_eq!(decode_every_way(64, b"a\r\r\n"), Ok(vec!["a\r".to_owned()]));
        let pieces: [&[u8]; 2] = [b"{}\r", b"\n[]\r\n"];
        assert_eq!(
            decode_pieces(64, pieces),
            Ok(vec!["{}".to_owned(), "[]".to_owned()])
        );
    }

    #[test]
    fn blank_lines_are_skipped_but_other_lines_are_not_trimmed() {
        let stream = b"\n\n  \n\t\r\n{\"a\":1}\n \x0c\n  {\"b\":2} \n\r\n";
        assert_eq!(
            decode_every_way(64, stream),
            Ok(vec![r#"{"a":1}"#.to_owned(), r#"  {"b":2} "#.to_owned()])
        );
    }

    #[test]
    fn finish_delivers_a_final_line_without_newline() {
        let mut dec = NdjsonDecoder::new();
        let mut out = Vec::new();
        dec.decode(b"{\"a\":1}\n{\"b\":2}", |l| {
            out.push(l.to_owned());
            Ok::<(), CodecError>(())
        })
        .expect("decodes");
        assert_eq!(out, [r#"{"a":1}"#]);
        assert!(dec.has_pending());
        dec.finish(|l| {
            out.push(l.to_owned());
            Ok::<(), CodecError>(())
        })
        .expect("finishes");
        assert_eq!(out, [r#"{"a":1}"#, r#"{"b":2}"#]);
        assert!(!dec.has_pending());
        // A trailing CR goes; a blank last line is not delivered; nothing pending, nothing more.
        assert_eq!(decode_every_way(64, b"x\r"), Ok(vec!["x".to_owned()]));
        assert_eq!(decode_every_way(64, b"x\n \t"), Ok(vec!["x".to_owned()]));
        assert_eq!(decode_every_way(64, b"x\n"), Ok(vec!["x".to_owned()]));
        assert_eq!(decode_every_way(64, b""), Ok(vec![]));
    }

    #[test]
    fn after_finish_the_decoder_starts_a_new_stream() {
        let mut dec = NdjsonDecoder::new();
        let mut out = Vec::new();
        let mut push = |l: &str| {
            out.push(l.to_owned());
            Ok::<(), CodecError>(())
        };
        dec.decode(b"a\nb", &mut push).expect("decodes");
        dec.finish(&mut push).expect("finishes");
        // Line numbers start again from 1.
        assert_eq!(
            dec.decode(b"c\n\xff\n", &mut push),
            Err(CodecError::InvalidUtf8 { line: 2 })
        );
        assert_eq!(out, ["a", "b", "c"]);
    }

    #[test]
    fn utf8_characters_split_across_inputs_decode_fine() {
        let stream = "{\"s\":\"é😀中\u{10FFFF}\"}\n";
        assert_eq!(
            decode_every_way(64, stream.as_bytes()),
            Ok(vec!["{\"s\":\"é😀中\u{10FFFF}\"}".to_owned()])
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_with_the_line_number() {
        assert_eq!(
            decode_every_way(64, b"{}\n\n\xff\n{}\n"),
            Err(CodecError::InvalidUtf8 { line: 3 })
        );
        assert_eq!(
            decode_every_way(64, b"{}\r\n \r\n[]\r\n\"\xC3\x28\"\r\n"),
            Err(CodecError::InvalidUtf8 { line: 4 })
        );
        // In the final line, delivered by finish.
        assert_eq!(
            decode_every_way(64, b"{}\n\xF0\x9F\x98"),
            Err(CodecError::InvalidUtf8 { line: 2 })
        );
    }

    #[test]
    fn lines_before_an_invalid_line_are_delivered() {
        let mut dec = NdjsonDecoder::new();
        let mut out = Vec::new();
        let result = dec.decode(b"{}\n\x80\n[]\n", |l| {
            out.push(l.to_owned());
            Ok::<(), CodecError>(())
        });
        assert_eq!(result, Err(CodecError::InvalidUtf8 { line: 2 }));
        assert_eq!(out, ["{}"]);
    }

    #[test]
    fn a_long_line_fails_as_soon_as_it_passes_the_cap() {
        const MAX: usize = 1 << 20;
        let piece = vec![b'a'; 7 * 1024];
        let mut dec = NdjsonDecoder::with_max_line(MAX);
        let mut fed = 0;
        let mut result = Ok(());
        while result.is_ok() && fed < 2 * MAX {
            result = dec.decode(&piece, |_| Ok::<(), CodecError>(()));
            fed += piece.len();
            assert!(dec.line.len() <= MAX + 1, "never holds more than the cap");
        }
        assert_eq!(result, Err(CodecError::LineTooLong { limit: MAX }));
        assert!(
            fed > MAX && fed <= MAX + piece.len(),
            "failed after {fed} bytes"
        );
        // Inside one input, with or without a newline after it.
        let mut long = vec![b'a'; 1 << 16];
        assert_eq!(
            decode_pieces(1 << 12, [&long[..]]),
            Err(CodecError::LineTooLong { limit: 1 << 12 })
        );
        long.push(b'\n');
        assert_eq!(
            decode_pieces(1 << 12, [&long[..]]),
            Err(CodecError::LineTooLong { limit: 1 << 12 })
        );
    }

    #[test]
    fn the_line_cap_is_exact_and_does_not_count_the_line_end() {
        assert_eq!(
            decode_every_way(8, b"12345678\n"),
            Ok(vec!["12345678".to_owned()])
        );
        assert_eq!(
            decode_every_way(8, b"12345678\r\n"),
            Ok(vec!["12345678".to_owned()])
        );
        assert_eq!(
            decode_every_way(8, b"12345678\r"),
            Ok(vec!["12345678".to_owned()])
        );
        for too_long in [
            &b"123456789\n"[..],
            b"123456789",
            b"12345678\rx\n",
            b"12345678\r\r\n",
        ] {
            assert_eq!(
                decode_every_way(8, too_long),
                Err(CodecError::LineTooLong { limit: 8 }),
                "{too_long:?}"
            );
        }
        assert_eq!(decode_every_way(0, b"\n\r\n\n"), Ok(vec![]));
        assert_eq!(
            decode_every_way(0, b"\n \n"),
            Err(CodecError::LineTooLong { limit: 0 })
        );
    }

    #[test]
    fn whole_lines_inside_one_input_borrow_from_it() {
        let input = b"{\"a\":1}\n\n{\"b\":2}\r\n";
        let range = input.as_ptr_range();
        let mut dec = NdjsonDecoder::new();
        let mut seen = 0;
        dec.decode(input, |line| {
            let bytes = line.as_bytes().as_ptr_range();
            assert!(range.start <= bytes.start && bytes.end <= range.end);
            seen += 1;
            Ok::<(), CodecError>(())
        })
        .expect("decodes");
        assert_eq!(seen, 2);
        assert_eq!(dec.line.capacity(), 0, "nothing was allocated");
    }

    #[derive(Debug, PartialEq)]
    enum AppError {
        Codec(CodecError),
        Stop,
    }

    impl From<CodecError> for AppError {
        fn from(e: CodecError) -> Self {
            Self::Codec(e)
        }
    }

    #[test]
    fn callback_errors_stop_decoding_and_are_returned() {
        let mut dec = NdjsonDecoder::new();
        let mut seen = Vec::new();
        let result = dec.decode(b"1\n2\n3\n", |line| {
            seen.push(line.to_owned());
            if line == "2" {
                Err(AppError::Stop)
            } else {
                Ok(())
            }
        });
        assert_eq!(result, Err(AppError::Stop));
        assert_eq!(seen, ["1", "2"]);
        let mut dec = NdjsonDecoder::default();
        dec.decode(b"4", |_| Ok::<(), AppError>(()))
            .expect("no line yet");
        assert_eq!(dec.finish(|_| Err(AppError::Stop)), Err(AppError::Stop));
        assert_eq!(
            NdjsonDecoder::new().decode(b"\xff\n", |_| Ok::<(), AppError>(())),
            Err(AppError::Codec(CodecError::InvalidUtf8 { line: 1 }))
        );
    }

    // ---- property tests ----

    /// A character of JSON-ish text: mostly printable ASCII, with quotes, backslashes,
    /// multi-byte characters and any other character but CR and LF.
    fn text_char() -> impl Strategy<Value = char> {
        prop_oneof![
            6 => proptest::char::range(' ', '~'),
            1 => Just('"'),
            1 => Just('\\'),
            1 => Just('é'),
            1 => Just('中'),
            1 => Just('😀'),
            2 => any::<char>().prop_filter("no line ends", |c| *c != '\n' && *c != '\r'),
        ]
    }

    /// One line of the stream: a JSON-ish object, or a blank line that must be skipped.
    fn gen_line() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            4 => proptest::collection::vec(text_char(), 0..40).prop_map(|cs| {
                let s: String = cs.into_iter().collect();
                let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
                Some(format!(r#"{{"message":{{"content":"{escaped}"}},"done":false}}"#))
            }),
            1 => Just(None),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_lines_survive_arbitrary_splits(
            lines in proptest::collection::vec((gen_line(), any::<bool>(), "[ \t]{0,2}"), 0..16),
            terminate_last in any::<bool>(),
            points in proptest::collection::vec(any::<proptest::sample::Index>(), 0..24),
        ) {
            let mut bytes = Vec::new();
            let mut expected = Vec::new();
            for (i, (line, crlf, blank)) in lines.iter().enumerate() {
                match line {
                    Some(line) => {
                        bytes.extend_from_slice(line.as_bytes());
                        expected.push(line.clone());
                    }
                    None => bytes.extend_from_slice(blank.as_bytes()),
                }
                if i + 1 < lines.len() || terminate_last {
                    bytes.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
                }
            }
            let mut cuts: Vec<usize> = points.iter().map(|p| p.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for cut in cuts {
                pieces.push(&bytes[start..cut]);
                start = cut;
            }
            pieces.push(&bytes[start..]);
            prop_assert_eq!(decode_pieces(DEFAULT_MAX_LINE, pieces), Ok(expected.clone()));
            prop_assert_eq!(decode_pieces(DEFAULT_MAX_LINE, [&bytes[..]]), Ok(expected));
        }
    }
}
