//! Prompt completion, provider-agnostic: the [`Completer`] trait and its
//! [`CompletionRequest`].
//!
//! A completion continues a text rather than answering a conversation: the model gets the
//! prompt (and, for fill-in-the-middle, the text after the gap: the `suffix`) and returns
//! what follows. Code-completion callers use it through `dyn Completer`, whatever the
//! server: [`OllamaProvider`](crate::OllamaProvider) implements it with Ollama's native
//! `/api/generate`, [`OpenAiProvider`](crate::OpenAiProvider) with `/v1/completions`.
//!
//! The answer has the same shape as a chat's: a [`GenResponse`] whose first candidate's text
//! is the completion (only the middle part, for fill-in-the-middle), or a [`ResponseStream`]
//! of its chunks.

use async_trait::async_trait;

use crate::error::Result;
use crate::options::Options;
use crate::response::GenResponse;
use crate::stream::ResponseStream;

/// What to complete: the model, the prompt, an optional suffix, and the generation
/// [`Options`] (sampling, limits, stop strings, log probabilities, and provider-specific
/// settings as extensions, e.g. Ollama's
/// [`GenerateOptions`](crate::ollama::GenerateOptions) for raw mode, templates and images).
///
/// ```
/// use llmport::Options;
/// use llmport::completion::CompletionRequest;
/// let request = CompletionRequest::builder()
///     .model("qwen2.5-coder:7b")
///     .prompt("def compute_gcd(a, b):\n")
///     .suffix("\n    return result\n")
///     .options(Options::builder().temperature(0.0).build())
///     .build();
/// assert_eq!(request.suffix.as_deref(), Some("\n    return result\n"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// The model to complete with.
    pub model: String,
    /// The text to continue (for fill-in-the-middle: the text before the gap).
    pub prompt: String,
    /// For fill-in-the-middle: the text after the gap. The answer is then only the middle.
    /// The model must be able to do it (Ollama's `insert` capability, else
    /// [`Error::ModelCapability`](crate::Error::ModelCapability)); see each provider for
    /// servers that would ignore it.
    pub suffix: Option<String>,
    /// How to generate. [`Options::system`] is sent as the system prompt where the endpoint
    /// has one (Ollama's `/api/generate`); `tools` and `tool_choice` have no meaning for a
    /// completion and are refused.
    pub options: Options,
}

impl CompletionRequest {
    /// A request to complete `prompt` with `model`, with default options.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        CompletionRequest {
            model: model.into(),
            prompt: prompt.into(),
            ..Self::default()
        }
    }

    /// A builder.
    pub fn builder() -> CompletionRequestBuilder {
        CompletionRequestBuilder::default()
    }
}

/// Builds a [`CompletionRequest`]. Setters never fail; the request is checked when it is
/// sent.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CompletionRequestBuilder {
    request: CompletionRequest,
}

impl CompletionRequestBuilder {
    /// The model to complete with.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.request.model = model.into();
        self
    }

    /// The text to continue.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.request.prompt = prompt.into();
        self
    }

    /// The text after the gap, for fill-in-the-middle.
    pub fn suffix(mut self, suffix: impl Into<String>) -> Self {
        self.request.suffix = Some(suffix.into());
        self
    }

    /// How to generate (replaces any options set before).
    pub fn options(mut self, options: Options) -> Self {
        self.request.options = options;
        self
    }

    /// The request.
    pub fn build(self) -> CompletionRequest {
        self.request
    }
}

/// A server that completes prompts. Object-safe: hold one as `Arc<dyn Completer>`.
///
/// As for [`Provider`](crate::Provider), errors before the first byte of the answer come
/// back from the `.await`, errors after it as an item of the stream, and a stream that ends
/// without the server's end marker yields an [`Error::Stream`](crate::Error::Stream).
///
/// ```no_run
/// # async fn run() -> llmport::Result<()> {
/// use futures::StreamExt;
/// use llmport::OllamaProvider;
/// use llmport::completion::{Completer, CompletionRequest};
///
/// let ollama = OllamaProvider::new()?;
/// let completer: &dyn Completer = &ollama;
/// let request = CompletionRequest::builder()
///     .model("qwen2.5-coder:7b")
///     .prompt("fn add(a: i32, b: i32) -> i32 {\n")
///     .suffix("\n}\n")
///     .build();
/// let mut stream = completer.complete_stream(&request).await?;
/// while let Some(chunk) = stream.next().await {
///     print!("{}", chunk?.text());
/// }
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Completer: Send + Sync + std::fmt::Debug {
    /// Completes the prompt and returns the whole answer.
    async fn complete(&self, request: &CompletionRequest) -> Result<GenResponse>;

    /// Starts completing the prompt and returns a stream of the answer's chunks as they
    /// arrive. Dropping the stream cancels the request.
    async fn complete_stream(&self, request: &CompletionRequest) -> Result<ResponseStream>;
}

macro_rules! forward_completer {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<C: Completer + ?Sized> Completer for $ty {
            async fn complete(&self, request: &CompletionRequest) -> Result<GenResponse> {
                (**self).complete(request).await
            }
            async fn complete_stream(
                &self,
                request: &CompletionRequest,
            ) -> Result<ResponseStream> {
                (**self).complete_stream(request).await
            }
        }
    )*};
}

forward_completer!(std::sync::Arc<C>, Box<C>, &C);

/// Refuses the [`Options`] that have no meaning for a completion (there is no conversation
/// to call tools in).
pub(crate) fn check_completion_options(provider: &'static str, options: &Options) -> Result<()> {
    use crate::error::Error;
    if !options.tools.is_empty() || options.tool_choice.is_some() {
        return Err(Error::unsupported(
            provider,
            "Options::tools (and tool_choice) on a completion",
            "a completion continues a text and calls no tools: use a chat",
        ));
    }
    Ok(())
}
