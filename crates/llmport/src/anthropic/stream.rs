//! A streamed Messages answer: SSE events (`message_start`, `content_block_*`,
//! `message_delta`, `message_stop`, `ping`, `error`) → [`GenResponse`] deltas, tool input
//! assembled from its `input_json_delta` fragments. [`StreamDecoder`] is the whole step,
//! I/O-free.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::error::is_retryable;
use super::response::{block_part, decode_message, finish_reason};
use super::wire::{ErrorEnvelope, ResponseBlock, WireEvent, WireUsage};
use crate::codec::events::{EventHandler, EventStream};
use crate::codec::{Decoder, StreamLimits};
use crate::error::{ApiError, Error, Result};
use crate::message::{Part, ToolCall};
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta};
use crate::transport::{Timer, excerpt};

/// A content block being received.
#[derive(Debug)]
enum OpenBlock {
    /// Text and thinking go out delta by delta; nothing to keep.
    Streamed,
    /// A tool call: handed out whole at `content_block_stop`.
    ToolUse {
        id: String,
        name: String,
        /// The `input_json_delta` fragments so far.
        json: String,
        /// The `input` of `content_block_start`, used when no fragment comes.
        start: serde_json::Value,
    },
}

/// The state of one stream.
#[derive(Debug)]
struct State {
    timer: Timer,
    max_tool_arguments: usize,
    first_token: Option<Duration>,
    id: Option<String>,
    model: Option<String>,
    usage: Option<WireUsage>,
    stop_reason: Option<FinishReason>,
    /// Blocks started and not stopped, by index (rarely more than one).
    open: Vec<(u32, OpenBlock)>,
    started: bool,
    done: bool,
    progress: bool,
}

impl State {
    fn new(timer: Timer, limits: StreamLimits) -> Self {
        State {
            timer,
            max_tool_arguments: limits.max_tool_arguments,
            first_token: None,
            id: None,
            model: None,
            usage: None,
            stop_reason: None,
            open: Vec::new(),
            started: false,
            done: false,
            progress: false,
        }
    }

    fn mark_first_token(&mut self) {
        self.progress = true;
        if self.first_token.is_none() {
            self.first_token = Some(self.timer.elapsed());
        }
    }

    /// A chunk holding one part.
    fn part(&mut self, part: Part, out: &mut VecDeque<Result<GenResponse>>) {
        self.mark_first_token();
        let mut c = Candidate::new(0);
        c.message.parts.push(part);
        let mut r = GenResponse {
            candidates: c.into(),
            meta: Default::default(),
        };
        if !std::mem::replace(&mut self.started, true) {
            r.meta.id = self.id.clone();
            r.meta.model = self.model.clone();
        }
        out.push_back(Ok(r));
    }

    fn block_start(
        &mut self,
        index: u32,
        block: Option<ResponseBlock>,
        out: &mut VecDeque<Result<GenResponse>>,
    ) {
        let open = match block {
            Some(ResponseBlock::ToolUse { id, name, input }) => {
                self.mark_first_token();
                OpenBlock::ToolUse {
                    id,
                    name,
                    json: String::new(),
                    start: input,
                }
            }
            // Text, thinking and redacted thinking: as in a whole answer.
            Some(other) => {
                if let Some(part) = block_part(other) {
                    self.part(part, out);
                }
                OpenBlock::Streamed
            }
            None => OpenBlock::Streamed,
        };
        self.open.retain(|(i, _)| *i != index);
        self.open.push((index, open));
    }

    fn tool_fragment(&mut self, index: u32, fragment: &str) -> Result<()> {
        let limit = self.max_tool_arguments;
        let Some((_, OpenBlock::ToolUse { json, .. })) =
            self.open.iter_mut().find(|(i, _)| *i == index)
        else {
            return Err(Error::stream(format!(
                "the server sent tool input for content block {index}, which is not an open \
                 tool_use block"
            )));
        };
        if json.len().saturating_add(fragment.len()) > limit {
            return Err(Error::LimitExceeded {
                what: "streamed tool-call arguments",
                limit,
            });
        }
        json.push_str(fragment);
        if !fragment.is_empty() {
            self.mark_first_token();
        }
        Ok(())
    }

