//! Byte-stream decoders: Server-Sent Events and newline-delimited JSON, and the [`Decoder`]
//! trait every streamed answer is decoded through. No HTTP here, and no clock.
//!
//! Both decoders are incremental: feed them the body's bytes as they arrive, split at any
//! byte (even inside a multi-byte UTF-8 character or between the CR and LF of a line end),
//! and they call back once for every complete event or line. In the common case, where a
//! whole event or line lies inside one input, what the callback gets borrows straight from
//! that input: nothing is copied and nothing is allocated.

mod decoder;
pub(crate) mod events;
pub(crate) mod lines;
pub mod ndjson;
pub mod sse;
pub(crate) mod surrogates;
mod text;

pub use decoder::{Decoder, decode_pieces};
pub use ndjson::NdjsonDecoder;
pub use sse::{SseDecoder, SseEvent};
pub(crate) use text::Text;

/// Default cap on one line (and on one SSE event's accumulated data): 16 MiB.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

/// Limits on what a stream may make the client buffer, beyond the body itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Longest line (an NDJSON line, an SSE line or one SSE event's data), in bytes.
    pub max_line: usize,
    /// Largest tool-call arguments assembled from fragments, in bytes.
    pub max_tool_arguments: usize,
}

impl Default for StreamLimits {
    /// [`DEFAULT_MAX_LINE`] for both.
    fn default() -> Self {
        StreamLimits {
            max_line: DEFAULT_MAX_LINE,
            max_tool_arguments: DEFAULT_MAX_LINE,
        }
    }
}

/// A decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A line (or an SSE event's data) grew past the cap without ending.
    #[error("a stream line is longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The cap that was exceeded, in bytes.
        limit: usize,
    },
    /// A line was not valid UTF-8. `line` is the 1-based line number in the stream.
    #[error("stream line {line} is not valid UTF-8")]
    InvalidUtf8 {
        /// The 1-based number of the offending line in the stream.
        line: u64,
    },
}

/// A decoding failure as the crate's [`Error`](crate::Error): a line over the cap is a
/// [`LimitExceeded`](crate::Error::LimitExceeded), bad UTF-8 a [`Decode`](crate::Error::Decode).
/// (Here rather than in `error.rs`, so that dependencies run one way: codec → error.)
impl From<CodecError> for crate::error::Error {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::LineTooLong { limit } => crate::error::Error::LimitExceeded {
                what: "stream line",
                limit,
            },
            other @ CodecError::InvalidUtf8 { .. } => crate::error::Error::Decode {
                message: other.to_string(),
                source: Some(Box::new(other)),
            },
        }
    }
}
