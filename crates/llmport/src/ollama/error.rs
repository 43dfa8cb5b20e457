//! How Ollama's error answers become [`Error`]s, for its OpenAI-compatible `/v1` and its
//! native `/api`: the body decoded as OpenAI's mapping does it (Ollama sends OpenAI's shape
//! on `/v1`, `{"error":"…"}` on `/api`), with Ollama's own hints — pull a missing model, a
//! 403 for a disallowed `Host` or `Origin`, an OpenAI-compatible server (llama.cpp, vLLM,
//! LM Studio) that has no native `/api` — and Ollama's way of naming a server it cannot reach.

use crate::error::{ApiError, Error};
use crate::openai::error::{api_error, auth_error, with_hint};
use crate::transport::{ErrorAnswer, ErrorMapping, Unreachable};

/// The error mapping of [`OllamaProvider`](super::OllamaProvider).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OllamaErrors;

impl ErrorMapping for OllamaErrors {
    fn status_error(&self, answer: &ErrorAnswer<'_>) -> Error {
        let mut api = api_error(answer);
        if answer.status == 403 && !answer.credentials_sent && api.message.is_empty() {
            // Ollama's own refusal of a request from a Host or Origin it does not allow
            // (`OLLAMA_HOST`, `OLLAMA_ORIGINS`): a bare 403, no body.
            api.message = "the server refused the request (no credentials were sent)".into();
            api.hint = Some(
                "Ollama answers 403 with no body when the request's Host or Origin is not \
                 allowed: reach it by an address it serves (e.g. 127.0.0.1), or allow the \
                 origin with OLLAMA_ORIGINS on the server"
                    .into(),
            );
            return Error::from(api);
        }
        if matches!(answer.status, 401 | 403) {
            return auth_error(answer, api);
        }
        // `api/…`, and `/` (where Ollama says "Ollama is running").
        let native = answer.path.starts_with("api/") || answer.path.is_empty();
        if answer.status == 404 && native && !mentions_a_model(&api) {
            api.hint = Some(format!(
                "the server has no /{} endpoint ({}): it lacks Ollama's native /api (an \
                 OpenAI-compatible server such as llama.cpp, vLLM or LM Studio?), or it is an \
                 Ollama too old for this endpoint; check the host",
                answer.path, answer.url
            ));
            return Error::from(api);
        }
        api = with_hint(api);
        if answer.status == 404 && api.message.contains("not found") {
            api.hint = match answer.path {
                // "Pull it first" is no advice for a failed pull.
                "api/pull" => None,
                "api/delete" => {
                    Some("nothing to delete: list the installed models with `ollama list`".into())
                }
                _ => Some(format!(
                    "pull it first with `ollama pull {}`",
                    answer.model.unwrap_or("<model>")
                )),
            };
        }
        Error::from(api)
    }

    fn unreachable(&self) -> Unreachable {
        Unreachable {
            server: "Ollama",
            hint: "is `ollama serve` running?",
        }
    }
}

/// Whether a 404's message is about a model (Ollama's `model 'x' not found`), rather than a
/// route the server does not have (Go's `404 page not found`, llama.cpp's `File Not Found`).
fn mentions_a_model(api: &ApiError) -> bool {
    api.message.to_ascii_lowercase().contains("model")
}
