//! `POST /v1/completions` (OpenAI's legacy text completions, served by llama.cpp, vLLM,
//! Ollama, …): [`OpenAiProvider`]'s [`Completer`], streamed with SSE through
//! [`CompletionsDecoder`].
//!
//! **Suffixes.** The OpenAI spec has a `suffix` for fill-in-the-middle, but servers differ:
//! llama.cpp's server accepts it on `/v1/completions` and silently ignores it (its
//! fill-in-the-middle is the separate `/infill` endpoint), so the answer would be a plain
//! continuation that ignores the text after the gap. A suffix is therefore refused
//! ([`Error::Unsupported`]) unless the provider's builder says the server honours it
//! ([`OpenAiProviderBuilder::completions_suffix`](super::OpenAiProviderBuilder::completions_suffix):
//! OpenAI's own models, Ollama's `/v1`).
//!
//! **Log probabilities** are the legacy integer `logprobs: N` (N alternatives per token;
//! 0 = the sampled token only). Answers come in two shapes, both read: llama.cpp's
//! `{"content": [<token>…]}` (the chat shape) and OpenAI's legacy
//! `{"tokens", "token_logprobs", "top_logprobs", "text_offset"}`. Ollama's `/v1/completions`
//! returns none (use its native `/api/generate`: `OllamaProvider`'s completer).

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::Instrument;

use super::OpenAiProvider;
use super::stream::{Document, classify_document};
use super::wire::{StreamOptions, WireUsage};
use crate::codec::{Decoder, SseDecoder, SseEvent, StreamLimits, Text};
use crate::completion::{Completer, CompletionRequest, check_completion_options};
use crate::error::{Error, Result};
use crate::json_body::encode_with_extra;
use crate::response::{
    Candidate, FinishReason, GenResponse, ResponseMeta, TokenLogprob, TopLogprob,
};
use crate::stream::ResponseStream;
use crate::telemetry::{completion_span, record_usage};
use crate::transport::{Request, Timer, excerpt};

#[async_trait]
impl Completer for OpenAiProvider {
    async fn complete(&self, request: &CompletionRequest) -> Result<GenResponse> {
        let span = completion_span(self.inner.name, &request.model, &request.options, false);
        async {
            let body = self.completions_body(request, false)?;
            let timer = Timer::start();
            let req = Request::post_json("completions", body, Some(&request.model));
            let bytes = self.inner.http.send_for_body(&req).await?;
            let response = decode_completion(&bytes, timer)?;
            record_usage(&response);
            Ok(response)
        }
        .instrument(span)
        .await
    }

