//! llmport: one provider-agnostic way to talk to generative-AI models, with Ollama first.
//!
//! # Quick start
//!
//! Start Ollama (`ollama serve`, then `ollama pull llama3.2`), add `llmport` and `tokio` to
//! `Cargo.toml`, and run:
//!
//! ```no_run
//! use llmport::{Message, OllamaProvider, Options, Provider, Role};
//!
//! async fn ask() -> Result<(), llmport::Error> {
//!     // Where Ollama is: OLLAMA_HOST, else http://localhost:11434 (no auth).
//!     let ollama = OllamaProvider::from_env()?;
//!     let options = Options::builder().max_tokens(200).temperature(0.7).build();
//!     let answer = ollama
//!         .generate(
//!             "llama3.2",
//!             &[Message::text(Role::User, "Why is the sky blue?")],
//!             &options,
//!         )
//!         .await?;
//!     println!("{}", answer.text());
//!     if let Some(tokens) = answer.meta.output_tokens() {
//!         eprintln!("{tokens} tokens in {:?}", answer.meta.total_time.unwrap_or_default());
//!     }
//!     Ok(())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), llmport::Report> {
//!     // On failure Rust prints the report: what failed and what to do, e.g. "cannot
//!     // reach Ollama at http://localhost:11434 — is `ollama serve` running?", then
//!     // its causes; the exit status is 1.
//!     Ok(ask().await?)
//! }
//! ```
//!
//! Streaming: [`Provider::generate_stream`] returns a [`ResponseStream`] of chunks.
//!
//! ```no_run
//! use futures::StreamExt;
//! use llmport::{Message, OllamaProvider, Options, Provider};
//! # async fn run() -> llmport::Result<()> {
//! let ollama = OllamaProvider::new()?;
//! let mut stream = ollama
//!     .generate_stream("llama3.2", &[Message::user("Tell me a story.")], &Options::default())
//!     .await?;
//! while let Some(chunk) = stream.next().await {
//!     print!("{}", chunk?.text()); // an error mid-stream arrives here, typed
//! }
//! # Ok(()) }
//! ```
//!
//! # The shape
//!
//! - [`Message`]s made of [`Part`]s (text, file URI, binary with a MIME type, tool call, tool
//!   result, reasoning), sent with typed [`Options`].
//! - A [`Provider`] trait (object-safe: `Arc<dyn Provider>`) with [`Provider::generate`] and
//!   [`Provider::generate_stream`].
//! - [`OpenAiProvider`] for any OpenAI Chat Completions server, and [`OllamaProvider`], which
//!   wraps it for Ollama.
//! - [`AnthropicProvider`] for the Anthropic Messages API (Anthropic, Ollama's and
//!   llama.cpp's `/v1/messages`), with its own settings in [`anthropic::AnthropicOptions`].
//! - [`ResponsesProvider`] for OpenAI's Responses API (OpenAI, Ollama's and llama.cpp's
//!   `/v1/responses`), with its own settings in [`responses::ResponsesOptions`].
//! - [`GenResponse`] with [`Candidate`]s, a [`FinishReason`] and [`ResponseMeta`] (token counts,
//!   time to first token, total time).
//! - Tools: [`Tool::for_type`] declares a function whose parameters are a Rust type's JSON
//!   Schema; the model's calls come back as [`ToolCall`]s (in a stream, each one once it is
//!   complete), [`ToolCall::parse_arguments`] reads them back into the type, and
//!   [`Message::tool_result`] answers them (`examples/tools.rs` is a whole round trip).
//! - Structured output: [`ResponseFormat`], and [`ProviderExt::generate_json`] to get a
//!   typed value back (derive `serde::Deserialize` and [`schemars`]' `JsonSchema`, which
//!   llmport re-exports, on the type).
//! - Embeddings: the [`Embedder`] trait.
//! - Prompt completion, including fill-in-the-middle: the [`Completer`] trait (Ollama's
//!   `/api/generate`, `/v1/completions`).
//! - Token log probabilities: [`Options::logprobs`] and [`Options::top_logprobs`], returned
//!   as [`Candidate::logprobs`].
//! - Options a server would silently ignore are refused: [`Error::Unsupported`] names them.
//! - One [`Error`] type, classified by what the caller can do about it.
//!
//! # Authentication, TLS, time limits and retries
//!
//! Ollama needs no credentials, but one behind nginx, Caddy or an API gateway does. Every
//! [`Auth`] scheme is applied on every attempt: HTTP Basic, a Bearer token, an API key in a
//! header of the gateway's choosing, OAuth 2.0 client credentials
//! ([`auth::ClientCredentials`]: tokens cached, refreshed before they expire, one fetch at a
//! time, one retry after a 401), or headers from your own [`auth::CredentialProvider`].
//! [`ClientOptions`] holds the TLS settings (extra root CAs, a client certificate for mutual
//! TLS), the proxy and the time limits, split by phase so that a long generation is never cut
//! off; [`RetryConfig`] says what is retried. Secrets never appear in `Debug`, `Display`,
//! errors or traces.
//!
//! ```no_run
//! use std::time::Duration;
//! use llmport::{Auth, ClientOptions, OllamaProvider, RetryConfig};
//! # fn run() -> llmport::Result<()> {
//! let ollama = OllamaProvider::builder()
//!     .host("https://ollama.internal.example:8443")
//!     .auth(Auth::basic("ann", std::env::var("OLLAMA_PASSWORD").unwrap_or_default()))
//!     .client_options(
//!         ClientOptions::builder()
//!             .ca_cert_file("/etc/ssl/private-ca.pem")
//!             .connect_timeout(Duration::from_secs(5))
//!             .idle_timeout(Duration::from_secs(60))
//!             .build(),
//!     )
//!     .retry(RetryConfig::builder().max_retries(4).build())
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! # Configuration from the environment
//!
//! [`OllamaProvider::from_env`] (and the builders' `from_vars`, which take the variables as
//! pairs) read these variables. Values are trimmed; empty means unset. Every secret can also
//! come from a file: `NAME_FILE` holds the path of a file with the value (a mounted
//! Kubernetes secret), and setting both is an error. Setting credentials of two kinds at
//! once is an error too.
//!
//! | variable | meaning |
//! |---|---|
//! | `LLMPORT_BASE_URL` | the OpenAI-compatible base URL, with `/v1` (wins over `OLLAMA_HOST`) |
//! | `OLLAMA_HOST` | the Ollama server, with Ollama's own parsing rules (`host:port`, `https://host`, …) |
//! | `OLLAMA_API_KEY` | an ollama.com API key: `Authorization: Bearer <key>` to Ollama's cloud only (the provider's server when that is the cloud, web search/fetch, and the Messages and Responses APIs at the cloud: [`env::api_auth`]); see [`OllamaProvider::cloud`] |
//! | `LLMPORT_OLLAMA_CLOUD_URL` | where Ollama's cloud is (default `https://ollama.com`; for tests and staging) |
//! | `LLMPORT_BEARER_TOKEN` | `Authorization: Bearer <token>` |
//! | `LLMPORT_API_KEY` | an API key, sent as `Authorization: Bearer <key>` unless… |
//! | `LLMPORT_API_KEY_HEADER` | …this names another header for it, e.g. `X-API-Key` |
//! | `LLMPORT_BASIC_USER`, `LLMPORT_BASIC_PASSWORD` | HTTP Basic authentication |
//! | `LLMPORT_OAUTH2_TOKEN_URL` | OAuth 2.0 client credentials: the token endpoint |
//! | `LLMPORT_OAUTH2_CLIENT_ID`, `LLMPORT_OAUTH2_CLIENT_SECRET` | the client's id and secret |
//! | `LLMPORT_OAUTH2_SCOPES` | scopes to ask for, separated by spaces or commas |
//! | `LLMPORT_OAUTH2_CLIENT_AUTH` | `basic` (default: HTTP Basic) or `body` (id and secret in the form) |
//! | `LLMPORT_OAUTH2_PARAMS` | extra token-request parameters, form-encoded: `audience=https%3A%2F%2Fllm&resource=x` |
//! | `LLMPORT_CONNECT_TIMEOUT` | connection set-up limit (default 10s) |
//! | `LLMPORT_FIRST_BYTE_TIMEOUT` | limit from request to response headers (default 5m) |
//! | `LLMPORT_IDLE_TIMEOUT` | longest time a stream may go without progress — a token, a tool-call fragment, a finish; keep-alives do not count — or a body without data (default 2m) |
//! | `LLMPORT_TOTAL_TIMEOUT` | deadline of a whole non-streaming call (default none) |
//! | `LLMPORT_STREAM_TIMEOUT` | deadline of a whole streamed answer (default none) |
//! | `LLMPORT_RETRIES` | retries after the first attempt (default 2; `0` disables) |
//! | `LLMPORT_PROXY` | an HTTP(S) proxy for every request |
//! | `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` | the standard proxy variables, honoured when `LLMPORT_PROXY` is unset (read from the process environment by the HTTP client) |
//! | `LLMPORT_CA_CERT` | a PEM file of extra root CA certificates |
//! | `LLMPORT_CLIENT_CERT`, `LLMPORT_CLIENT_KEY` | PEM files of a client certificate and its key (mutual TLS) |
//! | `LLMPORT_API` | the chat API: `chat` (Chat Completions, and Ollama's own chat; default), `anthropic` (Messages), `responses` (OpenAI's Responses): [`env::chat_api`] |
//! | `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` | with `anthropic` only: the Anthropic SDK's key (as `x-api-key`) and base URL, the key sent only to api.anthropic.com or that URL ([`env::api_auth`]) |
//! | `OPENAI_API_KEY`, `OPENAI_BASE_URL` | with `responses` only: the OpenAI SDK's key (as a Bearer token) and base URL, the key sent only to api.openai.com or that URL |
//!
//! Time limits are written `30s`, `2m`, `500ms`, `1h 30m` or as a number of seconds; `0` or
//! `none` means no limit ([`env::parse_duration`]).
//!
//! # Tracing
//!
//! Every call runs in a `gen_ai.chat` span (`tracing`, info level) with OpenTelemetry GenAI
//! attribute names: `gen_ai.provider.name` (`openai` for Chat Completions and Responses,
//! `anthropic` for Messages, `ollama` for Ollama's own API), `gen_ai.operation.name`,
//! `gen_ai.request.model`, `gen_ai.request.max_tokens`, `gen_ai.request.temperature`,
//! `gen_ai.request.top_p`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`. Inside it, every HTTP attempt
//! runs in an `http.request` span (debug level) with `http.request.method`, `url.full`,
//! `http.request.resend_count`, `http.response.status_code` and `error.type`; a retry is an
//! info event with the wait; an OAuth2 token fetch is an `oauth2.token` span. No span or event
//! holds a credential, and none holds message content unless the builder's `trace_content(true)`
//! asks for it (`gen_ai.input.messages` / `gen_ai.output.messages` events).
//!
//! # Features
//!
//! - `test-util`: `llmport::testing`, an in-process HTTP server that speaks Ollama's wire format and
//!   replays recorded transcripts, for tests of code that uses llmport.
//! - `local`: `LocalEngine` (module `local`), a provider that runs GGUF models in this
//!   process with llama.cpp (built from source: needs cmake, a C++ compiler and libclang),
//!   and finds the models Ollama has pulled. Off by default.
#![cfg_attr(docsrs, feature(doc_cfg))]
// No panic reachable from a server's bytes or a user's input (issue 13): outside `cfg(test)`
// nothing unwraps, panics, indexes or slices unchecked, or casts a number into a type it may
// not fit. Where an index or a cast is provably in range (a position memchr just returned
// within the same slice, a constant), a narrow `#[allow(…, reason = "…")]` on the smallest
// item says why; docs/reliability.md lists them. Tests, benches, examples and the
// test-support crate are free to unwrap.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap,
        clippy::string_slice,
        clippy::unreachable,
        clippy::unimplemented,
        clippy::allow_attributes_without_reason
    )
)]
// Nothing is `pub` that the public API does not reach: what is not exported is `pub(crate)`.
#![warn(unreachable_pub)]

