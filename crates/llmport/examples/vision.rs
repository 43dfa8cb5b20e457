//! Vision: send an image as a binary part (it goes on the wire as a data URI).
//!
//! ```sh
//! ollama pull llava
//! LLMPORT_MODEL=llava cargo run -p llmport --example vision -- photo.jpg
//! ```

use llmport::{Message, OllamaProvider, Options, Provider, Role};

async fn run() -> Result<(), llmport::Error> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| llmport::Error::config("usage: vision IMAGE.jpg|png|webp"))?;
    let bytes = std::fs::read(&path)
        .map_err(|e| llmport::Error::config(format!("cannot read {path}: {e}")))?;
    // The type comes from the bytes, not the file name: a text file named .png is refused
    // here instead of being sent as an image.
    let mime = llmport::media::sniff_image(&bytes).ok_or_else(|| {
        llmport::Error::config(format!("{path} is not a PNG, JPEG or WebP image"))
    })?;
    let ollama = OllamaProvider::from_env()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llava".into());
    let message =
        Message::text(Role::User, "What is in this picture?").add_binary(path, bytes, mime);
    let answer = ollama
        .generate(&model, &[message], &Options::default())
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
