//! Streams of typed SSE events (Anthropic's Messages API, OpenAI's Responses API): the SSE
//! framing, the queue of decoded items and the end-of-stream rules every such decoder shares,
//! around a per-API [`EventHandler`] that turns events into items. The per-API decoders keep
//! only what differs: what an event means, and what a whole JSON document sent to a stream
//! request is.

use std::collections::VecDeque;

use serde::Deserialize;

use super::SseDecoder;
use crate::error::{Error, Result, excerpt};

/// What one API does with its events.
pub(crate) trait EventHandler {
    /// What the stream yields.
    type Item;

    /// One event's JSON data, parsed borrowing from the event.
    type Event<'a>: Deserialize<'a>;

    /// The API's name, for the error when an event's data is not one of its events (e.g.
    /// "Messages API").
    const API: &'static str;

    /// Handles one event (`name`: its SSE `event:` line, `""` without one), pushing what it
    /// completes onto `out`. Not called once [`EventHandler::done`].
    fn on_event(
        &mut self,
        name: &str,
        event: Self::Event<'_>,
        out: &mut VecDeque<Result<Self::Item>>,
    ) -> Result<()>;

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
    /// Events handed to the handler so far, to number the one that does not parse.
    events: u64,
}

impl<H: EventHandler> EventStream<H> {
    /// A stream whose SSE lines may be at most `max_line` bytes.
    pub(crate) fn new(max_line: usize, handler: H) -> Self {
        EventStream {
            sse: SseDecoder::with_max_line(max_line),
            handler,
            queue: VecDeque::new(),
            events: 0,
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
            events,
        } = self;
        // Once the answer's end arrived, the rest of the frame is nobody's answer: bytes
        // after it (even bytes that are not SSE) are ignored, as they are when they come in a
        // later frame, which the stream adapter never reads.
        let decoded = sse.decode(bytes, |ev| {
            if handler.done() {
                return Ok(());
            }
            *events += 1;
            let event = serde_json::from_str(ev.data).map_err(|e| Error::Decode {
                message: format!(
                    "stream event {events} is not a {} event: {}",
                    H::API,
                    excerpt(ev.data.as_bytes())
                ),
                source: Some(Box::new(e)),
            })?;
            handler.on_event(ev.event, event, queue)
        });
        if let Err(e) = decoded
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct TestEvent<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }

    /// Keeps `name/type` of each event; `stop` ends the stream.
    #[derive(Default)]
    struct Test {
        done: bool,
    }

    impl EventHandler for Test {
        type Item = String;
        type Event<'a> = TestEvent<'a>;
        const API: &'static str = "Test API";

        fn on_event(
            &mut self,
            name: &str,
            event: TestEvent<'_>,
            out: &mut VecDeque<Result<String>>,
        ) -> Result<()> {
            self.done = event.kind == "stop";
            out.push_back(Ok(format!("{name}/{}", event.kind)));
            Ok(())
        }
        fn on_end(&self, _: bool) -> Result<()> {
            Ok(())
        }
        fn done(&self) -> bool {
            self.done
        }
        fn finish(&mut self, _: bool) {
            self.done = true;
        }
        fn take_progress(&mut self) -> bool {
            false
        }
    }

    fn drain(s: &mut EventStream<Test>) -> Vec<Result<String>> {
        std::iter::from_fn(|| s.next_item()).collect()
    }

    #[test]
    fn events_are_parsed_once_here_and_a_bad_one_is_numbered_and_named() {
        let mut s = EventStream::new(1024, Test::default());
        s.feed(b"event: e\ndata: {\"type\":\"a\"}\n\ndata: {\"type\":\"b\"}\n\ndata: not json\n\n");
        let items = drain(&mut s);
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0].as_deref().ok(), Some("e/a"));
        assert_eq!(items[1].as_deref().ok(), Some("/b"));
        let e = items[2].as_ref().unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("stream event 3 is not a Test API event: not json"),
            "{e}"
        );
    }

    #[test]
    fn after_the_end_marker_nothing_is_parsed() {
        let mut s = EventStream::new(1024, Test::default());
        s.feed(b"data: {\"type\":\"stop\"}\n\ndata: not json\n\ndata: {\"type\":\"late\"}\n\n");
        let items = drain(&mut s);
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(s.is_done());
    }
}
