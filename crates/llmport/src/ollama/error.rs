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
        if answer.status == 400
            && let Some(e) = request_refusal(&api.message, answer.model)
        {
            return e;
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

/// Ollama's message when a request combines `raw` with `template`, `system` or `context`
/// (`server/routes.go` GenerateHandler).
pub(crate) const RAW_MODE_REFUSAL: &str = "raw mode does not support template, system, or context";

/// What a 400's message says about the request, when it is one Ollama words for a typed
/// error: a capability the model lacks ([`Error::ModelCapability`]), or `raw` combined with a
/// template, system or context ([`Error::Unsupported`]). `requested` is the model the request
/// named.
fn request_refusal(message: &str, requested: Option<&str>) -> Option<Error> {
    if message.trim() == RAW_MODE_REFUSAL {
        return Some(raw_mode_refusal());
    }
    let (server_name, capability) = parse_capability_message(message)?;
    let model = requested.filter(|m| !m.is_empty()).unwrap_or(server_name);
    let mut e = capability_error(model, &capability);
    if let Error::ModelCapability { message: m, .. } = &mut e {
        *m = format!("the server answered HTTP 400 `{}` — {m}", message.trim());
    }
    Some(e)
}

/// `raw` with `template`, `system` or `context`, which Ollama refuses.
pub(crate) fn raw_mode_refusal() -> Error {
    Error::unsupported(
        "ollama",
        "GenerateOptions::raw together with a system prompt, template or context",
        "raw mode sends the prompt to the model verbatim, without the template that would \
         place a system prompt or context: put them into the prompt yourself, or turn raw off",
    )
}

/// The typed error for a model that lacks `capability` (Ollama's name: `insert`, `vision`,
/// `tools`, `thinking`, `completion`, `embedding`, …), with what to do about it. For errors
/// recognised in the server's answer and for capabilities checked before sending.
pub(crate) fn capability_error(model: &str, capability: &str) -> Error {
    let advice = match capability {
        "insert" => {
            "fill-in-the-middle (a suffix) needs a code model whose template takes a suffix \
             (e.g. qwen2.5-coder, codellama:code): leave the suffix out or use such a model"
        }
        "vision" => "send no images, or use a vision model",
        "tools" => "send no tools, or use a model that can call tools",
        "thinking" => "leave `think` unset (or false), or use a thinking model",
        _ => "use a model that has it",
    };
    Error::ModelCapability {
        model: model.to_owned(),
        capability: capability.to_owned(),
        message: format!("{advice}; `ollama show {model}` lists what the model can do"),
    }
}

/// The model and capabilities of Ollama's "`<model>` does not support `<capability>`"
/// (`server/images.go` CheckCapabilities: the fully-qualified name; `server/routes.go`: the
/// request's name in Go's `%q` quotes). Several missing capabilities are joined with
/// newlines (`errors.Join`); they come back joined with `, `.
pub(crate) fn parse_capability_message(message: &str) -> Option<(&str, String)> {
    let (model, rest) = message.trim().split_once(" does not support ")?;
    let model = model.trim();
    let model = model
        .strip_prefix('"')
        .and_then(|m| m.strip_suffix('"'))
        .unwrap_or(model);
    let capabilities: Vec<&str> = rest
        .lines()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    // A model name has no spaces: "raw mode does not support …" is not about a model.
    if model.is_empty() || model.contains(' ') || capabilities.is_empty() {
        return None;
    }
    Some((model, capabilities.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_messages_name_the_model_and_capabilities() {
        assert_eq!(
            parse_capability_message(
                "registry.ollama.ai/library/llama3.2:latest does not support insert"
            ),
            Some((
                "registry.ollama.ai/library/llama3.2:latest",
                "insert".into()
            ))
        );
        assert_eq!(
            parse_capability_message("\"llama3.2\" does not support thinking"),
            Some(("llama3.2", "thinking".into()))
        );
        assert_eq!(
            parse_capability_message("m:latest does not support tools\nvision"),
            Some(("m:latest", "tools, vision".into()))
        );
        assert_eq!(
            parse_capability_message("m does not support image generation"),
            Some(("m", "image generation".into()))
        );
        assert_eq!(parse_capability_message(RAW_MODE_REFUSAL), None);
        assert_eq!(parse_capability_message("model 'x' not found"), None);
        assert!(matches!(
            request_refusal(RAW_MODE_REFUSAL, Some("m")),
            Some(Error::Unsupported { .. })
        ));
        match request_refusal("\"llama3.2\" does not support thinking", None) {
            Some(Error::ModelCapability {
                model, capability, ..
            }) => assert_eq!(
                (model.as_str(), capability.as_str()),
                ("llama3.2", "thinking")
            ),
            other => panic!("{other:?}"),
        }
    }
}
