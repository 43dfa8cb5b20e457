//! Chat through Ollama's native `POST /api/chat`, which [`OllamaProvider`] uses when any
//! [`OllamaOptions`](super::OllamaOptions) is set (Ollama's `/v1` ignores them).
//!
//! Our [`Message`]s and [`Options`] become the native request here; the native NDJSON chunks
//! become the same [`GenResponse`] chunks as the `/v1` path gives: text and reasoning deltas as
//! they arrive, then one last chunk with the tool calls (in index order), the finish reason,
//! and usage and timings in its [`ResponseMeta`].

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use tracing::Instrument;

use super::OllamaProvider;
use super::native::{decode_whole_answer, lines_decoder, require_model};
use super::options::{OllamaOptions, Think, ThinkLevel};
use super::wire::{
    ChatChunkHead, ChatMessage, ChatOptions, ChatRequest, ChunkMessage, ChunkToolCall, MessageSink,
    Metrics, WireFunctionCall, WireToolCall, parse_chat_line, reported_error,
};
use crate::codec::DEFAULT_MAX_LINE;
use crate::codec::lines::{LineHandler, Lines};
use crate::error::{Error, Result};
use crate::json_body::encode_with_extra;
use crate::media::{base64_data_uri, is_text_mime, read_image_uri};
use crate::message::{Message, Part, Role, ToolCall, ToolResult};
use crate::options::{Options, ReasoningEffort, ResponseFormat, ToolChoice};
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta};
use crate::stream::ResponseStream;
use crate::telemetry::{chat_span, record_usage};
use crate::tool_schema::encode_tool;
use crate::transport::{Request, Timer, excerpt};

const PROVIDER: &str = "ollama";

impl OllamaProvider {
    /// A whole answer from `/api/chat` (`"stream": false`).
    pub(super) async fn native_generate(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<GenResponse> {
        let span = chat_span(PROVIDER, model, options, false);
        async {
            let body = chat_request_body(model, messages, options, false)?;
            let timer = Timer::start();
            let req = Request::post_json("api/chat", body, Some(model));
            let bytes = self.native.send_for_body(&req).await?;
            let response = decode_whole_answer(&bytes, ChatLines::new(timer), "chat")?;
            if response.thinking_used_up_tokens() {
                tracing::warn!(
                    model,
                    "the token limit ran out while the model was thinking: the answer is empty; \
                     raise max_tokens / num_predict or lower think"
                );
            }
            record_usage(&response);
            Ok(response)
        }
        .instrument(span)
        .await
    }

    /// A streamed answer from `/api/chat` (NDJSON).
    pub(super) async fn native_generate_stream(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<ResponseStream> {
        let span = chat_span(PROVIDER, model, options, true);
        async {
            let body = chat_request_body(model, messages, options, true)?;
            let timer = Timer::start();
            let req = Request::post_json("api/chat", body, Some(model));
            let body = self.native.send_for_stream(&req).await?;
            let decoder = ChatDecoder::starting(timer, self.openai.stream_limits().max_line);
            Ok(ResponseStream::new(
                crate::stream::open(body, decoder, true).await?,
            ))
        }
        .instrument(span)
        .await
    }
}

// ---------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------

/// Encodes a native chat request as JSON bytes.
pub(super) fn chat_request_body(
    model: &str,
    messages: &[Message],
    options: &Options,
    stream: bool,
) -> Result<Vec<u8>> {
    require_model(model)?;
    options.validate()?;
    let default = OllamaOptions::default();
    let o = options.extension::<OllamaOptions>().unwrap_or(&default);
    o.validate()?;
    check_options(options)?;
    let mut wire = Vec::with_capacity(messages.len() + 1);
    if let Some(system) = &options.system {
        wire.push(ChatMessage::text("system", Cow::Borrowed(system)));
    }
    // Tool results name their tool; when a result does not, the call it answers does.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for m in messages {
        encode_message(m, &call_names, &mut wire)?;
        for call in m.tool_calls() {
            call_names.insert(&call.id, &call.name);
        }
    }
    if wire.is_empty() {
        return Err(Error::config(
            "no messages to send: a chat needs at least one message",
        ));
    }
    let format = native_format(o, options);
    // `tool_choice: none` is honoured by not offering the tools.
    let tools = if options.tool_choice == Some(ToolChoice::None) {
        Vec::new()
    } else {
        options.tools.iter().map(encode_tool).collect()
    };
    let req = ChatRequest {
        model,
        messages: wire,
        stream: (!stream).then_some(false),
        format,
        keep_alive: o.keep_alive.as_ref(),
        tools,
        options: native_options(options, o),
        think: native_think(o, options),
        truncate: o.truncate,
        shift: o.shift,
        logprobs: options.logprobs,
        top_logprobs: options.top_logprobs.filter(|_| options.logprobs),
    };
    encode_with_extra(&req, &options.extra)
}

/// The native `options` object of a chat or generate request: the neutral [`Options`] and
/// the [`OllamaOptions`] that belong in it (each key only when set). The one place that
/// maps them, for every native endpoint that takes `options`.
pub(super) fn native_options<'a>(options: &'a Options, o: &OllamaOptions) -> ChatOptions<'a> {
    ChatOptions {
        num_ctx: o.num_ctx,
        num_predict: o.num_predict.or(options
            .max_tokens
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX))),
        temperature: options.temperature,
        top_p: options.top_p,
        top_k: o.top_k,
        min_p: o.min_p,
        seed: options.seed,
        repeat_penalty: o.repeat_penalty,
        frequency_penalty: options.frequency_penalty,
        presence_penalty: options.presence_penalty,
        stop: &options.stop,
        num_keep: o.num_keep,
        typical_p: o.typical_p,
        repeat_last_n: o.repeat_last_n,
        num_batch: o.num_batch,
        num_gpu: o.num_gpu,
        main_gpu: o.main_gpu,
        use_mmap: o.use_mmap,
        num_thread: o.num_thread,
        draft_num_predict: o.draft_num_predict,
    }
}