    async fn complete_stream(&self, request: &CompletionRequest) -> Result<ResponseStream> {
        let span = completion_span(self.inner.name, &request.model, &request.options, true);
        async {
            let body = self.completions_body(request, true)?;
            let timer = Timer::start();
            let req = Request::post_json("completions", body, Some(&request.model));
            let body = self.inner.http.send_for_stream(&req).await?;
            let decoder = CompletionsDecoder::starting(timer, self.inner.limits);
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

/// `POST /completions` body.
#[derive(Debug, Serialize)]
struct CompletionsRequest<'a> {
    model: &'a str,
    prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    suffix: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u32>,
    /// The legacy integer form: how many alternatives per token.
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<u8>,
}

impl OpenAiProvider {
    /// Encodes a completions request, after refusing what `/v1/completions` cannot carry.
    fn completions_body(&self, request: &CompletionRequest, stream: bool) -> Result<Vec<u8>> {
        let provider = self.inner.name;
        let options = &request.options;
        if request.model.is_empty() {
            return Err(Error::config_for(
                "model",
                "no model given: name the model to use",
            ));
        }
        options.validate()?;
        check_completion_options(provider, options)?;
        if let Some(name) = options.extensions.type_names().next() {
            return Err(Error::unsupported(
                provider,
                format!("{name} (an Options extension)"),
                "/v1/completions reads no provider-specific settings: use the provider they \
                 belong to (e.g. OllamaProvider for GenerateOptions)",
            ));
        }
        let refuse = |option: &str, reason: &str| Err(Error::unsupported(provider, option, reason));
        if options.system.is_some() {
            return refuse(
                "Options::system on a completion",
                "/v1/completions has no system prompt: write the instructions into the prompt",
            );
        }
        if options.response_format.is_some() {
            return refuse(
                "Options::response_format on a completion",
                "/v1/completions has no response format: use a chat for structured output",
            );
        }
        if options.reasoning_effort.is_some() {
            return refuse(
                "Options::reasoning_effort on a completion",
                "/v1/completions has no reasoning effort: use a chat",
            );
        }
        let suffix = request.suffix.as_deref().filter(|s| !s.is_empty());
        if suffix.is_some() && !self.inner.completions_suffix {
            return refuse(
                "CompletionRequest::suffix",
                "servers such as llama.cpp accept a suffix on /v1/completions and silently \
                 ignore it (llama.cpp fills in the middle on /infill), so the answer would \
                 not fit the gap: if this server does honour it (OpenAI, Ollama's /v1), build \
                 the provider with OpenAiProviderBuilder::completions_suffix(true); with \
                 Ollama, OllamaProvider's completer (/api/generate) takes suffixes",
            );
        }
        let req = CompletionsRequest {
            model: &request.model,
            prompt: &request.prompt,
            suffix,
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
            max_tokens: options.max_tokens,
            temperature: options.temperature,
            top_p: options.top_p,
            seed: options.seed,
            stop: &options.stop,
            frequency_penalty: options.frequency_penalty,
            presence_penalty: options.presence_penalty,
            n: options.candidate_count,
            logprobs: options.logprobs.then(|| options.top_logprobs.unwrap_or(0)),
        };
        encode_with_extra(&req, &options.extra)
    }
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/// A `text_completion` object: the whole answer, or one chunk of a stream.
#[derive(Debug, Deserialize)]
struct Completion<'a> {
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    #[serde(borrow, default)]
    model: Option<Text<'a>>,
    #[serde(borrow, default)]
    choices: Option<Vec<CompletionChoice<'a>>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    /// A failure reported inside a stream (vLLM, llama.cpp).
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct CompletionChoice<'a> {
    #[serde(default)]
    index: u32,
    #[serde(borrow, default)]
    text: Option<Text<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Text<'a>>,
    #[serde(default)]
    logprobs: Option<CompletionLogprobs>,
}

/// A choice's `logprobs`, in either shape servers send.
#[derive(Debug, Deserialize, Default)]
struct CompletionLogprobs {
    /// llama.cpp: the chat shape.
    #[serde(default)]
    content: Option<Vec<TokenLogprob>>,
    /// OpenAI's legacy shape: parallel lists.
    #[serde(default)]
    tokens: Option<Vec<String>>,
    #[serde(default)]
    token_logprobs: Option<Vec<Option<f64>>>,
    #[serde(default)]
    top_logprobs: Option<Vec<Option<Map<String, Value>>>>,
}

impl CompletionLogprobs {
    fn into_entries(self) -> Vec<TokenLogprob> {
        if let Some(content) = self.content {
            return content;
        }
        let tokens = self.tokens.unwrap_or_default();
        let logprobs = self.token_logprobs.unwrap_or_default();
        let mut tops = self.top_logprobs.unwrap_or_default().into_iter();
        tokens
            .into_iter()
            .enumerate()
            .map(|(i, token)| {
                let mut top_logprobs: Vec<TopLogprob> = tops
                    .next()
                    .flatten()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|(token, lp)| {
                        Some(TopLogprob {
                            token,
                            logprob: lp.as_f64()?,
                            bytes: None,
                        })
                    })
                    .collect();
                top_logprobs.sort_by(|a, b| b.logprob.total_cmp(&a.logprob));
                TokenLogprob {
                    token,
                    // `null` only for a first token echoed back, which is not asked for.
                    logprob: logprobs
                        .get(i)
                        .copied()
                        .flatten()
                        .unwrap_or(f64::NEG_INFINITY),
                    bytes: None,
                    top_logprobs,
                }
            })
            .collect()
    }
}

/// The candidate one choice brings, if it brings anything.
fn candidate(choice: CompletionChoice<'_>) -> Option<Candidate> {
    let mut c: Option<Candidate> = None;
    if let Some(t) = choice.text.as_deref()
        && !t.is_empty()
    {
        c.get_or_insert_with(|| Candidate::new(choice.index))
            .push_text(t);
    }
    let logprobs = choice
        .logprobs
        .map(CompletionLogprobs::into_entries)
        .unwrap_or_default();
    if !logprobs.is_empty() {
        c.get_or_insert_with(|| Candidate::new(choice.index))
            .logprobs = logprobs;
    }
    if let Some(reason) = choice.finish_reason.as_deref() {
        c.get_or_insert_with(|| Candidate::new(choice.index))
            .finish_reason = Some(FinishReason::from_wire(reason));
    }
    c
}

fn parse(text: &str) -> serde_json::Result<Completion<'_>> {
    serde_json::from_str(text)
}

