//! A streamed Chat Completions answer: SSE events → chunks → [`GenResponse`] deltas, with
//! tool calls assembled across chunks. [`StreamDecoder`] is the whole step, I/O-free.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::time::Duration;

use bytes::Bytes;

use super::tool_calls::ToolCallAssembler;
use super::wire::{Arguments, ChoiceSink, ChunkChoice, ChunkHead, ResponseMessage, parse_chunk};
use crate::codec::surrogates::replace_lone_surrogates;
use crate::codec::{Decoder, SseDecoder, SseEvent, StreamLimits};
use crate::error::{ApiError, Error, Result};
use crate::message::Part;
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta, Usage};
use crate::transport::{Timer, excerpt};

/// Turns the data of each SSE event into [`GenResponse`] deltas. Holds the state a stream
/// needs: tool calls being assembled, usage, timings, whether `[DONE]` was seen.
#[derive(Debug)]
pub(crate) struct ChunkDecoder {
    timer: Timer,
    first_token: Option<Duration>,
    id: Option<String>,
    model: Option<String>,
    sent_first: bool,
    calls: ToolCallAssembler,
    usage: Option<Usage>,
    done: bool,
    /// A chunk with `"model":""` arrived: Ollama's sign of an error it swallowed.
    swallowed_error: bool,
    chunks: u64,
    /// Progress since the adapter last asked (see [`Decoder::take_progress`]).
    progress: bool,
}

impl ChunkDecoder {
    pub(crate) fn new(timer: Timer, limits: StreamLimits) -> Self {
        ChunkDecoder {
            timer,
            first_token: None,
            id: None,
            model: None,
            sent_first: false,
            calls: ToolCallAssembler::new(limits.max_tool_arguments),
            usage: None,
            done: false,
            swallowed_error: false,
            chunks: 0,
            progress: false,
        }
    }

    /// Whether `[DONE]` was seen.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Handles one SSE event.
    pub(crate) fn on_event(
        &mut self,
        ev: SseEvent<'_>,
        out: &mut VecDeque<Result<GenResponse>>,
    ) -> Result<()> {
        if self.done {
            return Ok(());
        }
        if ev.event == "error" {
            return Err(Error::stream(format!(
                "the server reported an error: {}",
                error_text_from(ev.data)
            )));
        }
        self.on_data(ev.data, out)
    }

    /// Handles the data of one event.
    pub(crate) fn on_data(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<GenResponse>>,
    ) -> Result<()> {
        if data == "[DONE]" {
            self.finish(out);
            return Ok(());
        }
        self.chunks += 1;
        let (e, state) = match self.on_chunk(data, out, ChunkState::default()) {
            Ok(()) => return Ok(()),
            Err(failure) => failure,
        };
        // A lone surrogate escape (half an emoji) fails the parse; Go's encoding/json reads
        // it as U+FFFD. Parsed again with those replaced, carrying on after the choices the
        // first attempt already handled (only on this failure path).
        let retried = match state.parse_failed {
            true => replace_lone_surrogates(data).map(|fixed| self.on_chunk(&fixed, out, state)),
            false => None,
        };
        let (e, state) = match retried {
            Some(Ok(())) => return Ok(()),
            Some(Err(failure)) => failure,
            None => (e, state),
        };
        // A parse failure leaves the chunk's response in place (for the retry): drop it.
        if state.pushed && state.parse_failed {
            out.pop_back();
        }
        Err(e)
    }