    fn block_stop(&mut self, index: u32, out: &mut VecDeque<Result<GenResponse>>) {
        let Some(pos) = self.open.iter().position(|(i, _)| *i == index) else {
            return;
        };
        let (_, block) = self.open.swap_remove(pos);
        if let OpenBlock::ToolUse {
            id,
            name,
            json,
            start,
        } = block
        {
            let call = if json.trim().is_empty() {
                let input = if start.is_null() {
                    serde_json::Value::Object(Default::default())
                } else {
                    start
                };
                ToolCall::new(id, name, input)
            } else {
                ToolCall::from_raw(id, name, &json)
            };
            self.part(Part::ToolCall(call), out);
        }
    }

    /// `message_stop`: the last chunk, with the finish reason, usage and timings.
    fn finish(&mut self, out: &mut VecDeque<Result<GenResponse>>) {
        self.done = true;
        self.progress = true;
        let mut c = Candidate::new(0);
        c.finish_reason = self.stop_reason.take();
        let total = self.timer.elapsed();
        out.push_back(Ok(GenResponse {
            candidates: c.into(),
            meta: ResponseMeta {
                id: self.id.clone(),
                model: self.model.clone(),
                usage: self.usage.map(Into::into),
                time_to_first_token: Some(self.first_token.unwrap_or(total)),
                total_time: Some(total),
                server_timings: None,
            }
            .into(),
        }));
    }
}

impl EventHandler for State {
    type Item = GenResponse;
    type Event<'a> = WireEvent<'a>;
    const API: &'static str = "Messages API";

    fn on_event(
        &mut self,
        _name: &str,
        wire: WireEvent<'_>,
        out: &mut VecDeque<Result<GenResponse>>,
    ) -> Result<()> {
        match &*wire.kind {
            "message_start" => {
                if let Some(m) = wire.message {
                    self.id = m.id;
                    self.model = m.model;
                    self.usage = m.usage;
                }
            }
            "content_block_start" => self.block_start(wire.index, wire.content_block, out),
            "content_block_delta" => {
                if let Some(delta) = wire.delta {
                    match delta.kind.as_deref() {
                        Some("text_delta") => {
                            if let Some(t) = delta.text.filter(|t| !t.is_empty()) {
                                self.part(Part::text(t), out);
                            }
                        }
                        Some("thinking_delta") => {
                            if let Some(t) = delta.thinking.filter(|t| !t.is_empty()) {
                                self.part(
                                    Part::Reasoning {
                                        text: t.into_owned(),
                                        signature: None,
                                    },
                                    out,
                                );
                            }
                        }
                        Some("signature_delta") => {
                            if let Some(s) = delta.signature.filter(|s| !s.is_empty()) {
                                // It closes the block's reasoning part (`Candidate::absorb`).
                                self.part(
                                    Part::Reasoning {
                                        text: String::new(),
                                        signature: Some(s.into_owned()),
                                    },
                                    out,
                                );
                            }
                        }
                        Some("input_json_delta") => {
                            let fragment = delta.partial_json.unwrap_or_default();
                            self.tool_fragment(wire.index, &fragment)?;
                        }
                        _ => {}
                    }
                }
            }
            "content_block_stop" => self.block_stop(wire.index, out),
            "message_delta" => {
                self.progress = true;
                if let Some(reason) = wire.delta.and_then(|d| d.stop_reason) {
                    self.stop_reason = Some(finish_reason(&reason));
                }
                if let Some(u) = wire.usage {
                    self.usage = Some(self.usage.unwrap_or_default().merge(u));
                }
            }
            "message_stop" => self.finish(out),
            "error" => {
                let err = wire.error.unwrap_or_default();
                return Err(midstream_error(err.kind, err.message));
            }
            // `ping` keeps the connection alive and is no progress; unknown events are
            // skipped, as the API's versioning policy asks.
            _ => {}
        }
        Ok(())
    }

    fn on_end(&self, sse_pending: bool) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let mut msg = String::from(
            "the stream ended before the server finished the answer (no `message_stop` event)",
        );
        if sse_pending {
            msg.push_str("; the last event was cut off");
        }
        Err(Error::stream(msg))
    }

    fn done(&self) -> bool {
        self.done
    }

    fn finish(&mut self, progress: bool) {
        self.done = true;
        self.progress |= progress;
    }

    fn take_progress(&mut self) -> bool {
        std::mem::take(&mut self.progress)
    }
}

