//! Vision: send an image as a binary part (it goes on the wire as a data URI).
//!
//! ```sh
//! ollama pull llava
//! LLMPORT_MODEL=llava cargo run -p llmport --example vision -- photo.jpg
//! ```

use std::process::ExitCode;

use llmport::{Message, OllamaProvider, Options, Provider, Role};

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: vision IMAGE.jpg|png|webp")?;
    let bytes = std::fs::read(&path)?;
    let mime = if path.ends_with(".png") {
        "image/png"
    } else if path.ends_with(".webp") {
        "image/webp"
    } else {
        "image/jpeg"
    };
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

/// Runs the example; on failure prints the error (its message, then each cause on its own
/// line) to stderr and exits with status 1.
#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}
