//! A streamed Chat Completions answer: SSE events → chunks → [`GenResponse`] deltas, with
//! tool calls assembled across chunks.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;

use super::tool_calls::ToolCallAssembler;
use super::wire::{ChatChunk, ResponseMessage};
use crate::codec::{SseDecoder, SseEvent};
use crate::error::{Error, Result};
use crate::message::Part;
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta, Usage};
use crate::transport::{BodyStream, Timer, excerpt};

/// Limits on what a stream may make the client buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamLimits {
    /// Longest SSE line / event data.
    pub max_line: usize,
    /// Largest tool-call arguments assembled from fragments.
    pub max_tool_arguments: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_line: crate::codec::DEFAULT_MAX_LINE,
            max_tool_arguments: crate::codec::DEFAULT_MAX_LINE,
        }
    }
}

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
        let chunk: ChatChunk<'_> = serde_json::from_str(data).map_err(|e| Error::Decode {
            message: format!(
                "stream chunk {} is not a valid chat completion chunk: {}",
                self.chunks,
                excerpt(data.as_bytes())
            ),
            source: Some(Box::new(e)),
        })?;
        if let Some(err) = &chunk.error {
            return Err(Error::stream(format!(
                "the server reported an error: {}",
                error_text(err)
            )));
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
        let mut response: Option<GenResponse> = None;
        for choice in chunk.choices.unwrap_or_default() {
            let mut cand: Option<Candidate> = None;
            if let Some(delta) = choice.delta {
                self.apply_delta(choice.index, delta, &mut cand)?;
            }
            let calls = match choice.finish_reason.as_deref() {
                Some(_) => self.calls.finish_choice(choice.index),
                None => self.calls.take_complete(choice.index),
            };
            if !calls.is_empty() {
                let c = cand.get_or_insert_with(|| Candidate::new(choice.index));
                c.message
                    .parts
                    .extend(calls.into_iter().map(Part::ToolCall));
            }
            if let Some(reason) = choice.finish_reason.as_deref() {
                cand.get_or_insert_with(|| Candidate::new(choice.index))
                    .finish_reason = Some(FinishReason::from_wire(reason));
            }
            if let Some(c) = cand {
                response
                    .get_or_insert_with(GenResponse::default)
                    .candidates
                    .push(c);
            }
        }
        if let Some(mut r) = response {
            if !self.sent_first {
                self.sent_first = true;
                r.meta.id = self.id.clone();
                r.meta.model = self.model.clone();
            }
            out.push_back(Ok(r));
        }
        Ok(())
    }

    fn apply_delta(
        &mut self,
        choice: u32,
        delta: ResponseMessage<'_>,
        cand: &mut Option<Candidate>,
    ) -> Result<()> {
        if let Some(r) = delta.reasoning_text() {
            self.mark_first_token();
            cand.get_or_insert_with(|| Candidate::new(choice))
                .push_reasoning(r);
        }
        if let Some(t) = delta.content.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            cand.get_or_insert_with(|| Candidate::new(choice))
                .push_text(t);
        }
        if let Some(t) = delta.refusal.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            cand.get_or_insert_with(|| Candidate::new(choice))
                .push_text(t);
        }
        if let Some(calls) = delta.tool_calls
            && !calls.is_empty()
        {
            self.mark_first_token();
            self.calls.push(choice, calls)?;
        }
        Ok(())
    }

    fn mark_first_token(&mut self) {
        if self.first_token.is_none() {
            self.first_token = Some(self.timer.elapsed());
        }
    }

    /// `[DONE]`: flushes tool calls still pending and emits the final chunk with usage and
    /// timings.
    fn finish(&mut self, out: &mut VecDeque<Result<GenResponse>>) {
        self.done = true;
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
        };
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

fn error_text(v: &serde_json::Value) -> String {
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

/// The stream handed to callers: body bytes → SSE events → chunks → [`GenResponse`]s.
pub(crate) struct ChatStream {
    body: Option<BodyStream>,
    sse: SseDecoder,
    decoder: ChunkDecoder,
    queue: VecDeque<Result<GenResponse>>,
}

impl ChatStream {
    pub(crate) fn new(body: BodyStream, timer: Timer, limits: StreamLimits) -> Self {
        ChatStream {
            body: Some(body),
            sse: SseDecoder::with_max_line(limits.max_line),
            decoder: ChunkDecoder::new(timer, limits),
            queue: VecDeque::new(),
        }
    }

    fn fail(&mut self, e: Error) {
        self.queue.push_back(Err(e));
        self.body = None;
    }
}

impl Stream for ChatStream {
    type Item = Result<GenResponse>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.queue.pop_front() {
                return Poll::Ready(Some(item));
            }
            let Some(body) = this.body.as_mut() else {
                return Poll::Ready(None);
            };
            if this.decoder.is_done() {
                // Everything after `[DONE]` is ignored. Read the body's end if it is already
                // there, so that the connection goes back to the pool; never wait for it.
                match Pin::new(body).poll_next(cx) {
                    Poll::Ready(Some(_)) => continue,
                    Poll::Ready(None) | Poll::Pending => {
                        this.body = None;
                        return Poll::Ready(None);
                    }
                }
            }
            match Pin::new(body).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => {
                    let ChatStream {
                        sse,
                        decoder,
                        queue,
                        ..
                    } = this;
                    // Bytes after `[DONE]` in the same read are ignored too: an error in
                    // them must not fail an answer that is already complete.
                    if let Err(e) = sse.decode(&bytes, |ev| decoder.on_event(ev, queue))
                        && !decoder.is_done()
                    {
                        this.fail(e);
                    }
                }
                Poll::Ready(Some(Err(e))) => this.fail(e),
                Poll::Ready(None) => {
                    let pending = this.sse.finish();
                    if let Err(e) = this.decoder.on_end(pending) {
                        this.queue.push_back(Err(e));
                    }
                    this.body = None;
                }
            }
        }
    }
}
