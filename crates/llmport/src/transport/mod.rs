//! The HTTP layer: [`ClientOptions`], [`RetryConfig`], and the client every provider shares.
//!
//! This is the only module that configures or calls an HTTP client: reqwest, or, for a plain
//! `http://` server with no proxy in between (Ollama on `localhost`), hyper's pooled client
//! directly (`direct.rs`: reqwest's own layers cost ~40% of a small request). It applies
//! credentials and extra headers on every attempt, retries what is safe to retry, enforces the
//! phase timeouts, and turns HTTP failures into typed [`Error`]s.

mod body;
mod direct;
mod options;
mod prefetch;
mod retry;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};
use tracing::Instrument;

pub use self::body::BodyStream;
pub(crate) use self::body::{Response, from_reqwest, read_body};
use self::direct::{DirectClient, SendError};
pub use self::options::{ClientIdentity, ClientOptions};
pub use self::retry::RetryConfig;
use crate::auth::{AppliedAuth, Auth};
use crate::error::{ApiError, Error, Result, TimeoutKind};

/// The largest error body that is read to build an error message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An HTTP client bound to one base URL, with credentials, headers, retries and timeouts.
/// Cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    client: reqwest::Client,
    base_url: String,
    /// `base_url`, parsed once: see [`HttpClient::url`].
    base: url::Url,
    /// The extra headers as given (shown by name in `Debug`).
    headers: HeaderMap,
    /// What every request carries: the extra headers and static credentials, built once
    /// (see [`Auth::static_header`]).
    fixed_headers: HeaderMap,
    /// The direct path to a plain-HTTP server with no proxy (see [`direct`]); `None` when
    /// requests go through reqwest.
    direct: Option<DirectClient>,
    auth: Auth,
    retry: RetryConfig,
    options: ClientOptions,
    provider: &'static str,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut header_names: Vec<&str> = self.inner.headers.keys().map(|k| k.as_str()).collect();
        header_names.sort_unstable();
        f.debug_struct("HttpClient")
            .field("base_url", &redact_url(&self.inner.base_url))
            .field("headers", &header_names)
            .field("auth", &self.inner.auth)
            .field("retry", &self.inner.retry)
            .field("options", &self.inner.options)
            .finish()
    }
}

/// One request to send.
pub(crate) struct Request<'a> {
    pub method: Method,
    /// Path relative to the base URL, without a leading slash (e.g. `chat/completions`).
    pub path: &'a str,
    /// A JSON body, if any.
    pub body: Option<Bytes>,
    /// The model the request is about, to word "model not found" errors.
    pub model: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn post_json(path: &'a str, body: Vec<u8>, model: Option<&'a str>) -> Self {
        Request {
            method: Method::POST,
            path,
            body: Some(Bytes::from(body)),
            model,
        }
    }

    /// A `GET` without a body.
    pub fn get(path: &'a str) -> Self {
        Request {
            method: Method::GET,
            path,
            body: None,
            model: None,
        }
    }

    /// A `DELETE` with a JSON body (as Ollama's `/api/delete` takes it).
    pub fn delete_json(path: &'a str, body: Vec<u8>, model: Option<&'a str>) -> Self {
        Request {
            method: Method::DELETE,
            path,
            body: Some(Bytes::from(body)),
            model,
        }
    }
}