    /// Parses one chunk and maps it; on failure, the error and how far it got. `state` says
    /// how far an earlier attempt at the same chunk got: its choices are skipped.
    fn on_chunk(
        &mut self,
        data: &str,
        out: &mut VecDeque<Result<GenResponse>>,
        state: ChunkState,
    ) -> std::result::Result<(), (Error, ChunkState)> {
        let mut mapper = ChoiceMapper {
            decoder: self,
            out,
            pushed: state.pushed,
            skip: state.choices,
            choices: 0,
            failed: None,
        };
        let mut chunk = ChunkHead::default();
        let parsed = parse_chunk(data, &mut mapper, &mut chunk);
        let ChoiceMapper {
            pushed,
            failed,
            choices,
            ..
        } = mapper;
        let reached = ChunkState {
            pushed,
            choices: choices.max(state.choices),
            parse_failed: failed.is_none() && parsed.is_err(),
        };
        let mut outcome = match (failed, parsed) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(Error::Decode {
                message: format!(
                    "stream chunk {} is not a valid chat completion chunk: {}",
                    self.chunks,
                    excerpt(data.as_bytes())
                ),
                source: Some(Box::new(e)),
            }),
            (None, Ok(())) => Ok(()),
        };
        if outcome.is_ok()
            && let Some(err) = &chunk.error
        {
            outcome = Err(Error::stream(format!(
                "the server reported an error: {}",
                error_text(err)
            )));
        }
        if let Err(e) = outcome {
            if pushed && !reached.parse_failed {
                out.pop_back();
            }
            return Err((e, reached));
        }
        if self.id.is_none()
            && let Some(id) = &chunk.id
        {
            self.id = Some(id.to_string());
        }
        match chunk.model.as_deref() {
            Some("") => self.swallowed_error = true,
            Some(m) if self.model.is_none() => self.model = Some(m.to_owned()),
            _ => {}
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u.into());
        }
        if pushed
            && !self.sent_first
            && let Some(Ok(r)) = out.back_mut()
        {
            self.sent_first = true;
            r.meta.id = self.id.clone();
            r.meta.model = self.model.clone();
        }
        Ok(())
    }

    /// Handles one choice of a chunk: what it brings goes into its candidate, made in `slot`
    /// on the first thing it brings.
    fn on_choice(&mut self, choice: ChunkChoice<'_>, slot: &mut CandidateSlot<'_>) -> Result<()> {
        if let Some(delta) = choice.delta {
            self.apply_delta(delta, slot)?;
        }
        // Tool calls are handed out as soon as their arguments are complete JSON; a finished
        // choice hands out whatever it still holds.
        let calls = match choice.finish_reason.as_deref() {
            Some(_) => self.calls.finish_choice(choice.index),
            None => self.calls.take_complete(choice.index),
        };
        if !calls.is_empty() {
            if let Some(c) = slot.get() {
                c.message
                    .parts
                    .extend(calls.into_iter().map(Part::ToolCall));
            }
        }
        if !choice.logprobs.is_empty() {
            // Ollama puts a chunk's log probabilities on its reasoning half when it splits
            // one; and a last one may come alone, before the finish: kept wherever they come.
            self.progress = true;
            if let Some(c) = slot.get() {
                c.logprobs = choice.logprobs;
            }
        }
        if let Some(reason) = choice.finish_reason.as_deref() {
            self.progress = true;
            if let Some(c) = slot.get() {
                c.finish_reason = Some(FinishReason::from_wire(reason));
            }
        }
        Ok(())
    }

    fn apply_delta(
        &mut self,
        delta: ResponseMessage<'_>,
        slot: &mut CandidateSlot<'_>,
    ) -> Result<()> {
        if let Some(r) = delta.reasoning_text() {
            self.mark_first_token();
            if let Some(c) = slot.get() {
                c.push_reasoning(r);
            }
        }
        if let Some(t) = delta.content.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            if let Some(c) = slot.get() {
                c.push_text(t);
            }
        }
        if let Some(t) = delta.refusal.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            if let Some(c) = slot.get() {
                c.push_text(t);
            }
        }
        if let Some(calls) = delta.tool_calls
            && !calls.is_empty()
        {
            // A fragment that carries nothing (no id, name or arguments) is no progress.
            if calls.iter().any(|c| {
                c.id.as_deref().is_some_and(|id| !id.is_empty())
                    || c.function.as_ref().is_some_and(|f| {
                        f.name.as_deref().is_some_and(|n| !n.is_empty())
                            || f.arguments.as_ref().is_some_and(|a| match a {
                                Arguments::Text(t) => !t.is_empty(),
                                Arguments::Json(_) => true,
                            })
                    })
            }) {
                self.mark_first_token();
            }
            self.calls.push(slot.index, calls)?;
        }
        Ok(())
    }

    /// A token, a reasoning delta or a tool-call fragment arrived.
    fn mark_first_token(&mut self) {
        self.progress = true;
        if self.first_token.is_none() {
            self.first_token = Some(self.timer.elapsed());
        }
    }

    /// `[DONE]`: flushes tool calls still pending and emits the final chunk with usage and
    /// timings.
    fn finish(&mut self, out: &mut VecDeque<Result<GenResponse>>) {
        self.done = true;
        self.progress = true;
        let mut response = GenResponse::default();
        while let Some(choice) = self.calls.open_choice() {
            let mut c = Candidate::new(choice);
            c.message.parts.extend(
                self.calls
                    .finish_choice(choice)
                    .into_iter()
                    .map(Part::ToolCall),
            );
            response.candidates.push(c);
        }
        let total = self.timer.elapsed();
        response.meta = ResponseMeta {
            id: self.id.clone(),
            model: self.model.clone(),
            usage: self.usage,
            time_to_first_token: Some(self.first_token.unwrap_or(total)),
            total_time: Some(total),
            server_timings: None,
        }
        .into();
        out.push_back(Ok(response));
    }

    /// The body ended. Without `[DONE]` that is a failed generation, never a normal end.
    pub(crate) fn on_end(&mut self, sse_pending: bool) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let mut msg = String::from(
            "the stream ended before the server finished the answer (no `data: [DONE]`)",
        );
        if self.swallowed_error {
            msg.push_str(
                "; the server hit an error it did not describe (Ollama's /v1 API reports \
                 failures during generation this way: its log, or the native API, has the message)",
            );
        } else if sse_pending {
            msg.push_str("; the last event was cut off");
        }
        Err(Error::stream(msg))
    }
}

