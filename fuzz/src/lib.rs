//! What the fuzz targets share: how an input's control bytes pick a line limit and the points
//! at which the body is cut into pieces, and the streams they drive.
//!
//! The stream targets drive llmport's public, I/O-free decoders (`llmport::codec::Decoder`
//! implementations) with `llmport::codec::decode_pieces`: the same decoders, driven by the
//! same protocol, that a real call's stream runs over its HTTP body (whichever HTTP path
//! brought the bytes). Only the I/O around them (the read-ahead task, the timers) is not
//! fuzzed here.

use bytes::Bytes;
use llmport::codec::{StreamLimits, decode_pieces};
use llmport::{Error, GenResponse};

/// An input cut into its control part and the body the decoder sees.
pub struct Framed<'a> {
    /// The line limit to decode with.
    pub max_line: usize,
    /// Positions (in `body`) where the body is cut into pieces; sorted, inside the body.
    pub splits: Vec<usize>,
    /// The bytes to decode.
    pub body: &'a [u8],
}

/// Reads the two control bytes at the start of an input: byte 0 picks the line limit (0: the
/// default 16 MiB; otherwise small limits, so that "line too long" is reached), byte 1 seeds
/// the cut points. Inputs shorter than two bytes are ignored.
pub fn frame(data: &[u8]) -> Option<Framed<'_>> {
    let (&limit, rest) = data.split_first()?;
    let (&seed, body) = rest.split_first()?;
    let max_line = match limit {
        0 => llmport::codec::DEFAULT_MAX_LINE,
        n => usize::from(n) * 4,
    };
    Some(Framed {
        max_line,
        splits: split_points(seed, body.len()),
        body,
    })
}

/// Cut points for a body of `len` bytes: seed 0 gives none, seed 1 cuts between every byte,
/// other seeds give irregular pieces (an xorshift sequence).
pub fn split_points(seed: u8, len: usize) -> Vec<usize> {
    match seed {
        0 => Vec::new(),
        1 => (1..len).collect(),
        _ => {
            let mut x = u32::from(seed) | 0x9e37_0000;
            let mut at = 0usize;
            let mut out = Vec::new();
            loop {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                at += 1 + (x % 23) as usize;
                if at >= len {
                    return out;
                }
                out.push(at);
            }
        }
    }
}

/// `body` as pieces cut at `splits`.
pub fn pieces<'a>(body: &'a [u8], splits: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(splits.len() + 1);
    let mut start = 0;
    for &cut in splits.iter().chain(&[body.len()]) {
        out.push(&body[start..cut]);
        start = cut;
    }
    out
}

/// `body` as the pieces a decoder is fed, cut at `splits`.
pub fn byte_pieces(body: &[u8], splits: &[usize]) -> Vec<Bytes> {
    pieces(body, splits)
        .into_iter()
        .map(Bytes::copy_from_slice)
        .collect()
}

/// A streamed Chat Completions body through `llmport::openai::StreamDecoder` (SSE decoder →
/// chunk decoder → tool-call assembly), cut at `splits`: every item, the error that ended the
/// stream (if any) last.
pub fn chat_stream(
    body: &[u8],
    splits: &[usize],
    max_line: usize,
    max_tool_arguments: usize,
) -> Vec<Result<GenResponse, Error>> {
    let limits = StreamLimits {
        max_line,
        max_tool_arguments,
    };
    decode_pieces(
        llmport::openai::StreamDecoder::new(limits),
        byte_pieces(body, splits),
    )
}

/// A native `/api/chat` NDJSON body through `llmport::ollama::ChatDecoder`, cut at `splits`.
pub fn native_chat(body: &[u8], splits: &[usize], max_line: usize) -> Vec<Result<GenResponse, Error>> {
    decode_pieces(
        llmport::ollama::ChatDecoder::new(max_line),
        byte_pieces(body, splits),
    )
}

/// A native `/api/generate` NDJSON body through `llmport::ollama::GenerateDecoder`, cut at
/// `splits`.
pub fn native_generate(
    body: &[u8],
    splits: &[usize],
    max_line: usize,
) -> Vec<Result<GenResponse, Error>> {
    decode_pieces(
        llmport::ollama::GenerateDecoder::new(max_line),
        byte_pieces(body, splits),
    )
}

/// The NDJSON progress body of a pull, push or create through
/// `llmport::ollama::ProgressDecoder`, cut at `splits`: every report, the error that ended the
/// stream (if any) last.
pub fn progress(
    body: &[u8],
    splits: &[usize],
    max_line: usize,
) -> Vec<Result<llmport::ollama::Progress, Error>> {
    decode_pieces(
        llmport::ollama::ProgressDecoder::new(max_line),
        byte_pieces(body, splits),
    )
}

/// A streamed Messages API body through `llmport::anthropic::StreamDecoder` (typed SSE
/// events → content blocks → tool input assembly), cut at `splits`.
pub fn messages_stream(
    body: &[u8],
    splits: &[usize],
    max_line: usize,
    max_tool_arguments: usize,
) -> Vec<Result<GenResponse, Error>> {
    let limits = StreamLimits {
        max_line,
        max_tool_arguments,
    };
    decode_pieces(
        llmport::anthropic::StreamDecoder::new(limits),
        byte_pieces(body, splits),
    )
}

/// A streamed Responses API body through `llmport::responses::StreamDecoder` (typed SSE
/// events → output items → function-call argument assembly), cut at `splits`.
pub fn responses_stream(
    body: &[u8],
    splits: &[usize],
    max_line: usize,
    max_tool_arguments: usize,
) -> Vec<Result<GenResponse, Error>> {
    let limits = StreamLimits {
        max_line,
        max_tool_arguments,
    };
    decode_pieces(
        llmport::responses::StreamDecoder::new(limits),
        byte_pieces(body, splits),
    )
}

/// An item without its timings (they differ from run to run), errors as their text: what
/// two decodings of one stream must agree on.
pub fn comparable(item: &Result<GenResponse, Error>) -> Result<GenResponse, String> {
    match item {
        Ok(r) => {
            let mut r = r.clone();
            r.meta.time_to_first_token = None;
            r.meta.total_time = None;
            Ok(r)
        }
        Err(e) => Err(e.to_string()),
    }
}
