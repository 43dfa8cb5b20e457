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
            && let Some(e) = capability_error(&api.message, answer.model)
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

/// Ollama's refusal of a request that needs a capability the model lacks (a 400), as an
/// [`Error::ModelCapability`]; `None` for any other message. Two spellings reach a client:
/// `registry.ollama.ai/library/gemma2:2b does not support tools` (the scheduler's check, with
/// the fully-qualified name; several missing capabilities are joined with newlines, the
/// later lines without the name) and `"llama3.2" does not support thinking` (the handlers'
/// checks, the name as requested in Go's `%q`). `requested` is the model the request named,
/// which the error reports when known (the user's spelling, not the registry's).
pub(crate) fn capability_error(message: &str, requested: Option<&str>) -> Option<Error> {
    const SAYS: &str = "does not support ";
    let mut named: Option<String> = None;
    let mut capabilities: Vec<&str> = Vec::new();
    for line in message.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (who, what) = if let Some(what) = line.strip_prefix(SAYS) {
            ("", what)
        } else {
            line.split_once(&format!(" {SAYS}"))?
        };
        let what = what.trim();
        // One word (`tools`, `insert`): "raw mode does not support template, system, or
        // context" is another refusal.
        if what.is_empty()
            || !what
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return None;
        }
        if named.is_none() && !who.is_empty() {
            // `%q` quoting is a JSON string for every printable name.
            named = Some(if who.starts_with('"') {
                serde_json::from_str::<String>(who).ok()?
            } else {
                who.to_owned()
            });
        }
        if !capabilities.contains(&what) {
            capabilities.push(what);
        }
    }
    if capabilities.is_empty() {
        return None;
    }
    let model = match (requested, named) {
        (Some(m), _) if !m.is_empty() => m.to_owned(),
        (_, Some(n)) => n
            .strip_prefix("registry.ollama.ai/library/")
            .map(str::to_owned)
            .unwrap_or(n),
        _ => return None,
    };
    Some(Error::ModelCapability {
        model,
        capability: capabilities.join(", "),
    })
}

/// Whether a 404's message is about a model (Ollama's `model 'x' not found`), rather than a
/// route the server does not have (Go's `404 page not found`, llama.cpp's `File Not Found`).
fn mentions_a_model(api: &ApiError) -> bool {
    api.message.to_ascii_lowercase().contains("model")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(message: &str, requested: Option<&str>) -> Option<(String, String)> {
        match capability_error(message, requested)? {
            Error::ModelCapability { model, capability } => Some((model, capability)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_spellings_and_joined_lines_are_recognised() {
        let pair = |m: &str, c: &str| Some((m.to_owned(), c.to_owned()));
        assert_eq!(
            cap(
                "registry.ollama.ai/library/gemma2:2b does not support tools",
                None
            ),
            pair("gemma2:2b", "tools")
        );
        assert_eq!(
            cap(
                "registry.ollama.ai/alice/m:latest does not support insert",
                Some("alice/m")
            ),
            pair("alice/m", "insert")
        );
        assert_eq!(
            cap("\"llama3.2\" does not support thinking", None),
            pair("llama3.2", "thinking")
        );
        assert_eq!(
            cap(
                "registry.ollama.ai/library/nomic:latest does not support completion\ndoes not support tools",
                None
            ),
            pair("nomic:latest", "completion, tools")
        );
        assert_eq!(
            cap(
                "raw mode does not support template, system, or context",
                Some("m")
            ),
            None
        );
        assert_eq!(cap("model 'x' not found", Some("x")), None);
    }
}