impl HttpClient {
    pub(crate) fn new(
        base_url: &str,
        headers: HeaderMap,
        auth: Auth,
        retry: RetryConfig,
        options: ClientOptions,
        provider: &'static str,
    ) -> Result<Self> {
        let parsed = url::Url::parse(base_url).map_err(|e| Error::Config {
            setting: None,
            message: format!("invalid base URL {}", redact_url(base_url)),
            source: Some(Box::new(e)),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "invalid base URL {}: the scheme must be http or https",
                redact_url(base_url)
            )));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::config(format!(
                "the base URL {} carries credentials; pass them with `Auth::basic` instead",
                redact_url(base_url)
            )));
        }
        auth.validate()?;
        let mut fixed_headers = headers.clone();
        if let Some((name, value)) = auth.static_header()? {
            // Credentials win over an extra header of the same name.
            fixed_headers.insert(name, value);
        }
        let client = options.build_client()?;
        let direct = DirectClient::for_base(&parsed, &options, &fixed_headers);
        Ok(HttpClient {
            inner: Arc::new(ClientInner {
                client,
                base_url: base_url.trim_end_matches('/').to_owned(),
                base: parsed,
                headers,
                fixed_headers,
                direct,
                auth,
                retry,
                options,
                provider,
            }),
        })
    }

    /// The same client bound to another base URL: it shares the connection pool, credentials,
    /// headers, retries and timeouts. `base_url` must be a valid http(s) URL (it is derived
    /// from one already checked, e.g. Ollama's root from its `/v1` URL); an unparsable one is
    /// a [`Error::Config`].
    pub(crate) fn with_base_url(&self, base_url: &str) -> Result<HttpClient> {
        let inner = &*self.inner;
        let base = url::Url::parse(base_url).map_err(|e| Error::Config {
            setting: None,
            message: format!("invalid base URL {}", redact_url(base_url)),
            source: Some(Box::new(e)),
        })?;
        // The same origin shares the direct path's pool too.
        let direct = if base.origin() == inner.base.origin() {
            inner.direct.clone()
        } else {
            DirectClient::for_base(&base, &inner.options, &inner.fixed_headers)
        };
        Ok(HttpClient {
            inner: Arc::new(ClientInner {
                client: inner.client.clone(),
                base_url: base_url.trim_end_matches('/').to_owned(),
                base,
                headers: inner.headers.clone(),
                fixed_headers: inner.fixed_headers.clone(),
                direct,
                auth: inner.auth.clone(),
                retry: inner.retry.clone(),
                options: inner.options.clone(),
                provider: inner.provider,
            }),
        })
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The URL of `path` (relative to the base URL), already parsed.
    ///
    /// Built from the base URL parsed once, with only the path set: handing reqwest a string
    /// made it parse the whole URL on every request (host and IDNA processing included), about
    /// 20,000 instructions, a quarter of a non-streaming request's client CPU (callgrind, the
    /// harness's batch of 20k requests).
    pub(crate) fn url(&self, path: &str) -> url::Url {
        let mut url = self.inner.base.clone();
        let base_path = url.path().trim_end_matches('/');
        let path = path.trim_start_matches('/');
        let mut full = String::with_capacity(base_path.len() + 1 + path.len());
        full.push_str(base_path);
        full.push('/');
        full.push_str(path);
        url.set_path(&full);
        url
    }

    /// Sends a request and returns the response once its status line and headers arrived
    /// with a success status. Failures before that are retried per [`RetryConfig`]; a 401
    /// answer to OAuth2 (or custom) credentials is retried once with fresh credentials.
    ///
    /// Every attempt runs in an `http.request` span (OpenTelemetry HTTP names: method, URL,
    /// resend count, status) that never holds a credential.
    pub(crate) async fn send(&self, req: &Request<'_>) -> Result<Response> {
        let inner = &*self.inner;
        let url = self.url(req.path);
        let mut retries = 0u32;
        let mut resends = 0u32;
        let mut auth_retried = false;
        loop {
            let span = tracing::debug_span!(
                "http.request",
                http.request.method = %req.method,
                url.full = %url,
                http.request.resend_count = resends,
                http.response.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            );
            let (result, applied) = self.attempt(req, &url).instrument(span).await;
            let err = match result {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            resends += 1;
            // Credentials that can be renewed get one more chance after a 401 (only when the
            // request reached the server: a failing token endpoint is final).
            if !auth_retried
                && matches!(
                    err,
                    Error::Auth {
                        status: Some(401),
                        ..
                    }
                )
                && let Some(applied) = &applied
                && inner.auth.rejected(applied).await
            {
                auth_retried = true;
                tracing::info!(
                    http.response.status_code = 401u16,
                    "the server refused the credentials; retrying once with fresh ones"
                );
                continue;
            }
            if retries >= inner.retry.max_retries || !err.is_retryable() {
                return Err(err);
            }
            let wait = match err.retry_after() {
                Some(d) if d > inner.retry.max_retry_after => return Err(err),
                Some(d) => d,
                None => inner.retry.backoff(retries),
            };
            tracing::info!(
                retry = retries + 1,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "retrying request"
            );
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// One attempt. Also returns the credentials used, when the request was sent with them.
    async fn attempt(
        &self,
        req: &Request<'_>,
        url: &url::Url,
    ) -> (Result<Response>, Option<AppliedAuth>) {
        let inner = &*self.inner;
        // Only credentials that change between attempts are fetched here, in a boxed future:
        // the OAuth2 token fetch is ~900 bytes of state that every request's future would
        // otherwise carry (and move) even with no credentials at all.
        let applied = if inner.auth.is_dynamic() {
            match Box::pin(inner.auth.apply(&inner.client)).await {
                Ok(applied) => applied,
                Err(e) => {
                    tracing::Span::current().record("error.type", "credentials");
                    return (Err(e), None);
                }
            }
        } else {
            AppliedAuth::default()
        };
        let result = self.attempt_with(req, url, &applied.headers).await;
        if let Err(e) = &result {
            let span = tracing::Span::current();
            if let Some(status) = e.status() {
                span.record("http.response.status_code", status);
            }
            span.record("error.type", error_type(e));
        }
        (result, Some(applied))
    }

    async fn attempt_with(
        &self,
        req: &Request<'_>,
        url: &url::Url,
        credentials: &HeaderMap,
    ) -> Result<Response> {
        let inner = &*self.inner;
        let resp = match &inner.direct {
            Some(direct) if url.scheme() == "http" => {
                let send = direct.send(&req.method, url, credentials, req.body.as_ref());
                match within(
                    inner.options.first_byte_timeout,
                    TimeoutKind::FirstByte,
                    send,
                )
                .await?
                {
                    Ok(resp) => resp,
                    Err(SendError::ConnectTimeout(after)) => {
                        return Err(Error::Timeout {
                            kind: TimeoutKind::Connect,
                            after,
                        });
                    }
                    Err(SendError::Failed(e)) => return Err(self.connect_error(e)),
                }
            }
            _ => {
                // reqwest takes the URL by value; a clone of a parsed Url is one string copy,
                // where a &str would be parsed again on every attempt.
                let mut builder = inner.client.request(req.method.clone(), url.clone());
                if !inner.fixed_headers.is_empty() {
                    builder = builder.headers(inner.fixed_headers.clone());
                }
                if !credentials.is_empty() {
                    builder = builder.headers(credentials.clone());
                }
                if let Some(body) = &req.body {
                    builder = builder
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(body.clone());
                }
                let send = builder.send();
                let resp = within(
                    inner.options.first_byte_timeout,
                    TimeoutKind::FirstByte,
                    send,
                )
                .await?
                .map_err(|e| self.map_send_error(e))?;
                from_reqwest(resp)
            }
        };
        let status = resp.status();
        tracing::Span::current().record("http.response.status_code", status.as_u16());
        if status.is_success() {
            return Ok(resp);
        }
        // Boxed: the error path's state (reading a bounded error body under a deadline)
        // stays out of every request's future.
        Err(Box::pin(self.error_from_response(resp, req.model)).await)
    }

    /// Sends a request and reads the whole (bounded) body, under the total deadline if set.
    pub(crate) async fn send_for_body(&self, req: &Request<'_>) -> Result<Bytes> {
        let work = async {
            let resp = self.send(req).await?;
            read_body(
                resp,
                self.inner.options.max_body_size,
                self.inner.options.idle_timeout,
            )
            .await
        };
        within(self.inner.options.total_timeout, TimeoutKind::Total, work).await?
    }

    /// Starts a streamed request: returns the body as a stream of byte chunks, with the idle
    /// timeout applied between chunks.
    pub(crate) async fn send_for_stream(&self, req: &Request<'_>) -> Result<BodyStream> {
        let resp = self.send(req).await?;
        // A login page or captive portal answering `200` for the API: say so, rather than
        // reporting an event stream that ended without its end marker.
        let content_type = content_type(&resp);
        if content_type.starts_with("text/html") {
            let body = self.read_error_body(resp).await;
            return Err(Error::decode(format!(
                "expected an event stream, got an HTML page (Content-Type: {content_type}; \
                 a proxy or login page in between?): {}",
                excerpt(&body)
            )));
        }
        Ok(BodyStream::new(resp, self.inner.options.idle_timeout))
    }

    /// The body of an answer that is not the API's, read with a bound and a short deadline:
    /// it only words an error message.
    async fn read_error_body(&self, resp: Response) -> Bytes {
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            read_body(resp, MAX_ERROR_BODY, self.inner.options.idle_timeout),
        )
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_default()
    }

    fn map_send_error(&self, e: reqwest::Error) -> Error {
        let connect_limit = self.inner.options.connect_timeout;
        if e.is_timeout()
            && let Some(after) = connect_limit
        {
            return Error::Timeout {
                kind: TimeoutKind::Connect,
                after,
            };
        }
        self.connect_error(Box::new(e.without_url()))
    }

    /// The server could not be reached, or the connection broke before the answer's head.
    fn connect_error(&self, source: crate::error::BoxError) -> Error {
        Error::Connect {
            url: origin(&self.inner.base_url),
            provider: self.inner.provider,
            source: Some(source),
        }
    }

    async fn error_from_response(&self, resp: Response, model: Option<&str>) -> Error {
        let status = resp.status().as_u16();
        let retry_after = retry::parse_retry_after(resp.headers(), SystemTime::now());
        let content_type = content_type(&resp);
        let location = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(redact_url);
        let body = self.read_error_body(resp).await;
        let mut api = parse_error_body(status, &content_type, &body);
        api.retry_after = retry_after;
        if status == 401 || status == 403 {
            return Error::Auth {
                status: Some(status),
                message: if api.message.is_empty() {
                    "the server refused the credentials".into()
                } else {
                    api.message
                },
                source: None,
            };
        }
        api.hint = error_hint(self.inner.provider, &api, model);
        if (300..400).contains(&status) {
            // Only a redirect that was not followed ends up here (see `ClientOptions`).
            api.message = format!(
                "redirected to {}",
                location.as_deref().unwrap_or("an address it did not give")
            );
            api.hint = Some(format!(
                "llmport follows at most {} redirects, and only within the same scheme, host \
                 and port, so that credentials and prompts never reach a server you did not \
                 configure: if you trust the new address, make it the base URL",
                options::MAX_REDIRECTS
            ));
        }
        Error::from(api)
    }
}

/// `work` under a time limit, if one is set; running out is a [`Error::Timeout`] of `kind`.
async fn within<F: std::future::Future>(
    limit: Option<std::time::Duration>,
    kind: TimeoutKind,
    work: F,
) -> Result<F::Output> {
    match limit {
        Some(after) => tokio::time::timeout(after, work)
            .await
            .map_err(|_| Error::Timeout { kind, after }),
        None => Ok(work.await),
    }
}

/// The `Content-Type` of an answer (`""` when absent or not text).
fn content_type(resp: &Response) -> String {
    resp.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// An error while reading a body after the status line arrived.
pub(crate) fn body_error(e: reqwest::Error) -> Error {
    if is_corrupt_encoding(&e) {
        return Error::Decode {
            message: "the answer's compressed body is corrupt".into(),
            source: Some(Box::new(e.without_url())),
        };
    }
    Error::Stream {
        message: "the connection broke while the answer was being received".into(),
        source: Some(Box::new(e.without_url())),
    }
}

/// Whether a body error means the bytes arrived but their content encoding (gzip, …) is
/// corrupt. reqwest reports every body error through its decompressor as a "decode" error,
/// broken connections included; the decompressor's own failures are I/O errors of kind
/// `InvalidData`.
fn is_corrupt_encoding(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::InvalidData;
        }
        source = err.source();
    }
    false
}

/// Decodes an error body: OpenAI's `{"error":{"message","type","code","param"}}`, Ollama's
/// native `{"error":"…"}`, FastAPI's `{"detail":…}`, or plain text / HTML.
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

/// The start of a body as text, whitespace collapsed, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX * 4)]);
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > MAX {
        let cut: String = collapsed.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        collapsed
    }
}

