//! [`OllamaProvider`]: Ollama, through its OpenAI-compatible `/v1` API, and its native
//! `/api/*` API for model management, embeddings and Ollama-only chat options.

mod chat;
mod error;
mod generate;
mod host;
mod models;
mod native;
mod options;
mod unsupported;
mod wire;

use std::borrow::Cow;

use async_trait::async_trait;

pub use self::chat::ChatDecoder;
pub use self::generate::{GenerateDecoder, GenerateOptions, GenerateOptionsBuilder};
pub use self::host::parse_ollama_host;
pub use self::models::PullOptionsBuilder;
pub use self::models::{
    LocalModel, ModelDetails, ModelInfo, PullOptions, PullProgress, RunningModel, TensorInfo,
};
pub use self::native::{PullDecoder, PullStream};
pub use self::options::{KeepAlive, OllamaOptions, OllamaOptionsBuilder, Think, ThinkLevel};
use crate::auth::Auth;
use crate::env::Vars;
use crate::error::Result;
use crate::message::Message;
use crate::openai::{OpenAiProvider, OpenAiProviderBuilder};
use crate::options::Options;
use crate::provider::Provider;
use crate::response::GenResponse;
use crate::stream::ResponseStream;
use crate::transport::{ClientOptions, HttpClient, RetryConfig};

/// Ollama's address when nothing else is configured.
pub const DEFAULT_HOST: &str = "http://localhost:11434";

/// Which of Ollama's two chat APIs a chat goes to. Both answer with the same
/// [`GenResponse`] shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OllamaChatApi {
    /// The native `/api/chat` when the call's [`Options`] carry an [`OllamaOptions`]
    /// extension with any setting made (only the native API honours them), the
    /// OpenAI-compatible `/v1/chat/completions` otherwise. The default.
    #[default]
    Auto,
    /// Always the native `/api/chat`.
    Native,
    /// Always `/v1/chat/completions`; an [`OllamaOptions`] extension with a setting made is
    /// refused ([`Error::Unsupported`](crate::Error::Unsupported)), or dropped with a
    /// warning in [lenient](OllamaProviderBuilder::lenient) mode.
    OpenAiCompatible,
}

/// Talks to an Ollama server.
///
/// Chat goes to one of Ollama's two chat APIs, as [`OllamaChatApi`] (set with
/// [`OllamaProviderBuilder::chat_api`]) decides: by default the OpenAI-compatible API
/// (`<host>/v1`), handled by the wrapped [`OpenAiProvider`], unless the call carries
/// [`OllamaOptions`] (`num_ctx`, `keep_alive`, …), which `/v1` would ignore: then Ollama's
/// native `/api/chat`, with the same [`GenResponse`] shape. Model management ([`list_models`](OllamaProvider::list_models),
/// [`show`](OllamaProvider::show), [`pull`](OllamaProvider::pull),
/// [`delete`](OllamaProvider::delete), [`running`](OllamaProvider::running),
/// [`server_version`](OllamaProvider::server_version)) and embeddings
/// ([`Embedder`](crate::Embedder)) use the native API at the server root. All of it shares
/// one connection pool. No credentials are sent unless configured.
///
/// ```no_run
/// # async fn run() -> llmport::Result<()> {
/// use llmport::{Message, OllamaProvider, Options, Provider, Role};
/// let ollama = OllamaProvider::new()?; // http://localhost:11434/v1
/// let answer = ollama
///     .generate("llama3.2", &[Message::text(Role::User, "Why is the sky blue?")], &Options::default())
///     .await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OllamaProvider {
    openai: OpenAiProvider,
    root: String,
    /// The client of `openai`, bound to the root URL, for the native `/api/*` endpoints.
    native: HttpClient,
    /// Drop (with a warning) what Ollama's `/v1` would ignore, instead of refusing it.
    lenient: bool,
    /// Which chat API a chat goes to.
    chat_api: OllamaChatApi,
}

impl OllamaProvider {
    /// Ollama at `http://localhost:11434/v1`, no credentials, default client settings.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// A builder.
    pub fn builder() -> OllamaProviderBuilder {
        OllamaProviderBuilder::default()
    }

    /// Configured from the process environment; see [`OllamaProviderBuilder::from_vars`].
    pub fn from_env() -> Result<Self> {
        Self::builder().from_vars(std::env::vars()).build()
    }

