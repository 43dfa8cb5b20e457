//! The decoding and encoding steps of a chat, reachable from the benchmarks (`benches/`)
//! through `llmport::__bench`. Thin wrappers: each calls exactly the code a real call runs.

use bytes::Bytes;

use super::stream::{FrameDecoder, StreamLimits};
use crate::error::Result;
use crate::message::Message;
use crate::options::Options;
use crate::response::GenResponse;
use crate::transport::Timer;

/// Body bytes → SSE events → chunks → [`GenResponse`]s, exactly as a streamed chat answer is
/// decoded (the stream's own decoder, without HTTP).
#[derive(Debug)]
pub struct StreamDecoder {
    frames: FrameDecoder,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        StreamDecoder {
            frames: FrameDecoder::new(Timer::start(), StreamLimits::default()),
        }
    }

    /// Decodes one body frame and hands every chunk it completes to `each`.
    pub fn feed(&mut self, frame: Bytes, mut each: impl FnMut(GenResponse)) -> Result<()> {
        self.frames.push_frame(frame);
        while let Some(item) = self.frames.next() {
            each(item?);
        }
        Ok(())
    }

    /// The end of the body: an error unless the stream ended with `[DONE]`.
    pub fn finish(&mut self) -> Result<()> {
        self.frames.finish()
    }
}

/// Encodes a Chat Completions request body, as `generate` / `generate_stream` do.
pub fn chat_request_body(
    model: &str,
    messages: &[Message],
    options: &Options,
    stream: bool,
) -> Result<Vec<u8>> {
    super::request::chat_request_body("openai", model, messages, options, stream)
}