/// A short, low-cardinality name of what went wrong, for the `error.type` span field.
fn error_type(e: &Error) -> &'static str {
    match e {
        Error::Timeout {
            kind: TimeoutKind::Connect,
            ..
        } => "connect_timeout",
        Error::Timeout {
            kind: TimeoutKind::FirstByte,
            ..
        } => "first_byte_timeout",
        Error::Timeout { .. } => "timeout",
        Error::Connect { .. } => "connect",
        Error::Auth { .. } => "auth",
        Error::Api(_) => "http_status",
        _ => "other",
    }
}

fn error_hint(provider: &str, api: &ApiError, model: Option<&str>) -> Option<String> {
    let msg = api.message.as_str();
    if api.status == 400
        && (msg.contains("No required SSL certificate") || msg.contains("SSL certificate error"))
    {
        return Some(
            "the server requires a valid client certificate (mutual TLS): set one with \
             ClientOptions::with_client_identity_files"
                .into(),
        );
    }
    if api.status == 404 && msg == "404 page not found" {
        return Some(
            "the server has no such endpoint: check the base URL (Ollama's OpenAI-compatible API is under /v1)"
                .into(),
        );
    }
    if provider == "ollama" && api.status == 404 && msg.contains("not found") {
        let model = model.unwrap_or("<model>");
        return Some(format!("pull it first with `ollama pull {model}`"));
    }
    None
}

