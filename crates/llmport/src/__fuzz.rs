//! Entry points for the fuzz targets (`fuzz/`) and the property tests: they reach code that is
//! private to the crate. Not a public API: no stability promise, hidden from the docs.

use bytes::Bytes;
use futures::StreamExt;

use crate::error::Result;
use crate::openai::{ChatStream, StreamLimits};
use crate::response::GenResponse;
use crate::transport::{BodyStream, Timer};

/// Runs a streamed Chat Completions body through the same stream a provider returns
/// (SSE decoder → chunk decoder → tool-call assembly), with the body delivered in pieces cut
/// at `splits` (byte positions; out-of-range and repeated ones are ignored). Returns every item
/// the stream yields, in order: the last one is the error that ended it, if any.
///
/// `max_line` and `max_tool_arguments` are the limits set by
/// [`OpenAiProviderBuilder::max_stream_line`](crate::openai::OpenAiProviderBuilder::max_stream_line)
/// and [`OpenAiProviderBuilder::max_tool_arguments`](crate::openai::OpenAiProviderBuilder::max_tool_arguments).
pub fn chat_stream(
    body: &[u8],
    splits: &[usize],
    max_line: usize,
    max_tool_arguments: usize,
) -> Vec<Result<GenResponse>> {
    let mut cuts: Vec<usize> = splits
        .iter()
        .copied()
        .filter(|&s| s > 0 && s < body.len())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts.into_iter().chain([body.len()]) {
        pieces.push(Ok::<Bytes, std::io::Error>(Bytes::copy_from_slice(
            &body[start..cut],
        )));
        start = cut;
    }
    let response = http::Response::new(reqwest::Body::wrap_stream(futures::stream::iter(pieces)));
    let body = BodyStream::new(
        crate::transport::from_reqwest(reqwest::Response::from(response)),
        None,
    );
    let limits = StreamLimits {
        max_line,
        max_tool_arguments,
    };
    let stream = ChatStream::new(body, Timer::start(), limits);
    futures::executor::block_on(stream.collect())
}
