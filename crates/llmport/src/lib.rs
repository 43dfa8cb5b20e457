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
//! #[tokio::main]
//! async fn main() -> Result<(), llmport::Error> {
//!     let ollama = OllamaProvider::new()?; // http://localhost:11434/v1, no auth
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
//! - [`GenResponse`] with [`Candidate`]s, a [`FinishReason`] and [`ResponseMeta`] (token counts,
//!   time to first token, total time).
//! - One [`Error`] type, classified by what the caller can do about it.
//!
//! # Features
//!
//! - `test-util`: [`testing`], an in-process HTTP server that speaks Ollama's wire format and
//!   replays recorded transcripts, for tests of code that uses llmport.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod codec;
pub mod embed;
pub mod error;
pub mod message;
pub mod ollama;
pub mod openai;
pub mod options;
pub mod provider;
pub mod response;
pub mod stream;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod transport;

/// Internals exposed for the benchmarks in `benches/` only: not part of the API, may change
/// at any time. Compiled only with the `test-util` feature, which the benchmarks (like the
/// tests) turn on through the crate's dev-dependency on itself.
#[cfg(feature = "test-util")]
#[doc(hidden)]
pub mod __bench {
    pub use crate::openai::bench::{StreamDecoder, chat_request_body};
}

pub use auth::Auth;
pub use embed::{EmbedOptions, Embedder, Embeddings};
pub use error::{ApiError, Error, Result, TimeoutKind};
pub use message::{Message, Part, Role, ToolCall, ToolResult};
pub use ollama::{OllamaOptions, OllamaProvider};
pub use openai::OpenAiProvider;
pub use options::{FunctionDecl, Options, ReasoningEffort, ResponseFormat, Tool, ToolChoice};
pub use provider::Provider;
pub use response::{Candidate, FinishReason, GenResponse, ResponseMeta, Usage};
pub use stream::{Accumulator, ResponseStream};
pub use transport::{ClientOptions, RetryConfig};