    /// The server's root URL (without `/v1`), where the native `/api/*` endpoints live.
    pub fn root_url(&self) -> &str {
        &self.root
    }

    /// The OpenAI-compatible base URL (`<root>/v1`).
    pub fn base_url(&self) -> &str {
        self.openai.base_url()
    }

    /// Which chat API a chat goes to.
    pub fn chat_api(&self) -> OllamaChatApi {
        self.chat_api
    }

    /// Whether this chat goes to the native `/api/chat` (see [`OllamaChatApi`]).
    fn uses_native_chat(&self, options: &Options) -> bool {
        match self.chat_api {
            OllamaChatApi::Native => true,
            OllamaChatApi::OpenAiCompatible => false,
            OllamaChatApi::Auto => options
                .extension::<OllamaOptions>()
                .is_some_and(OllamaOptions::is_set),
        }
    }

    /// The wrapped OpenAI-compatible provider.
    pub fn openai(&self) -> &OpenAiProvider {
        &self.openai
    }

    /// Refuses what Ollama's `/v1` chat API would silently ignore or answer with a 400 (the
    /// tables are in `unsupported.rs`). Returns the options to send: in lenient mode, without the ignored
    /// ones.
    fn check_v1_request<'a>(
        &self,
        messages: &[Message],
        options: &'a Options,
    ) -> Result<Cow<'a, Options>> {
        unsupported::check_images(messages)?;
        unsupported::check_v1_options(options, self.lenient)
    }
}

#[async_trait]
impl Provider for OllamaProvider {
    fn name(&self) -> &str {
        "ollama"
    }

    fn description(&self) -> &str {
        self.openai.description()
    }

    fn version(&self) -> &str {
        self.openai.version()
    }

    fn models(&self) -> &[String] {
        self.openai.models()
    }

    async fn generate(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<GenResponse> {
        // Ranges first: a bad value is the caller's to fix whichever API would carry it.
        options.validate()?;
        if self.uses_native_chat(options) {
            unsupported::check_images(messages)?;
            return self.native_generate(model, messages, options).await;
        }
        let options = self.check_v1_request(messages, options)?;
        self.openai.generate(model, messages, &options).await
    }

    async fn generate_stream(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<ResponseStream> {
        // Ranges first: a bad value is the caller's to fix whichever API would carry it.
        options.validate()?;
        if self.uses_native_chat(options) {
            unsupported::check_images(messages)?;
            return self.native_generate_stream(model, messages, options).await;
        }
        let options = self.check_v1_request(messages, options)?;
        self.openai.generate_stream(model, messages, &options).await
    }
}

/// Builds an [`OllamaProvider`]. Setters never fail; [`OllamaProviderBuilder::build`] checks
/// everything and reports the first problem.
#[derive(Debug, Clone)]
#[must_use]
pub struct OllamaProviderBuilder {
    base_url: Option<String>,
    host: Option<String>,
    lenient: bool,
    chat_api: OllamaChatApi,
    inner: OpenAiProviderBuilder,
}

impl Default for OllamaProviderBuilder {
    fn default() -> Self {
        OllamaProviderBuilder {
            base_url: None,
            host: None,
            lenient: false,
            chat_api: OllamaChatApi::Auto,
            inner: OpenAiProvider::builder()
                .provider_name("ollama")
                .error_mapping(std::sync::Arc::new(error::OllamaErrors))
                // Ollama's /v1/completions fills in the middle (for `insert` models).
                .completions_suffix(true)
                .description("Ollama (OpenAI-compatible API)"),
        }
    }
}

impl OllamaProviderBuilder {
    /// The OpenAI-compatible base URL, including `/v1` (e.g. `http://gpu-box:11434/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self.host = None;
        self
    }

    /// The server as `OLLAMA_HOST` names it (`host`, `host:port`, `http://host`, …), parsed
    /// with Ollama's own rules; `/v1` is added.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self.base_url = None;
        self
    }

