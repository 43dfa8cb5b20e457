//! An incremental decoder for Server-Sent Events (`text/event-stream`).
//!
//! It follows the WHATWG HTML "event stream interpretation" exactly, with one deliberate
//! difference: a line that is not valid UTF-8 is an error ([`CodecError::InvalidUtf8`]) rather
//! than being decoded with replacement characters.
//!
//! - Lines end with LF, CRLF or a lone CR. A CR that ends one input and an LF that starts the
//!   next are one line end.
//! - One UTF-8 byte order mark at the very start of the stream is skipped, even if it arrives
//!   split across inputs.
//! - A line that starts with `:` is a comment and is ignored.
//! - `field:value` sets a field; one space after the colon is removed from the value. A line
//!   without a colon is a field whose value is empty. Field names are case-sensitive and
//!   unknown fields are ignored.
//! - `data` appends its value and a line feed to the event's data; `event` sets the event's
//!   type; `id` sets the last event ID unless the value contains NUL; `retry` sets the
//!   reconnection time if the value is all ASCII digits.
//! - A blank line dispatches the event: if no `data` field was seen nothing is dispatched,
//!   otherwise the final line feed of the data is removed and the event is delivered. Either
//!   way the event type and data are then reset; the last event ID is kept.
//! - At the end of the stream an event that no blank line ended is discarded.
//!
//! Bytes may be split across [`SseDecoder::decode`] calls at any position. When a whole event
//! lies inside one input, the [`SseEvent`] handed to the callback borrows from that input:
//! no copy and no allocation is made for it.

use memchr::{memchr, memchr2};

use super::{CodecError, DEFAULT_MAX_LINE};

/// The UTF-8 encoding of U+FEFF, skipped once at the start of a stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// `SseDecoder::bom` once the start of the stream has been settled (BOM skipped or absent).
#[allow(clippy::cast_possible_truncation, reason = "BOM.len() is 3")]
const BOM_SETTLED: u8 = BOM.len() as u8;

/// One dispatched Server-Sent Event. Its strings borrow from the decoder or from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The event type from the `event` field; `""` when the event had none, which callers
    /// treat as `"message"`.
    pub event: &'a str,
    /// The event's data: the values of its `data` fields joined with `"\n"`.
    pub data: &'a str,
    /// The last event ID at the time of dispatch (it persists from event to event until an
    /// `id` field changes it); `None` while it is empty.
    pub id: Option<&'a str>,
    /// The stream's reconnection time in milliseconds, as last set by a valid `retry` field
    /// anywhere earlier in the stream (even in a block that dispatched nothing); `None` if no
    /// `retry` field has set it. A value too large for `u64` saturates.
    pub retry: Option<u64>,
}

/// An incremental Server-Sent Events decoder. See the [module documentation](self) for the
/// exact rules.
///
/// ```
/// # use llmport::codec::{CodecError, SseDecoder};
/// let mut decoder = SseDecoder::new();
/// let mut seen = Vec::new();
/// for piece in [&b"data: {\"a\""[..], b":1}\n", b"\ndata: [DONE]\n\n"] {
///     decoder.decode(piece, |ev| {
///         seen.push(ev.data.to_owned());
///         Ok::<(), CodecError>(())
///     })?;
/// }
/// assert!(!decoder.finish());
/// assert_eq!(seen, ["{\"a\":1}", "[DONE]"]);
/// # Ok::<(), CodecError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SseDecoder {
    /// Cap on one line and on one event's data, in bytes.
    max: usize,
    /// Bytes of an unfinished line carried over from earlier inputs.
    line: Vec<u8>,
    /// The event's data so far: the `data` values joined with `"\n"` (the spec's trailing line
    /// feed is left out). Meaningful only when `has_data`.
    data: String,
    /// Whether a `data` field has been seen since the last blank line.
    has_data: bool,
    /// The event type buffer.
    event: String,
    /// The last event ID buffer.
    id: String,
    /// The reconnection time, once a `retry` field set it.
    retry: Option<u64>,
    /// Whether a field line has been seen since the last blank line.
    in_event: bool,
    /// The previous input ended with a CR, so an LF starting the next input belongs to it.
    skip_lf: bool,
    /// How many bytes of a byte order mark have matched at the start of the stream, or
    /// `BOM_SETTLED`.
    bom: u8,
    /// How many lines have been completed so far in this stream.
    lines: u64,
}

/// Event state that borrows from the line being processed, so that an event lying inside one
/// input needs no copy. `SseDecoder::stash` moves it into the decoder's own buffers when the
/// input ends.
#[derive(Default)]
struct Borrowed<'a> {
    /// The only `data` value seen so far for the current event (only when `!has_data`).
    data: Option<&'a str>,
    /// The event type, overriding `SseDecoder::event`.
    event: Option<&'a str>,
    /// The last event ID, overriding `SseDecoder::id`.
    id: Option<&'a str>,
}