/// The native `format`: [`OllamaOptions::format`] as it is, else the core response format.
pub(super) fn native_format<'a>(
    o: &'a OllamaOptions,
    options: &'a Options,
) -> Option<Cow<'a, Value>> {
    match (&o.format, &options.response_format) {
        (Some(f), _) => Some(Cow::Borrowed(f)),
        (None, Some(ResponseFormat::Json)) => Some(Cow::Owned(Value::from("json"))),
        (None, Some(ResponseFormat::JsonSchema { schema, .. })) => Some(Cow::Borrowed(schema)),
        (None, None) => None,
    }
}

/// The native `think`: [`OllamaOptions::think`], else the core reasoning effort.
pub(super) fn native_think(o: &OllamaOptions, options: &Options) -> Option<Think> {
    o.think
        .clone()
        .or_else(|| options.reasoning_effort.map(think_for))
}

/// Refuses what the native chat cannot honour, and numbers JSON cannot carry.
fn check_options(o: &Options) -> Result<()> {
    if let Some(n) = o.candidate_count
        && n > 1
    {
        return Err(Error::unsupported(
            PROVIDER,
            "candidate_count",
            "Ollama generates one answer per request: send several requests instead",
        ));
    }
    if let Some(choice @ (ToolChoice::Required | ToolChoice::Function(_))) = &o.tool_choice {
        return Err(Error::unsupported(
            PROVIDER,
            format!("tool_choice {choice:?}"),
            "Ollama always lets the model decide whether to call a tool (auto); \
             only auto and none (no tools offered) can be honoured",
        ));
    }
    if let Some(name) = o
        .extensions
        .type_names()
        .find(|n| *n != std::any::type_name::<OllamaOptions>())
    {
        return Err(Error::unsupported(
            PROVIDER,
            format!("{name} (an Options extension)"),
            "Ollama reads only OllamaOptions",
        ));
    }
    Ok(())
}

pub(super) fn think_for(effort: ReasoningEffort) -> Think {
    match effort {
        ReasoningEffort::None => Think::Enabled(false),
        ReasoningEffort::Low => Think::Level(ThinkLevel::LOW),
        ReasoningEffort::Medium => Think::Level(ThinkLevel::MEDIUM),
        ReasoningEffort::High => Think::Level(ThinkLevel::HIGH),
        ReasoningEffort::Max => Think::Level(ThinkLevel::MAX),
    }
}

