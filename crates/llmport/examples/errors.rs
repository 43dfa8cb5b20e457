//! Error handling: every failure is one typed `Error`, classified by what you can do about it.

use llmport::{Error, Message, OllamaProvider, Options, Provider};

#[tokio::main]
async fn main() {
    let ollama = match OllamaProvider::from_env() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bad configuration: {e}");
            std::process::exit(2);
        }
    };
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let result = ollama
        .generate(&model, &[Message::user("Hello!")], &Options::default())
        .await;
    match result {
        Ok(answer) => println!("{}", answer.text()),
        Err(Error::Connect { url, .. }) => {
            eprintln!("Ollama is not running at {url}: start it with `ollama serve`");
        }
        Err(Error::Api(api)) if api.status == 404 => {
            eprintln!("{api}");
        }
        Err(e) if e.is_retryable() => eprintln!("temporary failure, try again: {e}"),
        Err(e) => eprintln!("failed: {e}"),
    }
}
