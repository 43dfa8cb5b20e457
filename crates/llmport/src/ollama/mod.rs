//! [`OllamaProvider`]: Ollama, through its OpenAI-compatible `/v1` API, and its native
//! `/api/*` API for model management, embeddings and Ollama-only chat options.

mod blobs;
mod capabilities;
mod chat;
mod create;
mod error;
mod generate;
mod host;
mod models;
mod native;
mod options;
mod progress;
mod push;
mod unsupported;
pub(crate) mod web;
mod wire;

use std::borrow::Cow;

use async_trait::async_trait;

pub use self::blobs::file_digest;
pub use self::chat::ChatDecoder;
pub use self::create::{CreateMessage, CreateOptions, CreateOptionsBuilder};
pub use self::generate::{GenerateDecoder, GenerateOptions, GenerateOptionsBuilder};
pub use self::host::parse_ollama_host;
pub use self::models::PullOptionsBuilder;
pub use self::models::{
    LocalModel, ModelDetails, ModelInfo, Progress, PullOptions, PullProgress, RunningModel,
    TensorInfo, ThinkingLevels,
};
pub use self::options::{KeepAlive, OllamaOptions, OllamaOptionsBuilder, Think, ThinkLevel};
pub use self::web::{
    MAX_WEB_RESULTS, WEB_FETCH_TOOL, WEB_SEARCH_TOOL, WebFetchResponse, WebRoute,
    WebSearchResponse, WebSearchResult,
};
use secrecy::SecretString;

pub use self::progress::{ProgressDecoder, ProgressStream, PullDecoder, PullStream};
pub use self::push::{PushOptions, PushOptionsBuilder};
use crate::auth::Auth;
use crate::env::Vars;
use crate::error::Result;
use crate::message::Message;
use crate::openai::{OpenAiProvider, OpenAiProviderBuilder};
use crate::options::Options;
use crate::provider::Provider;
use crate::response::GenResponse;
use crate::stream::ResponseStream;
use crate::transport::HttpClient;

/// Ollama's address when nothing else is configured.
pub const DEFAULT_HOST: &str = "http://localhost:11434";

