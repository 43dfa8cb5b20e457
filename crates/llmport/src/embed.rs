//! Embeddings: the [`Embedder`] trait and its types.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::ollama::KeepAlive;

/// Something that turns texts into vectors.
///
/// Implemented by [`OpenAiProvider`](crate::OpenAiProvider) (`/v1/embeddings`) and by
/// [`OllamaProvider`](crate::OllamaProvider) (Ollama's native `/api/embed`). Object-safe.
#[async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Embeds each input; the vectors come back in input order.
    async fn embed(
        &self,
        model: &str,
        inputs: &[String],
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
    /// How long Ollama keeps the model loaded afterwards (native API only).
    pub keep_alive: Option<KeepAlive>,
    /// How the server should encode the vectors on the wire (OpenAI-compatible API only).
    /// Unset, nothing is requested and the server's default (floats) applies; either way
    /// the vectors come back decoded.
    pub encoding: Option<EmbedEncoding>,
    /// Extra keys merged into the request body.
    pub extra: Map<String, Value>,
}

impl EmbedOptions {
    /// No option set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `dimensions`.
    #[must_use]
    pub fn with_dimensions(mut self, n: u32) -> Self {
        self.dimensions = Some(n);
        self
    }

    /// Sets `truncate`.
    #[must_use]
    pub fn with_truncate(mut self, yes: bool) -> Self {
        self.truncate = Some(yes);
        self
    }

    /// Sets `keep_alive`.
    #[must_use]
    pub fn with_keep_alive(mut self, k: KeepAlive) -> Self {
        self.keep_alive = Some(k);
        self
    }

    /// Sets `encoding`.
    #[must_use]
    pub fn with_encoding(mut self, e: EmbedEncoding) -> Self {
        self.encoding = Some(e);
        self
    }
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
