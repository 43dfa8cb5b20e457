//! Streams of typed SSE events (Anthropic's Messages API, OpenAI's Responses API): the SSE
//! framing, the queue of decoded items and the end-of-stream rules every such decoder shares,
//! around a per-API [`EventHandler`] that turns events into items. The per-API decoders keep
//! only what differs: what an event means, and what a whole JSON document sent to a stream
//! request is.

use std::collections::VecDeque;

use super::{SseDecoder, SseEvent};
use crate::error::Result;

/// What one API does with its events.
pub(crate) trait EventHandler {
    /// What the stream yields.
    type Item;

    /// Decodes one event, pushing what it completes onto `out`.
    fn on_event(&mut self, ev: SseEvent<'_>, out: &mut VecDeque<Result<Self::Item>>) -> Result<()>;

    /// The body ended (`sse_pending`: an event was cut mid-way): an error unless the answer's
    /// end marker arrived.
    fn on_end(&self, sse_pending: bool) -> Result<()>;

    /// Whether the answer's end marker arrived (or the stream is over for another reason).
    fn done(&self) -> bool;

    /// Marks the stream as over (after an error, or a whole answer), and as progress when
    /// `progress`.
    fn finish(&mut self, progress: bool);

    /// Whether anything since the last call was progress (a token, a tool call, the end).
    fn take_progress(&mut self) -> bool;
}

/// An SSE body decoded by an [`EventHandler`], one frame at a time (Messages and Responses
/// streams decode at about the Chat Completions decoder's cost per delta without its
/// per-event slicing: bench/README.md, "every stream decoder side by side").
#[derive(Debug)]
pub(crate) struct EventStream<H: EventHandler> {
    sse: SseDecoder,
    handler: H,
    queue: VecDeque<Result<H::Item>>,
}

impl<H: EventHandler> EventStream<H> {
    /// A stream whose SSE lines may be at most `max_line` bytes.
    pub(crate) fn new(max_line: usize, handler: H) -> Self {
        EventStream {
            sse: SseDecoder::with_max_line(max_line),
            handler,
            queue: VecDeque::new(),
        }
    }

    /// The handler, for what only its API knows (e.g. decoding a whole JSON document).
    pub(crate) fn handler(&self) -> &H {
        &self.handler
    }

    /// Decodes one piece of the body.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let EventStream {
            sse,
            handler,
            queue,
        } = self;
        // Once the answer's end arrived, the rest of the frame is nobody's answer: bytes
        // after it (even bytes that are not SSE) are ignored, as they are when they come in a
        // later frame, which the stream adapter never reads.
        if let Err(e) = sse.decode(bytes, |ev| handler.on_event(ev, queue))
            && !handler.done()
        {
            queue.push_back(Err(e));
        }
    }

    /// The next decoded item; an error is the stream's last.
    pub(crate) fn next_item(&mut self) -> Option<Result<H::Item>> {
        let item = self.queue.pop_front()?;
        if item.is_err() {
            self.queue.clear();
            self.handler.finish(false);
        }
        Some(item)
    }

    /// The body ended.
    pub(crate) fn end(&mut self) {
        let pending = self.sse.finish();
        if let Err(e) = self.handler.on_end(pending) {
            self.queue.push_back(Err(e));
        }
    }

    /// Whether the stream is over and every item was taken.
    pub(crate) fn is_done(&self) -> bool {
        self.handler.done() && self.queue.is_empty()
    }

    /// Whether anything since the last call was progress.
    pub(crate) fn take_progress(&mut self) -> bool {
        self.handler.take_progress()
    }

    /// A whole answer sent as one JSON document: the stream's one item, and its end.
    pub(crate) fn whole(&mut self, item: H::Item) {
        self.handler.finish(true);
        self.queue.push_back(Ok(item));
    }
}
