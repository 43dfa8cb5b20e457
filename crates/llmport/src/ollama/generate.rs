//! Prompt completion through Ollama's native `POST /api/generate`: [`OllamaProvider`]'s
//! [`Completer`], with fill-in-the-middle (`suffix`), a system prompt, raw mode, a template,
//! images, a format, thinking, the native options, `keep_alive` and `context`.
//!
//! The answer has the shape of a chat's ([`GenResponse`]): text and reasoning deltas as they
//! arrive, then one last chunk with the finish reason (`done_reason`), usage and the server's
//! timings, and the `context` tokens on its candidate. Settings that only `/api/generate`
//! has travel in the request's options as a [`GenerateOptions`] extension, as
//! [`OllamaOptions`] do: the [`Completer`] trait stays the same for every provider.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tracing::Instrument;

use super::OllamaProvider;
use super::chat::{native_format, native_options, native_think};
use super::error::raw_mode_refusal;
use super::native::{decode_whole_answer, lines_decoder, require_model};
use super::options::OllamaOptions;
use super::wire::{GenerateChunk, GenerateRequest, Metrics, reported_error};
use crate::codec::DEFAULT_MAX_LINE;
use crate::codec::lines::{LineHandler, Lines};
use crate::completion::{Completer, CompletionRequest, check_completion_options};
use crate::error::{Error, Result};
use crate::json_body::encode_with_extra;
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta};
use crate::stream::ResponseStream;
use crate::telemetry::{completion_span, record_usage};
use crate::transport::{Request, Timer, excerpt};

const PROVIDER: &str = "ollama";

/// Settings only Ollama's `/api/generate` has, carried in a [`CompletionRequest`]'s
/// [`Options`](crate::Options) as an extension (beside [`OllamaOptions`] for `num_ctx`, `keep_alive`,
/// `think`, `format`, …):
///
/// ```
/// use llmport::Options;
/// use llmport::completion::CompletionRequest;
/// use llmport::ollama::GenerateOptions;
/// let request = CompletionRequest::builder()
///     .model("mistral")
///     .prompt("[INST] why is the sky blue? [/INST]")
///     .options(
///         Options::builder()
///             .extension(GenerateOptions::builder().raw(true).build())
///             .build(),
///     )
///     .build();
/// # let _ = request;
/// ```
///
/// The system prompt is the core [`Options::system`](crate::Options::system). Raw mode sends the prompt verbatim,
/// so it cannot be combined with a system prompt, a template, a context or a suffix: such a
/// request is refused before it is sent ([`Error::Unsupported`]), as Ollama would refuse
/// the first three (HTTP 400) and ignore the suffix.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct GenerateOptions {
    /// Send the prompt to the model as it is, without the model's template (`raw`). Ollama
    /// then returns no `context`.
    pub raw: bool,
    /// A Go template to use instead of the model's (`template`).
    pub template: Option<String>,
    /// Images for a vision model, as file bytes (PNG, JPEG or WebP; sent as raw base64).
    /// Ollama does not check that the model can see: a text-only model ignores them.
    pub images: Vec<Vec<u8>>,
    /// The `context` of an earlier answer ([`Candidate::context`]), to continue from it.
    pub context: Vec<i64>,
}

impl GenerateOptions {
    /// No setting made.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder.
    pub fn builder() -> GenerateOptionsBuilder {
        GenerateOptionsBuilder::default()
    }
}

/// Builds [`GenerateOptions`]. Setters never fail; the request is checked when it is sent.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct GenerateOptionsBuilder {
    opts: GenerateOptions,
}

impl GenerateOptionsBuilder {
    /// Send the prompt verbatim, without the model's template.
    pub fn raw(mut self, yes: bool) -> Self {
        self.opts.raw = yes;
        self
    }

    /// A Go template to use instead of the model's.
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.opts.template = Some(template.into());
        self
    }

    /// Adds an image (the bytes of a PNG, JPEG or WebP file).
    pub fn image(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.opts.images.push(bytes.into());
        self
    }

    /// Continues from an earlier answer's [`Candidate::context`].
    pub fn context(mut self, tokens: impl Into<Vec<i64>>) -> Self {
        self.opts.context = tokens.into();
        self
    }

    /// The options.
    pub fn build(self) -> GenerateOptions {
        self.opts
    }
}