/// `scheme://host:port` of a URL: what a connection failure is about.
fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        // With the port even when it is the scheme's default: `http://127.0.0.1` in a
        // message hides that port 80 was tried (OLLAMA_HOST=http://host means port 80).
        Ok(u) => match (u.origin(), u.port_or_known_default()) {
            (url::Origin::Tuple(scheme, host, _), Some(port)) => {
                format!("{scheme}://{host}:{port}")
            }
            (origin, _) => origin.ascii_serialization(),
        },
        Err(_) => redact_url(url),
    }
}

/// A URL with any user name and password removed, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("");
                let _ = u.set_password(None);
            }
            let s = u.to_string();
            // Url adds a trailing slash to bare hosts; keep the caller's form.
            if !url.ends_with('/') && s.ends_with('/') && u.path() == "/" {
                s.trim_end_matches('/').to_owned()
            } else {
                s
            }
        }
        Err(_) => mask_userinfo(url),
    }
}

/// For strings that do not parse as URLs: hide anything that looks like `user:pass@`.
fn mask_userinfo(s: &str) -> String {
    let start = s.find("://").map_or(0, |i| i + 3);
    let rest = &s[start..];
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{}***@{}", &s[..start], &rest[at + 1..]),
        None => s.to_owned(),
    }
}

