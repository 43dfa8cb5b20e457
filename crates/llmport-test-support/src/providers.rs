//! Providers pointed at a test server, and the calls most tests make through them.

use llmport::{OllamaProvider, OpenAiProvider, RetryConfig};

/// An Ollama provider against a test server root, without retries.
pub fn ollama(root: &str) -> OllamaProvider {
    OllamaProvider::builder()
        .host(root)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

/// An OpenAI provider against a test server's /v1, without retries.
pub fn openai(v1: &str) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(v1)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

/// Which provider a transcript was recorded for.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// `OllamaProvider`, given the server's root.
    Ollama,
    /// `OpenAiProvider`, given the server's `/v1`.
    OpenAi,
}

/// A provider of `target` against `server`, without retries.
pub fn provider(
    target: Target,
    server: &llmport::testing::TestServer,
) -> Box<dyn llmport::Provider> {
    match target {
        Target::Ollama => Box::new(ollama(&server.url())),
        Target::OpenAi => Box::new(openai(&server.v1_url())),
    }
}

/// The prompt of the `openai_chat_plain` transcript.
pub const PLAIN_PROMPT: &str = "Say hello in five words.";

/// The answer of the `openai_chat_plain` transcript.
pub const PLAIN_ANSWER: &str = "Hello there, how are you?";

/// Sends the plain transcript's prompt to `llama3.2` and returns the answer's text.
pub async fn chat<P: llmport::Provider + ?Sized>(p: &P) -> llmport::Result<String> {
    p.generate(
        "llama3.2",
        &[llmport::Message::user(PLAIN_PROMPT)],
        &llmport::Options::default(),
    )
    .await
    .map(|r| r.text())
}

/// Streams a chat to the end and returns every item.
pub async fn stream_items<P: llmport::Provider + ?Sized>(
    p: &P,
) -> Vec<llmport::Result<llmport::GenResponse>> {
    use futures::StreamExt;
    let stream = p
        .generate_stream(
            "llama3.2",
            &[llmport::Message::user("hi")],
            &llmport::Options::default(),
        )
        .await
        .expect("the stream starts");
    stream.collect().await
}

/// `n` retries with waits of a few milliseconds: any longer wait can only come from the
/// server's `Retry-After`.
pub fn fast_retries(n: u32) -> RetryConfig {
    RetryConfig::builder()
        .max_retries(n)
        .backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        )
        .build()
}
