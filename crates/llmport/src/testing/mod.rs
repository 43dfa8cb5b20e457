//! An in-process HTTP/1.1 server that speaks Ollama's wire format and the chat APIs
//! (`/v1/chat/completions`, Anthropic's `/v1/messages`, OpenAI's `/v1/responses`), and serves
//! prompt-completion transcripts (`/api/generate`, `/v1/completions`) like any other, for
//! tests.
//!
//! [`TestServer`] listens on `127.0.0.1` with an ephemeral port and answers
//! requests with canned [`Reply`]s, usually taken from recorded
//! [`Transcript`]s (the JSON files under `tests/fixtures/`). It records every
//! request it receives ([`TestServer::requests`]) so a test can check what the
//! client sent.
//!
//! The server runs on its own thread with its own Tokio runtime, so it works
//! the same under `#[tokio::test]` (current-thread or multi-thread) and keeps
//! serving even while the test's runtime is busy. Dropping the [`TestServer`]
//! stops it synchronously: the listening socket and every open connection are
//! closed before `drop` returns.
//!
//! Wire behaviour:
//!
//! * Routing matches the method and the path (the query string is ignored).
//!   Several replies registered for one route are served in order, one per
//!   request; the last one repeats once the list is exhausted. Unregistered
//!   routes answer like Ollama (gin): `HEAD /`, `HEAD /api/version` and
//!   `HEAD /api/tags` like their `GET` route without the body (Ollama
//!   registers both; its Go client's `Heartbeat()` is `HEAD /`); a path
//!   registered under other methods `405`, body `405 method not allowed`;
//!   any other `404`, body `404 page not found` (both `Content-Type:
//!   text/plain`).
//! * A request is recorded (its whole body read) before its reply is sent.
//! * Each entry of [`Reply::chunks`] is written as its own HTTP/1.1 chunk and
//!   flushed before the next, so a client sees the chunks as separate reads.
//! * Replies with [`Reply::content_length`] set carry a `Content-Length`
//!   header; the others use chunked transfer encoding.
//! * Connections are kept alive between requests.
//!
//! # Example
//!
//! ```
//! use llmport::testing::{Reply, TestServer, Transcript};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let transcript = Transcript::load("tests/fixtures/openai_chat_plain.json")?;
//! let server = TestServer::builder()
//!     .transcript(transcript)
//!     .route("GET", "/api/version", Reply::json(200, &serde_json::json!({"version": "0.12.0"})))
//!     .start()
//!     .await;
//!
//! // Point the client under test at `server.v1_url()` (OpenAI-compatible API)
//! // or `server.url()` (native API), run it, then inspect what it sent:
//! if let Some(request) = server.last_request() {
//!     assert_eq!(request.path, "/v1/chat/completions");
//!     assert_eq!(request.json()?["model"], "llama3.2");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # The Messages and Responses APIs
//!
//! Code that talks to Anthropic's Messages API or OpenAI's Responses API is tested the same
//! way: a transcript whose `sse_events` name their `event` (served as `event:` + `data:`
//! lines), [`Reply::sse_events`], or a whole answer in the API's shape
//! ([`Reply::messages`], [`Reply::responses`] and their `_stream` forms):
//!
//! ```
//! use llmport::testing::{Reply, TestServer};
//! use llmport::{Message, Options, Provider, ResponsesProvider};
//!
//! # async fn demo() -> llmport::Result<()> {
//! let server = TestServer::builder()
//!     .route("POST", "/v1/responses", Reply::responses_stream("gpt-5-mini", ["Hel", "lo"]))
//!     .start()
//!     .await;
//! let provider = ResponsesProvider::new(server.v1_url())?;
//! let answer = provider
//!     .generate_stream("gpt-5-mini", &[Message::user("Hi")], &Options::default())
//!     .await?
//!     .collect_response()
//!     .await?;
//! assert_eq!(answer.text(), "Hello");
//! assert_eq!(server.last_request().unwrap().json().unwrap()["store"], false);
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! One concept per module: `answers` (whole answers in each chat API's shape), `transcript` (recorded exchanges and how they load),
//! `json_order` (the serde visitors that keep a transcript's key order), `reply` (what the
//! server sends and how it is framed), `request` (what it received), `server` (routing),
//! `lifecycle` ([`ServerThread`]: the thread, runtime, port and shutdown every test server
//! shares, also the raw-TCP fault server of the integration tests).

mod answers;
mod completions;
mod json_order;
mod lifecycle;
mod reply;
mod request;
mod server;
mod transcript;

pub use lifecycle::ServerThread;
pub use reply::Reply;
pub use request::RecordedRequest;
pub use server::{TestServer, TestServerBuilder};
pub use transcript::{Transcript, TranscriptError, TranscriptRequest};

/// The media type of a Server-Sent Events body.
const SSE: &str = "text/event-stream";
/// The media type of a newline-delimited JSON body.
const NDJSON: &str = "application/x-ndjson";
