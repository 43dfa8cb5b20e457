//! The quick start: one question to a local Ollama.
//!
//! ```sh
//! ollama serve & ollama pull llama3.2
//! cargo run -p llmport --example quickstart
//! ```

use llmport::{Message, OllamaProvider, Options, Provider, Role};

async fn run() -> Result<(), llmport::Error> {
    // OLLAMA_HOST (and the other LLMPORT_* variables) say where Ollama is, LLMPORT_MODEL
    // which model to ask, so the example runs anywhere. A failure — Ollama not running, a
    // model not pulled — is an `llmport::Error` whose message says what to do.
    let ollama = OllamaProvider::from_env()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let answer = ollama
        .generate(
            &model,
            &[Message::text(
                Role::User,
                "Why is the sky blue? One sentence.",
            )],
            &Options::default(),
        )
        .await?;
    println!("{}", answer.text());
    Ok(())
}

/// Runs the example. On failure Rust prints the [`llmport::Report`]: the error's message (what
/// failed and what to do), then its causes, and the exit status is 1.
#[tokio::main]
async fn main() -> Result<(), llmport::Report> {
    Ok(run().await?)
}
