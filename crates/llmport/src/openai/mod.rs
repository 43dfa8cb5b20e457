//! [`OpenAiProvider`]: the OpenAI Chat Completions API, spoken by OpenAI and by most local
//! servers (Ollama's `/v1`, llama.cpp, vLLM, LM Studio, …).

mod completions;
mod embed;
pub(crate) mod error;
mod models;
pub(crate) mod request;
mod response;
mod stream;
mod tool_calls;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument;

pub use self::completions::CompletionsDecoder;
pub use self::models::ModelEntry;
pub use self::stream::StreamDecoder;
/// Borrowed JSON strings; Ollama's native chat chunks use it too.
use crate::auth::Auth;
use crate::codec::StreamLimits;
use crate::env::{self, Vars};
use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::Options;
use crate::provider::Provider;
use crate::response::GenResponse;
use crate::stream::ResponseStream;
use crate::telemetry::{chat_span, record_usage, trace_input, trace_output};
use crate::transport::{Connection, ErrorMapping, HttpClient, Request, Timer};

/// The default base URL: OpenAI's API.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// A provider for any server that speaks OpenAI's Chat Completions API.
///
/// ```no_run
/// # async fn run() -> llmport::Result<()> {
/// use llmport::{Message, OpenAiProvider, Options, Provider};
/// let provider = OpenAiProvider::builder()
///     .base_url("http://localhost:8080/v1")
///     .api_key("sk-…")
///     .build()?;
/// let answer = provider
///     .generate("gpt-4o-mini", &[Message::user("Hello!")], &Options::default())
///     .await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OpenAiProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    name: &'static str,
    description: String,
    version: String,
    models: Vec<String>,
    limits: StreamLimits,
    trace_content: bool,
    /// The server honours `suffix` on `/v1/completions` (see `completions.rs`).
    completions_suffix: bool,
}

impl OpenAiProvider {
    /// A provider for the server at `base_url` (up to and including `/v1`, e.g.
    /// `http://localhost:8080/v1`), without credentials and with default settings; use
    /// [`builder`](Self::builder) for more.
    pub fn new(base_url: impl Into<String>) -> Result<Self> {
        Self::builder().base_url(base_url).build()
    }

    /// A builder.
    pub fn builder() -> OpenAiProviderBuilder {
        OpenAiProviderBuilder::default()
    }

    /// The base URL requests go to (e.g. `http://localhost:11434/v1`).
    pub fn base_url(&self) -> &str {
        self.inner.http.base_url()
    }

    /// The HTTP client (for the Ollama provider's native calls, which share its pool).
    pub(crate) fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The limits applied to streamed answers.
    pub(crate) fn stream_limits(&self) -> StreamLimits {
        self.inner.limits
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        self.inner.name
    }

    fn description(&self) -> &str {
        &self.inner.description
    }

