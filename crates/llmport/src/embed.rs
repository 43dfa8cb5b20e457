//! Embeddings: the [`Embedder`] trait and its types.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::extensions::{Extension, Extensions};

/// Something that turns texts into vectors.
///
/// Implemented by [`OpenAiProvider`](crate::OpenAiProvider) (`/v1/embeddings`) and by
/// [`OllamaProvider`](crate::OllamaProvider) (Ollama's native `/api/embed`). Object-safe.
///
/// Implementations provide [`embed_strs`](Embedder::embed_strs). Callers use `embed`, which
/// takes any slice of strings (`&["hello"]`, `&[String]`, a `&Vec<String>`): an inherent
/// method of each provider and of `dyn Embedder`:
///
/// ```no_run
/// # async fn run() -> llmport::Result<()> {
/// use std::sync::Arc;
/// use llmport::{EmbedOptions, Embedder, OllamaProvider};
/// let ollama = OllamaProvider::new()?;
/// let one = ollama.embed("nomic-embed-text", &["hello"], &EmbedOptions::default()).await?;
/// let texts: Vec<String> = vec!["a".into(), "b".into()];
/// let shared: Arc<dyn Embedder> = Arc::new(ollama);
/// let two = shared.embed("nomic-embed-text", &texts, &EmbedOptions::default()).await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Embeds each input; the vectors come back in input order.
    async fn embed_strs(
        &self,
        model: &str,
        inputs: &[&str],
        options: &EmbedOptions,
    ) -> Result<Embeddings>;
}

/// Options for an embedding request. Unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbedOptions {
    /// Shorten the vectors to this many dimensions (servers that support it re-normalise).
    pub dimensions: Option<u32>,
    /// Whether the server may cut inputs that exceed the model's context (Ollama's `truncate`,
    /// default true there); `false` makes such an input an error.
    pub truncate: Option<bool>,
    /// How the server should encode the vectors on the wire (OpenAI-compatible API only).
    /// Unset, nothing is requested and the server's default (floats) applies; either way
    /// the vectors come back decoded.
    pub encoding: Option<EmbedEncoding>,
    /// Extra keys merged into the request body.
    pub extra: Map<String, Value>,
    /// Provider-specific settings keyed by their type, as on
    /// [`Options::extensions`](crate::Options::extensions) (Ollama's native embeddings
    /// read `keep_alive` from `llmport::ollama::OllamaOptions`). Not serialised.
    #[serde(skip)]
    pub extensions: Extensions,
}

impl EmbedOptions {
    /// No option set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder.
    pub fn builder() -> EmbedOptionsBuilder {
        EmbedOptionsBuilder::default()
    }

    /// The provider-specific settings of type `T`, if set.
    pub fn extension<T: Extension>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }

    /// Checks the values against their ranges before anything is sent: `dimensions` ≥ 1.
    pub fn validate(&self) -> Result<()> {
        if self.dimensions == Some(0) {
            return Err(Error::config_for(
                "EmbedOptions::dimensions",
                "must be at least 1; leave it unset for the model's full size",
            ));
        }
        Ok(())
    }
}

/// Builds [`EmbedOptions`]; setters never fail, the provider checks the values.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct EmbedOptionsBuilder {
    opts: EmbedOptions,
}

impl EmbedOptionsBuilder {
    /// Shorten the vectors to this many dimensions.
    pub fn dimensions(mut self, n: u32) -> Self {
        self.opts.dimensions = Some(n);
        self
    }

    /// Whether the server may cut inputs that exceed the model's context.
    pub fn truncate(mut self, yes: bool) -> Self {
        self.opts.truncate = Some(yes);
        self
    }

    /// How the server should encode the vectors on the wire.
    pub fn encoding(mut self, e: EmbedEncoding) -> Self {
        self.opts.encoding = Some(e);
        self
    }

    /// Adds an extra key to the request body.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.opts.extra.insert(key.into(), value.into());
        self
    }

    /// Adds provider-specific settings (one value per type).
    pub fn extension<T: Extension + Clone>(mut self, value: T) -> Self {
        self.opts.extensions.insert(value);
        self
    }

    /// The options.
    pub fn build(self) -> EmbedOptions {
        self.opts
    }
}

impl dyn Embedder + '_ {
    /// Embeds each input (any slice of strings); the vectors come back in input order.
    pub async fn embed<S: AsRef<str>>(
        &self,
        model: &str,
        inputs: &[S],
        options: &EmbedOptions,
    ) -> Result<Embeddings> {
        embed_any(self, model, inputs, options).await
    }
}

/// `embed` for any [`Embedder`]: the inputs as `&str`s, then [`Embedder::embed_strs`].
pub(crate) async fn embed_any<E: Embedder + ?Sized, S: AsRef<str>>(
    embedder: &E,
    model: &str,
    inputs: &[S],
    options: &EmbedOptions,
) -> Result<Embeddings> {
    let inputs: Vec<&str> = inputs.iter().map(AsRef::as_ref).collect();
    embedder.embed_strs(model, &inputs, options).await
}

/// How vectors travel on the wire (OpenAI's `encoding_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedEncoding {
    /// A JSON array of numbers per vector.
    Float,
    /// Base64 of the vector's little-endian `f32` bytes: about half the size of `Float`
    /// on the wire, and exact.
    Base64,
}

impl EmbedEncoding {
    /// The wire name: `float` or `base64`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmbedEncoding::Float => "float",
            EmbedEncoding::Base64 => "base64",
        }
    }
}

/// The vectors for a batch of inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Embeddings {
    /// One vector per input, in input order.
    pub vectors: Vec<Vec<f32>>,
    /// The model the server reported.
    pub model: Option<String>,
    /// Tokens in the inputs, if the server reported it.
    pub input_tokens: Option<u64>,
    /// From sending the request to the complete answer, measured by the client.
    #[serde(default, with = "crate::response::duration_secs_opt")]
    pub total_time: Option<std::time::Duration>,
}

impl Embeddings {
    /// The vectors' dimension (0 when there are none).
    pub fn dimension(&self) -> usize {
        self.vectors.first().map_or(0, Vec::len)
    }
}