fn encode_message<'a>(
    m: &'a Message,
    call_names: &HashMap<&'a str, &'a str>,
    out: &mut Vec<ChatMessage<'a>>,
) -> Result<()> {
    if m.role == Role::Tool {
        let mut plain: Vec<&str> = Vec::new();
        for p in &m.parts {
            match p {
                Part::ToolResult(r) => out.push(tool_result(r, call_names)),
                Part::Text { text } => plain.push(text),
                other => {
                    return Err(Error::unsupported(
                        PROVIDER,
                        format!("a {} part in a tool message", other.kind()),
                        "tool messages carry tool results or text",
                    ));
                }
            }
        }
        if !plain.is_empty() {
            out.push(ChatMessage::text("tool", joined(plain)));
        }
        return Ok(());
    }

    let mut texts: Vec<&'a str> = Vec::new();
    let mut thinking: Vec<&'a str> = Vec::new();
    let mut images: Vec<String> = Vec::new();
    let mut tool_calls: Vec<WireToolCall<'a>> = Vec::new();
    let mut results: Vec<&'a ToolResult> = Vec::new();
    for p in &m.parts {
        match p {
            Part::Text { text } => texts.push(text),
            Part::Binary {
                data, mime_type, ..
            } => {
                if is_text_mime(mime_type) {
                    texts.push(std::str::from_utf8(data).map_err(|_| {
                        Error::config(format!(
                            "a binary part of type {mime_type} is not valid UTF-8 text"
                        ))
                    })?);
                } else if mime_type.starts_with("image/") {
                    images.push(STANDARD.encode(data));
                } else {
                    return Err(Error::unsupported(
                        PROVIDER,
                        format!("a binary part of type {mime_type}"),
                        "Ollama's chat takes text and images only",
                    ));
                }
            }
            Part::File { uri, mime_type } => {
                if !(mime_type.is_empty() || mime_type.starts_with("image/")) {
                    return Err(Error::unsupported(
                        PROVIDER,
                        format!("a file part of type {mime_type}"),
                        "Ollama's chat takes images only as files",
                    ));
                }
                images.push(image_base64(uri, mime_type)?);
            }
            Part::ToolCall(call) => {
                let index = u32::try_from(tool_calls.len()).unwrap_or(u32::MAX);
                tool_calls.push(encode_tool_call(call, index)?);
            }
            Part::ToolResult(r) => results.push(r),
            // The model's earlier reasoning goes back in its own field (api.Message.Thinking),
            // which thinking models' templates render; it is the assistant's only.
            Part::Reasoning { text, .. } if m.role == Role::Assistant => thinking.push(text),
            Part::Reasoning { .. } => {}
        }
    }
    if !tool_calls.is_empty() && m.role != Role::Assistant {
        return Err(Error::config(
            "tool calls can only appear in assistant messages",
        ));
    }
    let only_results = texts.is_empty()
        && thinking.is_empty()
        && images.is_empty()
        && tool_calls.is_empty()
        && !results.is_empty();
    if !only_results {
        out.push(ChatMessage {
            role: m.role.as_str(),
            content: joined(texts),
            thinking: (!thinking.is_empty()).then(|| joined(thinking)),
            images,
            tool_calls,
            tool_name: None,
            tool_call_id: None,
        });
    }
    for r in results {
        out.push(tool_result(r, call_names));
    }
    Ok(())
}

fn joined<'a>(texts: Vec<&'a str>) -> Cow<'a, str> {
    match texts.as_slice() {
        [] => Cow::Borrowed(""),
        [one] => Cow::Borrowed(one),
        _ => Cow::Owned(texts.join("\n")),
    }
}

fn tool_result<'a>(r: &'a ToolResult, call_names: &HashMap<&'a str, &'a str>) -> ChatMessage<'a> {
    let mut msg = ChatMessage::text("tool", Cow::Borrowed(&r.content));
    msg.tool_name = r
        .name
        .as_deref()
        .or_else(|| call_names.get(r.call_id.as_str()).copied());
    msg.tool_call_id = (!r.call_id.is_empty()).then_some(r.call_id.as_str());
    msg
}

/// A tool call in history, with its arguments as a JSON object (Ollama rejects anything
/// else).
fn encode_tool_call(call: &ToolCall, index: u32) -> Result<WireToolCall<'_>> {
    let arguments = match &call.arguments {
        Value::Object(_) if call.raw_arguments.is_none() => Cow::Borrowed(&call.arguments),
        Value::Null if call.raw_arguments.is_none() => Cow::Owned(Value::Object(Map::new())),
        _ => {
            return Err(Error::unsupported(
                PROVIDER,
                format!(
                    "arguments of the tool call {:?} that are not a JSON object",
                    call.name
                ),
                "Ollama's native chat takes tool-call arguments as a JSON object",
            ));
        }
    };
    Ok(WireToolCall {
        id: &call.id,
        function: WireFunctionCall {
            index,
            name: &call.name,
            arguments,
        },
    })
}

