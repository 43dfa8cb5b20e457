//! Basic generation with options: token limit, sampling, seed and stop words.

use llmport::{Message, OllamaProvider, Options, Provider};

async fn run() -> Result<(), llmport::Error> {
    let ollama = OllamaProvider::from_env()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let options = Options::builder()
        .max_tokens(120)
        .temperature(0.2)
        .top_p(0.9)
        .seed(42)
        .stop(["\n\n"])
        .frequency_penalty(0.1)
        .presence_penalty(0.1)
        .build();
    let answer = ollama
        .generate(
            &model,
            &[Message::user("List three prime numbers.")],
            &options,
        )
        .await?;
    println!("{}", answer.text());
    println!("finish reason: {:?}", answer.finish_reason());
    if let Some(usage) = answer.meta.usage {
        println!(
            "tokens: {} in, {} out, {} total",
            usage.input_tokens, usage.output_tokens, usage.total_tokens
        );
    }
    Ok(())
}

/// Runs the example. On failure Rust prints the [`llmport::Report`]: the error's message (what
/// failed and what to do), then its causes, and the exit status is 1.
#[tokio::main]
async fn main() -> Result<(), llmport::Report> {
    Ok(run().await?)
}
