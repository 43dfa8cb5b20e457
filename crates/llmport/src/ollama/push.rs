//! Uploading a model to a registry (`POST /api/push`), reporting progress as a pull does.

use serde::{Deserialize, Serialize};

use super::OllamaProvider;
use super::native::require_model;
use super::progress::ProgressStream;
use super::wire::PullRequest;
use crate::error::Result;
use crate::json_body::encode_json;
use crate::transport::Request;

/// Options of a [`push`](OllamaProvider::push_with).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushOptions {
    /// Allow a registry without TLS or with an invalid certificate (Ollama's `insecure`).
    pub insecure: Option<bool>,
}

impl PushOptions {
    /// A builder.
    pub fn builder() -> PushOptionsBuilder {
        PushOptionsBuilder::default()
    }
}

/// Builds [`PushOptions`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PushOptionsBuilder {
    opts: PushOptions,
}

impl PushOptionsBuilder {
    /// Allow a registry without TLS or with an invalid certificate.
    pub fn insecure(mut self, yes: bool) -> Self {
        self.opts.insecure = Some(yes);
        self
    }

    /// The options.
    pub fn build(self) -> PushOptions {
        self.opts
    }
}

impl OllamaProvider {
    /// Uploads the model `name` (`namespace/model[:tag]`) to its registry
    /// (`POST /api/push`), reporting progress as it goes: `retrieving manifest`, per layer
    /// `pushing <digest prefix>` with bytes, `pushing manifest`, `success`.
    ///
    /// A registry that refuses the upload says so in the stream, after `retrieving
    /// manifest`: that item is an [`Error::Auth`](crate::Error::Auth) saying what to do
    /// (add this server's public key to your ollama.com account, push under your own
    /// namespace). Dropping the stream cancels the push.
    pub async fn push(&self, name: &str) -> Result<ProgressStream> {
        self.push_with(name, &PushOptions::default()).await
    }

    /// [`OllamaProvider::push`] with options.
    pub async fn push_with(&self, name: &str, options: &PushOptions) -> Result<ProgressStream> {
        require_model(name)?;
        let body = encode_json(&PullRequest {
            model: name,
            insecure: options.insecure,
            stream: None,
        })?;
        let req = Request::post_json("api/push", body, Some(name));
        self.progress_stream("push", &req).await
    }
}
