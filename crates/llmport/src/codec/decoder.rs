//! [`Decoder`]: the I/O-free step from a response body's bytes to a stream's items, and
//! [`decode_pieces`], which drives one over a body already in memory.
//!
//! Every streamed endpoint is a `Decoder` (the `/v1` chat's SSE chunks:
//! [`openai::StreamDecoder`](crate::openai::StreamDecoder); Ollama's native chat and pull
//! NDJSON: [`ollama::ChatDecoder`](crate::ollama::ChatDecoder),
//! [`ollama::PullDecoder`](crate::ollama::PullDecoder)). One generic adapter drives any of
//! them over an HTTP body, and owns everything that involves time or I/O: the read-ahead
//! task, the idle and whole-stream deadlines, the size cap, the content type. The fuzz
//! targets, the benchmarks and the property tests drive the very same decoders, so what they
//! exercise is what a real call runs.

use bytes::Bytes;

use crate::error::Result;

/// Decodes a streamed answer, fed the body's bytes as they arrive: bytes → events (SSE
/// events, NDJSON lines) → items.
///
/// The protocol, which the adapter (and [`decode_pieces`]) follow:
///
/// 1. Take items with [`next_item`](Decoder::next_item) until it returns `None`; an error
///    item is the last one (the stream ends with it).
/// 2. Then, if [`is_done`](Decoder::is_done), the answer is complete: the rest of the body is
///    ignored. Otherwise [`feed`](Decoder::feed) the next piece of the body (any size, split
///    anywhere) and go back to 1, or, at the body's end, call [`end`](Decoder::end) and take
///    the remaining items (the last may be the error saying the answer was cut short).
///
/// A decoder may decode lazily: `feed` may only keep the bytes, and `next_item` decode one
/// event at a time (the SSE decoder does, so that a 64 KiB piece of ~280 events does not
/// queue ~280 items at once).
pub trait Decoder {
    /// What the stream yields.
    type Item;

    /// Takes the next piece of the body. Call only once [`Decoder::next_item`] has returned
    /// `None`.
    fn feed(&mut self, bytes: Bytes);

    /// The next item from the bytes fed so far, or `None` when they are used up.
    fn next_item(&mut self) -> Option<Result<Self::Item>>;

    /// The body ended. What is still held (an unfinished last line, the verdict on whether
    /// the answer was complete) comes out of [`Decoder::next_item`] afterwards.
    fn end(&mut self);

    /// Whether the answer's end marker has been seen: nothing after it counts.
    fn is_done(&self) -> bool;

    /// Whether the answer made progress since the last call — a token, a reasoning delta, a
    /// tool-call fragment, a finish — and not merely bytes (SSE comments, empty deltas,
    /// `event:`-only lines are no progress). The idle timeout counts from the last progress.
    fn take_progress(&mut self) -> bool;

    /// The server answered the stream request with one JSON document
    /// (`Content-Type: application/json`) instead of a stream. An error object is an
    /// [`Error::Api`](crate::Error::Api) with the server's message; a whole answer is queued
    /// as the stream's items (a one-chunk stream); anything else is an
    /// [`Error::Decode`](crate::Error::Decode) saying what was expected.
    ///
    /// `status` is the answer's HTTP status (a success: errors never reach a decoder).
    fn decode_document(&mut self, status: u16, body: &[u8]) -> Result<()>;
}

/// Drives `decoder` over a body already in memory, cut into `pieces`, exactly as a stream
/// does over the network: every item in order, the error that ended it (if any) last.
///
/// ```
/// use bytes::Bytes;
/// use llmport::codec::decode_pieces;
/// use llmport::openai::StreamDecoder;
///
/// let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n";
/// let (a, b) = body.split_at(17);
/// let items = decode_pieces(StreamDecoder::default(), [Bytes::from(a), Bytes::from(b)]);
/// assert_eq!(items[0].as_ref().unwrap().text(), "Hi");
/// assert!(items.iter().all(Result::is_ok));
/// ```
pub fn decode_pieces<D: Decoder>(
    mut decoder: D,
    pieces: impl IntoIterator<Item = Bytes>,
) -> Vec<Result<D::Item>> {
    let mut pieces = pieces.into_iter();
    let mut ended = false;
    let mut out = Vec::new();
    loop {
        while let Some(item) = decoder.next_item() {
            let failed = item.is_err();
            out.push(item);
            if failed {
                return out;
            }
        }
        if ended || decoder.is_done() {
            return out;
        }
        match pieces.next() {
            Some(bytes) => decoder.feed(bytes),
            None => {
                decoder.end();
                ended = true;
            }
        }
    }
}