pub(super) fn error_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => o
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

fn error_text_from(data: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(data) {
        Ok(v) => error_text(v.get("error").unwrap_or(&v)),
        Err(_) => excerpt(data.as_bytes()),
    }
}

/// Maps the choices of one chunk as [`parse_chunk`] parses them. The chunk's [`GenResponse`]
/// is built in its place at the back of the output queue rather than moved there: it was 224
/// bytes then, each move a `memcpy` call (`perf`: moves were still 12–17% of the client's
/// CPU on a 64 KiB-frame stream before this and the field-by-field choice parse; with them
/// CPU per chunk went from 1.52x to 1.43x the harness's floor, median of 7 paired runs). It
/// is 120 bytes now ([`crate::LazyMeta`]), but building in place still saves the moves.
struct ChoiceMapper<'d> {
    decoder: &'d mut ChunkDecoder,
    out: &'d mut VecDeque<Result<GenResponse>>,
    /// Whether this chunk's response has been pushed onto `out`.
    pushed: bool,
    /// Choices an earlier attempt at this chunk already handled.
    skip: usize,
    /// Choices seen so far.
    choices: usize,
    /// Why the mapping stopped, if it did.
    failed: Option<Error>,
}

/// How far an attempt at one chunk got.
#[derive(Debug, Default, Clone, Copy)]
struct ChunkState {
    /// Its response is at the back of the output queue.
    pushed: bool,
    /// Choices handled.
    choices: usize,
    /// It stopped because the JSON did not parse.
    parse_failed: bool,
}