impl SseDecoder {
    /// A decoder with the default cap of [`DEFAULT_MAX_LINE`] bytes.
    pub fn new() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE)
    }

    /// A decoder that fails with [`CodecError::LineTooLong`] as soon as one line, or one
    /// event's data, is longer than `max` bytes (line ends not counted).
    pub fn with_max_line(max: usize) -> Self {
        Self {
            max,
            line: Vec::new(),
            data: String::new(),
            has_data: false,
            event: String::new(),
            id: String::new(),
            retry: None,
            in_event: false,
            skip_lf: false,
            bom: 0,
            lines: 0,
        }
    }

    /// Feeds bytes; calls `on_event` for every event completed by them, in order.
    ///
    /// Stops at, and returns, the first error: a [`CodecError`] (converted into `E`) or an
    /// error returned by `on_event`. After an error the decoder should not be used further.
    pub fn decode<E, F>(&mut self, input: &[u8], mut on_event: F) -> Result<(), E>
    where
        E: From<CodecError>,
        F: FnMut(SseEvent<'_>) -> Result<(), E>,
    {
        let mut input = input;
        if self.bom < BOM_SETTLED {
            input = self.skip_bom(input);
        }
        if input.is_empty() {
            return Ok(());
        }
        if self.skip_lf {
            self.skip_lf = false;
            if let Some(after_lf) = input.strip_prefix(b"\n") {
                input = after_lf;
            }
        }
        let mut pos = 0;
        if !self.line.is_empty() {
            match self.complete_carried_line(input, &mut on_event)? {
                Some(next) => pos = next,
                None => return Ok(()),
            }
        }
        self.scan(input, pos, &mut on_event)
    }

    /// End of input: per the spec an event not terminated by a blank line is discarded. Returns
    /// true if any bytes of an unfinished line or unfinished event were pending (so the caller
    /// can tell a truncated stream).
    ///
    /// The decoder is then ready for a new stream (a reconnection, say): line and event state
    /// and byte-order-mark handling start afresh, while the last event ID and the reconnection
    /// time are kept, as an `EventSource` keeps them.
    pub fn finish(&mut self) -> bool {
        let pending = self.has_pending();
        self.line.clear();
        self.data.clear();
        self.has_data = false;
        self.event.clear();
        self.in_event = false;
        self.skip_lf = false;
        self.bom = 0;
        self.lines = 0;
        pending
    }

    /// Whether bytes of an unfinished line (including a partial byte order mark) or fields of
    /// an event that no blank line has ended yet are pending. Comment lines do not count.
    pub fn has_pending(&self) -> bool {
        // `in_event` covers `has_data` too: a `data` line is a field line.
        !self.line.is_empty() || self.in_event || (self.bom > 0 && self.bom < BOM_SETTLED)
    }

    /// Consumes the part of a byte order mark at the start of `input`, returning the rest. If
    /// the stream turns out not to start with one, the bytes held back become line bytes.
    fn skip_bom<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        let mut i = 0;
        while self.bom < BOM_SETTLED {
            let Some(&byte) = input.get(i) else {
                return &[];
            };
            if BOM.get(usize::from(self.bom)) == Some(&byte) {
                self.bom += 1;
                i += 1;
            } else {
                let held_back = BOM.get(..usize::from(self.bom)).unwrap_or_default();
                self.line.extend_from_slice(held_back);
                self.bom = BOM_SETTLED;
            }
        }
        input.get(i..).unwrap_or_default()
    }

    /// Appends the start of `input` to the carried-over line. Returns the position after the
    /// line end if the line is now complete (and processed), or `None` if `input` holds no
    /// line end (it has all been carried over).
    #[cold]
    fn complete_carried_line<E, F>(
        &mut self,
        input: &[u8],
        on_event: &mut F,
    ) -> Result<Option<usize>, E>
    where
        E: From<CodecError>,
        F: FnMut(SseEvent<'_>) -> Result<(), E>,
    {
        let Some(room) = self.max.checked_sub(self.line.len()) else {
            return Err(self.too_long().into());
        };
        let window = input.get(..room.saturating_add(1)).unwrap_or(input);
        let Some(end) = memchr2(b'\n', b'\r', window) else {
            if input.len() > room {
                return Err(self.too_long().into());
            }
            self.line.extend_from_slice(input);
            return Ok(None);
        };
        #[allow(
            clippy::indexing_slicing,
            reason = "`end` is a position memchr2 found in `window`, a prefix of `input`"
        )]
        self.line.extend_from_slice(&input[..end]);
        let next = self.after_line_end(input, end);
        self.lines += 1;
        let mut buf = std::mem::take(&mut self.line);
        let result = match std::str::from_utf8(&buf) {
            Ok(line) => {
                let mut borrowed = Borrowed::default();
                let result = self.process_line(line, &mut borrowed, on_event);
                self.stash(borrowed);
                result
            }
            Err(_) => Err(CodecError::InvalidUtf8 { line: self.lines }.into()),
        };
        buf.clear();
        self.line = buf;
        result.map(|()| Some(next))
    }

    /// Processes the complete lines of `input[pos..]` and carries over an unfinished last one.
    #[inline]
    #[allow(
        clippy::indexing_slicing,
        reason = "the hot loop: `pos` < `input.len()` (`input.get(pos)` just returned a byte), \
                  the window is at most `rest.len()` long, and `end` is a position memchr2 \
                  found in the window, a prefix of `rest`"
    )]
    fn scan<E, F>(&mut self, input: &[u8], mut pos: usize, on_event: &mut F) -> Result<(), E>
    where
        E: From<CodecError>,
        F: FnMut(SseEvent<'_>) -> Result<(), E>,
    {
        let mut borrowed = Borrowed::default();
        while let Some(&first) = input.get(pos) {
            if first == b'\n' || first == b'\r' {
                // A blank line: the usual end of an event.
                pos = self.after_line_end(input, pos);
                self.lines += 1;
                self.dispatch(&mut borrowed, on_event)?;
                continue;
            }
            let rest = &input[pos..];
            let window = &rest[..rest.len().min(self.max.saturating_add(1))];
            let Some(end) = memchr2(b'\n', b'\r', window) else {
                if rest.len() > self.max {
                    return Err(self.too_long().into());
                }
                self.line.extend_from_slice(rest);
                break;
            };
            let raw = &rest[..end];
            pos = self.after_line_end(input, pos + end);
            self.lines += 1;
            let Ok(line) = std::str::from_utf8(raw) else {
                return Err(CodecError::InvalidUtf8 { line: self.lines }.into());
            };
            self.process_line(line, &mut borrowed, on_event)?;
        }
        self.stash(borrowed);
        Ok(())
    }

    /// The position after the line end whose first byte is `input[at]`. A CR that ends the
    /// input may be the first half of a CRLF, so an LF starting the next input is skipped.
    #[inline]
    fn after_line_end(&mut self, input: &[u8], at: usize) -> usize {
        if input.get(at) == Some(&b'\r') {
            match input.get(at + 1) {
                Some(b'\n') => at + 2,
                Some(_) => at + 1,
                None => {
                    self.skip_lf = true;
                    at + 1
                }
            }
        } else {
            at + 1
        }
    }

    /// Interprets one complete line (without its line end).
    #[inline]
    fn process_line<'a, E, F>(
        &mut self,
        line: &'a str,
        borrowed: &mut Borrowed<'a>,
        on_event: &mut F,
    ) -> Result<(), E>
    where
        E: From<CodecError>,
        F: FnMut(SseEvent<'_>) -> Result<(), E>,
    {
        if line.is_empty() {
            return self.dispatch(borrowed, on_event);
        }
        if let Some(value) = line.strip_prefix("data:") {
            // The common case, first.
            self.in_event = true;
            return Ok(self.push_data(value.strip_prefix(' ').unwrap_or(value), borrowed)?);
        }
        let (field, value) = match line.split_once(':') {
            // A comment line.
            Some(("", _)) => return Ok(()),
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        self.in_event = true;
        match field {
            "data" => self.push_data(value, borrowed)?,
            "event" => borrowed.event = Some(value),
            "id" if memchr(0, value.as_bytes()).is_none() => borrowed.id = Some(value),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = Some(value.bytes().fold(0u64, |n, b| {
                    n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
                }));
            }
            // Unknown fields, and `id` or `retry` with a value to ignore.
            _ => {}
        }
        Ok(())
    }

    /// Appends one `data` value to the event's data.
    #[inline]
    fn push_data<'a>(
        &mut self,
        value: &'a str,
        borrowed: &mut Borrowed<'a>,
    ) -> Result<(), CodecError> {
        if self.has_data {
            if self.data.len() + 1 + value.len() > self.max {
                return Err(self.too_long());
            }
        } else if let Some(first) = borrowed.data.take() {
            if first.len() + 1 + value.len() > self.max {
                return Err(self.too_long());
            }
            self.data.push_str(first);
            self.has_data = true;
        } else {
            borrowed.data = Some(value);
            return Ok(());
        }
        self.data.push('\n');
        self.data.push_str(value);
        Ok(())
    }

    /// Handles a blank line: delivers the event if it has data, then resets the event type and
    /// data.
    #[inline]
    fn dispatch<E, F>(&mut self, borrowed: &mut Borrowed<'_>, on_event: &mut F) -> Result<(), E>
    where
        E: From<CodecError>,
        F: FnMut(SseEvent<'_>) -> Result<(), E>,
    {
        self.in_event = false;
        let data = match borrowed.data.take() {
            Some(data) => data,
            None if self.has_data => self.data.as_str(),
            None => {
                borrowed.event = None;
                self.event.clear();
                return Ok(());
            }
        };
        let id = borrowed.id.unwrap_or(self.id.as_str());
        let result = on_event(SseEvent {
            event: borrowed.event.take().unwrap_or(self.event.as_str()),
            data,
            id: if id.is_empty() { None } else { Some(id) },
            retry: self.retry,
        });
        self.event.clear();
        self.data.clear();
        self.has_data = false;
        result
    }

    /// Copies event state that borrows from an input into the decoder's own buffers.
    fn stash(&mut self, borrowed: Borrowed<'_>) {
        if let Some(data) = borrowed.data {
            self.data.push_str(data);
            self.has_data = true;
        }
        if let Some(event) = borrowed.event {
            self.event.clear();
            self.event.push_str(event);
        }
        if let Some(id) = borrowed.id {
            self.id.clear();
            self.id.push_str(id);
        }
    }

    /// The error for a line or event data over the cap.
    fn too_long(&self) -> CodecError {
        CodecError::LineTooLong { limit: self.max }
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An owned copy of an [`SseEvent`].
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Ev {
        event: String,
        data: String,
        id: Option<String>,
        retry: Option<u64>,
    }

    impl Ev {
        fn new(event: &str, data: &str) -> Self {
            Self {
                event: event.to_owned(),
                data: data.to_owned(),
                id: None,
                retry: None,
            }
        }

        fn data(data: &str) -> Self {
            Self::new("", data)
        }

        fn id(mut self, id: &str) -> Self {
            self.id = Some(id.to_owned());
            self
        }

        fn retry(mut self, retry: u64) -> Self {
            self.retry = Some(retry);
            self
        }
    }

    impl From<SseEvent<'_>> for Ev {
        fn from(e: SseEvent<'_>) -> Self {
            Self {
                event: e.event.to_owned(),
                data: e.data.to_owned(),
                id: e.id.map(str::to_owned),
                retry: e.retry,
            }
        }
    }

    fn feed(dec: &mut SseDecoder, input: &[u8], out: &mut Vec<Ev>) -> Result<(), CodecError> {
        dec.decode(input, |e| {
            out.push(e.into());
            Ok(())
        })
    }

    /// Decodes `pieces` with a fresh decoder; returns the events and what `finish` said.
    fn decode_pieces<'p>(
        max: usize,
        pieces: impl IntoIterator<Item = &'p [u8]>,
    ) -> Result<(Vec<Ev>, bool), CodecError> {
        let mut dec = SseDecoder::with_max_line(max);
        let mut out = Vec::new();
        for piece in pieces {
            feed(&mut dec, piece, &mut out)?;
        }
        let pending = dec.finish();
        Ok((out, pending))
    }

    /// Decodes a whole stream in one piece; returns the events and what `finish` said.
    fn decode_str(stream: &str) -> (Vec<Ev>, bool) {
        decode_pieces(DEFAULT_MAX_LINE, [stream.as_bytes()]).expect("the stream decodes")
    }

    /// Decodes `stream` in one piece, split in two at every position, in three pieces at many
    /// positions, and byte by byte; asserts that every way gives the same result, and returns it.
    fn decode_every_way(max: usize, stream: &[u8]) -> Result<(Vec<Ev>, bool), CodecError> {
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

    const OLLAMA_STREAM: &str = concat!(
        r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"H\u00e9llo \u003cb\u003e"},"finish_reason":null}]}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":" wörld 😀"},"finish_reason":null}]}"#,
        "\n\n",
        r#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        "\n\n",
        "data: [DONE]\n\n",
    );

    fn ollama_events() -> Vec<Ev> {
        vec![
            Ev::data(
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"H\u00e9llo \u003cb\u003e"},"finish_reason":null}]}"#,
            ),
            Ev::data(
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":" wörld 😀"},"finish_reason":null}]}"#,
            ),
            Ev::data(
                r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
            ),
            Ev::data("[DONE]"),
        ]
    }

    #[test]
    fn ollama_stream_decodes_the_same_however_it_is_split() {
        let stream = OLLAMA_STREAM.as_bytes();
        let expected = (ollama_events(), false);
        assert_eq!(
            decode_pieces(DEFAULT_MAX_LINE, [stream]),
            Ok(expected.clone())
        );
        for i in 0..=stream.len() {
            let (a, b) = stream.split_at(i);
            assert_eq!(
                decode_pieces(DEFAULT_MAX_LINE, [a, b]),
                Ok(expected.clone()),
                "split at {i}"
            );
        }
        assert_eq!(
            decode_pieces(DEFAULT_MAX_LINE, stream.chunks(1)),
            Ok(expected.clone()),
            "byte by byte"
        );
        // Every split keeps working the same with CRLF and CR line ends too.
        for end in ["\r\n", "\r"] {
            let stream = OLLAMA_STREAM.replace('\n', end);
            assert_eq!(
                decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
                Ok(expected.clone()),
                "line end {end:?}"
            );
        }
    }

    #[test]
    fn spec_example_multi_line_data_is_joined_with_line_feeds() {
        let stream = "data: YHOO\ndata: +2\ndata: 10\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((vec![Ev::data("YHOO\n+2\n10")], false))
        );
    }

    #[test]
    fn spec_example_comments_ids_and_the_optional_space() {
        let stream = ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((
                vec![
                    Ev::data("first event").id("1"),
                    Ev::data("second event"),
                    Ev::data(" third event"),
                ],
                false
            ))
        );
    }

    #[test]
    fn spec_example_empty_data_fields_and_an_unterminated_last_event() {
        let stream = "data\n\ndata\ndata\n\ndata:";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((vec![Ev::data(""), Ev::data("\n")], true))
        );
    }

    #[test]
    fn spec_example_space_after_colon_is_optional() {
        let stream = "data:test\n\ndata: test\n\n";
        assert_eq!(
            decode_str(stream),
            (vec![Ev::data("test"), Ev::data("test")], false)
        );
    }

    #[test]
    fn spec_example_event_types() {
        let stream = "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((
                vec![
                    Ev::new("add", "73857293"),
                    Ev::new("remove", "2153"),
                    Ev::new("add", "113411"),
                ],
                false
            ))
        );
    }

    #[test]
    fn event_type_resets_after_each_block_even_without_data() {
        let stream =
            "event: ping\n\ndata: a\n\nevent: x\ndata: b\n\ndata: c\n\nevent:\ndata: d\n\n";
        assert_eq!(
            decode_str(stream).0,
            vec![
                Ev::data("a"),
                Ev::new("x", "b"),
                Ev::data("c"),
                Ev::data("d")
            ]
        );
    }

    #[test]
    fn only_one_space_is_stripped_and_later_colons_belong_to_the_value() {
        let stream = "data:   a:b: c \n\ndata:\tx\n\ndata:\n\n";
        assert_eq!(
            decode_str(stream).0,
            vec![Ev::data("  a:b: c "), Ev::data("\tx"), Ev::data("")]
        );
    }

    #[test]
    fn unknown_and_wrongly_cased_fields_are_ignored() {
        let stream = "foo: bar\nData: x\nDATA\n data: y\nevent : z\ndata: kept\n\n";
        assert_eq!(decode_str(stream).0, vec![Ev::data("kept")]);
    }

    #[test]
    fn a_field_without_colon_has_an_empty_value() {
        // "event" without a colon sets an empty type; "data" appends an empty line.
        let stream = "event: x\nevent\ndata\ndata: a\n\n";
        assert_eq!(decode_str(stream).0, vec![Ev::data("\na")]);
    }

    #[test]
    fn comments_are_ignored_anywhere() {
        let stream = ":ok\ndata: a\n: keep-alive\n:\ndata: b\n\n: trailing\n";
        assert_eq!(decode_str(stream), (vec![Ev::data("a\nb")], false));
    }

    #[test]
    fn id_persists_until_changed_even_through_blocks_without_data() {
        let stream =
            "id: 7\ndata: a\n\ndata: b\n\nid: 8\n\ndata: c\n\nid\ndata: d\n\nid: 9\ndata: e\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((
                vec![
                    Ev::data("a").id("7"),
                    Ev::data("b").id("7"),
                    Ev::data("c").id("8"),
                    Ev::data("d"),
                    Ev::data("e").id("9"),
                ],
                false
            ))
        );
    }

    #[test]
    fn id_containing_nul_is_ignored() {
        let stream = "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\nid: 3\ndata: c\n\n";
        assert_eq!(
            decode_str(stream).0,
            vec![
                Ev::data("a").id("1"),
                Ev::data("b").id("1"),
                Ev::data("c").id("3")
            ]
        );
    }

    #[test]
    fn id_persists_across_inputs_and_last_one_in_a_block_wins() {
        let (events, _) =
            decode_pieces(64, [&b"id: 1\nid: 2\n"[..], b"data: a\n\n", b"data: b\n\n"])
                .expect("decodes");
        assert_eq!(events, vec![Ev::data("a").id("2"), Ev::data("b").id("2")]);
    }

    #[test]
    fn retry_is_taken_only_when_all_ascii_digits() {
        let stream = "retry: 3000\ndata: a\n\nretry: 12a\ndata: b\n\nretry:\ndata: c\n\nretry:  100\ndata: d\n\nretry: -1\ndata: e\n\nretry: 5000\n\ndata: f\n\nretry: 99999999999999999999999\ndata: g\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((
                vec![
                    Ev::data("a").retry(3000),
                    Ev::data("b").retry(3000),
                    Ev::data("c").retry(3000),
                    Ev::data("d").retry(3000),
                    Ev::data("e").retry(3000),
                    Ev::data("f").retry(5000),
                    Ev::data("g").retry(u64::MAX),
                ],
                false
            ))
        );
        assert_eq!(decode_str("data: x\n\n").0, vec![Ev::data("x")]);
    }

    #[test]
    fn lf_crlf_and_cr_line_ends_are_equivalent() {
        let lf = "event: e\ndata: a\ndata: b\n\n: c\ndata: z\n\n";
        let expected = (vec![Ev::new("e", "a\nb"), Ev::data("z")], false);
        for end in ["\n", "\r\n", "\r"] {
            let stream = lf.replace('\n', end);
            assert_eq!(
                decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
                Ok(expected.clone()),
                "line end {end:?}"
            );
        }
        // Mixed line ends in one stream.
        assert_eq!(
            decode_str("event: e\rdata: a\r\ndata: b\n\r: c\r\ndata: z\n\r\n"),
            expected
        );
    }

    #[test]
    fn cr_at_the_end_of_one_input_and_lf_at_the_start_of_the_next_are_one_line_end() {
        let pieces: [&[u8]; 4] = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"];
        assert_eq!(
            decode_pieces(64, pieces),
            Ok((vec![Ev::data("a\nb")], false))
        );
        // An empty input in between does not forget the CR.
        let pieces: [&[u8]; 4] = [b"data: a\r", b"", b"\n", b"\r\n"];
        assert_eq!(decode_pieces(64, pieces), Ok((vec![Ev::data("a")], false)));
        // A lone CR followed by something else in the next input is a line end of its own.
        let pieces: [&[u8]; 3] = [b"data: a\r", b"data: b\r", b"\r"];
        assert_eq!(
            decode_pieces(64, pieces),
            Ok((vec![Ev::data("a\nb")], false))
        );
        // CR, then CRLF: the second is a blank line.
        assert_eq!(decode_str("data: a\r\r\n"), (vec![Ev::data("a")], false));
        // LF, then CR: the CR is a blank line.
        assert_eq!(decode_str("data: a\n\r"), (vec![Ev::data("a")], false));
        // LF, LF after a CR: the CR and first LF are one line end, the second LF a blank line.
        let pieces: [&[u8]; 2] = [b"data: a\r", b"\n\n"];
        assert_eq!(decode_pieces(64, pieces), Ok((vec![Ev::data("a")], false)));
    }

    #[test]
    fn a_leading_bom_is_skipped_even_when_split() {
        let stream = "\u{FEFF}data: x\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((vec![Ev::data("x")], false))
        );
        // The BOM alone in its own inputs.
        let pieces: [&[u8]; 4] = [b"\xEF", b"\xBB", b"\xBF", b"data: y\n\n"];
        assert_eq!(decode_pieces(64, pieces), Ok((vec![Ev::data("y")], false)));
    }

    #[test]
    fn only_one_bom_and_only_at_the_start_is_skipped() {
        // A second BOM makes the first field name "\u{FEFF}data", which is unknown.
        let stream = "\u{FEFF}\u{FEFF}data: x\n\ndata: y\n\n";
        assert_eq!(decode_str(stream).0, vec![Ev::data("y")]);
        let stream = "data: a\n\n\u{FEFF}data: b\n\n";
        assert_eq!(decode_str(stream).0, vec![Ev::data("a")]);
    }

    #[test]
    fn bytes_that_only_start_like_a_bom_are_kept() {
        // EF BB BE is U+FEFE, a field name of its own (unknown, so ignored).
        let stream = "\u{FEFE}: c\ndata: z\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((vec![Ev::data("z")], false))
        );
        // A stream whose first line is U+FEFE followed by a real field name: still not a BOM.
        let stream = "\u{FEFE}data: z\n\n";
        assert_eq!(decode_str(stream).0, vec![]);
        // A partial BOM followed by ASCII is not UTF-8.
        let pieces: [&[u8]; 2] = [b"\xEF\xBB", b"data: x\n\n"];
        assert_eq!(
            decode_pieces(64, pieces),
            Err(CodecError::InvalidUtf8 { line: 1 })
        );
    }

    #[test]
    fn finish_discards_an_unterminated_event_and_reports_it() {
        assert_eq!(
            decode_str("data: a\n\ndata: b\n"),
            (vec![Ev::data("a")], true)
        );
        assert_eq!(
            decode_str("data: a\n\ndata: b"),
            (vec![Ev::data("a")], true)
        );
        assert_eq!(
            decode_str("data: a\n\nevent: x\n"),
            (vec![Ev::data("a")], true)
        );
        assert_eq!(
            decode_str("data: a\n\nid: 3\n"),
            (vec![Ev::data("a")], true)
        );
        assert_eq!(
            decode_str("data: a\n\n: just a comment\n"),
            (vec![Ev::data("a")], false)
        );
        assert_eq!(decode_str("data: a\n\n"), (vec![Ev::data("a")], false));
        assert_eq!(decode_str("data: a\n\n:"), (vec![Ev::data("a")], true));
        assert_eq!(decode_str("\u{FEFF}"), (vec![], false));
        assert_eq!(decode_str(""), (vec![], false));
        let (events, pending) = decode_pieces(64, [&b"\xEF\xBB"[..]]).expect("decodes");
        assert_eq!((events, pending), (vec![], true));
    }

    #[test]
    fn has_pending_tracks_unfinished_lines_and_events() {
        let mut dec = SseDecoder::new();
        let mut out = Vec::new();
        assert!(!dec.has_pending());
        feed(&mut dec, b"da", &mut out).expect("decodes");
        assert!(dec.has_pending());
        feed(&mut dec, b"ta: x\n", &mut out).expect("decodes");
        assert!(dec.has_pending());
        feed(&mut dec, b"\n", &mut out).expect("decodes");
        assert!(!dec.has_pending());
        feed(&mut dec, b": ping\n", &mut out).expect("decodes");
        assert!(!dec.has_pending());
        assert_eq!(out, vec![Ev::data("x")]);
    }

    #[test]
    fn after_finish_the_decoder_starts_a_new_stream_keeping_id_and_retry() {
        let mut dec = SseDecoder::new();
        let mut out = Vec::new();
        feed(
            &mut dec,
            b"\xEF\xBB\xBFid: 5\nretry: 10\ndata: a\n\ndata: lost\n",
            &mut out,
        )
        .expect("decodes");
        assert!(dec.finish());
        assert!(!dec.has_pending());
        feed(&mut dec, b"\xEF\xBB\xBFdata: b\n\n", &mut out).expect("decodes");
        assert!(!dec.finish());
        assert_eq!(
            out,
            vec![
                Ev::data("a").id("5").retry(10),
                Ev::data("b").id("5").retry(10)
            ]
        );
    }

    #[test]
    fn done_marker_is_just_data() {
        assert_eq!(
            decode_str("data: [DONE]\n\n"),
            (vec![Ev::data("[DONE]")], false)
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_with_the_line_number() {
        let stream = b"data: a\n\ndata: \xff\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream),
            Err(CodecError::InvalidUtf8 { line: 3 })
        );
        // CRLF counts as one line end.
        let stream = b"data: a\r\n\r\n: ok\r\ndata: \xC3\x28\r\n\r\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream),
            Err(CodecError::InvalidUtf8 { line: 4 })
        );
        // A character cut short by the line end, and invalid bytes in a comment.
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, b"data: \xC3\n\n"),
            Err(CodecError::InvalidUtf8 { line: 1 })
        );
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, b"\n:\xED\xA0\x80\n"),
            Err(CodecError::InvalidUtf8 { line: 2 })
        );
    }

    #[test]
    fn events_before_an_invalid_line_are_delivered() {
        let mut dec = SseDecoder::new();
        let mut out = Vec::new();
        let result = feed(&mut dec, b"data: a\n\ndata: \x80\n\n", &mut out);
        assert_eq!(result, Err(CodecError::InvalidUtf8 { line: 3 }));
        assert_eq!(out, vec![Ev::data("a")]);
    }

    #[test]
    fn utf8_characters_split_across_inputs_decode_fine() {
        let stream = "event: é\ndata: é😀中\u{10FFFF}\nid: ü\n\n";
        assert_eq!(
            decode_every_way(DEFAULT_MAX_LINE, stream.as_bytes()),
            Ok((vec![Ev::new("é", "é😀中\u{10FFFF}").id("ü")], false))
        );
        let pieces: [&[u8]; 4] = [b"data: \xF0", b"\x9F", b"\x98", b"\x80\n\n"];
        assert_eq!(decode_pieces(64, pieces), Ok((vec![Ev::data("😀")], false)));
    }

    #[test]
    fn a_long_line_fails_as_soon_as_it_passes_the_cap() {
        const MAX: usize = 1 << 20;
        let piece = vec![b'a'; 7 * 1024];
        let mut dec = SseDecoder::with_max_line(MAX);
        let mut fed = 0;
        let mut result = dec.decode(b"data: ", |_| Ok::<(), CodecError>(()));
        fed += 6;
        while result.is_ok() && fed < 2 * MAX {
            result = dec.decode(&piece, |_| Ok::<(), CodecError>(()));
            fed += piece.len();
            assert!(dec.line.len() <= MAX, "never holds more than the cap");
        }
        assert_eq!(result, Err(CodecError::LineTooLong { limit: MAX }));
        assert!(
            fed > MAX && fed <= MAX + piece.len(),
            "failed after {fed} bytes"
        );
    }

    #[test]
    fn a_long_line_inside_one_input_fails_too() {
        let mut stream = b"data: ".to_vec();
        stream.resize(1 << 16, b'a');
        stream.extend_from_slice(b"\n\n");
        assert_eq!(
            decode_pieces(1 << 12, [&stream[..]]),
            Err(CodecError::LineTooLong { limit: 1 << 12 })
        );
        // Also without any line end at all.
        assert_eq!(
            decode_pieces(1 << 12, [&stream[..1 << 15]]),
            Err(CodecError::LineTooLong { limit: 1 << 12 })
        );
    }

    #[test]
    fn the_line_cap_is_exact() {
        // "data: " plus 10 bytes is a 16-byte line; the line end does not count.
        let ok = b"data: 0123456789\r\n\r\n";
        assert_eq!(
            decode_every_way(16, ok),
            Ok((vec![Ev::data("0123456789")], false))
        );
        let too_long = b"data: 0123456789a\r\n\r\n";
        assert_eq!(
            decode_every_way(16, too_long),
            Err(CodecError::LineTooLong { limit: 16 })
        );
        // A cap of zero allows only blank lines.
        assert_eq!(decode_every_way(0, b"\n\r\n\r"), Ok((vec![], false)));
        assert_eq!(
            decode_every_way(0, b"\nx"),
            Err(CodecError::LineTooLong { limit: 0 })
        );
        assert_eq!(decode_every_way(1, b"\xEF\xBB\xBF:\n"), Ok((vec![], false)));
    }

    #[test]
    fn the_data_of_one_event_is_capped_too() {
        // Five lines give 5 * 10 + 4 = 54 bytes of data; six give 65.
        let five = "data: 0123456789\n".repeat(5) + "\n";
        let (events, _) = decode_every_way(64, five.as_bytes()).expect("fits");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), 54);
        let six = "data: 0123456789\n".repeat(6) + "\n";
        assert_eq!(
            decode_every_way(64, six.as_bytes()),
            Err(CodecError::LineTooLong { limit: 64 })
        );
        // Many short lines never ending the event fail early, not at the end.
        let mut dec = SseDecoder::with_max_line(1 << 16);
        let line = b"data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";
        let mut fed = 0;
        let result = loop {
            if let Err(e) = dec.decode(line, |_| Ok::<(), CodecError>(())) {
                break e;
            }
            fed += line.len();
            assert!(fed < 1 << 20, "should have failed by now");
        };
        assert_eq!(result, CodecError::LineTooLong { limit: 1 << 16 });
        assert!(dec.data.len() <= 1 << 16);
    }

    #[test]
    fn whole_events_inside_one_input_borrow_from_it() {
        let input = b"data: {\"a\":1}\n\nevent: delta\nid: 42\ndata: {\"b\":2}\n\n";
        let range = input.as_ptr_range();
        let mut dec = SseDecoder::new();
        let mut seen = 0;
        dec.decode(input, |ev| {
            for s in [ev.data, ev.event, ev.id.unwrap_or("")] {
                let bytes = s.as_bytes().as_ptr_range();
                assert!(
                    s.is_empty() || (range.start <= bytes.start && bytes.end <= range.end),
                    "{s:?} is not borrowed from the input"
                );
            }
            seen += 1;
            Ok::<(), CodecError>(())
        })
        .expect("decodes");
        assert_eq!(seen, 2);
        // Nothing was allocated for those events.
        assert_eq!(dec.data.capacity(), 0);
        assert_eq!(dec.line.capacity(), 0);
        assert_eq!(dec.event.capacity(), 0);
        // The id persists, so it was copied once when the input ended.
        assert_eq!(dec.id, "42");
    }

    #[test]
    fn the_ollama_stream_in_one_input_allocates_nothing() {
        let input = OLLAMA_STREAM.as_bytes();
        let range = input.as_ptr_range();
        let mut dec = SseDecoder::new();
        let mut out = Vec::new();
        dec.decode(input, |ev| {
            let data = ev.data.as_bytes().as_ptr_range();
            assert!(range.start <= data.start && data.end <= range.end);
            out.push(Ev::from(ev));
            Ok::<(), CodecError>(())
        })
        .expect("decodes");
        assert!(!dec.finish());
        assert_eq!(out, ollama_events());
        assert_eq!(
            (
                dec.data.capacity(),
                dec.line.capacity(),
                dec.event.capacity(),
                dec.id.capacity()
            ),
            (0, 0, 0, 0)
        );
    }

    #[test]
    fn events_straddling_inputs_are_copied_and_the_rest_still_borrow() {
        let stream = OLLAMA_STREAM.repeat(50);
        let bytes = stream.as_bytes();
        let mut dec = SseDecoder::new();
        let (mut borrowed, mut total) = (0, 0);
        for piece in bytes.chunks(1000) {
            let range = piece.as_ptr_range();
            dec.decode(piece, |ev| {
                let data = ev.data.as_bytes().as_ptr_range();
                if range.start <= data.start && data.end <= range.end {
                    borrowed += 1;
                }
                total += 1;
                Ok::<(), CodecError>(())
            })
            .expect("decodes");
        }
        assert_eq!(total, 200);
        // At most one event per piece boundary is not borrowed.
        let boundaries = bytes.len().div_ceil(1000) - 1;
        assert!(
            borrowed >= total - boundaries,
            "{borrowed} of {total} borrowed"
        );
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
        let mut dec = SseDecoder::new();
        let mut seen = Vec::new();
        let result = dec.decode(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", |ev| {
            seen.push(ev.data.to_owned());
            if ev.data == "2" {
                Err(AppError::Stop)
            } else {
                Ok(())
            }
        });
        assert_eq!(result, Err(AppError::Stop));
        assert_eq!(seen, ["1", "2"]);
        let mut dec = SseDecoder::new();
        let result = dec.decode(b"data: \xff\n", |_| Ok::<(), AppError>(()));
        assert_eq!(
            result,
            Err(AppError::Codec(CodecError::InvalidUtf8 { line: 1 }))
        );
    }

    #[test]
    fn default_is_new() {
        let dec = SseDecoder::default();
        assert_eq!(dec.max, DEFAULT_MAX_LINE);
        assert!(!dec.has_pending());
    }

    // ---- property tests ----

    /// A character of JSON-ish text: mostly printable ASCII, with quotes, backslashes,
    /// multi-byte characters and any other character but CR and LF.
    fn text_char() -> impl Strategy<Value = char> {
        prop_oneof![
            6 => proptest::char::range(' ', '~'),
            1 => Just('"'),
            1 => Just('\\'),
            1 => Just(':'),
            1 => Just('é'),
            1 => Just('中'),
            1 => Just('😀'),
            1 => Just('\u{FEFF}'),
            2 => any::<char>().prop_filter("no line ends", |c| *c != '\n' && *c != '\r'),
        ]
    }

    fn text(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(text_char(), 0..max).prop_map(|cs| cs.into_iter().collect())
    }

    /// Data that looks like what LLM servers send, or arbitrary text.
    fn data_line() -> impl Strategy<Value = String> {
        prop_oneof![
            text(40).prop_map(|s| {
                let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
                format!(r#"{{"choices":[{{"delta":{{"content":"{escaped}"}}}}]}}"#)
            }),
            text(40),
        ]
    }

    #[derive(Debug, Clone)]
    struct GenEvent {
        comment: Option<String>,
        event: Option<String>,
        id: Option<String>,
        retry: Option<u32>,
        data: Vec<String>,
    }

    fn gen_event() -> impl Strategy<Value = GenEvent> {
        (
            proptest::option::of(text(10)),
            proptest::option::weighted(0.3, text(12)),
            proptest::option::weighted(0.3, text(8)),
            proptest::option::weighted(0.1, any::<u32>()),
            proptest::collection::vec(data_line(), 0..4),
        )
            .prop_map(|(comment, event, id, retry, data)| GenEvent {
                comment,
                event,
                id,
                retry,
                data,
            })
    }

    /// Writes lines with line ends chosen by `style`, never letting a lone CR run into an LF
    /// that starts the next line.
    struct Writer {
        out: Vec<u8>,
        style: u64,
        after_cr: bool,
        /// For every line written: where it starts, where its line end starts, and its first
        /// byte (`None` for a blank line).
        lines: Vec<(usize, usize, Option<u8>)>,
    }

    impl Writer {
        fn next_choice(&mut self, n: u64) -> u64 {
            // xorshift64
            self.style ^= self.style << 13;
            self.style ^= self.style >> 7;
            self.style ^= self.style << 17;
            self.style % n
        }

        fn line(&mut self, line: &str) {
            let start = self.out.len();
            self.out.extend_from_slice(line.as_bytes());
            self.lines
                .push((start, self.out.len(), line.as_bytes().first().copied()));
            let mut end = ["\n", "\r\n", "\r"][self.next_choice(3) as usize];
            if line.is_empty() && self.after_cr && end == "\n" {
                end = "\r\n";
            }
            self.after_cr = end == "\r";
            self.out.extend_from_slice(end.as_bytes());
        }

        fn field(&mut self, name: &str, value: &str) {
            let space = value.starts_with(' ') || self.next_choice(2) == 0;
            self.line(&format!("{name}:{}{value}", if space { " " } else { "" }));
        }
    }

    fn serialize(events: &[GenEvent], bom: bool, style: u64) -> Writer {
        let mut w = Writer {
            out: Vec::new(),
            style: style | 1,
            after_cr: false,
            lines: Vec::new(),
        };
        if bom {
            w.out.extend_from_slice(&BOM);
        }
        for e in events {
            if let Some(c) = &e.comment {
                w.line(&format!(":{c}"));
            }
            if let Some(ev) = &e.event {
                w.field("event", ev);
            }
            if let Some(id) = &e.id {
                w.field("id", id);
            }
            if let Some(r) = e.retry {
                w.field("retry", &r.to_string());
            }
            for d in &e.data {
                w.field("data", d);
            }
            w.line("");
        }
        w
    }

    /// What the spec says the events are.
    fn model(events: &[GenEvent]) -> Vec<Ev> {
        let mut last_id = String::new();
        let mut retry = None;
        let mut out = Vec::new();
        for e in events {
            if let Some(id) = &e.id {
                if !id.contains('\0') {
                    last_id.clone_from(id);
                }
            }
            if let Some(r) = e.retry {
                retry = Some(u64::from(r));
            }
            if !e.data.is_empty() {
                out.push(Ev {
                    event: e.event.clone().unwrap_or_default(),
                    data: e.data.join("\n"),
                    id: if last_id.is_empty() {
                        None
                    } else {
                        Some(last_id.clone())
                    },
                    retry,
                });
            }
        }
        out
    }

    /// Splits `bytes` at the given points (in any order, duplicates give empty pieces).
    fn split<'b>(bytes: &'b [u8], points: &[proptest::sample::Index]) -> Vec<&'b [u8]> {
        let mut cuts: Vec<usize> = points.iter().map(|p| p.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts {
            pieces.push(&bytes[start..cut]);
            start = cut;
        }
        pieces.push(&bytes[start..]);
        pieces
    }

    proptest! {
        #[test]
        fn arbitrary_events_survive_arbitrary_splits(
            events in proptest::collection::vec(gen_event(), 0..12),
            bom in any::<bool>(),
            style in any::<u64>(),
            points in proptest::collection::vec(any::<proptest::sample::Index>(), 0..24),
        ) {
            let bytes = serialize(&events, bom, style).out;
            let expected = model(&events);
            let pieces = split(&bytes, &points);
            prop_assert_eq!(decode_pieces(DEFAULT_MAX_LINE, pieces), Ok((expected.clone(), false)));
            prop_assert_eq!(decode_pieces(DEFAULT_MAX_LINE, [&bytes[..]]), Ok((expected, false)));
        }

        #[test]
        fn a_truncated_stream_is_reported_by_finish(
            events in proptest::collection::vec(gen_event(), 1..6),
            bom in any::<bool>(),
            style in any::<u64>(),
            cut in any::<proptest::sample::Index>(),
        ) {
            let written = serialize(&events, bom, style);
            let cut = cut.index(written.out.len() + 1);
            let (got, pending) =
                decode_pieces(DEFAULT_MAX_LINE, written.out[..cut].chunks(7)).expect("decodes");
            // The events delivered are those whose blank line was reached.
            let blank_lines_reached = written
                .lines
                .iter()
                .filter(|&&(start, _, first)| first.is_none() && start < cut)
                .count();
            prop_assert_eq!(got, model(&events[..blank_lines_reached]));
            // Pending: part of the BOM, part of a line, or a field line since the last blank one.
            let bom_len = if bom { BOM.len() } else { 0 };
            let mut expected_pending = cut > 0 && cut < bom_len;
            let mut in_event = false;
            for &(start, end, first) in &written.lines {
                if cut <= start {
                    break;
                }
                if cut <= end {
                    expected_pending = true;
                }
                match first {
                    None => in_event = false,
                    Some(b':') => {}
                    Some(_) => in_event = true,
                }
            }
            prop_assert_eq!(pending, expected_pending || in_event);
        }
    }
}