/// Decodes a whole `text_completion` body.
fn decode_completion(body: &[u8], timer: Timer) -> Result<GenResponse> {
    let not_json = |e: Option<serde_json::Error>| Error::Decode {
        message: format!("the completion is not valid JSON: {}", excerpt(body)),
        source: e.map(|e| Box::new(e) as crate::error::BoxError),
    };
    let text = std::str::from_utf8(body).map_err(|_| not_json(None))?;
    let fixed;
    let wire = match parse(text) {
        Ok(w) => w,
        Err(e) => {
            // A lone surrogate escape is read as U+FFFD (see `codec::surrogates`).
            fixed = crate::codec::surrogates::replace_lone_surrogates(text);
            fixed
                .as_deref()
                .and_then(|f| parse(f).ok())
                .ok_or_else(|| not_json(Some(e)))?
        }
    };
    let Some(choices) = wire.choices else {
        return Err(Error::decode(format!(
            "the completion has no `choices`: {}",
            excerpt(body)
        )));
    };
    let candidates = choices
        .into_iter()
        .map(|ch| {
            let index = ch.index;
            candidate(ch).unwrap_or_else(|| Candidate::new(index))
        })
        .collect();
    let elapsed = timer.elapsed();
    let meta = ResponseMeta {
        id: wire.id.map(Into::into),
        model: wire.model.map(Into::into),
        usage: wire.usage.map(Into::into),
        // Without streaming, the first token reaches the caller with the last.
        time_to_first_token: Some(elapsed),
        total_time: Some(elapsed),
        ..ResponseMeta::default()
    };
    Ok(GenResponse {
        candidates,
        meta: meta.into(),
    })
}

/// A streamed `/v1/completions` answer, decoded: body bytes → SSE events → `text_completion`
/// chunks → [`GenResponse`] deltas (text, token log probabilities, finish reasons), then a
/// last chunk with usage and timings at `data: [DONE]`, which must come. The
/// [`Decoder`] completion streams are read with; it does no I/O.
#[derive(Debug)]
pub struct CompletionsDecoder {
    sse: SseDecoder,
    timer: Timer,
    first_token: Option<Duration>,
    id: Option<String>,
    model: Option<String>,
    sent_first: bool,
    usage: Option<crate::response::Usage>,
    done: bool,
    chunks: u64,
    progress: bool,
    failed: bool,
    queue: VecDeque<Result<GenResponse>>,
}

impl Default for CompletionsDecoder {
    /// A decoder with the default [`StreamLimits`].
    fn default() -> Self {
        Self::new(StreamLimits::default())
    }
}

impl CompletionsDecoder {
    /// A decoder with these limits; its clock (time to first token, total time) starts now.
    pub fn new(limits: StreamLimits) -> Self {
        Self::starting(Timer::start(), limits)
    }

    fn starting(timer: Timer, limits: StreamLimits) -> Self {
        CompletionsDecoder {
            sse: SseDecoder::with_max_line(limits.max_line),
            timer,
            first_token: None,
            id: None,
            model: None,
            sent_first: false,
            usage: None,
            done: false,
            chunks: 0,
            progress: false,
            failed: false,
            queue: VecDeque::new(),
        }
    }