impl<'de> ChoiceSink<'de> for ChoiceMapper<'_> {
    fn choice(&mut self, choice: ChunkChoice<'de>) -> ControlFlow<()> {
        self.choices += 1;
        if self.choices <= self.skip {
            return ControlFlow::Continue(());
        }
        let mut slot = CandidateSlot {
            out: self.out,
            pushed: &mut self.pushed,
            index: choice.index,
            made: false,
        };
        match self.decoder.on_choice(choice, &mut slot) {
            Ok(()) => ControlFlow::Continue(()),
            // The chunk's response, with whatever this choice put in it, is removed by
            // `on_chunk`.
            Err(e) => {
                self.failed = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

/// Where one choice's candidate goes: the last candidate of the chunk's response at the back
/// of the output queue, made (and the response pushed) on first use.
///
/// Built in place rather than returned as an `Option<Candidate>` and pushed: a `Candidate` is
/// 48 bytes larger since it holds `logprobs` and `context`, and moving it through `on_choice`'s
/// `Result<Option<_>>` and into an empty `Vec` (whose growth path allocates room for 4) cost
/// the `/v1` stream ~130 instructions per chunk (callgrind,
/// `chunk_to_response/64k`: 6,902 at `a82dff8`, 7,031 before this; see `bench/README.md`).
struct CandidateSlot<'a> {
    out: &'a mut VecDeque<Result<GenResponse>>,
    /// Whether the chunk's response is at the back of `out`.
    pushed: &'a mut bool,
    /// The choice's index.
    index: u32,
    /// Whether this choice's candidate was made.
    made: bool,
}

impl CandidateSlot<'_> {
    /// The choice's candidate, made on the first call (`None` only if the queue's back is
    /// not this chunk's response, which `pushed` rules out).
    fn get(&mut self) -> Option<&mut Candidate> {
        if !*self.pushed {
            *self.pushed = true;
            self.made = true;
            self.out.push_back(Ok(GenResponse {
                candidates: Candidate::new(self.index).into(),
                meta: Default::default(),
            }));
        }
        let Some(Ok(r)) = self.out.back_mut() else {
            return None;
        };
        if !self.made {
            self.made = true;
            r.candidates.push(Candidate::new(self.index));
        }
        r.candidates.last_mut()
    }
}

/// A streamed Chat Completions answer, decoded: body bytes → SSE events → chunks →
/// [`GenResponse`] deltas, tool calls assembled across chunks, the answer's end (`[DONE]`)
/// checked. The [`Decoder`] every `/v1` stream is read with; it does no I/O, so the fuzz
/// targets, benchmarks and tests drive exactly what a real call runs.
///
/// ```
/// use bytes::Bytes;
/// use llmport::codec::Decoder;
/// use llmport::openai::StreamDecoder;
///
/// let mut decoder = StreamDecoder::default();
/// decoder.feed(Bytes::from_static(
///     b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n",
/// ));
/// assert_eq!(decoder.next_item().unwrap()?.text(), "Hi");
/// let last = decoder.next_item().unwrap()?; // usage and timings
/// assert!(last.meta.total_time.is_some());
/// assert!(decoder.is_done());
/// # Ok::<(), llmport::Error>(())
/// ```
///
/// Decoded one event at a time as chunks are asked for, not a frame at a time:
/// Not a frame at a time: a 64 KiB frame holds ~280 events, and decoding them in one go queued
/// ~280 chunks (3 heap allocations each) before the caller freed any, which defeats the
/// allocator's per-thread cache (glibc's tcache holds 7 blocks per size). Measured on the
/// harness's 1M-chunk stream with 64 KiB frames (whole process, median of 3 runs): 0.66 µs CPU
/// per chunk decoding whole frames, 0.57 µs one event at a time; `malloc`/`free` fell from
/// ~15% to ~4% of the profile.
#[derive(Debug)]
pub struct StreamDecoder {
    /// The body frame being decoded, and how far.
    frame: Bytes,
    pos: usize,
    sse: SseDecoder,
    decoder: ChunkDecoder,
    queue: VecDeque<Result<GenResponse>>,
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

    /// A decoder whose clock started with the request.
    pub(crate) fn starting(timer: Timer, limits: StreamLimits) -> Self {
        StreamDecoder {
            frame: Bytes::new(),
            pos: 0,
            sse: SseDecoder::with_max_line(limits.max_line),
            decoder: ChunkDecoder::new(timer, limits),
            queue: VecDeque::new(),
        }
    }

    /// The next chunk (or error) from the frames pushed so far; `None` when they are used up.
    /// After an error, the rest of the frame is dropped.
    fn next_chunk(&mut self) -> Option<Result<GenResponse>> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return Some(item);
            }
            if self.decoder.is_done() {
                // Everything after `[DONE]` is ignored, in this frame and later ones: bytes
                // there, even broken ones, must not fail an answer that is already complete.
                self.pos = self.frame.len();
            }
            let rest = self.frame.get(self.pos..).filter(|rest| !rest.is_empty())?;
            let event = event_end(rest)
                .and_then(|end| rest.get(..end))
                .unwrap_or(rest);
            let len = event.len();
            let StreamDecoder {
                sse,
                decoder,
                queue,
                ..
            } = self;
            let result = sse.decode(event, |ev| decoder.on_event(ev, queue));
            self.pos += len;
            if let Err(e) = result {
                self.queue.clear();
                self.pos = self.frame.len();
                return Some(Err(e));
            }
        }
    }

    /// A whole `chat.completion` (or an error object) sent to a stream request.
    fn document(&mut self, status: u16, body: &[u8]) -> Result<()> {
        if classify_document(status, body, "a chat completion")? == Document::Events {
            self.feed(Bytes::copy_from_slice(body));
            self.end();
            return Ok(());
        }
        let mut response = super::response::decode_completion(body, self.decoder.timer)?;
        response.meta.time_to_first_token = response.meta.total_time;
        self.decoder.done = true;
        self.decoder.progress = true;
        self.queue.push_back(Ok(response));
        Ok(())
    }
}

/// What one JSON document sent to a `/v1` stream request is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Document {
    /// Not JSON but an event stream under the wrong content type: decode it as one.
    Events,
    /// A whole answer (it has `choices`): the stream's one chunk.
    Answer,
}