/// An image file as the raw base64 Ollama's native chat wants (no `data:` prefix).
fn image_base64(uri: &str, mime_type: &str) -> Result<String> {
    if uri.starts_with("data:") {
        return match base64_data_uri(uri) {
            Some((_, payload)) => Ok(payload.to_owned()),
            None => Err(Error::unsupported(
                PROVIDER,
                "a data: URI that is not base64",
                "use data:<mime>;base64,<data>",
            )),
        };
    }
    if uri.starts_with("file:") {
        let (bytes, mime) = read_image_uri(uri, mime_type)?;
        super::unsupported::check_image_type(mime, mime)?;
        return Ok(STANDARD.encode(bytes));
    }
    Err(Error::unsupported(
        PROVIDER,
        format!("the file URI {uri:?}"),
        "Ollama takes images inline: use a file:// or data: URI, or a binary part",
    ))
}

// ---------------------------------------------------------------------------------------
// Answer
// ---------------------------------------------------------------------------------------

/// A streamed answer of Ollama's native `/api/chat`, decoded: NDJSON lines → [`GenResponse`]
/// chunks, the same chunks as the `/v1` path gives (text and reasoning deltas as they arrive,
/// then one last chunk with the tool calls, the finish reason, usage and timings). The
/// [`Decoder`](crate::codec::Decoder) native chats are read with; it does no I/O.
#[derive(Debug)]
pub struct ChatDecoder {
    lines: Lines<ChatLines>,
}

impl Default for ChatDecoder {
    /// A decoder with the default line limit ([`DEFAULT_MAX_LINE`]).
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl ChatDecoder {
    /// A decoder that refuses lines longer than `max_line` bytes; its clock (time to first
    /// token, total time) starts now.
    pub fn new(max_line: usize) -> Self {
        Self::starting(Timer::start(), max_line)
    }

    /// A decoder whose clock started with the request.
    pub(super) fn starting(timer: Timer, max_line: usize) -> Self {
        ChatDecoder {
            lines: Lines::new(max_line, ChatLines::new(timer)),
        }
    }
}

lines_decoder!(
    ChatDecoder,
    GenResponse,
    "a stream of chat chunks (NDJSON)",
    |v| v.get("done").and_then(Value::as_bool) == Some(true)
);

/// Native chat lines → [`GenResponse`] chunks. Tool calls are held until the last line, as
/// the `/v1` path does, so both paths give the same chunks.
#[derive(Debug)]
struct ChatLines {
    timer: Timer,
    first_token: Option<Duration>,
    model: Option<String>,
    sent_first: bool,
    /// Tool calls seen so far, with their `function.index`, in arrival order.
    calls: Vec<(u32, ToolCall)>,
    /// Whether the line being parsed has pushed its response onto the output.
    pushed: bool,
    done: bool,
    lines: u64,
    /// Progress since the adapter last asked (see [`Decoder::take_progress`]).
    progress: bool,
}

impl ChatLines {
    fn new(timer: Timer) -> Self {
        ChatLines {
            timer,
            first_token: None,
            model: None,
            sent_first: false,
            calls: Vec::new(),
            pushed: false,
            done: false,
            lines: 0,
            progress: false,
        }
    }

    /// A token, a reasoning delta or a tool call arrived.
    fn mark_first_token(&mut self) {
        self.progress = true;
        if self.first_token.is_none() {
            self.first_token = Some(self.timer.elapsed());
        }
    }

