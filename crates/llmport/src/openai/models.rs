//! `GET <base>/models`: the models an OpenAI-compatible server offers (OpenAI, Ollama's
//! `/v1`, llama.cpp, vLLM, LM Studio, …).

use serde::{Deserialize, Serialize};

use super::OpenAiProvider;
use crate::error::{Error, Result};
use crate::transport::{Request, excerpt};

/// A model as `GET /v1/models` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelEntry {
    /// The name to use in requests.
    pub id: String,
    /// When the model was created (or, on Ollama, last changed), in seconds since the Unix
    /// epoch, if the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Who owns it (`library`, `llamacpp`, `vllm`, an organisation), if the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

/// The list `GET /v1/models` answers.
#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

impl OpenAiProvider {
    /// The models the server offers (`GET <base>/models`), in the server's order.
    ///
    /// Unlike [`Provider::models`](crate::Provider::models), which returns the list this
    /// provider was configured with, this asks the server.
    pub async fn list_models(&self) -> Result<Vec<ModelEntry>> {
        let body = self
            .inner
            .http
            .send_for_body(&Request::get("models"))
            .await?;
        let list: ModelList = serde_json::from_slice(&body).map_err(|e| Error::Decode {
            message: format!(
                "the answer of /models is not an OpenAI model list: {}",
                excerpt(&body)
            ),
            source: Some(Box::new(e)),
        })?;
        Ok(list.data)
    }
}
