//! How an OpenAI-compatible server's error answers become [`Error`]s: the body decoded
//! (OpenAI's `{"error":{…}}`, and what servers in front of one send: FastAPI's
//! `{"detail":…}`, a bare `{"error":"…"}`, plain text, an HTML page), 401 and 403 worded by
//! whether credentials were sent, and the hints.

use crate::error::{ApiError, Error, excerpt};
use crate::transport::{ErrorAnswer, ErrorMapping, Unreachable};

/// The error mapping of [`OpenAiProvider`](super::OpenAiProvider).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OpenAiErrors;

impl ErrorMapping for OpenAiErrors {
    fn status_error(&self, answer: &ErrorAnswer<'_>) -> Error {
        let api = api_error(answer);
        if matches!(answer.status, 401 | 403) {
            return auth_error(answer, api);
        }
        Error::from(with_hint(api))
    }

    fn unreachable(&self) -> Unreachable {
        Unreachable {
            server: "the server",
            hint: "is it running and is the URL right?",
        }
    }
}

/// The answer's body decoded, with the `Retry-After` the transport read.
pub(crate) fn api_error(answer: &ErrorAnswer<'_>) -> ApiError {
    let mut api = parse_error_body(answer.status, answer.content_type, answer.body);
    api.retry_after = answer.retry_after;
    api
}

/// A 401 or 403, worded by whether credentials were sent: refused ones, or none where the
/// server wants some.
pub(crate) fn auth_error(answer: &ErrorAnswer<'_>, api: ApiError) -> Error {
    let message = match (api.message.is_empty(), answer.credentials_sent) {
        (false, _) => api.message,
        (true, true) => "the server refused the credentials".to_owned(),
        (true, false) if answer.status == 401 => "the server wants credentials and none were \
             configured: set an API key (LLMPORT_API_KEY) or other credentials"
            .to_owned(),
        (true, false) => "the server refused the request and no credentials were sent: it may \
             want some (LLMPORT_API_KEY), or not allow this client at all"
            .to_owned(),
    };
    Error::Auth {
        status: Some(answer.status),
        message,
        source: None,
    }
}

/// The hints any OpenAI-compatible server's answer may call for.
pub(crate) fn with_hint(mut api: ApiError) -> ApiError {
    let msg = api.message.as_str();
    if api.status == 400
        && (msg.contains("No required SSL certificate") || msg.contains("SSL certificate error"))
    {
        api.hint = Some(
            "the server requires a valid client certificate (mutual TLS): set one with \
             ClientOptionsBuilder::client_identity_files (LLMPORT_CLIENT_CERT, \
             LLMPORT_CLIENT_KEY)"
                .into(),
        );
    } else if api.status == 404 && msg == "404 page not found" {
        api.hint = Some(
            "the server has no such endpoint: check the base URL (Ollama's OpenAI-compatible \
             API is under /v1)"
                .into(),
        );
    }
    api
}

/// Decodes an error body: OpenAI's `{"error":{"message","type","code","param"}}`, a bare
/// `{"error":"…"}` (Ollama and others), FastAPI's `{"detail":…}`, or plain text / HTML.
pub(crate) fn parse_error_body(status: u16, content_type: &str, body: &[u8]) -> ApiError {
    let mut api = ApiError::new(status, String::new());
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let str_of = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        };
        match v.get("error") {
            Some(serde_json::Value::Object(e)) => {
                api.message = e.get("message").and_then(str_of).unwrap_or_default();
                api.kind = e.get("type").and_then(str_of);
                api.code = e.get("code").and_then(str_of);
                api.param = e.get("param").and_then(str_of);
            }
            Some(serde_json::Value::String(s)) => api.message = s.clone(),
            _ => {
                if let Some(m) = v
                    .get("detail")
                    .or_else(|| v.get("message"))
                    .and_then(str_of)
                {
                    api.message = m;
                } else {
                    api.message = excerpt(body);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openai_native_fastapi_and_html_errors() {
        let e = parse_error_body(
            404,
            "application/json",
            br#"{"error":{"message":"model 'x' not found","type":"not_found_error","param":null,"code":null}}"#,
        );
        assert_eq!(e.message, "model 'x' not found");
        assert_eq!(e.kind.as_deref(), Some("not_found_error"));
        assert_eq!(e.code, None);
        let e = parse_error_body(
            404,
            "application/json",
            br#"{"error":"model 'x' not found"}"#,
        );
        assert_eq!(e.message, "model 'x' not found");
        let e = parse_error_body(401, "application/json", br#"{"detail":"Invalid API key"}"#);
        assert_eq!(e.message, "Invalid API key");
        let e = parse_error_body(
            502,
            "text/html",
            b"<html>\n<head><title>502 Bad Gateway</title></head></html>",
        );
        assert!(e.message.starts_with("an HTML page"), "{}", e.message);
        assert!(e.message.contains("502 Bad Gateway"));
        let e = parse_error_body(404, "text/plain", b"404 page not found");
        assert_eq!(e.message, "404 page not found");
    }
}
