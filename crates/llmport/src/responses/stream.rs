//! A streamed Responses answer: typed SSE events (`response.created`,
//! `response.output_item.added`/`.done`, `response.output_text.delta`,
//! `response.function_call_arguments.delta`/`.done`, `response.reasoning_*`,
//! `response.completed`/`.incomplete`/`.failed`, `error`) → [`GenResponse`] deltas, tool calls
//! assembled from their argument fragments. [`StreamDecoder`] is the whole step, I/O-free.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::error::{failed_response, parse_error_body};
use super::response::{decode_response, finish_reason, item_parts, reasoning_signature, tool_call};
use super::wire::{OutputItem, ResponseObject, WireError, WireEvent, WireUsage};
use crate::codec::events::{EventHandler, EventStream};
use crate::codec::{Decoder, StreamLimits};
use crate::error::{Error, Result};
use crate::message::Part;
use crate::response::{Candidate, GenResponse, ResponseMeta};
use crate::transport::{Timer, excerpt};

/// A `function_call` item being received.
#[derive(Debug)]
struct OpenCall {
    item_id: Option<String>,
    output_index: Option<u32>,
    call_id: String,
    name: String,
    /// The argument fragments so far (or the whole text of `.done`).
    arguments: String,
}

/// The state of one stream.
#[derive(Debug)]
struct State {
    timer: Timer,
    max_tool_arguments: usize,
    /// The `max_output_tokens` asked for (see `response::finish_reason`).
    max_output_tokens: Option<u32>,
    first_token: Option<Duration>,
    id: Option<String>,
    model: Option<String>,
    calls: Vec<OpenCall>,
    tool_calls: bool,
    /// Text or reasoning arrived as deltas (so the `.done` items do not repeat it).
    streamed_text: bool,
    streamed_reasoning: bool,
    /// The reasoning summary part being streamed (parts are joined by a blank line).
    summary_index: Option<u32>,
    started: bool,
    done: bool,
    progress: bool,
}

