//! How a Responses API server's error answers become [`Error`]s: OpenAI's envelope
//! `{"error":{"message","type","param","code"}}` (llama.cpp's server puts the status in
//! `code` as a number), what servers in front of one send (a bare `{"error":"…"}`, FastAPI's
//! `{"detail":…}`, plain text, an HTML page), 401/403 as [`Error::Auth`]; and a response
//! that failed (`status: "failed"`, a `response.failed` or `error` event) as the server's
//! error. Retries follow [`ApiError::new`]'s rule (408, 409, 429, 5xx), after `Retry-After`.

use super::wire::{WireError, scalar_text};
use crate::error::{ApiError, Error, excerpt};
use crate::transport::{ErrorAnswer, ErrorMapping, Unreachable};

/// The error mapping of [`ResponsesProvider`](super::ResponsesProvider).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ResponsesErrors;

impl ErrorMapping for ResponsesErrors {
    fn status_error(&self, answer: &ErrorAnswer<'_>) -> Error {
        let mut api = parse_error_body(answer.status, answer.content_type, answer.body);
        api.retry_after = answer.retry_after;
        if matches!(answer.status, 401 | 403) {
            let message = match (api.message.is_empty(), answer.credentials_sent) {
                (false, _) => api.message,
                (true, true) => "the server refused the credentials".to_owned(),
                (true, false) => "the server wants credentials and none were configured: set \
                                  an API key (ResponsesProviderBuilder::api_key, \
                                  OPENAI_API_KEY)"
                    .to_owned(),
            };
            return Error::Auth {
                status: Some(answer.status),
                message,
                source: None,
            };
        }
        if answer.status == 404
            && let Some(model) = answer.model
            && (api.code.as_deref() == Some("model_not_found") || api.message.contains(model))
        {
            api.hint = Some(format!(
                "check the model name {model:?} (on Ollama: `ollama pull {model}`)"
            ));
        } else if answer.status == 404 && api.message == "404 page not found" {
            api.hint = Some(
                "the server has no Responses endpoint here: check the base URL (it includes \
                 /v1, e.g. http://localhost:11434/v1)"
                    .into(),
            );
        }
        Error::from(api)
    }

    fn unreachable(&self) -> Unreachable {
        Unreachable {
            server: "the Responses API server",
            hint: "is it running and is the base URL right (with /v1)?",
        }
    }
}

/// Decodes an error body.
pub(crate) fn parse_error_body(status: u16, content_type: &str, body: &[u8]) -> ApiError {
    let mut api = ApiError::new(status, String::new());
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        match v.get("error") {
            Some(e @ serde_json::Value::Object(_)) => {
                let e: WireError = serde_json::from_value(e.clone()).unwrap_or_default();
                fill(&mut api, e);
            }
            Some(serde_json::Value::String(s)) => api.message = s.clone(),
            _ => {
                api.message = v
                    .get("detail")
                    .or_else(|| v.get("message"))
                    .and_then(scalar_text)
                    .unwrap_or_else(|| excerpt(body));
            }
        }
        return api;
    }
    let text = excerpt(body);
    api.message = if content_type.starts_with("text/html") || text.starts_with('<') {
        format!("an HTML page instead of an API answer (a proxy in between?): {text}")
    } else {
        text
    };
    api
}

fn fill(api: &mut ApiError, e: WireError) {
    api.message = e.message.unwrap_or_default();
    api.kind = e.kind;
    api.code = e.code.as_ref().and_then(scalar_text);
    api.param = e.param.as_ref().and_then(scalar_text);
}

/// A response that failed: the server's error, as an [`Error::Api`] (a whole answer) or, in
/// a stream (`midstream`), an [`Error::Stream`] whose source is that [`ApiError`] (its
/// status the stream's, 200; retryable when the code says the server was overloaded or
/// failed, as OpenAI's `server_error` and `rate_limit_exceeded` do).
pub(crate) fn failed_response(status: u16, error: Option<WireError>, midstream: bool) -> Error {
    let mut api = ApiError::new(status, String::new());
    fill(&mut api, error.unwrap_or_default());
    if api.message.is_empty() {
        api.message = "the response failed and the server gave no reason".into();
    }
    api.retryable = matches!(
        api.code.as_deref().or(api.kind.as_deref()),
        Some("server_error" | "rate_limit_exceeded" | "server_is_overloaded" | "slow_down")
    ) || api
        .code
        .as_deref()
        .and_then(|c| c.parse::<u16>().ok())
        .is_some_and(|c| matches!(c, 408 | 429 | 500..=599));
    if !midstream {
        return Error::Api(Box::new(api));
    }
    let what = api
        .code
        .as_deref()
        .or(api.kind.as_deref())
        .unwrap_or("error")
        .to_owned();
    Error::Stream {
        message: format!(
            "the server reported an error mid-stream ({what}): {}",
            api.message
        ),
        source: Some(Box::new(api)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openai_llama_cpp_and_other_bodies() {
        let e = parse_error_body(
            404,
            "application/json",
            br#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
        );
        assert_eq!(e.code.as_deref(), Some("model_not_found"));
        assert_eq!(e.param, None);
        assert!(!e.retryable);
        let e = parse_error_body(
            400,
            "application/json",
            br#"{"error":{"code":400,"message":"'input' must be a string or array of objects","type":"invalid_request_error"}}"#,
        );
        assert_eq!(e.code.as_deref(), Some("400"));
        assert_eq!(e.kind.as_deref(), Some("invalid_request_error"));
        let e = parse_error_body(
            404,
            "application/json",
            br#"{"error":"model 'x' not found"}"#,
        );
        assert_eq!(e.message, "model 'x' not found");
        let e = parse_error_body(502, "text/html", b"<html>bad gateway</html>");
        assert!(e.message.starts_with("an HTML page"));
        assert!(e.retryable);
    }
}
