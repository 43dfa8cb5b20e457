//! OpenAI's Responses API (`POST {base}/responses`): OpenAI itself, or Ollama (≥ 0.13.3) and
//! llama.cpp's `llama-server`, which serve the same protocol.
//!
//! `OPENAI_BASE_URL` is the base URL with `/v1` (default `http://localhost:11434/v1`,
//! Ollama); `OPENAI_API_KEY`, when set, is sent as a Bearer token (for
//! `https://api.openai.com/v1`); `LLMPORT_MODEL` names the model (default `llama3.2`). On
//! failure it prints the error's message and its causes and exits non-zero.

use futures::StreamExt;
use llmport::{Message, Options, Provider, ResponsesProvider};

async fn ask() -> Result<(), llmport::Error> {
    let base =
        std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "http://localhost:11434/v1".into());
    let mut builder = ResponsesProvider::builder().base_url(base);
    if let Ok(key) = std::env::var("OPENAI_API_KEY") {
        builder = builder.api_key(key);
    }
    let provider = builder.build()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    // The system text travels as `instructions`; `store: false` is sent: the whole
    // conversation goes with every call, nothing is kept on the server.
    let options = Options::builder()
        .system("Answer in one sentence.")
        .max_tokens(300)
        .build();
    let mut stream = provider
        .generate_stream(&model, &[Message::user("Why is the sky blue?")], &options)
        .await?;
    while let Some(chunk) = stream.next().await {
        // A `response.failed` or `error` event arrives here, typed.
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
