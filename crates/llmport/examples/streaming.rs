//! Streaming: print tokens as they arrive, then the usage and timings.

use std::io::Write;

use futures::StreamExt;
use llmport::{Accumulator, Message, OllamaProvider, Options, Provider};

async fn run() -> Result<(), llmport::Error> {
    let ollama = OllamaProvider::from_env()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let mut stream = ollama
        .generate_stream(
            &model,
            &[Message::user("Write a haiku about Rust.")],
            &Options::default(),
        )
        .await?;
    let mut acc = Accumulator::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?; // a failure in the middle of the answer arrives here
        print!("{}", chunk.text());
        std::io::stdout().flush().ok();
        acc.push(&chunk);
    }
    let whole = acc.finish();
    println!();
    println!(
        "finish: {:?}, first token after {:?}, total {:?}, usage {:?}",
        whole.finish_reason(),
        whole.meta.time_to_first_token,
        whole.meta.total_time,
        whole.meta.usage
    );
    Ok(())
}

/// Runs the example. On failure Rust prints the [`llmport::Report`]: the error's message (what
/// failed and what to do), then its causes, and the exit status is 1.
#[tokio::main]
async fn main() -> Result<(), llmport::Report> {
    Ok(run().await?)
}