    /// Text and reasoning into the line's response, built in place at the back of `out`
    /// (pushed on the first text); tool calls into `self.calls`.
    fn apply(&mut self, msg: ChunkMessage<'_>, out: &mut VecDeque<Result<GenResponse>>) {
        if let Some(t) = msg.thinking.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            if let Some(c) = candidate(out, self.pushed) {
                c.push_reasoning(t);
            }
            self.pushed = true;
        }
        if let Some(t) = msg.content.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            if let Some(c) = candidate(out, self.pushed) {
                c.push_text(t);
            }
            self.pushed = true;
        }
        // Not `unwrap_or_default()`: that iterated (and dropped) an empty `Vec` on every line
        // without tool calls. With the `error` check in `parse_line`: 4,270 → 4,196
        // instructions per line (callgrind, `native_chat_to_response/64k`).
        let Some(calls) = msg.tool_calls else {
            return;
        };
        for call in calls {
            self.mark_first_token();
            let index = call
                .function
                .index
                .unwrap_or_else(|| u32::try_from(self.calls.len()).unwrap_or(u32::MAX));
            self.calls.push((index, tool_call(call)));
        }
    }

    /// Parses one line into `out` (at most one response, built in place); on failure, what
    /// failed, having removed what it pushed.
    fn parse_line(
        &mut self,
        line: &str,
        out: &mut VecDeque<Result<GenResponse>>,
    ) -> std::result::Result<(), LineFailure> {
        self.pushed = false;
        let calls = self.calls.len();
        let mut head = ChatChunkHead::default();
        let parsed = parse_chat_line(line, &mut MessageInto { lines: self, out }, &mut head);
        let failure = match parsed {
            Err(e) => Some(LineFailure::Parse(e)),
            // Most lines carry no `error`: no call to look at it (see `apply` for the figure).
            Ok(()) if head.error.is_none() => None,
            Ok(()) => reported_error(head.error.as_ref()).map(|err| {
                LineFailure::Reported(Error::stream(format!(
                    "the server reported an error: {err}"
                )))
            }),
        };
        if let Some(failure) = failure {
            if self.pushed {
                out.pop_back();
            }
            self.calls.truncate(calls);
            return Err(failure);
        }
        if self.model.is_none()
            && let Some(m) = head.model.as_deref()
            && !m.is_empty()
        {
            self.model = Some(m.to_owned());
        }
        if let Some(lp) = head.logprobs.take().filter(|lp| !lp.is_empty()) {
            // Kept even on a line without text (a tool call the parser still holds).
            self.progress = true;
            if let Some(c) = candidate(out, self.pushed) {
                c.logprobs = lp;
            }
            self.pushed = true;
        }
        if head.done {
            self.finish(head, out);
        } else if self.pushed
            && !self.sent_first
            && let Some(Ok(r)) = out.back_mut()
        {
            self.sent_first = true;
            r.meta.model = self.model.clone();
        }
        Ok(())
    }

    /// The last line: it may still carry content (already in the response at the back of
    /// `out` then), and it carries the metrics.
    fn finish(&mut self, head: ChatChunkHead<'_>, out: &mut VecDeque<Result<GenResponse>>) {
        self.done = true;
        self.progress = true;
        let had_calls = !self.calls.is_empty();
        self.calls.sort_by_key(|(index, _)| *index);
        let finish_reason = match head.done_reason.as_deref() {
            None | Some("" | "stop") if had_calls => FinishReason::ToolCalls,
            None | Some("") => FinishReason::Stop,
            Some(reason) => FinishReason::from_wire(reason),
        };
        if let Some(c) = candidate(out, self.pushed) {
            c.message
                .parts
                .extend(self.calls.drain(..).map(|(_, call)| Part::ToolCall(call)));
            c.finish_reason = Some(finish_reason);
        }
        self.pushed = true;
        let metrics = Metrics {
            total_duration: head.total_duration,
            load_duration: head.load_duration,
            prompt_eval_count: head.prompt_eval_count,
            prompt_eval_duration: head.prompt_eval_duration,
            eval_count: head.eval_count,
            eval_duration: head.eval_duration,
        };
        let total = self.timer.elapsed();
        self.sent_first = true;
        if let Some(Ok(r)) = out.back_mut() {
            r.meta = ResponseMeta {
                id: None,
                model: self.model.clone(),
                usage: Some(metrics.usage()),
                time_to_first_token: Some(self.first_token.unwrap_or(total)),
                total_time: Some(total),
                server_timings: metrics.server_timings(),
            }
            .into();
        }
    }
}

/// The candidate of the line's response at the back of `out`, pushed first unless
/// `pushed`. The response is built where it stays until the caller takes it rather than
/// moved there (see `codec::lines`; a `GenResponse` is now 120 bytes, moved without a
/// `memcpy` call: see [`crate::LazyMeta`]).
fn candidate(out: &mut VecDeque<Result<GenResponse>>, pushed: bool) -> Option<&mut Candidate> {
    if !pushed {
        out.push_back(Ok(GenResponse {
            candidates: Candidate::new(0).into(),
            meta: Default::default(),
        }));
    }
    match out.back_mut() {
        Some(Ok(r)) => r.candidates.first_mut(),
        _ => None,
    }
}

/// Why a line was not decoded.
enum LineFailure {
    /// Not a chat chunk (perhaps only because of a lone surrogate escape).
    Parse(serde_json::Error),
    /// The line reports an error.
    Reported(Error),
}

