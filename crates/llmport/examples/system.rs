//! System instructions and a multi-turn conversation.

use llmport::{Message, OllamaProvider, Options, Provider, Role};

async fn run() -> Result<(), llmport::Error> {
    let ollama = OllamaProvider::from_env()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let options = Options::builder()
        .system("You are a pirate. Answer in one short sentence.")
        .build();
    let mut history = vec![Message::text(Role::User, "What is the capital of France?")];
    let first = ollama.generate(&model, &history, &options).await?;
    println!("> {}", first.text());
    history.push(Message::assistant(first.text()));
    history.push(Message::user("And of Spain?"));
    let second = ollama.generate(&model, &history, &options).await?;
    println!("> {}", second.text());
    Ok(())
}

/// Runs the example. On failure Rust prints the [`llmport::Report`]: the error's message (what
/// failed and what to do), then its causes, and the exit status is 1.
#[tokio::main]
async fn main() -> Result<(), llmport::Report> {
    Ok(run().await?)
}
