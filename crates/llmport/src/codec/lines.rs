//! NDJSON streams as [`Decoder`](super::Decoder)s: [`Lines`] splits the body into lines and
//! hands each to a [`LineHandler`], which knows what one line of its endpoint means.

use std::collections::VecDeque;

use bytes::Bytes;

use super::NdjsonDecoder;
use crate::error::{Error, Result};

/// Turns the lines of one NDJSON answer into items.
pub(crate) trait LineHandler {
    /// What the stream yields.
    type Item;

    /// Handles one line; an error ends the stream. Items go to the back of `out` (which is
    /// empty when a stream calls this); an item may be built in place there
    /// (`out.back_mut()`) rather than moved in. When it returns an error, the handler must
    /// have removed what it pushed for this line.
    fn on_line(&mut self, line: &str, out: &mut VecDeque<Result<Self::Item>>) -> Result<()>;

    /// Whether the end marker was seen (the rest of the body is then ignored).
    fn is_done(&self) -> bool;

    /// Whether the lines since the last call made progress (see
    /// [`Decoder::take_progress`](super::Decoder::take_progress)).
    fn take_progress(&mut self) -> bool;

    /// The body ended: an error unless the end marker was seen.
    fn on_end(&mut self) -> Result<()>;
}

/// Body bytes → NDJSON lines → items, for any [`LineHandler`].
///
/// Decodes one line per item asked for, not a whole piece when it is fed: the piece is kept
/// (a `Bytes`, reference-counted: nothing is copied) and consumed by offset, one `memchr` per
/// line; only an unfinished last line is copied, to be completed by the next piece. A 64 KiB
/// piece holds ~500 chat lines: decoding it at once queued ~500 `GenResponse`s (3 heap
/// blocks each) before the caller freed any, which defeats the allocator's per-thread cache
/// (glibc's tcache holds 7 blocks per size) and moves every response twice more (into the
/// queue, out of it). With the chat line parsed in place (`ollama::wire::parse_chat_line`):
/// 4,805 → 4,230 instructions per line on 64 KiB pieces, 4,638 → 4,313 with a line per piece
/// (callgrind, `cargo bench --bench stream`, `native_chat_to_response`); the harness's native
/// 64 KiB stream 1.71× → 1.41× the floor's CPU (`bench/README.md`, "Native API").
#[derive(Debug)]
pub(crate) struct Lines<H: LineHandler> {
    /// The body piece being decoded, and how far.
    piece: Bytes,
    pos: usize,
    lines: NdjsonDecoder,
    pub(crate) handler: H,
    /// The items of the line decoded last (at most one for the chat), or the error.
    queue: VecDeque<Result<H::Item>>,
    /// The body ended ([`Lines::end`]): once the piece is used up, the last line and the
    /// verdict come out.
    ended: bool,
    /// Nothing more comes out: an error was queued, or the end was handled.
    closed: bool,
}

impl<H: LineHandler> Lines<H> {
    pub(crate) fn new(max_line: usize, handler: H) -> Self {
        Lines {
            piece: Bytes::new(),
            pos: 0,
            lines: NdjsonDecoder::with_max_line(max_line),
            handler,
            queue: VecDeque::new(),
            ended: false,
            closed: false,
        }
    }

    /// Takes the next piece of the body; call once [`Lines::next_item`] returned `None`.
    pub(crate) fn feed(&mut self, bytes: Bytes) {
        if self.closed || self.ended || self.handler.is_done() {
            return;
        }
        self.piece = bytes;
        self.pos = 0;
    }

    /// The next item, decoding the next line of the piece if nothing is queued.
    pub(crate) fn next_item(&mut self) -> Option<Result<H::Item>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.closed {
                return None;
            }
            if self.handler.is_done() {
                // Whatever follows the end marker is ignored, in this piece and later ones:
                // bytes there, even ones that are not UTF-8, must not fail an answer that is
                // already complete.
                self.pos = self.piece.len();
            }
            let Lines {
                piece,
                pos,
                lines,
                handler,
                queue,
                ..
            } = self;
            let result = match piece.get(*pos..).filter(|rest| !rest.is_empty()) {
                Some(rest) => {
                    let used = lines.decode_line(rest, |line| handler.on_line(line, queue));
                    used.map(|used| *pos += used)
                }
                None if self.ended => {
                    self.closed = true;
                    let last = match self.handler.is_done() {
                        true => Ok(()),
                        false => {
                            let Lines {
                                lines,
                                handler,
                                queue,
                                ..
                            } = self;
                            lines.finish(|line| handler.on_line(line, queue))
                        }
                    };
                    last.and_then(|()| self.handler.on_end())
                }
                None => return None,
            };
            if let Err(e) = result {
                self.fail(e);
            }
        }
    }

    fn fail(&mut self, e: Error) {
        self.closed = true;
        self.piece = Bytes::new();
        self.pos = 0;
        self.queue.push_back(Err(e));
    }

    /// The body ended: what is left of the piece, an unfinished last line and the verdict
    /// come out of [`Lines::next_item`].
    pub(crate) fn end(&mut self) {
        self.ended = true;
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
        Lines::feed(self, bytes);
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
        Lines::feed(self, Bytes::copy_from_slice(body));
        Lines::end(self);
        Ok(())
    }
}
