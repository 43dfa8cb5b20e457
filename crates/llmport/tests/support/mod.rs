//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod faults;

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
