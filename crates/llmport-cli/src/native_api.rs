//! Commands against a server without Ollama's native `/api` (llama.cpp, vLLM, LM Studio,
//! anything that speaks only the OpenAI-compatible `/v1`): which 404 means "no native API",
//! and the error that says so.
//!
//! `models` and `embed` then fall back to `/v1/models` and `/v1/embeddings` (in their own
//! modules); `show`, `ps`, `pull`, `rm` and `chat` with Ollama-only flags have no `/v1`
//! counterpart and fail with [`CliError::Unsupported`] (exit status 7) naming the URL.

use llmport::OllamaProvider;

use crate::error::CliError;

/// Whether `e`, the error of a native endpoint asked about `model` (if any), means that the
/// server has no native API at all. A 404 alone does not tell: Ollama answers 404 for a
/// model it does not have, naming it in quotes. So a 404 that names `model` is kept as it is;
/// any other 404 is checked with `GET /api/version`, which every Ollama answers: only when
/// that is a 404 too is the native API missing. Anything else is kept as it is.
pub(crate) async fn is_missing(
    provider: &OllamaProvider,
    e: &CliError,
    model: Option<&str>,
) -> bool {
    match e {
        CliError::Llm(llmport::Error::Api(api)) if api.status == 404 => {
            let names = |m: &str| {
                api.message.contains(&format!("'{m}'")) || api.message.contains(&format!("\"{m}\""))
            };
            if model.is_some_and(names) {
                return false;
            }
        }
        _ => return false,
    }
    matches!(
        provider.server_version().await,
        Err(llmport::Error::Api(api)) if api.status == 404
    )
}

/// `e` unless the server lacks the native API (see [`is_missing`]), in which case the error
/// saying that `what` (e.g. "`llmport show`") needs it.
pub(crate) async fn explain(
    provider: &OllamaProvider,
    e: CliError,
    what: &str,
    model: Option<&str>,
) -> CliError {
    if is_missing(provider, &e, model).await {
        missing(provider, what)
    } else {
        e
    }
}

/// The error for a server without the native API: `what` needs it.
pub(crate) fn missing(provider: &OllamaProvider, what: &str) -> CliError {
    CliError::Unsupported(format!(
        "the server at {} has no Ollama native API ({}/api/… answers 404: it speaks only the \
         OpenAI-compatible /v1, like llama.cpp, vLLM or LM Studio): {what} needs Ollama; \
         `chat` (without --ctx, --keep-alive, --think), `models` and `embed` work there",
        provider.root_url(),
        provider.root_url()
    ))
}