/// Where Ollama's cloud is when nothing else is configured (see
/// [`OllamaProviderBuilder::cloud_url`]).
pub const CLOUD_URL: &str = "https://ollama.com";

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
/// [`create`](OllamaProvider::create), [`create_from_gguf`](OllamaProvider::create_from_gguf),
/// [`copy`](OllamaProvider::copy), [`push`](OllamaProvider::push),
/// [`unload`](OllamaProvider::unload), the blobs,
/// [`server_version`](OllamaProvider::server_version)) and embeddings
/// ([`Embedder`](crate::Embedder)) use the native API at the server root. All of it shares
/// one connection pool. No credentials are sent unless configured.
///
/// # Ollama's cloud
///
/// [`OllamaProvider::cloud`] talks to `https://ollama.com` (its `/api` and `/v1`) with the
/// API key in `OLLAMA_API_KEY`, sent as `Authorization: Bearer <key>`. The key goes only to
/// the cloud: as `ollama-js` does, it is sent when the provider's server *is* the cloud
/// (`https://ollama.com`, or [`OllamaProviderBuilder::cloud_url`]), and for
/// [web search and fetch](OllamaProvider::web_search), never to a local Ollama or a gateway,
/// and never after a redirect to another origin (the transport follows none). Credentials
/// set with [`OllamaProviderBuilder::auth`] (or `LLMPORT_*` variables) win over the key for
/// the provider's own server. (`ollama-python` sends the key to whatever host it talks to;
/// llmport does not.)
///
/// Cloud models through a local Ollama (`gpt-oss:120b-cloud`, `kimi-k2.5:cloud`) need
/// nothing here: the daemon signs those requests itself after `ollama signin`. When it is not
/// signed in, it answers 401 with a sign-in link: an [`Error::Auth`](crate::Error::Auth)
/// whose [`signin_url`](crate::Error::signin_url) is that link. A used-up cloud allowance
/// (the hourly, session or weekly usage limit) is an
/// [`Error::QuotaExceeded`](crate::Error::QuotaExceeded), never retried; a rate-limit 429 and
/// Ollama's 503 "server busy" (a full queue) are retried.
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
    /// The client for Ollama's cloud web search and fetch: `None` when no credentials for
    /// the cloud are configured.
    web: Option<HttpClient>,
    /// Why there is no `web` client although a key was given (a key that cannot be a header
    /// value): reported by the web calls, so that other calls still work. Never holds the key.
    web_problem: Option<String>,
    /// Where web search and fetch go.
    web_route: WebRoute,
    /// Check the capabilities a request needs against `/api/show` before sending.
    check_capabilities: bool,
    /// Check a `think` level against the model's `thinking.values` before sending.
    check_think_levels: bool,
    /// What `/api/show` said about each model looked up (see `capabilities.rs`).
    facts: capabilities::FactsCache,
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

    /// Ollama's cloud (`https://ollama.com`, its `/api` and `/v1`) with the API key in
    /// `OLLAMA_API_KEY` (or `OLLAMA_API_KEY_FILE`), configured from the process environment
    /// otherwise (time limits, retries, proxy, `LLMPORT_OLLAMA_CLOUD_URL`); `OLLAMA_HOST` and
    /// `LLMPORT_BASE_URL` are not read. Without a key this is an
    /// [`Error::Config`](crate::Error::Config) naming `OLLAMA_API_KEY`.
    ///
    /// ```no_run
    /// # async fn run() -> llmport::Result<()> {
    /// use llmport::{Message, OllamaProvider, Options, Provider};
    /// let cloud = OllamaProvider::cloud()?;
    /// let answer = cloud
    ///     .generate("gpt-oss:120b", &[Message::user("Hi!")], &Options::default())
    ///     .await?;
    /// println!("{}", answer.text());
    /// # Ok(()) }
    /// ```
    pub fn cloud() -> Result<Self> {
        Self::builder().from_vars(std::env::vars()).cloud().build()
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
        self.check_chat(model, messages, options).await?;
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
        self.check_chat(model, messages, options).await?;
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
    check_capabilities: bool,
    check_think_levels: bool,
    inner: OpenAiProviderBuilder,
    /// The ollama.com API key (`Debug` shows `[REDACTED]`).
    api_key: Option<SecretString>,
    /// Where Ollama's cloud is (default [`CLOUD_URL`]).
    cloud_url: Option<String>,
    /// The provider's own server is the cloud ([`OllamaProviderBuilder::cloud`]).
    cloud: bool,
    /// Credentials for the provider's own server were configured (`auth`, an
    /// `Authorization` header, `LLMPORT_*` credentials): they win over the key there.
    explicit_auth: bool,
    /// Where web search and fetch go.
    web_route: WebRoute,
    /// A problem with `OLLAMA_API_KEY(_FILE)` found by `from_vars`: (variable, message).
    key_error: Option<(String, String)>,
}

impl Default for OllamaProviderBuilder {
    fn default() -> Self {
        OllamaProviderBuilder {
            base_url: None,
            host: None,
            lenient: false,
            chat_api: OllamaChatApi::Auto,
            check_capabilities: false,
            check_think_levels: true,
            inner: OpenAiProvider::builder()
                .provider_name("ollama")
                .error_mapping(std::sync::Arc::new(error::OllamaErrors))
                // Ollama's /v1/completions fills in the middle (for `insert` models).
                .completions_suffix(true)
                .description("Ollama (OpenAI-compatible API)"),
            api_key: None,
            cloud_url: None,
            cloud: false,
            explicit_auth: false,
            web_route: WebRoute::Cloud,
            key_error: None,
        }
    }
}