    fn on_event(&mut self, ev: SseEvent<'_>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        if ev.data == "[DONE]" {
            self.finish();
            return Ok(());
        }
        if ev.event == "error" {
            return Err(Error::stream(format!(
                "the server reported an error: {}",
                excerpt(ev.data.as_bytes())
            )));
        }
        self.chunks += 1;
        let fixed;
        let chunk = match parse(ev.data) {
            Ok(c) => c,
            Err(e) => {
                fixed = crate::codec::surrogates::replace_lone_surrogates(ev.data);
                match fixed.as_deref().map(parse) {
                    Some(Ok(c)) => c,
                    _ => {
                        return Err(Error::Decode {
                            message: format!(
                                "stream chunk {} is not a text completion chunk: {}",
                                self.chunks,
                                excerpt(ev.data.as_bytes())
                            ),
                            source: Some(Box::new(e)),
                        });
                    }
                }
            }
        };
        if let Some(err) = reported_error(chunk.error.as_ref()) {
            return Err(Error::stream(format!(
                "the server reported an error: {err}"
            )));
        }
        if self.id.is_none() {
            self.id = chunk.id.map(Into::into);
        }
        if self.model.is_none() {
            self.model = chunk.model.filter(|m| !m.is_empty()).map(Into::into);
        }
        // Ollama sends zero usage on every chunk and the real one on the last: the latest wins.
        if let Some(u) = chunk.usage {
            self.usage = Some(u.into());
        }
        let mut response = GenResponse::default();
        for choice in chunk.choices.unwrap_or_default() {
            if let Some(c) = candidate(choice) {
                if !c.message.parts.is_empty() {
                    self.progress = true;
                    if self.first_token.is_none() {
                        self.first_token = Some(self.timer.elapsed());
                    }
                }
                self.progress |= c.finish_reason.is_some() || !c.logprobs.is_empty();
                response.candidates.push(c);
            }
        }
        if !response.candidates.is_empty() {
            if !self.sent_first {
                self.sent_first = true;
                response.meta.id = self.id.clone();
                response.meta.model = self.model.clone();
            }
            self.queue.push_back(Ok(response));
        }
        Ok(())
    }

    /// `[DONE]`: the last chunk, with usage and timings.
    fn finish(&mut self) {
        self.done = true;
        self.progress = true;
        let total = self.timer.elapsed();
        let mut response = GenResponse::default();
        response.meta.id = self.id.clone();
        response.meta.model = self.model.clone();
        response.meta.usage = self.usage;
        response.meta.time_to_first_token = Some(self.first_token.unwrap_or(total));
        response.meta.total_time = Some(total);
        self.queue.push_back(Ok(response));
    }

    fn fail(&mut self, e: Error) {
        self.failed = true;
        self.queue.push_back(Err(e));
    }
}

impl Decoder for CompletionsDecoder {
    type Item = GenResponse;

    fn feed(&mut self, bytes: Bytes) {
        if self.failed || self.done {
            return;
        }
        let mut sse = std::mem::take(&mut self.sse);
        let result = sse.decode(&bytes, |ev| self.on_event(ev));
        self.sse = sse;
        if let Err(e) = result {
            self.fail(e);
        }
    }

    fn next_item(&mut self) -> Option<Result<GenResponse>> {
        self.queue.pop_front()
    }

    fn end(&mut self) {
        if self.failed || self.done {
            return;
        }
        let pending = self.sse.finish();
        let mut msg = String::from(
            "the stream ended before the server finished the answer (no `data: [DONE]`)",
        );
        if pending {
            msg.push_str("; the last event was cut off");
        }
        self.fail(Error::stream(msg));
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn take_progress(&mut self) -> bool {
        std::mem::take(&mut self.progress)
    }

    fn decode_document(&mut self, status: u16, body: &[u8]) -> Result<()> {
        if classify_document(status, body, "a text completion")? == Document::Events {
            self.feed(Bytes::copy_from_slice(body));
            self.end();
            return Ok(());
        }
        let mut response = decode_completion(body, self.timer)?;
        response.meta.time_to_first_token = response.meta.total_time;
        self.done = true;
        self.progress = true;
        self.queue.push_back(Ok(response));
        Ok(())
    }
}

/// The failure an `error` key reports, if it reports one (`null` and `""` do not).
fn reported_error(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        other => Some(super::stream::error_text(other)),
    }
}
