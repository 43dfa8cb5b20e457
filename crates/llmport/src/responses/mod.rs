//! [`ResponsesProvider`]: OpenAI's Responses API (`POST {base}/responses`), spoken by OpenAI
//! and by local servers (Ollama ≥ 0.13.3, llama.cpp's `llama-server`).
//!
//! A provider of its own rather than a mode of [`OpenAiProvider`](crate::OpenAiProvider):
//! the two APIs share the base URL, the key and the error envelope, and nothing else — not
//! the request (`instructions` and typed `input` items instead of `messages`), not the
//! answer (`output` items), not the stream (typed events ending in `response.completed`,
//! not chunks ending in `[DONE]`), not the options (no stop sequences, no seed). A mode
//! would have put a branch in every one of `openai/`'s files.
//!
//! What it sends and why:
//!
//! - `store: false` (unless [`ResponsesOptions::store`]): the whole conversation is sent each
//!   time, as with every provider of this crate, so the server need keep nothing; reasoning
//!   then comes back encrypted (`include: ["reasoning.encrypted_content"]` when reasoning is
//!   asked for) and is passed back in the next turn through
//!   [`Part::Reasoning`](crate::Part::Reasoning)'s `signature`.
//! - [`Options::system`] and every [`Role::System`](crate::Role::System) message become
//!   `instructions`; tool calls and results are `function_call` / `function_call_output`
//!   items; [`Options::max_tokens`] is `max_output_tokens`; `response_format` is
//!   `text.format`; [`Options::reasoning_effort`] is `reasoning.effort` (`Max` is `xhigh`).
//! - Function tools are sent with `strict: false` (the API's default, strict, refuses most
//!   schemas; Chat Completions' default is not strict).
//! - Options the API has no field for (stop sequences, `seed`, penalties, several
//!   candidates, other providers' extensions) are refused as
//!   [`Error::Unsupported`](crate::Error::Unsupported).
//!
//! The finish reason: `incomplete` (`max_output_tokens`) is `Length`; Ollama and llama.cpp
//! report `completed` even then, so a completed answer that used every token asked for is
//! `Length` too.

mod error;
mod options;
mod reasoning;
mod request;
mod response;
mod stream;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;

pub use self::options::{
    PromptCacheRetention, ReasoningSummary, ResponsesOptions, ResponsesOptionsBuilder,
};
pub use self::stream::StreamDecoder;
use crate::auth::Auth;
use crate::codec::StreamLimits;
use crate::error::Result;
use crate::message::Message;
use crate::options::Options;
use crate::provider::Provider;
use crate::response::GenResponse;
use crate::stream::ResponseStream;
use crate::telemetry::{chat_span, record_usage, trace_input, trace_output};
use crate::transport::{Connection, HttpClient, Request, Timer};

/// The default base URL: OpenAI's API.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The provider's name, in errors and traces (OpenTelemetry's `gen_ai.provider.name`).
const PROVIDER: &str = "openai";

/// The path of the Responses endpoint, relative to the base URL.
const RESPONSES: &str = "responses";

/// A provider for any server that speaks OpenAI's Responses API.
///
/// ```no_run
/// # async fn run() -> llmport::Result<()> {
/// use llmport::{Message, Options, Provider, ResponsesProvider};
/// // OpenAI itself: the key goes in `Authorization: Bearer`.
/// let openai = ResponsesProvider::builder()
///     .api_key(std::env::var("OPENAI_API_KEY").unwrap_or_default())
///     .build()?;
/// // Ollama's Responses endpoint: no key.
/// let local = ResponsesProvider::new("http://localhost:11434/v1")?;
/// let answer = local
///     .generate("gpt-oss:20b", &[Message::user("Hello!")], &Options::default())
///     .await?;
/// println!("{}", answer.text());
/// # let _ = openai;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ResponsesProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    models: Vec<String>,
    limits: StreamLimits,
    trace_content: bool,
}

