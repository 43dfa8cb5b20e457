//! The quick start: one question to a local Ollama.
//!
//! ```sh
//! ollama serve & ollama pull llama3.2
//! cargo run -p llmport --example quickstart
//! ```

use llmport::{Message, OllamaProvider, Options, Provider, Role};

#[tokio::main]
async fn main() -> Result<(), llmport::Error> {
    // OLLAMA_HOST and LLMPORT_MODEL are honoured so the example runs anywhere.
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
