//! Error handling: every failure is one typed `Error`, classified by what you can do about
//! it. The program exits non-zero on every failure, with a status chosen by its kind (as
//! the `llmport` command line does: 2 configuration, 3 unreachable server, 1 the rest).

use std::process::ExitCode;

use llmport::{Error, Message, OllamaProvider, Options, Provider};

#[tokio::main]
async fn main() -> ExitCode {
    let ollama = match OllamaProvider::from_env() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let result = ollama
        .generate(&model, &[Message::user("Hello!")], &Options::default())
        .await;
    match result {
        Ok(answer) => {
            println!("{}", answer.text());
            return ExitCode::SUCCESS;
        }
        Err(Error::Connect { url, .. }) => {
            eprintln!("Ollama is not running at {url}: start it with `ollama serve`");
            return ExitCode::from(3);
        }
        // A missing model: the message names it and says how to pull it.
        Err(Error::Api(api)) if api.status == 404 => eprintln!("{api}"),
        Err(e) if e.is_retryable() => eprintln!("temporary failure, try again: {e}"),
        Err(e) => eprintln!("failed: {e}"),
    }
    ExitCode::FAILURE
}