impl OllamaProviderBuilder {
    /// The OpenAI-compatible base URL, including `/v1` (e.g. `http://gpu-box:11434/v1`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self.host = None;
        self.cloud = false;
        self
    }

    /// The server as `OLLAMA_HOST` names it (`host`, `host:port`, `http://host`, …), parsed
    /// with Ollama's own rules; `/v1` is added.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self.base_url = None;
        self.cloud = false;
        self
    }

    /// The server is Ollama's cloud ([`cloud_url`](Self::cloud_url), by default
    /// `https://ollama.com`), reached with the [API key](Self::api_key); `build` fails
    /// without a key (or other credentials).
    pub fn cloud(mut self) -> Self {
        self.cloud = true;
        self.base_url = None;
        self.host = None;
        self
    }

    /// An ollama.com API key (what `OLLAMA_API_KEY` holds; create one at
    /// <https://ollama.com/settings/keys>), sent as `Authorization: Bearer <key>` to
    /// Ollama's cloud only: to this provider's server when that is the cloud (unless
    /// [`auth`](Self::auth) set other credentials), and with web search and fetch. Never
    /// shown in `Debug`, logs or errors.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self.key_error = None;
        self
    }

    /// Where Ollama's cloud is (default [`CLOUD_URL`], `https://ollama.com`; the variable
    /// `LLMPORT_OLLAMA_CLOUD_URL`): for a staging service or a test server. The API key is
    /// sent to this origin, so name only one you trust with it.
    pub fn cloud_url(mut self, url: impl Into<String>) -> Self {
        self.cloud_url = Some(url.into());
        self
    }

    /// Where [web search and fetch](OllamaProvider::web_search) go (default
    /// [`WebRoute::Cloud`]).
    pub fn web_route(mut self, route: WebRoute) -> Self {
        self.web_route = route;
        self
    }

    /// Reads the configuration from environment variables (given as pairs, so tests need not
    /// touch the process environment): where the server is, the credentials, time limits,
    /// retries, proxy and certificates — see the table in the
    /// [crate documentation](crate#configuration-from-the-environment). Unset variables leave
    /// the builder as it is; an invalid value is reported by [`build`](Self::build).
    ///
    /// `LLMPORT_BASE_URL` (the OpenAI-compatible base URL, with `/v1`) wins over
    /// `OLLAMA_HOST` (the server, parsed with Ollama's rules); neither is read after
    /// [`cloud`](Self::cloud). `OLLAMA_API_KEY` (or `OLLAMA_API_KEY_FILE`) is the
    /// [API key](Self::api_key) for Ollama's cloud, `LLMPORT_OLLAMA_CLOUD_URL` its
    /// [address](Self::cloud_url).
    pub fn from_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars = Vars::new(vars);
        // A provider for the cloud stays one, whatever the variables say about a server.
        let server = vars
            .get("LLMPORT_BASE_URL")
            .map(|b| (true, b))
            .or_else(|| vars.get("OLLAMA_HOST").map(|h| (false, h)));
        match server {
            _ if self.cloud => {}
            Some((true, base)) => self = self.base_url(base),
            Some((false, host)) => self = self.host(host),
            None => {}
        }
        if let Some(url) = vars.get("LLMPORT_OLLAMA_CLOUD_URL") {
            self.cloud_url = Some(url.to_owned());
        }
        match vars.secret("OLLAMA_API_KEY") {
            Ok(Some(key)) => self = self.api_key(key),
            Ok(None) => {}
            Err(e) => {
                let setting = e.setting().unwrap_or("OLLAMA_API_KEY").to_owned();
                let message = match e {
                    crate::Error::Config { message, .. } => message,
                    other => other.to_string(),
                };
                self.key_error = Some((setting, message));
            }
        }
        if matches!(crate::env::auth_from(&vars), Ok(Some(_))) {
            self.explicit_auth = true;
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

    /// Check, before sending, that the model has the capabilities a request needs — tools,
    /// images (`vision`), thinking, embeddings, fill-in-the-middle (`insert`) — as
    /// `/api/show` reports them (looked up once per model; skipped when the server cannot
    /// say). Off by default: the server refuses most such requests itself, and the refusal is
    /// the same [`Error::ModelCapability`](crate::Error::ModelCapability); on, the request
    /// fails before anything is generated or loaded, and `vision` (which Ollama does not
    /// check) is caught too. A `think` level is checked against the model's
    /// [`ThinkingLevels`] either way.
    pub fn check_capabilities(mut self, yes: bool) -> Self {
        self.check_capabilities = yes;
        self
    }

    /// Check a `think` level (a string: [`Think::Level`], or a
    /// [`ReasoningEffort`](crate::ReasoningEffort) other than `None`) against the
    /// [`ThinkingLevels`] the server reports for the model, before sending (on by default).
    /// Newer servers replace a level the model does not list with its default without
    /// saying so; the check makes that an [`Error::Unsupported`](crate::Error::Unsupported)
    /// listing the valid values instead. It costs one `/api/show` per model for the
    /// provider's lifetime, and nothing for booleans; turn it off to never spend it.
    pub fn check_think_levels(mut self, yes: bool) -> Self {
        self.check_think_levels = yes;
        self
    }

    /// How requests authenticate (for Ollama behind a proxy or gateway). Wins over the
    /// [API key](Self::api_key) for this provider's server.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.explicit_auth = !matches!(auth, Auth::None);
        self.inner = self.inner.auth(auth);
        self
    }

    /// A header sent with every request to this provider's server (not with web search
    /// and fetch when those go to the cloud elsewhere). An `Authorization` header wins over
    /// the [API key](Self::api_key).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if name.trim().eq_ignore_ascii_case("authorization") {
            self.explicit_auth = true;
        }
        self.inner = self.inner.header(name, value);
        self
    }

    crate::transport::provider_setters! {
        [inner]
        models, description, version, client_options, trace_content, retry,
    }

    /// Builds the provider.
    pub fn build(self) -> Result<OllamaProvider> {
        if let Some((setting, message)) = self.key_error {
            return Err(crate::Error::config_for(setting, message));
        }
        let cloud_root = web::cloud_root(self.cloud_url.as_deref())?;
        let base = match (self.base_url, self.host) {
            _ if self.cloud => format!("{cloud_root}/v1"),
            (Some(b), _) => b.trim_end_matches('/').to_owned(),
            (None, Some(h)) => format!("{}/v1", parse_ollama_host(&h)?),
            (None, None) => format!("{DEFAULT_HOST}/v1"),
        };
        let root = base
            .strip_suffix("/v1")
            .unwrap_or(&base)
            .trim_end_matches('/')
            .to_owned();
        if self.cloud && self.api_key.is_none() && !self.explicit_auth {
            return Err(crate::Error::config_for(
                "OLLAMA_API_KEY",
                "Ollama's cloud needs an API key: set OLLAMA_API_KEY (create one at \
                 https://ollama.com/settings/keys), or pass it with \
                 OllamaProviderBuilder::api_key",
            ));
        }
        let at_cloud = web::same_origin(&root, &cloud_root);
        let mut inner = self.inner;
        // The key goes to the cloud only, and explicit credentials win there.
        if at_cloud
            && !self.explicit_auth
            && let Some(key) = &self.api_key
        {
            inner = inner.auth(Auth::Bearer(key.clone()));
        }
        let openai = inner.base_url(base).build()?;
        let native = openai.http().with_base_url(&root)?;
        let mut web_problem = None;
        let web = if at_cloud && (self.explicit_auth || self.api_key.is_some()) {
            Some(native.with_base_url(&cloud_root)?)
        } else if let Some(key) = self.api_key {
            // Only the web calls need this client: a bad key must not stop the others.
            native
                .for_other_server(&cloud_root, Auth::Bearer(key))
                .map_err(|e| web_problem = Some(e.to_string()))
                .ok()
        } else {
            None
        };
        Ok(OllamaProvider {
            openai,
            root,
            native,
            lenient: self.lenient,
            chat_api: self.chat_api,
            web,
            web_problem,
            web_route: self.web_route,
            check_capabilities: self.check_capabilities,
            check_think_levels: self.check_think_levels,
            facts: capabilities::FactsCache::default(),
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