/// A clock for client-side timings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timer {
    start: Instant,
}

impl Timer {
    pub(crate) fn start() -> Self {
        Timer {
            start: Instant::now(),
        }
    }

    pub(crate) fn elapsed(&self) -> std::time::Duration {
        self.start.elapsed()
    }
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

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("http://user:secret@example.com:8080/v1"),
            "http://example.com:8080/v1"
        );
        assert_eq!(
            redact_url("http://localhost:11434"),
            "http://localhost:11434"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("http://user:secret@exa mple.com/v1"),
            "http://***@exa mple.com/v1"
        );
    }

    #[test]
    fn request_urls_join_the_base_path_and_the_endpoint() {
        let client = |base: &str| {
            HttpClient::new(
                base,
                HeaderMap::new(),
                Auth::None,
                RetryConfig::none(),
                ClientOptions::default(),
                "test",
            )
            .unwrap()
        };
        let c = client("http://127.0.0.1:8080/v1");
        assert_eq!(
            c.url("chat/completions").as_str(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(c.url("/models").as_str(), "http://127.0.0.1:8080/v1/models");
        assert_eq!(
            client("http://localhost:11434/").url("api/tags").as_str(),
            "http://localhost:11434/api/tags"
        );
        assert_eq!(
            client("https://gw.example.com/my%20proxy/v1/")
                .url("models/llama3:8b")
                .as_str(),
            "https://gw.example.com/my%20proxy/v1/models/llama3:8b"
        );
        assert_eq!(
            client("http://h/b/n=5,w=event,f=0,t=6c/v1")
                .url("chat/completions")
                .as_str(),
            "http://h/b/n=5,w=event,f=0,t=6c/v1/chat/completions"
        );
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = "x".repeat(10_000);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), 201);
    }
}