impl State {
    fn new(timer: Timer, limits: StreamLimits, max_output_tokens: Option<u32>) -> Self {
        State {
            timer,
            max_tool_arguments: limits.max_tool_arguments,
            max_output_tokens,
            first_token: None,
            id: None,
            model: None,
            calls: Vec::new(),
            tool_calls: false,
            streamed_text: false,
            streamed_reasoning: false,
            summary_index: None,
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
        self.tool_calls |= matches!(part, Part::ToolCall(_));
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

    /// The open call a fragment belongs to: by item id, else by output index, else the
    /// last one opened.
    fn call(&mut self, item_id: Option<&str>, output_index: Option<u32>) -> Result<&mut OpenCall> {
        let pos = self
            .calls
            .iter()
            .position(|c| item_id.is_some() && c.item_id.as_deref() == item_id)
            .or_else(|| {
                self.calls
                    .iter()
                    .position(|c| output_index.is_some() && c.output_index == output_index)
            })
            .or_else(|| {
                (item_id.is_none() && output_index.is_none())
                    .then_some(self.calls.len().checked_sub(1))
                    .flatten()
            });
        match pos.and_then(|p| self.calls.get_mut(p)) {
            Some(c) => Ok(c),
            None => Err(Error::stream(format!(
                "the server sent arguments for the output item {}, which is not an open \
                 function call",
                item_id.map_or_else(
                    || output_index.map_or_else(|| "?".to_owned(), |i| i.to_string()),
                    str::to_owned
                )
            ))),
        }
    }

    fn item_done(
        &mut self,
        item: OutputItem,
        output_index: Option<u32>,
        out: &mut VecDeque<Result<GenResponse>>,
    ) {
        match item {
            OutputItem::FunctionCall {
                id,
                call_id,
                name,
                arguments,
            } => {
                let open = self
                    .calls
                    .iter()
                    .position(|c| id.is_some() && c.item_id == id)
                    .or_else(|| {
                        self.calls
                            .iter()
                            .position(|c| output_index.is_some() && c.output_index == output_index)
                    })
                    .map(|p| self.calls.swap_remove(p));
                // The item's own arguments are the whole text; the fragments are the
                // fallback for servers that leave them out of `.done`.
                let (call_id, name, args) = match open {
                    Some(o) if arguments.is_empty() => (
                        if call_id.is_empty() {
                            o.call_id
                        } else {
                            call_id
                        },
                        if name.is_empty() { o.name } else { name },
                        o.arguments,
                    ),
                    _ => (call_id, name, arguments),
                };
                self.part(Part::ToolCall(tool_call(call_id, name, &args)), out);
            }
            OutputItem::Reasoning {
                id,
                summary,
                content,
                encrypted_content,
            } => {
                let from_summary = content.is_empty() && !summary.is_empty();
                if !self.streamed_reasoning {
                    // Nothing came as deltas: the whole item is the news.
                    for p in item_parts(OutputItem::Reasoning {
                        id,
                        summary,
                        content,
                        encrypted_content,
                    }) {
                        self.part(p, out);
                    }
                } else if let Some(signature) = reasoning_signature(
                    id,
                    encrypted_content,
                    from_summary || self.summary_index.is_some(),
                ) {
                    self.part(
                        Part::Reasoning {
                            text: String::new(),
                            signature: Some(signature),
                        },
                        out,
                    );
                }
                self.streamed_reasoning = false;
                self.summary_index = None;
            }
            message @ OutputItem::Message { .. } => {
                if !self.streamed_text {
                    for p in item_parts(message) {
                        self.part(p, out);
                    }
                }
            }
            OutputItem::Other => {}
        }
    }

    /// `response.completed` / `response.incomplete`: the last chunk, with the finish
    /// reason, usage and timings.
    fn finish(&mut self, response: ResponseObject, out: &mut VecDeque<Result<GenResponse>>) {
        // Calls the server never closed with `output_item.done` are handed out as they are.
        for call in std::mem::take(&mut self.calls) {
            self.part(
                Part::ToolCall(tool_call(call.call_id, call.name, &call.arguments)),
                out,
            );
        }
        self.done = true;
        self.progress = true;
        if response.id.is_some() {
            self.id = response.id;
        }
        if response.model.is_some() {
            self.model = response.model;
        }
        let usage: Option<WireUsage> = response.usage;
        let mut c = Candidate::new(0);
        c.finish_reason = Some(finish_reason(
            response.status.as_deref(),
            response
                .incomplete_details
                .and_then(|d| d.reason)
                .as_deref(),
            self.tool_calls,
            usage,
            self.max_output_tokens,
        ));
        let total = self.timer.elapsed();
        out.push_back(Ok(GenResponse {
            candidates: c.into(),
            meta: ResponseMeta {
                id: self.id.clone(),
                model: self.model.clone(),
                usage: usage.map(Into::into),
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
    const API: &'static str = "Responses API";

    fn on_event(
        &mut self,
        name: &str,
        wire: WireEvent<'_>,
        out: &mut VecDeque<Result<GenResponse>>,
    ) -> Result<()> {
        // The SSE `event:` line names the type too; the data's `type` is the one every
        // server sends (llama.cpp's server sends its failures with neither).
        let kind: &str = if wire.kind.is_empty() {
            name
        } else {
            &wire.kind
        };
        match kind {
            "response.output_text.delta" | "response.refusal.delta" => {
                if let Some(t) = wire.delta.filter(|t| !t.is_empty()) {
                    self.streamed_text = true;
                    self.part(Part::text(t), out);
                }
            }
            "response.reasoning_text.delta" | "response.reasoning_summary_text.delta" => {
                if let Some(t) = wire.delta.filter(|t| !t.is_empty()) {
                    self.streamed_reasoning = true;
                    let index = wire.summary_index;
                    let next_part = index.is_some()
                        && self.summary_index.is_some()
                        && index != self.summary_index;
                    if index.is_some() {
                        self.summary_index = index;
                    }
                    let text = if next_part {
                        format!("\n\n{t}")
                    } else {
                        t.into_owned()
                    };
                    self.part(
                        Part::Reasoning {
                            text,
                            signature: None,
                        },
                        out,
                    );
                }
            }
            "response.function_call_arguments.delta" => {
                let fragment = wire.delta.unwrap_or_default();
                let limit = self.max_tool_arguments;
                let call = self.call(wire.item_id.as_deref(), wire.output_index)?;
                if call.arguments.len().saturating_add(fragment.len()) > limit {
                    return Err(Error::LimitExceeded {
                        what: "streamed tool-call arguments",
                        limit,
                    });
                }
                call.arguments.push_str(&fragment);
                if !fragment.is_empty() {
                    self.mark_first_token();
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(args) = wire.arguments {
                    let limit = self.max_tool_arguments;
                    if args.len() > limit {
                        return Err(Error::LimitExceeded {
                            what: "streamed tool-call arguments",
                            limit,
                        });
                    }
                    let call = self.call(wire.item_id.as_deref(), wire.output_index)?;
                    call.arguments.clear();
                    call.arguments.push_str(&args);
                }
            }
            "response.output_item.added" => {
                if let Some(OutputItem::FunctionCall {
                    id, call_id, name, ..
                }) = wire.item
                {
                    if !name.is_empty() {
                        self.mark_first_token();
                    }
                    self.calls.push(OpenCall {
                        item_id: id,
                        output_index: wire.output_index,
                        call_id,
                        name,
                        arguments: String::new(),
                    });
                }
            }
            "response.output_item.done" => {
                if let Some(item) = wire.item {
                    self.item_done(item, wire.output_index, out);
                }
            }
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(r) = wire.response {
                    self.id = r.id.or(self.id.take());
                    self.model = r.model.or(self.model.take());
                }
            }
            "response.completed" | "response.incomplete" => {
                self.finish(wire.response.unwrap_or_default(), out);
            }
            "response.failed" => {
                let error = wire.response.and_then(|r| r.error);
                return Err(failed_response(200, error, true));
            }
            "error" | "" => {
                // OpenAI's `error` event has `code`/`message` at the top level; others nest
                // them in `error`. A typeless event that carries neither is not an error.
                let error = match wire.error {
                    Some(e) => Some(e),
                    None if wire.message.is_some() || wire.code.is_some() => Some(WireError {
                        kind: None,
                        code: wire.code,
                        message: wire.message,
                        param: None,
                    }),
                    None if kind == "error" => None,
                    None => return Ok(()),
                };
                return Err(failed_response(200, error, true));
            }
            // Unknown events (content_part.*, output_text.done, annotations, server tools, …)
            // carry nothing this client reads, or repeat what the deltas said.
            _ => {}
        }
        Ok(())
    }

    fn on_end(&self, sse_pending: bool) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let mut msg = String::from(
            "the stream ended before the server finished the answer (no `response.completed` \
             event)",
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

/// A streamed Responses API answer, decoded: body bytes → SSE events → [`GenResponse`]
/// deltas (text, reasoning, whole tool calls), the answer's end (`response.completed` or
/// `response.incomplete`) checked: a body that ends without it is an [`Error::Stream`], and
/// a `response.failed` or `error` event is one too (its source the server's
/// [`ApiError`](crate::ApiError)). It does no I/O, so tests, fuzz targets and benchmarks
/// drive exactly what a real call runs.
///
/// ```
/// use bytes::Bytes;
/// use llmport::codec::decode_pieces;
/// use llmport::responses::StreamDecoder;
///
/// let body = "event: response.output_text.delta\n\
///             data: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n\
///             event: response.completed\n\
///             data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[]}}\n\n";
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
        Self::starting(Timer::start(), limits, None)
    }

    pub(crate) fn starting(
        timer: Timer,
        limits: StreamLimits,
        max_output_tokens: Option<u32>,
    ) -> Self {
        StreamDecoder {
            events: EventStream::new(
                limits.max_line,
                State::new(timer, limits, max_output_tokens),
            ),
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
        if value.get("error").is_some_and(|e| !e.is_null()) {
            let api = parse_error_body(status, "application/json", body);
            return Err(Error::Api(Box::new(api)));
        }
        if value.get("object").and_then(|o| o.as_str()) == Some("response") {
            let mut r = decode_response(
                body,
                self.events.handler().timer,
                self.events.handler().max_output_tokens,
            )?;
            r.meta.time_to_first_token = r.meta.total_time;
            self.events.whole(r);
            return Ok(());
        }
        Err(Error::decode(format!(
            "expected an event stream, got a JSON document that is neither a response nor an \
             error: {}",
            excerpt(body)
        )))
    }
}