    /// Reads the configuration from environment variables (given as pairs, so tests need not
    /// touch the process environment): where the server is, the credentials, time limits,
    /// retries, proxy and certificates — see the table in the
    /// [crate documentation](crate#configuration-from-the-environment). Unset variables leave
    /// the builder as it is; an invalid value is reported by [`build`](Self::build).
    ///
    /// `LLMPORT_BASE_URL` (the OpenAI-compatible base URL, with `/v1`) wins over
    /// `OLLAMA_HOST` (the server, parsed with Ollama's rules).
    pub fn from_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = Vars::new(vars);
        if let Some(b) = vars.get("LLMPORT_BASE_URL") {
            self = self.base_url(b);
        } else if let Some(h) = vars.get("OLLAMA_HOST") {
            self = self.host(h);
        }
        self.inner = self.inner.apply_vars(&vars);
        self
    }

    /// What to do with options Ollama's `/v1` API would silently ignore (`n` > 1,
    /// `tool_choice` other than auto, `max_completion_tokens`, `logit_bias`, `user`, the
    /// native knobs such as `num_ctx` put in [`Options::extra`], …; the error names the
    /// option and says what to do instead). By default (`false`) such
    /// an option is an [`Error::Unsupported`](crate::Error::Unsupported) naming it; lenient mode drops it and logs a
    /// `tracing` warning instead. Images Ollama cannot take are refused either way.
    pub fn lenient(mut self, yes: bool) -> Self {
        self.lenient = yes;
        self
    }

    /// Which chat API chats go to (default [`OllamaChatApi::Auto`]).
    pub fn chat_api(mut self, api: OllamaChatApi) -> Self {
        self.chat_api = api;
        self
    }

    /// How requests authenticate (for Ollama behind a proxy or gateway).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.inner = self.inner.auth(auth);
        self
    }

    /// A header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner = self.inner.header(name, value);
        self
    }

    /// The models this provider offers (informational: [`Provider::models`]).
    pub fn models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner = self.inner.models(models);
        self
    }

    /// The description returned by [`Provider::description`].
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.inner = self.inner.description(d);
        self
    }

    /// The version returned by [`Provider::version`].
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.inner = self.inner.version(v);
        self
    }

    /// HTTP client settings (timeouts, proxy, TLS, …).
    pub fn client_options(mut self, options: ClientOptions) -> Self {
        self.inner = self.inner.client_options(options);
        self
    }

    /// Also put message content into the traces (off by default); see
    /// [`OpenAiProviderBuilder::trace_content`].
    pub fn trace_content(mut self, yes: bool) -> Self {
        self.inner = self.inner.trace_content(yes);
        self
    }

    /// Retry settings.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.inner = self.inner.retry(retry);
        self
    }

    /// Builds the provider.
    pub fn build(self) -> Result<OllamaProvider> {
        let base = match (self.base_url, self.host) {
            (Some(b), _) => b.trim_end_matches('/').to_owned(),
            (None, Some(h)) => format!("{}/v1", parse_ollama_host(&h)?),
            (None, None) => format!("{DEFAULT_HOST}/v1"),
        };
        let root = base
            .strip_suffix("/v1")
            .unwrap_or(&base)
            .trim_end_matches('/')
            .to_owned();
        let openai = self.inner.base_url(base).build()?;
        let native = openai.http().with_base_url(&root)?;
        Ok(OllamaProvider {
            openai,
            root,
            native,
            lenient: self.lenient,
            chat_api: self.chat_api,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn defaults_to_localhost_v1() {
        let p = OllamaProvider::new().unwrap();
        assert_eq!(p.base_url(), "http://localhost:11434/v1");
        assert_eq!(p.root_url(), "http://localhost:11434");
        assert_eq!(p.name(), "ollama");
    }

    #[test]
    fn from_vars_reads_ollama_host_and_base_url() {
        let p = OllamaProvider::builder()
            .from_vars([("OLLAMA_HOST", "http://gpu-box")])
            .build()
            .unwrap();
        assert_eq!(p.base_url(), "http://gpu-box:80/v1");
        let p = OllamaProvider::builder()
            .from_vars([
                ("OLLAMA_HOST", "gpu-box"),
                ("LLMPORT_BASE_URL", "https://gw.example.com/ollama/v1/"),
            ])
            .build()
            .unwrap();
        assert_eq!(p.base_url(), "https://gw.example.com/ollama/v1");
        assert_eq!(p.root_url(), "https://gw.example.com/ollama");
        let p = OllamaProvider::builder()
            .from_vars([("OLLAMA_HOST", "")])
            .build()
            .unwrap();
        assert_eq!(p.base_url(), "http://localhost:11434/v1");
    }

    #[test]
    fn bad_base_url_is_a_config_error() {
        let e = OllamaProvider::builder()
            .base_url("not a url")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
    }
}
