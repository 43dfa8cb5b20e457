//! [`AnthropicProvider`]: the Anthropic Messages API (`POST /v1/messages`), spoken by
//! Anthropic and by local servers (Ollama ≥ 0.14, llama.cpp's `llama-server`).
//!
//! What it sends and why:
//!
//! - `max_tokens` is required by the protocol. When [`Options::max_tokens`] is unset,
//!   [`DEFAULT_MAX_TOKENS`] (4096) is sent: every current Claude model allows at least that
//!   many output tokens, it is far above a typical chat answer, and a cut-off answer says so
//!   ([`FinishReason::Length`](crate::FinishReason::Length)) rather than failing.
//! - `top_k`, extended thinking (`thinking.budget_tokens`) and prompt caching ride in the
//!   [`AnthropicOptions`] extension of [`Options`]; `ReasoningEffort::None` sends
//!   `thinking: {"type":"disabled"}`.
//! - [`Options::system`] and every [`Role::System`](crate::Role::System) message become the
//!   top-level `system` text; tool results ([`Role::Tool`](crate::Role::Tool)) travel as
//!   `tool_result` blocks of a user turn; consecutive turns of one role are merged.
//! - [`ResponseFormat::JsonSchema`](crate::ResponseFormat::JsonSchema) is sent as the
//!   structured output `output_config: {"format": {"type": "json_schema", "schema": …}}`;
//!   the answer's text is the JSON.
//! - `thinking` and `redacted_thinking` blocks are kept in the answer's reasoning part and
//!   sent back unmodified in later turns (`reasoning.rs`).
//! - Options the API has no field for (`seed`, penalties, several candidates,
//!   [`ResponseFormat::Json`](crate::ResponseFormat::Json), other providers' extensions) are
//!   refused as [`Error::Unsupported`](crate::Error::Unsupported).

mod error;
mod options;
mod reasoning;
mod request;
mod response;
mod stream;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderName, HeaderValue};
use tracing::Instrument;

pub use self::options::{AnthropicOptions, AnthropicOptionsBuilder};
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

/// The default base URL: Anthropic's API.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` header sent with every request.
pub const API_VERSION: &str = "2023-06-01";

/// The `max_tokens` sent when [`Options::max_tokens`] is unset (the protocol requires one):
/// see the [module documentation](self).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The provider's name, in errors and traces.
const PROVIDER: &str = "anthropic";

/// The path of the Messages endpoint, relative to the base URL.
const MESSAGES: &str = "v1/messages";

/// A provider for any server that speaks Anthropic's Messages API.
///
/// ```no_run
/// # async fn run() -> llmport::Result<()> {
/// use llmport::{AnthropicProvider, Message, Options, Provider};
/// // Anthropic itself: the key goes in `x-api-key`.
/// let claude = AnthropicProvider::builder()
///     .api_key(std::env::var("ANTHROPIC_API_KEY").unwrap_or_default())
///     .build()?;
/// // Ollama's Messages endpoint: no key.
/// let local = AnthropicProvider::new("http://localhost:11434")?;
/// let answer = local
///     .generate("qwen3-coder", &[Message::user("Hello!")], &Options::default())
///     .await?;
/// println!("{}", answer.text());
/// # let _ = claude;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AnthropicProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    models: Vec<String>,
    limits: StreamLimits,
    trace_content: bool,
}

impl AnthropicProvider {
    /// A provider for the server at `base_url` (its root, e.g. `http://localhost:11434`; a
    /// trailing `/v1` is dropped), without credentials and with default settings; use
    /// [`builder`](Self::builder) for more.
    pub fn new(base_url: impl Into<String>) -> Result<Self> {
        Self::builder().base_url(base_url).build()
    }

    /// A builder.
    pub fn builder() -> AnthropicProviderBuilder {
        AnthropicProviderBuilder::default()
    }

    /// The base URL requests go to (`/v1/messages` is appended).
    pub fn base_url(&self) -> &str {
        self.inner.http.base_url()
    }
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn description(&self) -> &str {
        "Anthropic Messages API"
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
            let body = request::messages_request_body(model, messages, options, false)?;
            if self.inner.trace_content {
                trace_input(messages);
            }
            let timer = Timer::start();
            let req = Request::post_json(MESSAGES, body, Some(model));
            let body = self.inner.http.send_for_body(&req).await?;
            let response = response::decode_message(&body, timer)?;
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
            let body = request::messages_request_body(model, messages, options, true)?;
            if self.inner.trace_content {
                trace_input(messages);
            }
            let timer = Timer::start();
            let req = Request::post_json(MESSAGES, body, Some(model));
            let body = self.inner.http.send_for_stream(&req).await?;
            let decoder = StreamDecoder::starting(timer, self.inner.limits);
            Ok(ResponseStream::new(
                crate::stream::open(body, decoder, true).await?,
            ))
        }
        .instrument(span)
        .await
    }
}

/// The Messages request body [`AnthropicProvider`]'s `generate` (`stream` false) or
/// `generate_stream` (`stream` true) sends for this conversation.
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub fn encode_messages_request(
    model: &str,
    messages: &[Message],
    options: &Options,
    stream: bool,
) -> Result<Vec<u8>> {
    request::messages_request_body(model, messages, options, stream)
}

/// Builds an [`AnthropicProvider`]. Setters never fail; [`build`](Self::build) checks
/// everything and reports the first problem.
#[derive(Debug, Clone)]
#[must_use]
pub struct AnthropicProviderBuilder {
    conn: Connection,
    models: Vec<String>,
    limits: StreamLimits,
    trace_content: bool,
}

impl Default for AnthropicProviderBuilder {
    fn default() -> Self {
        AnthropicProviderBuilder {
            conn: Connection::new(DEFAULT_BASE_URL),
            models: Vec::new(),
            limits: StreamLimits::default(),
            trace_content: false,
        }
    }
}

impl AnthropicProviderBuilder {
    crate::transport::provider_setters! {
        []
        base_url {
            "The server's root URL (e.g. `https://api.anthropic.com`, `http://localhost:11434`);"
            "a trailing `/v1` is dropped, since requests go to `{base}/v1/messages`."
        },
        auth,
        header {
            "A header sent with every request (e.g. `anthropic-beta`; an `anthropic-version`"
            "given here replaces [`API_VERSION`])."
        },
        models, client_options, retry, max_stream_line,
        max_tool_arguments { "The largest tool-call input assembled from a stream (default 16 MiB)." },
        trace_content,
    }

    /// An API key, sent as Anthropic wants it: `x-api-key: <key>`. (Ollama's hosted API
    /// wants a Bearer token instead: use [`auth`](Self::auth) with [`Auth::bearer`].)
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.conn.auth = Auth::api_key("x-api-key", key);
        self
    }

    /// Builds the provider.
    pub fn build(mut self) -> Result<AnthropicProvider> {
        let base = self.conn.base_url.trim_end_matches('/');
        self.conn.base_url = base.strip_suffix("/v1").unwrap_or(base).to_owned();
        // A `.header("anthropic-version", …)` replaces the default version.
        let version = (
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        let http = self
            .conn
            .into_client(&[version], Arc::new(error::AnthropicErrors))?;
        Ok(AnthropicProvider {
            inner: Arc::new(Inner {
                http,
                models: self.models,
                limits: self.limits,
                trace_content: self.trace_content,
            }),
        })
    }
}