    fn version(&self) -> &str {
        &self.inner.version
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
        let span = chat_span(self.inner.name, model, options, false);
        async {
            let body =
                request::chat_request_body(self.inner.name, model, messages, options, false)?;
            if self.inner.trace_content {
                trace_input(messages);
            }
            let timer = Timer::start();
            let req = Request::post_json("chat/completions", body, Some(model));
            let body = self.inner.http.send_for_body(&req).await?;
            let response = response::decode_completion(&body, timer)?;
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
        let span = chat_span(self.inner.name, model, options, true);
        async {
            let body = request::chat_request_body(self.inner.name, model, messages, options, true)?;
            if self.inner.trace_content {
                trace_input(messages);
            }
            let timer = Timer::start();
            let req = Request::post_json("chat/completions", body, Some(model));
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

/// The Chat Completions request body [`OpenAiProvider`]'s `generate` (`stream: false`) or
/// `generate_stream` (`stream: true`) sends for this conversation: for tests and the request
/// benchmark (`benches/request.rs`), which measure exactly what a call encodes.
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub fn encode_chat_request(
    model: &str,
    messages: &[Message],
    options: &Options,
    stream: bool,
) -> Result<Vec<u8>> {
    request::chat_request_body("openai", model, messages, options, stream)
}

/// Builds an [`OpenAiProvider`]. Setters never fail; [`OpenAiProviderBuilder::build`] checks
/// everything and reports the first problem.
///
/// The fields the shared setters write are `pub(crate)`: the Ollama provider's builder wraps
/// this one and writes them through the same setters' macro.
#[derive(Debug, Clone)]
#[must_use]
pub struct OpenAiProviderBuilder {
    pub(crate) conn: Connection,
    pub(crate) models: Vec<String>,
    name: &'static str,
    pub(crate) description: Option<String>,
    pub(crate) version: Option<String>,
    limits: StreamLimits,
    pub(crate) trace_content: bool,
    completions_suffix: bool,
    /// How error answers become errors (the Ollama provider gives its own).
    errors: Arc<dyn ErrorMapping>,
    /// The first configuration error found by a setter, reported by `build()` as it is.
    config_error: Option<FirstError>,
}

impl Default for OpenAiProviderBuilder {
    fn default() -> Self {
        OpenAiProviderBuilder {
            conn: Connection::new(DEFAULT_BASE_URL),
            models: Vec::new(),
            name: "openai",
            description: None,
            version: None,
            limits: StreamLimits::default(),
            trace_content: false,
            completions_suffix: false,
            errors: Arc::new(error::OpenAiErrors),
            config_error: None,
        }
    }
}

impl OpenAiProviderBuilder {
    crate::transport::provider_setters! {
        []
        base_url { "The base URL, up to and including `/v1` (e.g. `http://localhost:8080/v1`)." },
        auth, header, models, description, version, client_options, retry, max_stream_line,
        max_tool_arguments, trace_content,
    }

    /// Reads the configuration from environment variables (given as pairs, so tests need not
    /// touch the process environment): `LLMPORT_BASE_URL`, the credentials, time limits,
    /// retries, proxy and certificates of the table in the
    /// [crate documentation](crate#configuration-from-the-environment). Unset variables leave
    /// the builder as it is; an invalid value is reported by [`build`](Self::build).
    pub fn from_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = Vars::new(vars);
        if let Some(url) = vars.get("LLMPORT_BASE_URL") {
            self.conn.base_url = url.to_owned();
        }
        self.apply_vars(&vars)
    }

    /// Applies the credential, client and retry variables (everything but the base URL).
    pub(crate) fn apply_vars(mut self, vars: &Vars) -> Self {
        let conn = &self.conn;
        let result = (|| {
            let auth = env::auth_from(vars)?;
            let client = env::client_options_from(conn.client.clone(), vars)?;
            let retry = env::retry_from(conn.retry.clone(), vars)?;
            Ok::<_, Error>((auth, client, retry))
        })();
        match result {
            Ok((auth, client, retry)) => {
                if let Some(auth) = auth {
                    self.conn.auth = auth;
                }
                self.conn.client = client;
                self.conn.retry = retry;
            }
            Err(e) => self.fail(e),
        }
        self
    }

    /// Keeps the first configuration error for `build()`.
    fn fail(&mut self, e: Error) {
        if self.config_error.is_none() {
            self.config_error = Some(FirstError(e));
        }
    }

    /// An API key, sent as `Authorization: Bearer <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.conn.auth = Auth::bearer(key);
        self
    }

    /// Whether the server honours `suffix` (fill-in-the-middle) on `/v1/completions`
    /// (default `false`). Servers such as llama.cpp accept a suffix there and silently ignore
    /// it, so by default a [`CompletionRequest`](crate::CompletionRequest) with a suffix is
    /// refused ([`Error::Unsupported`]) rather than answered as if there were no text after
    /// the gap. Set it for servers that fill in the middle there: OpenAI's models that
    /// support it, Ollama's `/v1` (for a model with the `insert` capability).
    pub fn completions_suffix(mut self, honoured: bool) -> Self {
        self.completions_suffix = honoured;
        self
    }

    /// The provider name used in errors and traces (the Ollama provider sets `ollama`).
    pub(crate) fn provider_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// How error answers become errors (the Ollama provider sets its own).
    pub(crate) fn error_mapping(mut self, errors: Arc<dyn ErrorMapping>) -> Self {
        self.errors = errors;
        self
    }

    /// Builds the provider.
    pub fn build(self) -> Result<OpenAiProvider> {
        if let Some(FirstError(e)) = self.config_error {
            return Err(e);
        }
        let http = self.conn.into_client(&[], self.errors)?;
        Ok(OpenAiProvider {
            inner: Arc::new(Inner {
                http,
                name: self.name,
                description: self
                    .description
                    .unwrap_or_else(|| "OpenAI Chat Completions API".to_owned()),
                version: self
                    .version
                    .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
                models: self.models,
                limits: self.limits,
                trace_content: self.trace_content,
                completions_suffix: self.completions_suffix,
            }),
        })
    }
}

/// A builder's first error, kept whole (variant, setting and source) for `build()`.
///
/// `Error` is not `Clone` (its source is a boxed error); a cloned builder gets a copy with
/// the same variant, setting and message and the source's text as its source.
#[derive(Debug)]
struct FirstError(Error);

impl Clone for FirstError {
    fn clone(&self) -> Self {
        let source = std::error::Error::source(&self.0)
            .map(|s| -> crate::error::BoxError { s.to_string().into() });
        FirstError(match &self.0 {
            Error::Config {
                setting, message, ..
            } => Error::Config {
                setting: setting.clone(),
                message: message.clone(),
                source,
            },
            other => Error::Config {
                setting: None,
                message: other.to_string(),
                source,
            },
        })
    }
}
