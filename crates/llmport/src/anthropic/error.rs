//! How a Messages API server's error answers become [`Error`]s: the envelope
//! `{"type":"error","error":{"type","message"}}` decoded, 401/403 as [`Error::Auth`], and
//! what may be retried: 429 (`rate_limit_error`), 529 (`overloaded_error`) and 5xx, after
//! the server's `Retry-After`; 400, 401, 403, 404 and 413 are final.

use super::wire::ErrorEnvelope;
use crate::error::{ApiError, Error, excerpt};
use crate::transport::{ErrorAnswer, ErrorMapping, Unreachable};

/// The error mapping of [`AnthropicProvider`](super::AnthropicProvider).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AnthropicErrors;

impl ErrorMapping for AnthropicErrors {
    fn status_error(&self, answer: &ErrorAnswer<'_>) -> Error {
        let mut api = parse_error_body(answer.status, answer.content_type, answer.body);
        api.retry_after = answer.retry_after;
        if matches!(answer.status, 401 | 403) {
            let message = match (api.message.is_empty(), answer.credentials_sent) {
                (false, _) => api.message,
                (true, true) => "the server refused the credentials".to_owned(),
                (true, false) => "the server wants credentials and none were configured: set \
                                  an API key (AnthropicProviderBuilder::api_key)"
                    .to_owned(),
            };
            return Error::Auth {
                status: Some(answer.status),
                message,
                source: None,
            };
        }
        if answer.status == 404
            && api.kind.as_deref() == Some("not_found_error")
            && let Some(model) = answer.model
        {
            api.hint = Some(format!(
                "check the model name {model:?} (on Ollama: `ollama pull {model}`)"
            ));
        }
        Error::from(api)
    }

    fn unreachable(&self) -> Unreachable {
        Unreachable {
            server: "the Messages API server",
            hint: "is it running and is the base URL right (without /v1)?",
        }
    }
}

/// Decodes an error body: the Messages API's envelope, else a bare `{"error":"…"}`, else
/// the start of the body.
pub(crate) fn parse_error_body(status: u16, content_type: &str, body: &[u8]) -> ApiError {
    let mut api = ApiError::new(status, String::new());
    if let Ok(env) = serde_json::from_slice::<ErrorEnvelope>(body) {
        api.message = env.error.message.unwrap_or_default();
        api.kind = env.error.kind;
    } else if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(body)
        && let Some(serde_json::Value::String(s)) = o.get("error")
    {
        api.message = s.clone();
    } else {
        let text = excerpt(body);
        api.message = if content_type.starts_with("text/html") || text.starts_with('<') {
            format!("an HTML page instead of an API answer (a proxy in between?): {text}")
        } else {
            text
        };
    }
    api.retryable = is_retryable(status, api.kind.as_deref());
    api
}

/// Whether an error may go away by itself: overloaded (529), rate limited (429), a server
/// error (5xx) or a timeout (408).
pub(crate) fn is_retryable(status: u16, kind: Option<&str>) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504 | 529)
        || matches!(
            kind,
            Some("overloaded_error" | "rate_limit_error" | "api_error" | "timeout_error")
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_envelope_and_judges_retries() {
        let e = parse_error_body(
            529,
            "application/json",
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(e.message, "Overloaded");
        assert_eq!(e.kind.as_deref(), Some("overloaded_error"));
        assert!(e.retryable);
        for status in [400, 401, 403, 404, 413] {
            let e = parse_error_body(
                status,
                "application/json",
                br#"{"type":"error","error":{"type":"invalid_request_error","message":"x"}}"#,
            );
            assert!(!e.retryable, "{status}");
        }
        let e = parse_error_body(502, "text/html", b"<html>bad gateway</html>");
        assert!(e.message.starts_with("an HTML page"));
    }
}