/// Hands a line's message to [`ChatLines::apply`] as it is parsed.
struct MessageInto<'a> {
    lines: &'a mut ChatLines,
    out: &'a mut VecDeque<Result<GenResponse>>,
}

impl<'de> MessageSink<'de> for MessageInto<'_> {
    fn message(&mut self, message: ChunkMessage<'de>) {
        self.lines.apply(message, self.out);
    }
}

fn tool_call(call: ChunkToolCall<'_>) -> ToolCall {
    let id = call.id.map(Cow::into_owned).unwrap_or_default();
    let name = call.function.name.into_owned();
    match call.function.arguments {
        Value::String(raw) => ToolCall::from_raw(id, name, &raw),
        Value::Null => ToolCall::new(id, name, Value::Object(Map::new())),
        args => ToolCall::new(id, name, args),
    }
}

impl LineHandler for ChatLines {
    type Item = GenResponse;

    fn on_line(&mut self, line: &str, out: &mut VecDeque<Result<GenResponse>>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.lines += 1;
        let e = match self.parse_line(line, out) {
            Ok(()) => return Ok(()),
            Err(LineFailure::Reported(e)) => return Err(e),
            Err(LineFailure::Parse(e)) => e,
        };
        // A lone surrogate escape (half an emoji) is read as U+FFFD, as Go's encoding/json
        // does: parsed again with those replaced (failure path only).
        let retried = crate::codec::surrogates::replace_lone_surrogates(line)
            .map(|fixed| self.parse_line(&fixed, out));
        match retried {
            Some(Ok(())) => Ok(()),
            Some(Err(LineFailure::Reported(e))) => Err(e),
            Some(Err(LineFailure::Parse(_))) | None => Err(Error::Decode {
                message: format!(
                    "line {} of the chat answer is not a chat chunk: {}",
                    self.lines,
                    excerpt(line.as_bytes())
                ),
                source: Some(Box::new(e)),
            }),
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn take_progress(&mut self) -> bool {
        std::mem::take(&mut self.progress)
    }

    fn on_end(&mut self) -> Result<()> {
        if self.done {
            return Ok(());
        }
        Err(Error::stream(
            "the stream ended before the server finished the answer (no `\"done\": true` line)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::ChatDecoder;
    use crate::Result;
    use crate::codec::decode_pieces;
    use crate::response::GenResponse;

    /// The stream's items for `body`, whole and cut at every byte: asserts both agree.
    fn items(body: &str) -> Vec<std::result::Result<String, String>> {
        let text = |items: Vec<Result<GenResponse>>| -> Vec<_> {
            items
                .into_iter()
                .map(|r| r.map(|r| r.text()).map_err(|e| e.to_string()))
                .collect()
        };
        let whole = text(decode_pieces(
            ChatDecoder::default(),
            [Bytes::copy_from_slice(body.as_bytes())],
        ));
        let bytes = body.as_bytes().chunks(1).map(Bytes::copy_from_slice);
        assert_eq!(text(decode_pieces(ChatDecoder::default(), bytes)), whole);
        whole
    }

    #[test]
    fn a_line_that_fails_after_its_content_was_parsed_yields_only_the_error() {
        // The response is built in place while the line is parsed: the reported error (after
        // the content) must take it back.
        let body = "{\"message\":{\"content\":\"a\"},\"done\":false}\n\
                    {\"message\":{\"content\":\"b\"},\"error\":\"boom\",\"done\":false}\n";
        let got = items(body);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], Ok("a".to_owned()));
        assert!(
            got[1].as_ref().is_err_and(|e| e.contains("boom")),
            "{got:?}"
        );
    }

    #[test]
    fn a_lone_surrogate_after_the_content_gives_the_content_once() {
        // The first parse stops at the lone surrogate after pushing "a"; the retry (with
        // U+FFFD) must not add a second response.
        let body = "{\"message\":{\"content\":\"a\"},\"model\":\"m\\ud83d\",\"done\":false}\n\
                    {\"done\":true}\n";
        let got = items(body);
        assert_eq!(got, [Ok("a".to_owned()), Ok(String::new())]);
        let Some(Ok(first)) = decode_pieces(
            ChatDecoder::default(),
            [Bytes::from_static(body.as_bytes())],
        )
        .into_iter()
        .next() else {
            panic!("no first item");
        };
        assert_eq!(first.meta.model.as_deref(), Some("m\u{fffd}"));
    }
}