#[async_trait]
impl Completer for OllamaProvider {
    /// A whole answer from `/api/generate` (`"stream": false`).
    async fn complete(&self, request: &CompletionRequest) -> Result<GenResponse> {
        let span = completion_span(PROVIDER, &request.model, &request.options, false);
        async {
            let body = generate_request_body(request, false)?;
            let timer = Timer::start();
            let req = Request::post_json("api/generate", body, Some(&request.model));
            let bytes = self.native.send_for_body(&req).await?;
            let response = decode_whole_answer(&bytes, GenerateLines::new(timer), "generate")?;
            record_usage(&response);
            Ok(response)
        }
        .instrument(span)
        .await
    }

    /// A streamed answer from `/api/generate` (NDJSON).
    async fn complete_stream(&self, request: &CompletionRequest) -> Result<ResponseStream> {
        let span = completion_span(PROVIDER, &request.model, &request.options, true);
        async {
            let body = generate_request_body(request, true)?;
            let timer = Timer::start();
            let req = Request::post_json("api/generate", body, Some(&request.model));
            let body = self.native.send_for_stream(&req).await?;
            let decoder = GenerateDecoder::starting(timer, self.openai.stream_limits().max_line);
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

/// Encodes a generate request as JSON bytes, after checking everything that can be checked
/// before sending.
pub(super) fn generate_request_body(request: &CompletionRequest, stream: bool) -> Result<Vec<u8>> {
    let options = &request.options;
    require_model(&request.model)?;
    options.validate()?;
    check_completion_options(PROVIDER, options)?;
    if options.candidate_count.is_some_and(|n| n > 1) {
        return Err(Error::unsupported(
            PROVIDER,
            "Options::candidate_count above 1",
            "Ollama generates one answer per request: send several requests instead",
        ));
    }
    if let Some(name) = options.extensions.type_names().find(|n| {
        *n != std::any::type_name::<OllamaOptions>()
            && *n != std::any::type_name::<GenerateOptions>()
    }) {
        return Err(Error::unsupported(
            PROVIDER,
            format!("{name} (an Options extension)"),
            "Ollama's /api/generate reads only OllamaOptions and GenerateOptions",
        ));
    }
    let default_ollama = OllamaOptions::default();
    let o = options
        .extension::<OllamaOptions>()
        .unwrap_or(&default_ollama);
    o.validate()?;
    let default_generate = GenerateOptions::default();
    let g = options
        .extension::<GenerateOptions>()
        .unwrap_or(&default_generate);
    let suffix = request.suffix.as_deref().filter(|s| !s.is_empty());
    if g.raw {
        if options.system.is_some() || g.template.is_some() || !g.context.is_empty() {
            return Err(raw_mode_refusal());
        }
        if suffix.is_some() {
            return Err(Error::unsupported(
                PROVIDER,
                "GenerateOptions::raw together with a suffix",
                "Ollama ignores the suffix in raw mode (the model's template places it): \
                 turn raw off for fill-in-the-middle, or write the model's fill-in-the-middle \
                 tokens into the prompt yourself",
            ));
        }
    }
    let images = g
        .images
        .iter()
        .enumerate()
        .map(|(i, bytes)| encode_image(i, bytes))
        .collect::<Result<Vec<_>>>()?;
    let req = GenerateRequest {
        model: &request.model,
        prompt: &request.prompt,
        suffix,
        system: options.system.as_deref(),
        template: g.template.as_deref(),
        context: &g.context,
        stream: (!stream).then_some(false),
        raw: g.raw,
        format: native_format(o, options),
        keep_alive: o.keep_alive.as_ref(),
        images,
        options: native_options(options, o),
        think: native_think(o, options),
        truncate: o.truncate,
        shift: o.shift,
        logprobs: options.logprobs,
        top_logprobs: options.top_logprobs.filter(|_| options.logprobs),
    };
    encode_with_extra(&req, &options.extra)
}

/// An image as the raw base64 Ollama wants (a `data:` URI fails its JSON decoding), after
/// checking by its bytes that it is a type Ollama decodes.
fn encode_image(index: usize, bytes: &[u8]) -> Result<String> {
    match crate::media::sniff_image(bytes) {
        Some(mime) => super::unsupported::check_image_type(mime, mime)?,
        None => {
            return Err(Error::unsupported(
                PROVIDER,
                format!("GenerateOptions::images[{index}], which is not an image"),
                "give the bytes of a PNG, JPEG or WebP file",
            ));
        }
    }
    Ok(STANDARD.encode(bytes))
}

// ---------------------------------------------------------------------------------------
// Answer
// ---------------------------------------------------------------------------------------

/// A streamed answer of Ollama's native `/api/generate`, decoded: NDJSON lines →
/// [`GenResponse`] chunks (text and reasoning deltas and token log probabilities as they
/// arrive, then one last chunk with the finish reason, usage, timings and `context`). The
/// [`Decoder`](crate::codec::Decoder) generate streams are read with; it does no I/O.
#[derive(Debug)]
pub struct GenerateDecoder {
    lines: Lines<GenerateLines>,
}

impl Default for GenerateDecoder {
    /// A decoder with the default line limit ([`DEFAULT_MAX_LINE`]).
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl GenerateDecoder {
    /// A decoder that refuses lines longer than `max_line` bytes; its clock (time to first
    /// token, total time) starts now.
    pub fn new(max_line: usize) -> Self {
        Self::starting(Timer::start(), max_line)
    }

    /// A decoder whose clock started with the request.
    fn starting(timer: Timer, max_line: usize) -> Self {
        GenerateDecoder {
            lines: Lines::new(max_line, GenerateLines::new(timer)),
        }
    }
}

lines_decoder!(
    GenerateDecoder,
    GenResponse,
    "a stream of generate chunks (NDJSON)",
    |v| v.get("done").and_then(Value::as_bool) == Some(true)
);

/// Native generate lines → [`GenResponse`] chunks.
#[derive(Debug)]
struct GenerateLines {
    timer: Timer,
    first_token: Option<Duration>,
    model: Option<String>,
    sent_first: bool,
    done: bool,
    lines: u64,
    /// Progress since the adapter last asked (see [`Decoder::take_progress`]).
    progress: bool,
}

impl GenerateLines {
    fn new(timer: Timer) -> Self {
        GenerateLines {
            timer,
            first_token: None,
            model: None,
            sent_first: false,
            done: false,
            lines: 0,
            progress: false,
        }
    }

    /// A token or a reasoning delta arrived.
    fn mark_first_token(&mut self) {
        self.progress = true;
        if self.first_token.is_none() {
            self.first_token = Some(self.timer.elapsed());
        }
    }
}

impl LineHandler for GenerateLines {
    type Item = GenResponse;

    fn on_line(&mut self, line: &str, out: &mut VecDeque<Result<GenResponse>>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        self.lines += 1;
        let fixed;
        let chunk: GenerateChunk<'_> = match serde_json::from_str(line) {
            Ok(chunk) => chunk,
            Err(e) => {
                // A lone surrogate escape (half an emoji) is read as U+FFFD, as Go's
                // encoding/json does: parsed again with those replaced (failure path only).
                fixed = crate::codec::surrogates::replace_lone_surrogates(line);
                match fixed.as_deref().map(serde_json::from_str) {
                    Some(Ok(chunk)) => chunk,
                    _ => {
                        return Err(Error::Decode {
                            message: format!(
                                "line {} of the generate answer is not a generate chunk: {}",
                                self.lines,
                                excerpt(line.as_bytes())
                            ),
                            source: Some(Box::new(e)),
                        });
                    }
                }
            }
        };
        let GenerateChunk {
            model,
            response,
            thinking,
            done,
            done_reason,
            context,
            total_duration,
            load_duration,
            prompt_eval_count,
            prompt_eval_duration,
            eval_count,
            eval_duration,
            error,
            logprobs,
        } = chunk;
        if let Some(err) = reported_error(error.as_ref()) {
            return Err(Error::stream(format!(
                "the server reported an error: {err}"
            )));
        }
        if self.model.is_none()
            && let Some(m) = model.as_deref()
            && !m.is_empty()
        {
            self.model = Some(m.to_owned());
        }
        let mut cand: Option<Candidate> = None;
        if let Some(t) = thinking.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            cand.get_or_insert_with(|| Candidate::new(0))
                .push_reasoning(t);
        }
        if let Some(t) = response.as_deref()
            && !t.is_empty()
        {
            self.mark_first_token();
            cand.get_or_insert_with(|| Candidate::new(0)).push_text(t);
        }
        if let Some(lp) = logprobs.filter(|lp| !lp.is_empty()) {
            // A parser still holding text back sends lines with only log probabilities.
            self.progress = true;
            cand.get_or_insert_with(|| Candidate::new(0)).logprobs = lp;
        }
        if !done {
            // Lines with nothing (a thinking tag the parser ate) give no chunk.
            if let Some(c) = cand {
                let mut r = GenResponse {
                    candidates: c.into(),
                    meta: Default::default(),
                };
                if !self.sent_first {
                    self.sent_first = true;
                    r.meta.model = self.model.clone();
                }
                out.push_back(Ok(r));
            }
            return Ok(());
        }

        // The last line: it may still carry text, and it carries the metrics.
        self.done = true;
        self.progress = true;
        let mut c = cand.unwrap_or_else(|| Candidate::new(0));
        c.finish_reason = Some(match done_reason.as_deref() {
            None | Some("") => FinishReason::Stop,
            Some(reason) => FinishReason::from_wire(reason),
        });
        c.context = context;
        let metrics = Metrics {
            total_duration,
            load_duration,
            prompt_eval_count,
            prompt_eval_duration,
            eval_count,
            eval_duration,
        };
        let total = self.timer.elapsed();
        self.sent_first = true;
        let meta = ResponseMeta {
            model: self.model.clone(),
            usage: Some(metrics.usage()),
            time_to_first_token: Some(self.first_token.unwrap_or(total)),
            total_time: Some(total),
            server_timings: metrics.server_timings(),
            ..ResponseMeta::default()
        }
        .into();
        out.push_back(Ok(GenResponse {
            candidates: c.into(),
            meta,
        }));
        Ok(())
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
    use super::*;
    use crate::options::Options;

    fn with(options: Options) -> CompletionRequest {
        CompletionRequest::builder()
            .model("m")
            .prompt("p")
            .options(options)
            .build()
    }

    fn body(r: &CompletionRequest) -> Value {
        serde_json::from_slice(&generate_request_body(r, true).unwrap()).unwrap()
    }

    #[test]
    fn unset_fields_are_not_sent() {
        assert_eq!(
            body(&with(Options::default())),
            serde_json::json!({"model": "m", "prompt": "p"})
        );
    }

    #[test]
    fn raw_with_system_template_context_or_suffix_is_refused() {
        let raw = || GenerateOptions::builder().raw(true);
        for options in [
            Options::builder()
                .system("s")
                .extension(raw().build())
                .build(),
            Options::builder()
                .extension(raw().template("{{ .Prompt }}").build())
                .build(),
            Options::builder()
                .extension(raw().context(vec![1, 2]).build())
                .build(),
        ] {
            let e = generate_request_body(&with(options), true).unwrap_err();
            assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        }
        let mut r = with(Options::builder().extension(raw().build()).build());
        r.suffix = Some("x".into());
        assert!(matches!(
            generate_request_body(&r, true),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn images_must_be_images() {
        let r = with(
            Options::builder()
                .extension(GenerateOptions::builder().image(b"hello".to_vec()).build())
                .build(),
        );
        assert!(matches!(
            generate_request_body(&r, true),
            Err(Error::Unsupported { .. })
        ));
    }
}
