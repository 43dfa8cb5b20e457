//! The [`Provider`] trait: one way to talk to any model server.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::message::Message;
use crate::options::{Options, ResponseFormat};
use crate::response::GenResponse;
use crate::stream::ResponseStream;

/// A source of generative models: Ollama, an OpenAI-compatible server, …
///
/// Object-safe: hold one as `Arc<dyn Provider>` or `Box<dyn Provider>` and switch providers
/// without touching the calling code. Implementations are cheap to clone and share one
/// connection pool.
///
/// Errors that happen before the first byte of the answer (the server cannot be reached, it
/// answers with an HTTP error) come back from the `.await`; errors after it arrive as an item
/// of the stream. A stream that ends without the server's end marker yields an
/// [`Error::Stream`](crate::Error::Stream) item rather than ending quietly.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// A short machine-friendly name, e.g. `"ollama"` or `"openai"`.
    fn name(&self) -> &str;

    /// A human-readable description.
    fn description(&self) -> &str;

    /// The provider implementation's version.
    fn version(&self) -> &str;

    /// The models this provider was configured with (informational; it does not ask the
    /// server).
    fn models(&self) -> &[String];

    /// Generates a whole answer to a conversation.
    async fn generate(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<GenResponse>;

    /// Starts generating an answer and returns a stream of its chunks as they arrive.
    ///
    /// Dropping the stream cancels the request.
    async fn generate_stream(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<ResponseStream>;
}

macro_rules! forward_provider {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<P: Provider + ?Sized> Provider for $ty {
            fn name(&self) -> &str {
                (**self).name()
            }
            fn description(&self) -> &str {
                (**self).description()
            }
            fn version(&self) -> &str {
                (**self).version()
            }
            fn models(&self) -> &[String] {
                (**self).models()
            }
            async fn generate(
                &self,
                model: &str,
                messages: &[Message],
                options: &Options,
            ) -> Result<GenResponse> {
                (**self).generate(model, messages, options).await
            }
            async fn generate_stream(
                &self,
                model: &str,
                messages: &[Message],
                options: &Options,
            ) -> Result<ResponseStream> {
                (**self).generate_stream(model, messages, options).await
            }
        }
    )*};
}

forward_provider!(Arc<P>, Box<P>, &P);

/// Typed helpers on top of any [`Provider`], implemented for every provider (including
/// `dyn Provider`). Import it to use them: `use llmport::ProviderExt;`.
pub trait ProviderExt: Provider {
    /// Asks for an answer that is JSON matching the schema of `T` (derived with
    /// `schemars`, sent as a strict [`ResponseFormat::for_type`], replacing any
    /// `response_format` in `options`) and returns it parsed.
    ///
    /// When the answer does not parse as `T`, the error is an
    /// [`Error::Decode`](crate::Error::Decode) that shows the offending text.
    ///
    /// `T` derives serde's `Deserialize` (add `serde = { version = "1", features =
    /// ["derive"] }`) and `JsonSchema` from [`llmport::schemars`](crate::schemars), which
    /// needs no dependency of your own (see there for a `schemars` version mismatch).
    ///
    /// ```no_run
    /// # async fn run() -> llmport::Result<()> {
    /// use llmport::schemars::JsonSchema;
    /// use llmport::{Message, OllamaProvider, Options, ProviderExt};
    ///
    /// #[derive(serde::Deserialize, JsonSchema)]
    /// #[schemars(crate = "llmport::schemars")]
    /// struct City {
    ///     name: String,
    ///     population: u64,
    /// }
    ///
    /// let ollama = OllamaProvider::new()?;
    /// let city: City = ollama
    ///     .generate_json("llama3.2", &[Message::user("Tokyo, as JSON.")], &Options::default())
    ///     .await?;
    /// println!("{} has {} people", city.name, city.population);
    /// # Ok(()) }
    /// ```
    fn generate_json<'a, T>(
        &'a self,
        model: &'a str,
        messages: &'a [Message],
        options: &'a Options,
    ) -> impl Future<Output = Result<T>> + Send + 'a
    where
        T: DeserializeOwned + schemars::JsonSchema + 'a,
    {
        async move {
            let mut options = options.clone();
            options.response_format = Some(ResponseFormat::for_type::<T>());
            self.generate(model, messages, &options).await?.json::<T>()
        }
    }
}

impl<P: Provider + ?Sized> ProviderExt for P {}
