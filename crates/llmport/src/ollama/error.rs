//! How Ollama's error answers become [`Error`]s, for its OpenAI-compatible `/v1` and its
//! native `/api`: the body decoded as OpenAI's mapping does it (Ollama sends OpenAI's shape
//! on `/v1`, `{"error":"…"}` on `/api`), with Ollama's own hints — pull a missing model, a
//! 403 for a disallowed `Host` or `Origin`, an OpenAI-compatible server (llama.cpp, vLLM,
//! LM Studio) that has no native `/api` — and Ollama's way of naming a server it cannot reach.

use crate::error::{ApiError, Error, SignInRequired};
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
        if let Some(e) = cloud_error(answer, &mut api) {
            return e;
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
        if let Some(e) = context_length_error(&mut api) {
            return e;
        }
        if answer.status == 503 && api.message.contains("server busy") {
            // Ollama's scheduler queue is full (OLLAMA_MAX_QUEUE). It sends no Retry-After:
            // the retry layer waits its own backoff. Retryable, as `ApiError::new` made it.
            api.hint = Some(
                "Ollama's queue of requests waiting for a model is full (OLLAMA_MAX_QUEUE on \
                 the server); try again shortly, or raise RetryConfig::max_retries"
                    .into(),
            );
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

/// Ollama's message when a request combines `raw` with `template`, `system` or `context`
/// (`server/routes.go` GenerateHandler).
pub(crate) const RAW_MODE_REFUSAL: &str = "raw mode does not support template, system, or context";

/// What a 400's message says about the request, when it is one Ollama words for a typed
/// error: `raw` combined with a template, system or context ([`Error::Unsupported`]), or a
/// capability the model lacks ([`Error::ModelCapability`], see [`capability_error`]).
/// `requested` is the model the request named.
fn request_refusal(message: &str, requested: Option<&str>) -> Option<Error> {
    if message.trim() == RAW_MODE_REFUSAL {
        return Some(raw_mode_refusal());
    }
    capability_error(message, requested)
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

/// What Ollama's cloud answers (ollama.com directly, or relayed verbatim by a local Ollama for
/// a `:cloud` model or web search) that a general mapping would misread: a 401 naming where
/// to sign in, and a 429 for a used-up usage allowance. `None` for anything else; `api` may
/// get a hint.
fn cloud_error(answer: &ErrorAnswer<'_>, api: &mut ApiError) -> Option<Error> {
    match answer.status {
        401 => {
            if let Some(url) = signin_url(answer.body) {
                let message = format!(
                    "{} — this Ollama is not signed in to ollama.com (needed for cloud models \
                     and web search): open {url} to connect it, or run `ollama signin` on the \
                     server's machine",
                    if api.message.is_empty() {
                        "unauthorized"
                    } else {
                        api.message.as_str()
                    }
                );
                return Some(Error::Auth {
                    status: Some(401),
                    message,
                    source: Some(Box::new(SignInRequired { url })),
                });
            }
            if !answer.credentials_sent && answer.url.host_str() == Some(CLOUD_HOST) {
                api.message = "ollama.com wants an API key and none was sent: set OLLAMA_API_KEY \
                     (create one at https://ollama.com/settings/keys)"
                    .into();
            }
            None
        }
        403 if api.message.starts_with("ollama cloud is disabled") => Some(Error::Auth {
            status: Some(403),
            message: format!(
                "{} — the Ollama server has its cloud features turned off: unset \
                 OLLAMA_NO_CLOUD (or the app's setting) on the server, or use ollama.com \
                 directly with OLLAMA_API_KEY",
                api.message
            ),
            source: None,
        }),
        429 if is_usage_limit(&api.message) => {
            let mut api = api.clone();
            api.retryable = false;
            api.hint = Some(
                "not retried: this allowance resets after hours, not seconds — wait until it \
                 resets or raise the account's limits on ollama.com"
                    .into(),
            );
            Some(Error::QuotaExceeded(Box::new(api)))
        }
        _ => None,
    }
}

/// The host of Ollama's cloud, for wording a 401 from it.
const CLOUD_HOST: &str = "ollama.com";

/// Whether a 429's message is ollama.com's used-up allowance ("you (alice) have reached your
/// session usage limit, …", "you've reached your hourly usage limit, …") rather than a rate
/// limit ("rate limit exceeded").
fn is_usage_limit(message: &str) -> bool {
    message.to_ascii_lowercase().contains("usage limit")
}

/// The `signin_url` of a 401 body (`{"error":"unauthorized","signin_url":"https://…"}`),
/// when it is a well-formed `https` URL of reasonable length: it is shown to the user, so
/// nothing else a server sends gets through (the URL parser's form has no spaces or control
/// characters).
fn signin_url(body: &[u8]) -> Option<String> {
    const MAX_LEN: usize = 4096;
    #[derive(serde::Deserialize)]
    struct Body {
        signin_url: Option<String>,
    }
    let raw = serde_json::from_slice::<Body>(body).ok()?.signin_url?;
    if raw.len() > MAX_LEN || raw.chars().any(char::is_control) {
        return None;
    }
    let url = url::Url::parse(raw.trim()).ok()?;
    (url.scheme() == "https" && url.host_str().is_some()).then(|| url.to_string())
}

/// Ollama's 400s for input that does not fit the context and that the server was told not
/// to cut: chat and generate with `shift: false` ("the prompt is longer than the context
/// length currently available to the model; …"), embed with `truncate: false` ("the input
/// length exceeds the context length", and the texts of the runner's own checks). `None`
/// for anything else.
fn context_length_error(api: &mut ApiError) -> Option<Error> {
    if api.status != 400 {
        return None;
    }
    let m = api.message.as_str();
    let hint = if m.contains("prompt is longer than the context length") {
        "shorten the messages, raise OllamaOptions::num_ctx, or leave OllamaOptions::shift \
         and truncate unset (Ollama then cuts the oldest input)"
    } else if m.contains("exceeds the context length")
        || m.contains("exceeds maximum context length")
    {
        "shorten the text, or leave EmbedOptions::truncate on (Ollama then cuts it to fit)"
    } else {
        return None;
    };
    let mut api = api.clone();
    api.retryable = false;
    api.hint = Some(hint.into());
    Some(Error::ContextLength(Box::new(api)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_mode_refusals_and_capability_refusals_are_told_apart() {
        assert!(matches!(
            request_refusal(RAW_MODE_REFUSAL, Some("m")),
            Some(Error::Unsupported { .. })
        ));
        match request_refusal("\"llama3.2\" does not support thinking", None) {
            Some(Error::ModelCapability { model, capability }) => assert_eq!(
                (model.as_str(), capability.as_str()),
                ("llama3.2", "thinking")
            ),
            other => panic!("{other:?}"),
        }
        assert!(request_refusal("model 'x' not found", Some("x")).is_none());
    }

    fn answer<'a>(status: u16, body: &'a [u8], url: &'a url::Url) -> ErrorAnswer<'a> {
        ErrorAnswer {
            status,
            content_type: "application/json",
            body,
            url,
            path: "api/chat",
            model: Some("m"),
            credentials_sent: false,
            retry_after: None,
        }
    }

    #[test]
    fn a_keyless_401_from_ollama_com_says_to_set_the_key() {
        let url = url::Url::parse("https://ollama.com/api/chat").unwrap();
        let e = OllamaErrors.status_error(&answer(401, br#"{"error":"unauthorized"}"#, &url));
        assert!(matches!(e, Error::Auth { .. }), "{e:?}");
        assert!(e.to_string().contains("OLLAMA_API_KEY"), "{e}");
        let url = url::Url::parse("http://127.0.0.1:11434/api/chat").unwrap();
        let e = OllamaErrors.status_error(&answer(401, br#"{"error":"unauthorized"}"#, &url));
        assert!(!e.to_string().contains("OLLAMA_API_KEY"), "{e}");
    }

    #[test]
    fn a_server_with_cloud_turned_off_says_so() {
        let url = url::Url::parse("http://127.0.0.1:11434/api/experimental/web_search").unwrap();
        let body = br#"{"error":"ollama cloud is disabled: web search is unavailable"}"#;
        let e = OllamaErrors.status_error(&answer(403, body, &url));
        assert!(
            matches!(
                e,
                Error::Auth {
                    status: Some(403),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("OLLAMA_NO_CLOUD"), "{e}");
    }

    #[test]
    fn only_usage_limit_429s_are_quota_errors() {
        assert!(is_usage_limit(
            "you've reached your hourly usage limit, please wait or upgrade to continue"
        ));
        assert!(is_usage_limit(
            "You (x) have reached your weekly Usage Limit"
        ));
        assert!(!is_usage_limit("rate limit exceeded"));
        let url = url::Url::parse("https://ollama.com/api/chat").unwrap();
        let e = OllamaErrors.status_error(&answer(400, br#"{"error":"usage limit"}"#, &url));
        assert!(
            matches!(e, Error::Api(_)),
            "a 400 is not a quota error: {e:?}"
        );
    }

    #[test]
    fn signin_urls_are_https_and_clean() {
        let ok = br#"{"error":"unauthorized","signin_url":"https://ollama.com/connect?name=a\u0026key=b"}"#;
        assert_eq!(
            signin_url(ok).as_deref(),
            Some("https://ollama.com/connect?name=a&key=b")
        );
        for bad in [
            &br#"{"signin_url":"http://ollama.com/connect"}"#[..],
            br#"{"signin_url":"https://"}"#,
            br#"{"signin_url":"https://a b.example/"}"#,
            br#"{"signin_url":null}"#,
            b"not json",
        ] {
            assert_eq!(signin_url(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let long = format!(
            r#"{{"signin_url":"https://x.example/{}"}}"#,
            "a".repeat(5000)
        );
        assert_eq!(signin_url(long.as_bytes()), None);
    }

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
