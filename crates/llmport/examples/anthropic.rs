//! The Anthropic Messages API (`POST /v1/messages`): Anthropic itself, or Ollama (≥ 0.14)
//! and llama.cpp's `llama-server`, which serve the same protocol.
//!
//! `ANTHROPIC_BASE_URL` is the server's root (default `http://localhost:11434`, Ollama);
//! `ANTHROPIC_API_KEY`, when set, is sent as `x-api-key` (for `https://api.anthropic.com`);
//! `LLMPORT_MODEL` names the model (default `llama3.2`). On failure it prints the error's
//! message and its causes and exits non-zero.

use futures::StreamExt;
use llmport::{AnthropicProvider, Message, Options, Provider};

async fn ask() -> Result<(), llmport::Error> {
    let base =
        std::env::var("ANTHROPIC_BASE_URL").unwrap_or_else(|_| "http://localhost:11434".into());
    let mut builder = AnthropicProvider::builder().base_url(base);
    if let Ok(key) = std::env::var("ANTHROPIC_API_KEY") {
        builder = builder.api_key(key);
    }
    let provider = builder.build()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    // `max_tokens` is required by the protocol; without one llmport sends 4096.
    let options = Options::builder()
        .system("Answer in one sentence.")
        .max_tokens(300)
        .build();
    let mut stream = provider
        .generate_stream(&model, &[Message::user("Why is the sky blue?")], &options)
        .await?;
    while let Some(chunk) = stream.next().await {
        // A mid-stream `error` event (e.g. overloaded_error) arrives here, typed.
        print!("{}", chunk?.text());
    }
    println!();
    Ok(())
}

/// Runs the example. On failure Rust prints the [`llmport::Report`]: the error's message (what
/// failed and what to do), then its causes, and the exit status is 1.
#[tokio::main]
async fn main() -> Result<(), llmport::Report> {
    Ok(ask().await?)
}