/// Sorts out a JSON document sent to a stream request (`Content-Type: application/json`): an
/// error object is an [`Error::Api`] with the server's message, type, code and parameter;
/// `answer` names what a whole answer would be, for the error when it is neither.
pub(super) fn classify_document(status: u16, body: &[u8], answer: &str) -> Result<Document> {
    let not_a_stream = || {
        Error::decode(format!(
            "expected an event stream, got a JSON document that is neither {answer} nor an \
             error (Content-Type: application/json): {}",
            excerpt(body)
        ))
    };
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        // Not JSON: perhaps an event stream under the wrong content type.
        Err(_) if body.trim_ascii_start().starts_with(b"data:") => return Ok(Document::Events),
        Err(_) => return Err(not_a_stream()),
    };
    if let Some(err) = value.get("error").filter(|e| !e.is_null()) {
        let mut api = ApiError::new(status, error_text(err));
        if let Some(o) = err.as_object() {
            let field = |k: &str| o.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            api.kind = field("type");
            api.code = field("code");
            api.param = field("param");
        }
        return Err(Error::Api(Box::new(api)));
    }
    if value.get("choices").is_none_or(|c| !c.is_array()) {
        return Err(not_a_stream());
    }
    Ok(Document::Answer)
}

impl Decoder for StreamDecoder {
    type Item = GenResponse;

    fn feed(&mut self, bytes: Bytes) {
        self.frame = bytes;
        self.pos = 0;
    }

    fn next_item(&mut self) -> Option<Result<GenResponse>> {
        self.next_chunk()
    }

    fn end(&mut self) {
        let pending = self.sse.finish();
        if let Err(e) = self.decoder.on_end(pending) {
            self.queue.push_back(Err(e));
        }
    }

    fn is_done(&self) -> bool {
        self.decoder.is_done()
    }

    fn take_progress(&mut self) -> bool {
        std::mem::take(&mut self.decoder.progress)
    }

    fn decode_document(&mut self, status: u16, body: &[u8]) -> Result<()> {
        self.document(status, body)
    }
}

/// The length of `input` up to and including the blank line that ends its first event: a line
/// end followed by an empty line (`\n\n`, or `\n\r\n`; a lone-CR stream has none, and is
/// then decoded a frame at a time). Only a hint for slicing: the SSE decoder is correct for
/// any split.
fn event_end(input: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', input).find_map(|i| match input.get(i + 1..) {
        Some([b'\n', ..]) => Some(i + 2),
        Some([b'\r', b'\n', ..]) => Some(i + 3),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{StreamDecoder, event_end};
    use crate::codec::{Decoder, StreamLimits};
    use crate::response::FinishReason;

    /// Every item the decoder gives for `body` in one piece, before the body's end.
    fn items(mut dec: StreamDecoder, body: &'static str) -> Vec<crate::Result<crate::GenResponse>> {
        dec.feed(Bytes::from_static(body.as_bytes()));
        std::iter::from_fn(|| dec.next_item()).collect()
    }

    #[test]
    fn each_choice_that_brings_something_gets_its_own_candidate_in_order() {
        let got = items(
            StreamDecoder::default(),
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}},\
             {\"index\":1,\"delta\":{\"content\":\"\"}},\
             {\"index\":2,\"delta\":{\"content\":\"C\"},\"finish_reason\":\"stop\"},\
             {\"index\":2,\"delta\":{\"content\":\"D\"}}]}\n\ndata: [DONE]\n\n",
        );
        assert_eq!(got.len(), 2, "{got:?}");
        let first = got[0].as_ref().unwrap();
        let seen: Vec<_> = first
            .candidates
            .iter()
            .map(|c| (c.index, c.message.text_content(), c.finish_reason.clone()))
            .collect();
        assert_eq!(
            seen,
            [
                (0, "A".to_owned(), None),
                (2, "C".to_owned(), Some(FinishReason::Stop)),
                (2, "D".to_owned(), None),
            ]
        );
    }

    #[test]
    fn a_choice_that_fails_after_others_were_mapped_leaves_only_the_error() {
        let limits = StreamLimits {
            max_tool_arguments: 8,
            ..StreamLimits::default()
        };
        let got = items(
            StreamDecoder::new(limits),
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}},\
             {\"index\":1,\"delta\":{\"content\":\"Yo\",\"tool_calls\":[{\"index\":0,\
             \"id\":\"c1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\\\"0123456789\\\"}\"}}]}}]}\n\n",
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            matches!(got[0], Err(crate::Error::LimitExceeded { limit: 8, .. })),
            "{got:?}"
        );
    }

    #[test]
    fn event_end_finds_the_blank_line_after_the_first_event() {
        assert_eq!(event_end(b"data: a\n\ndata: b\n\n"), Some(9));
        assert_eq!(event_end(b"data: a\r\n\r\ndata: b"), Some(11));
        assert_eq!(event_end(b"data: a\ndata: b\n\n"), Some(17));
        assert_eq!(event_end(b"\n\n"), Some(2));
        assert_eq!(event_end(b"data: a\n"), None);
        assert_eq!(event_end(b"data: a\r\r"), None);
        assert_eq!(event_end(b""), None);
    }
}