/// An `error` event: a [`Error::Stream`] whose source is the server's error as an
/// [`ApiError`] (its `kind`, e.g. `overloaded_error`, and whether a new attempt may help in
/// [`ApiError::retryable`]; its status is the stream's, 200).
fn midstream_error(kind: Option<String>, message: Option<String>) -> Error {
    let message = message.unwrap_or_default();
    let mut api = ApiError::new(200, message.clone());
    api.retryable = is_retryable(0, kind.as_deref());
    let kind_text = kind.as_deref().unwrap_or("error").to_owned();
    api.kind = kind;
    Error::Stream {
        message: format!("the server reported an error mid-stream ({kind_text}): {message}"),
        source: Some(Box::new(api)),
    }
}

/// A streamed Messages API answer, decoded: body bytes → SSE events → [`GenResponse`]
/// deltas (text, reasoning with its signature, whole tool calls), the answer's end
/// (`message_stop`) checked: a body that ends without it is an [`Error::Stream`], and an
/// `error` event is one too. It does no I/O, so tests, fuzz targets and benchmarks drive
/// exactly what a real call runs.
///
/// ```
/// use bytes::Bytes;
/// use llmport::codec::decode_pieces;
/// use llmport::anthropic::StreamDecoder;
///
/// let body = "event: content_block_delta\n\
///             data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n\
///             event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
/// let items = decode_pieces(StreamDecoder::default(), [Bytes::from(body)]);
/// assert_eq!(items[0].as_ref().unwrap().text(), "Hi");
/// assert!(items.iter().all(Result::is_ok));
/// ```
#[derive(Debug)]
pub struct StreamDecoder {
    events: EventStream<State>,
}

impl Default for StreamDecoder {
    /// A decoder with the default [`StreamLimits`].
    fn default() -> Self {
        Self::new(StreamLimits::default())
    }
}

impl StreamDecoder {
    /// A decoder with these limits; its clock (time to first token, total time) starts now.
    pub fn new(limits: StreamLimits) -> Self {
        Self::starting(Timer::start(), limits)
    }

    pub(crate) fn starting(timer: Timer, limits: StreamLimits) -> Self {
        StreamDecoder {
            events: EventStream::new(limits.max_line, State::new(timer, limits)),
        }
    }
}

impl Decoder for StreamDecoder {
    type Item = GenResponse;

    fn feed(&mut self, bytes: Bytes) {
        self.events.feed(&bytes);
    }

    fn next_item(&mut self) -> Option<Result<GenResponse>> {
        self.events.next_item()
    }

    fn end(&mut self) {
        self.events.end();
    }

    fn is_done(&self) -> bool {
        self.events.is_done()
    }

    fn take_progress(&mut self) -> bool {
        self.events.take_progress()
    }

    fn decode_document(&mut self, status: u16, body: &[u8]) -> Result<()> {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
            Error::decode(format!(
                "expected an event stream, got a body that is not JSON either: {}",
                excerpt(body)
            ))
        })?;
        match value.get("type").and_then(|t| t.as_str()) {
            Some("error") => {
                let env: ErrorEnvelope =
                    serde_json::from_value(value).map_err(|e| Error::Decode {
                        message: format!("an error object without `error`: {}", excerpt(body)),
                        source: Some(Box::new(e)),
                    })?;
                let mut api = ApiError::new(status, env.error.message.unwrap_or_default());
                api.retryable = is_retryable(0, env.error.kind.as_deref());
                api.kind = env.error.kind;
                Err(Error::Api(Box::new(api)))
            }
            Some("message") => {
                let mut r = decode_message(body, self.events.handler().timer)?;
                r.meta.time_to_first_token = r.meta.total_time;
                self.events.whole(r);
                Ok(())
            }
            _ => Err(Error::decode(format!(
                "expected an event stream, got a JSON document that is neither a message nor \
                 an error: {}",
                excerpt(body)
            ))),
        }
    }
}
