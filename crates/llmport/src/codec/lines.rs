//! NDJSON streams as [`Decoder`](super::Decoder)s: [`Lines`] splits the body into lines and
//! hands each to a [`LineHandler`], which knows what one line of its endpoint means.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{CodecError, NdjsonDecoder};
use crate::error::{Error, Result};

/// Why splitting a piece into lines stopped early.
enum Stop {
    Failed(Error),
    /// The end marker was seen.
    Done,
}

impl From<CodecError> for Stop {
    fn from(e: CodecError) -> Self {
        Stop::Failed(e.into())
    }
}

/// Turns the lines of one NDJSON answer into items.
pub(crate) trait LineHandler {
    /// What the stream yields.
    type Item;

    /// Handles one line; an error ends the stream.
    fn on_line(&mut self, line: &str, out: &mut VecDeque<Result<Self::Item>>) -> Result<()>;

    /// Whether the end marker was seen (the rest of the body is then ignored).
    fn is_done(&self) -> bool;

    /// Whether the lines since the last call made progress (see
    /// [`Decoder::take_progress`](super::Decoder::take_progress)).
    fn take_progress(&mut self) -> bool;

    /// The body ended: an error unless the end marker was seen.
    fn on_end(&mut self) -> Result<()>;
}

/// Body bytes → NDJSON lines → items, for any [`LineHandler`]. Decodes a whole piece at a time
/// (NDJSON answers come a line per piece: there is nothing to gain from decoding lazily).
#[derive(Debug)]
pub(crate) struct Lines<H: LineHandler> {
    lines: NdjsonDecoder,
    pub(crate) handler: H,
    queue: VecDeque<Result<H::Item>>,
    failed: bool,
}

impl<H: LineHandler> Lines<H> {
    pub(crate) fn new(max_line: usize, handler: H) -> Self {
        Lines {
            lines: NdjsonDecoder::with_max_line(max_line),
            handler,
            queue: VecDeque::new(),
            failed: false,
        }
    }

    fn fail(&mut self, e: Error) {
        self.failed = true;
        self.queue.push_back(Err(e));
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        if self.failed || self.handler.is_done() {
            return;
        }
        let Lines {
            lines,
            handler,
            queue,
            ..
        } = self;
        // Splitting stops at the end marker: whatever follows it in the same piece, even
        // bytes that are not UTF-8, must not fail an answer that is already complete (as it
        // would not if it came in a later piece).
        let result = lines.decode(bytes, |line| {
            handler.on_line(line, queue).map_err(Stop::Failed)?;
            match handler.is_done() {
                true => Err(Stop::Done),
                false => Ok(()),
            }
        });
        if let Err(Stop::Failed(e)) = result {
            self.fail(e);
        }
    }

    pub(crate) fn next_item(&mut self) -> Option<Result<H::Item>> {
        self.queue.pop_front()
    }

    pub(crate) fn end(&mut self) {
        if self.failed {
            return;
        }
        let Lines {
            lines,
            handler,
            queue,
            ..
        } = self;
        let result = if handler.is_done() {
            Ok(())
        } else {
            lines.finish(|line| handler.on_line(line, queue))
        };
        if let Err(e) = result.and_then(|()| handler.on_end()) {
            self.fail(e);
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.handler.is_done()
    }

    pub(crate) fn take_progress(&mut self) -> bool {
        self.handler.take_progress()
    }
}

impl<H: LineHandler> super::Decoder for Lines<H> {
    type Item = H::Item;

    fn feed(&mut self, bytes: Bytes) {
        Lines::feed(self, &bytes);
    }

    fn next_item(&mut self) -> Option<Result<H::Item>> {
        Lines::next_item(self)
    }

    fn end(&mut self) {
        Lines::end(self);
    }

    fn is_done(&self) -> bool {
        Lines::is_done(self)
    }

    fn take_progress(&mut self) -> bool {
        Lines::take_progress(self)
    }

    fn decode_document(&mut self, _status: u16, body: &[u8]) -> Result<()> {
        Lines::feed(self, body);
        Lines::end(self);
        Ok(())
    }
}
