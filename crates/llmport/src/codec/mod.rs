//! Byte-stream decoders: Server-Sent Events and newline-delimited JSON. No HTTP here.
//!
//! Both decoders are incremental: feed them the body's bytes as they arrive, split at any
//! byte (even inside a multi-byte UTF-8 character or between the CR and LF of a line end),
//! and they call back once for every complete event or line. In the common case, where a
//! whole event or line lies inside one input, what the callback gets borrows straight from
//! that input: nothing is copied and nothing is allocated.

pub mod ndjson;
pub mod sse;

pub use ndjson::NdjsonDecoder;
pub use sse::{SseDecoder, SseEvent};

/// Default cap on one line (and on one SSE event's accumulated data): 16 MiB.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

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