impl ResponsesProvider {
    /// A provider for the server at `base_url` (up to and including `/v1`, e.g.
    /// `http://localhost:11434/v1`), without credentials and with default settings; use
    /// [`builder`](Self::builder) for more.
    pub fn new(base_url: impl Into<String>) -> Result<Self> {
        Self::builder().base_url(base_url).build()
    }

    /// A builder.
    pub fn builder() -> ResponsesProviderBuilder {
        ResponsesProviderBuilder::default()
    }

    /// The base URL requests go to (`/responses` is appended).
    pub fn base_url(&self) -> &str {
        self.inner.http.base_url()
    }
}

#[async_trait]
impl Provider for ResponsesProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn description(&self) -> &str {
        "OpenAI Responses API"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn models(&self) -> &[String] {
        &self.inner.models
    }

    async fn generate(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<GenResponse> {
        let span = chat_span(PROVIDER, model, options, false);
        async {
            let body = request::responses_request_body(model, messages, options, false)?;
            if self.inner.trace_content {
                trace_input(messages);
            }
            let timer = Timer::start();
            let req = Request::post_json(RESPONSES, body, Some(model));
            let body = self.inner.http.send_for_body(&req).await?;
            let response = response::decode_response(&body, timer, options.max_tokens)?;
            record_usage(&response);
            if self.inner.trace_content {
                trace_output(&response);
            }
            Ok(response)
        }
        .instrument(span)
        .await
    }

    async fn generate_stream(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<ResponseStream> {
        let span = chat_span(PROVIDER, model, options, true);
        async {
            let body = request::responses_request_body(model, messages, options, true)?;
            if self.inner.trace_content {
                trace_input(messages);
            }
            let timer = Timer::start();
            let req = Request::post_json(RESPONSES, body, Some(model));
            let body = self.inner.http.send_for_stream(&req).await?;
            let decoder = StreamDecoder::starting(timer, self.inner.limits, options.max_tokens);
            Ok(ResponseStream::new(
                crate::stream::open(body, decoder, true).await?,
            ))
        }
        .instrument(span)
        .await
    }
}

/// The Responses request body [`ResponsesProvider`]'s `generate` (`stream` false) or
/// `generate_stream` (`stream` true) sends for this conversation.
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub fn encode_responses_request(
    model: &str,
    messages: &[Message],
    options: &Options,
    stream: bool,
) -> Result<Vec<u8>> {
    request::responses_request_body(model, messages, options, stream)
}

/// Builds a [`ResponsesProvider`]. Setters never fail; [`build`](Self::build) checks
/// everything and reports the first problem.
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponsesProviderBuilder {
    conn: Connection,
    models: Vec<String>,
    limits: StreamLimits,
    trace_content: bool,
}

impl Default for ResponsesProviderBuilder {
    fn default() -> Self {
        ResponsesProviderBuilder {
            conn: Connection::new(DEFAULT_BASE_URL),
            models: Vec::new(),
            limits: StreamLimits::default(),
            trace_content: false,
        }
    }
}

impl ResponsesProviderBuilder {
    crate::transport::provider_setters! {
        []
        base_url {
            "The base URL, up to and including `/v1` (e.g. `https://api.openai.com/v1`,"
            "`http://localhost:11434/v1`), as for [`OpenAiProvider`](crate::OpenAiProvider)."
        },
        auth,
        header { "A header sent with every request (e.g. `OpenAI-Organization`)." },
        models, client_options, retry, max_stream_line, max_tool_arguments, trace_content,
    }

    /// An API key, sent as OpenAI wants it: `Authorization: Bearer <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.conn.auth = Auth::bearer(key);
        self
    }

    /// Builds the provider.
    pub fn build(mut self) -> Result<ResponsesProvider> {
        let trimmed = self.conn.base_url.trim_end_matches('/').len();
        self.conn.base_url.truncate(trimmed);
        let http = self
            .conn
            .into_client(&[], Arc::new(error::ResponsesErrors))?;
        Ok(ResponsesProvider {
            inner: Arc::new(Inner {
                http,
                models: self.models,
                limits: self.limits,
                trace_content: self.trace_content,
            }),
        })
    }
}