pub mod anthropic;
pub mod auth;
pub mod codec;
pub mod completion;
pub mod embed;
pub mod env;
pub mod error;
pub mod extensions;
mod json_body;
#[cfg(feature = "local")]
#[cfg_attr(docsrs, doc(cfg(feature = "local")))]
pub mod local;
pub mod media;
pub mod message;
pub mod ollama;
pub mod openai;
pub mod options;
pub mod provider;
mod redact;
pub mod response;
pub mod responses;
pub mod stream;
mod telemetry;
#[cfg(feature = "test-util")]
pub mod testing;
mod tool_schema;
pub mod transport;

// What the crate root re-exports (the rule): the provider-neutral vocabulary every caller
// needs whatever the provider — messages, options, responses, streams, errors, embeddings,
// authentication and client settings — plus each provider's entry type (`OllamaProvider`,
// `OpenAiProvider`, `AnthropicProvider`, `ResponsesProvider`). Everything provider-specific (`ollama::OllamaOptions`, `KeepAlive`,
// `PullOptions`, model types, `OllamaChatApi`), the builders (reached through `T::builder()`)
// and the secondary types of a concept stay in their module.
pub use anthropic::AnthropicProvider;
pub use auth::{Auth, ClientCredentials, CredentialProvider};
pub use completion::{Completer, CompletionRequest};
pub use embed::{EmbedEncoding, EmbedOptions, Embedder, Embeddings};
pub use error::{ApiError, Error, Report, Result, SignInRequired, TimeoutKind};
#[cfg(feature = "local")]
pub use local::LocalEngine;
pub use message::{Message, Part, Role, ToolCall, ToolResult};
pub use ollama::OllamaProvider;
pub use openai::OpenAiProvider;
pub use options::{FunctionDecl, Options, ReasoningEffort, ResponseFormat, Tool, ToolChoice};
pub use provider::{Provider, ProviderExt};
pub use response::{
    Candidate, Candidates, FinishReason, GenResponse, LazyMeta, ResponseMeta, TokenLogprob,
    TopLogprob, Usage,
};
pub use responses::ResponsesProvider;
pub use stream::{Accumulator, ResponseStream};
pub use transport::{
    ClientOptions, ClientOptionsBuilder, RetryConfig, RetryConfigBuilder, RetryEvent,
};

/// The `schemars` this crate derives JSON Schemas with, for [`Tool::for_type`],
/// [`ResponseFormat::for_type`] and [`ProviderExt::generate_json`]: derive
/// `llmport::schemars::JsonSchema` (and serde's `Deserialize`) on your types without adding
/// `schemars` yourself:
///
/// ```
/// use llmport::schemars::JsonSchema;
/// #[derive(serde::Deserialize, JsonSchema)]
/// #[schemars(crate = "llmport::schemars")]
/// struct City {
///     name: String,
/// }
/// let format = llmport::ResponseFormat::for_type::<City>();
/// # let _ = format;
/// ```
///
/// If you depend on `schemars` yourself, use the same major version as llmport (1.x): a type
/// deriving another version's `JsonSchema` does not implement this one's, and the compiler
/// says ``the trait bound `City: schemars::JsonSchema` is not satisfied`` at the call of
/// `for_type` or `generate_json` (with a note that several versions of `schemars` are in the
/// dependency graph). `cargo tree -d -i schemars` shows the duplicates.
pub use schemars;
