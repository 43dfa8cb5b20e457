//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use llmport::testing::Transcript;
use llmport::{OllamaProvider, OpenAiProvider, RetryConfig};

/// The path of a transcript in `tests/fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"))
}

/// Loads a transcript by case name.
pub fn transcript(name: &str) -> Transcript {
    Transcript::load(fixture_path(name)).expect("fixture loads")
}

/// The transcript file as raw JSON, to read expectations from it.
pub fn fixture_json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_path(name)).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// An Ollama provider against a test server root, without retries.
pub fn ollama(root: &str) -> OllamaProvider {
    OllamaProvider::builder()
        .host(root)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

/// An OpenAI provider against a test server's /v1, without retries.
pub fn openai(v1: &str) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(v1)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

/// The concatenated `delta.content` (and legacy message content) of an SSE transcript.
pub fn transcript_stream_text(fx: &serde_json::Value) -> String {
    let mut out = String::new();
    for ev in fx["response"]["sse_events"].as_array().expect("sse_events") {
        if let Some(choices) = ev["data"]["choices"].as_array() {
            for c in choices {
                if let Some(t) = c["delta"]["content"].as_str() {
                    out.push_str(t);
                }
            }
        }
    }
    out
}

/// A port on 127.0.0.1 with nothing listening.
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

pub mod nginx;
pub mod oauth;
pub mod pki;
pub mod real;
pub mod trace;

/// The prompt of the `openai_chat_plain` transcript.
pub const PLAIN_PROMPT: &str = "Say hello in five words.";

/// The answer of the `openai_chat_plain` transcript.
pub const PLAIN_ANSWER: &str = "Hello there, how are you?";

/// Sends the plain transcript's prompt to `llama3.2` and returns the answer's text.
pub async fn chat<P: llmport::Provider + ?Sized>(p: &P) -> llmport::Result<String> {
    p.generate(
        "llama3.2",
        &[llmport::Message::user(PLAIN_PROMPT)],
        &llmport::Options::default(),
    )
    .await
    .map(|r| r.text())
}

/// Streams a chat to the end and returns every item.
pub async fn stream_items<P: llmport::Provider + ?Sized>(
    p: &P,
) -> Vec<llmport::Result<llmport::GenResponse>> {
    use futures::StreamExt;
    let stream = p
        .generate_stream(
            "llama3.2",
            &[llmport::Message::user("hi")],
            &llmport::Options::default(),
        )
        .await
        .expect("the stream starts");
    stream.collect().await
}

/// `n` retries with waits of a few milliseconds: any longer wait can only come from the
/// server's `Retry-After`.
pub fn fast_retries(n: u32) -> RetryConfig {
    RetryConfig::default().with_max_retries(n).with_backoff(
        std::time::Duration::from_millis(1),
        std::time::Duration::from_millis(5),
    )
}
