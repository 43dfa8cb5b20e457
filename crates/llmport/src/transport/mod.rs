//! The HTTP layer: [`ClientOptions`], [`RetryConfig`], and the client every provider shares.
//!
//! Two layers. Below, a `Service` (`service.rs`) sends ONE request and hands back its answer:
//! reqwest, or, for a plain `http://` server with no proxy in between (Ollama on
//! `localhost`), hyper's pooled client directly (`direct.rs`: reqwest's own layers cost ~40%
//! of a small request). Above, written once for both, `HttpClient` applies the policy: the
//! headers every request carries and the refusal of framing headers (`headers.rs`), the proxy
//! decision (`proxy.rs`), same-origin redirects (`redirect.rs`), gzip (`decompress.rs`), the
//! connect and first-byte timeouts, retries with `Retry-After` (`retry.rs`), credentials
//! (with the OAuth2 refresh after a 401), and the `http.request` tracing spans. What an error
//! answer means is the provider's: it gives the client its `ErrorMapping` (`mapping.rs`).

mod body;
mod connection;
mod decompress;
mod direct;
mod headers;
mod mapping;
mod options;
mod prefetch;
mod proxy;
mod redirect;
mod retry;
mod service;
mod upload;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};
use tracing::Instrument;

pub(crate) use self::body::{BodyKind, BodyStream};
pub(crate) use self::body::{Response, read_body};
pub(crate) use self::connection::{Connection, provider_setters};
pub(crate) use self::mapping::{ErrorAnswer, ErrorMapping, Unreachable};
pub use self::options::{ClientIdentity, ClientOptions, ClientOptionsBuilder};
pub use self::retry::{RetryConfig, RetryConfigBuilder, RetryEvent, RetryObserver};
use self::service::{Outgoing, SendError, Service};
pub(crate) use self::upload::Upload;
use crate::auth::{AppliedAuth, Auth};
pub(crate) use crate::error::excerpt;
use crate::error::{Error, Result, TimeoutKind};
use crate::redact::redact_url;

/// The largest error body that is read to build an error message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An HTTP client bound to one base URL, with credentials, headers, retries and timeouts.
/// Cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    /// What sends one request (reqwest, or the direct path).
    service: Service,
    /// The reqwest client, also for the OAuth2 token endpoint.
    client: reqwest::Client,
    base_url: String,
    /// `base_url`, parsed once: see [`HttpClient::url`].
    base: url::Url,
    /// The extra headers as given (shown by name in `Debug`).
    headers: HeaderMap,
    /// The extra headers and static credentials (see [`Auth::static_header`]).
    fixed_headers: HeaderMap,
    /// What every request carries: the defaults and `fixed_headers`, built once.
    request_headers: HeaderMap,
    /// Whether requests carry credentials (words a 401 or 403).
    credentials_sent: bool,
    auth: Auth,
    retry: RetryConfig,
    options: ClientOptions,
    errors: Arc<dyn ErrorMapping>,
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
            .field("errors", &self.inner.errors)
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
    /// A file streamed as the body instead (see [`Upload`]), if any.
    pub upload: Option<Upload>,
    /// The model the request is about, to word "model not found" errors.
    pub model: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A `POST` with a JSON body.
    pub(crate) fn post_json(path: &'a str, body: Vec<u8>, model: Option<&'a str>) -> Self {
        Request {
            method: Method::POST,
            path,
            body: Some(Bytes::from(body)),
            upload: None,
            model,
        }
    }

    /// A `POST` whose body is a file, streamed from disk (opened again for each attempt).
    pub(crate) fn post_file(path: &'a str, upload: Upload, model: Option<&'a str>) -> Self {
        Request {
            method: Method::POST,
            path,
            body: None,
            upload: Some(upload),
            model,
        }
    }

    /// A `HEAD`: whether something exists, without its body.
    pub(crate) fn head(path: &'a str) -> Self {
        Request {
            method: Method::HEAD,
            path,
            body: None,
            upload: None,
            model: None,
        }
    }

    /// A `GET` without a body.
    pub(crate) fn get(path: &'a str) -> Self {
        Request {
            method: Method::GET,
            path,
            body: None,
            upload: None,
            model: None,
        }
    }

    /// A `DELETE` with a JSON body (as Ollama's `/api/delete` takes it).
    pub(crate) fn delete_json(path: &'a str, body: Vec<u8>, model: Option<&'a str>) -> Self {
        Request {
            method: Method::DELETE,
            path,
            body: Some(Bytes::from(body)),
            upload: None,
            model,
        }
    }
}

impl HttpClient {
    /// A client for `base_url`. `headers` are extra headers for every request (framing and
    /// hop-by-hop headers are refused: see `headers.rs`); `errors` is the provider's mapping
    /// of error answers.
    pub(crate) fn new(
        base_url: &str,
        headers: HeaderMap,
        auth: Auth,
        retry: RetryConfig,
        options: ClientOptions,
        errors: Arc<dyn ErrorMapping>,
    ) -> Result<Self> {
        let parsed = parse_base(base_url)?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::config(format!(
                "the base URL {} carries credentials; pass them with `Auth::basic` instead",
                redact_url(base_url)
            )));
        }
        self::headers::check_extra(&headers)?;
        auth.validate()?;
        let mut fixed_headers = headers.clone();
        if let Some((name, value)) = auth.static_header()? {
            // Credentials win over an extra header of the same name.
            fixed_headers.insert(name, value);
        }
        let request_headers = self::headers::defaults(&options.user_agent, &fixed_headers)?;
        let route = proxy::Route::for_base(&parsed, &options, &proxy::environment(&options));
        let client = options.build_client(&route, proxy::is_loopback(&parsed))?;
        let service = service_for(&parsed, &route, &client, &options);
        let credentials_sent =
            !matches!(auth, Auth::None) || headers.contains_key(http::header::AUTHORIZATION);
        Ok(HttpClient {
            inner: Arc::new(ClientInner {
                service,
                client,
                base_url: base_url.trim_end_matches('/').to_owned(),
                base: parsed,
                headers,
                fixed_headers,
                request_headers,
                credentials_sent,
                auth,
                retry,
                options,
                errors,
            }),
        })
    }

    /// The same client bound to another base URL: it shares the connection pool, credentials,
    /// headers, retries, timeouts and error mapping. `base_url` must be a valid http(s) URL
    /// (it is derived from one already checked, e.g. Ollama's root from its `/v1` URL); an
    /// unparsable one is a [`Error::Config`].
    pub(crate) fn with_base_url(&self, base_url: &str) -> Result<HttpClient> {
        let inner = &*self.inner;
        let base = parse_base(base_url)?;
        // The same origin shares the pools; another one gets its own proxy decision.
        let (service, client) = if base.origin() == inner.base.origin() {
            (inner.service.clone(), inner.client.clone())
        } else {
            let route =
                proxy::Route::for_base(&base, &inner.options, &proxy::environment(&inner.options));
            let client = inner
                .options
                .build_client(&route, proxy::is_loopback(&base))?;
            let service = service_for(&base, &route, &client, &inner.options);
            (service, client)
        };
        Ok(HttpClient {
            inner: Arc::new(ClientInner {
                service,
                client,
                base_url: base_url.trim_end_matches('/').to_owned(),
                base,
                headers: inner.headers.clone(),
                fixed_headers: inner.fixed_headers.clone(),
                request_headers: inner.request_headers.clone(),
                credentials_sent: inner.credentials_sent,
                auth: inner.auth.clone(),
                retry: inner.retry.clone(),
                options: inner.options.clone(),
                errors: inner.errors.clone(),
            }),
        })
    }

    /// A client for another server under the same policy (connection settings, retries,
    /// timeouts, error mapping), with its own credentials and without this client's extra
    /// headers and credentials, which are meant for this client's server only (e.g. Ollama's
    /// cloud for web search, beside a local Ollama reached through a gateway).
    pub(crate) fn for_other_server(&self, base_url: &str, auth: Auth) -> Result<HttpClient> {
        let inner = &*self.inner;
        HttpClient::new(
            base_url,
            HeaderMap::new(),
            auth,
            inner.retry.clone(),
            inner.options.clone(),
            inner.errors.clone(),
        )
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
                && err.status() == Some(401)
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
            let server_asked = err.retry_after();
            let wait = match server_asked {
                Some(d) if d > inner.retry.max_retry_after => {
                    return Err(asked_too_long(err, d, inner.retry.max_retry_after));
                }
                Some(d) => d,
                None => inner.retry.backoff(retries),
            };
            retries += 1;
            tracing::info!(
                retry = retries,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %err,
                "retrying request"
            );
            if let Some(observer) = &inner.retry.on_retry {
                observer(&RetryEvent {
                    retry: retries,
                    max_retries: inner.retry.max_retries,
                    wait,
                    server_asked: server_asked.is_some(),
                    error: &err,
                });
            }
            tokio::time::sleep(wait).await;
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
        let sent = match &req.upload {
            None => {
                within(
                    inner.options.first_byte_timeout,
                    TimeoutKind::FirstByte,
                    self.send_following_redirects(req, url, credentials),
                )
                .await?
            }
            // Boxed: only uploads carry the watch's state.
            Some(upload) => Box::pin(self.send_upload(req, url, credentials, upload)).await?,
        };
        let (resp, final_url) = match sent {
            Ok(sent) => sent,
            Err(SendError::ConnectTimeout(after)) => {
                return Err(Error::Timeout {
                    kind: TimeoutKind::Connect,
                    after,
                });
            }
            Err(SendError::Failed(e)) => return Err(self.send_error(e)),
            Err(SendError::Body(e)) => return Err(e),
        };
        let status = resp.status();
        tracing::Span::current().record("http.response.status_code", status.as_u16());
        if status.is_success() {
            return Ok(decompress::decoded(resp));
        }
        // Boxed: the error path's state (reading a bounded error body under a deadline)
        // stays out of every request's future.
        Err(Box::pin(self.error_from_response(decompress::decoded(resp), req, &final_url)).await)
    }

    /// [`Self::send_following_redirects`] for a request with a streamed body: timed by the
    /// upload's progress, then by the wait for the answer (see [`Upload::stalled`]).
    async fn send_upload<'u>(
        &self,
        req: &Request<'_>,
        url: &'u url::Url,
        credentials: &HeaderMap,
        upload: &Upload,
    ) -> Result<std::result::Result<(Response, Cow<'u, url::Url>), SendError>> {
        let o = &self.inner.options;
        tokio::select! {
            sent = self.send_following_redirects(req, url, credentials) => Ok(sent),
            e = upload.stalled(o.idle_timeout, o.first_byte_timeout) => Err(e),
        }
    }

    /// Sends the request through the service, following redirects within the same origin
    /// (at most [`redirect::MAX_REDIRECTS`]); a redirect elsewhere, or one too many, is
    /// returned as the answer. Also returns the URL that answered.
    async fn send_following_redirects<'u>(
        &self,
        req: &Request<'_>,
        url: &'u url::Url,
        credentials: &HeaderMap,
    ) -> std::result::Result<(Response, Cow<'u, url::Url>), SendError> {
        let inner = &*self.inner;
        let mut method = Cow::Borrowed(&req.method);
        let mut body = req.body.as_ref();
        let mut upload = req.upload.as_ref();
        // A streamed body goes through reqwest (the direct path sends whole bodies only):
        // uploads are rare and large, the per-request savings of the direct path are nil.
        let upload_service;
        let service = if upload.is_some() {
            upload_service = Service::Reqwest {
                client: inner.client.clone(),
                connect_timeout: inner.options.connect_timeout,
            };
            &upload_service
        } else {
            &inner.service
        };
        let mut url = Cow::Borrowed(url);
        let mut hops = 0;
        loop {
            let resp = service
                .send(Outgoing {
                    method: &method,
                    url: &url,
                    headers: &inner.request_headers,
                    credentials,
                    body,
                    upload,
                })
                .await?;
            let Some(next) = redirect::next_hop(resp.status(), resp.headers(), &url, hops) else {
                return Ok((resp, url));
            };
            if redirect::becomes_get(resp.status(), &method) {
                method = Cow::Owned(Method::GET);
                body = None;
                upload = None;
            }
            hops += 1;
            url = Cow::Owned(next);
        }
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

    /// Starts a streamed request: returns the body as a stream of byte chunks, with what the
    /// stream adapter (`crate::stream::open`) needs to read it: the content type, the idle
    /// and whole-stream limits, the size cap.
    pub(crate) async fn send_for_stream(&self, req: &Request<'_>) -> Result<BodyStream> {
        let resp = self.send(req).await?;
        // What the content type says (an HTML page, one JSON document) is decided by the
        // stream adapter (`crate::stream`), which knows what the stream should have been.
        let o = &self.inner.options;
        Ok(BodyStream::new(
            resp,
            body::StreamLimits {
                idle: o.idle_timeout,
                stream_timeout: o.stream_timeout,
                max_body_size: o.max_body_size,
            },
        ))
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

    /// No answer arrived: the server could not be reached, the connection broke before the
    /// answer's head, or the head was not valid HTTP.
    fn send_error(&self, source: crate::error::BoxError) -> Error {
        if let Some(problem) = malformed_answer(&*source) {
            // The server answered: it is not "unreachable", its answer is wrong.
            return Error::Decode {
                message: format!(
                    "the server at {} answered with an invalid HTTP head ({problem}): is it \
                     an HTTP server, or is a proxy in between mangling the answer?",
                    origin(&self.inner.base_url)
                ),
                source: Some(source),
            };
        }
        let Unreachable { server, hint } = self.inner.errors.unreachable();
        Error::Connect {
            url: origin(&self.inner.base_url),
            server,
            hint,
            source: Some(source),
        }
    }

    async fn error_from_response(
        &self,
        resp: Response,
        req: &Request<'_>,
        url: &url::Url,
    ) -> Error {
        let status = resp.status().as_u16();
        let retry_after = retry::parse_retry_after(resp.headers(), SystemTime::now());
        let content_type = content_type(&resp);
        if (300..400).contains(&status) {
            // Only a redirect that was not followed ends up here (see `redirect.rs`).
            let location = resp
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(redact_url);
            let mut api = crate::ApiError::new(
                status,
                format!(
                    "redirected to {}",
                    location.as_deref().unwrap_or("an address it did not give")
                ),
            );
            api.retry_after = retry_after;
            api.hint = Some(format!(
                "llmport follows at most {} redirects, and only within the same scheme, host \
                 and port, so that credentials and prompts never reach a server you did not \
                 configure: if you trust the new address, make it the base URL",
                redirect::MAX_REDIRECTS
            ));
            return Error::from(api);
        }
        let body = self.read_error_body(resp).await;
        self.inner.errors.status_error(&ErrorAnswer {
            status,
            content_type: &content_type,
            body: &body,
            url,
            path: req.path,
            model: req.model,
            credentials_sent: self.inner.credentials_sent,
            retry_after,
        })
    }
}

/// The error of a call that fails at once because the server asked for a longer wait than
/// [`RetryConfig::max_retry_after`]: it says how long the server asked for.
fn asked_too_long(err: Error, asked: std::time::Duration, limit: std::time::Duration) -> Error {
    let Error::Api(mut api) = err else {
        return err;
    };
    let note = format!(
        "the server asked to wait {} before trying again, longer than the {} this client \
         waits (RetryConfig::max_retry_after): try again later",
        retry::describe_wait(asked),
        retry::describe_wait(limit)
    );
    api.hint = Some(match api.hint.take() {
        Some(hint) => format!("{hint}; {note}"),
        None => note,
    });
    Error::Api(api)
}

/// What was wrong with an answer's head, when a send failed because the server's answer was
/// not valid HTTP (too many or too long headers, an obs-fold line, a bad status line), as
/// hyper reports it anywhere in the error's chain.
fn malformed_answer(e: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && (h.is_parse() || h.is_parse_status())
        {
            let what = if h.to_string().contains("too large") {
                format!("{h}: more headers, or longer ones, than an HTTP client accepts")
            } else {
                h.to_string()
            };
            return Some(what);
        }
        cause = err.source();
    }
    None
}

/// The service that sends requests to `base` on `route`: the direct path for plain HTTP
/// with no proxy, else reqwest.
fn service_for(
    base: &url::Url,
    route: &proxy::Route,
    client: &reqwest::Client,
    options: &ClientOptions,
) -> Service {
    if base.scheme() == "http" && *route == proxy::Route::Direct {
        Service::Direct(Box::new(direct::DirectClient::new(options)))
    } else {
        Service::Reqwest {
            client: client.clone(),
            connect_timeout: options.connect_timeout,
        }
    }
}

/// A base URL, checked: it parses, and its scheme is http or https.
fn parse_base(base_url: &str) -> Result<url::Url> {
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
    Ok(parsed)
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

/// An error while reading a body after the status line arrived (reqwest's own
/// decompression is off: a corrupt gzip body is [`decompress`]'s to report).
pub(crate) fn body_error(e: reqwest::Error) -> Error {
    Error::Stream {
        message: "the connection broke while the answer was being received".into(),
        source: Some(Box::new(e.without_url())),
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
        Error::Api(_) | Error::QuotaExceeded(_) | Error::ContextLength(_) => "http_status",
        Error::Decode { .. } => "malformed_response",
        _ => "other",
    }
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

    /// A mapping that only keeps the status: the transport's tests need no provider.
    #[derive(Debug)]
    struct StatusOnly;

    impl ErrorMapping for StatusOnly {
        fn status_error(&self, answer: &ErrorAnswer<'_>) -> Error {
            crate::ApiError::new(answer.status, "").into()
        }

        fn unreachable(&self) -> Unreachable {
            Unreachable {
                server: "the server",
                hint: "is it running?",
            }
        }
    }

    fn client(base: &str, options: ClientOptions) -> Result<HttpClient> {
        HttpClient::new(
            base,
            HeaderMap::new(),
            Auth::None,
            RetryConfig::none(),
            options,
            Arc::new(StatusOnly),
        )
    }

    #[test]
    fn request_urls_join_the_base_path_and_the_endpoint() {
        let client = |base: &str| client(base, ClientOptions::default()).unwrap();
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
    fn only_plain_http_with_no_proxy_goes_direct() {
        let direct = |base: &str, options: ClientOptions| {
            matches!(
                client(base, options).unwrap().inner.service,
                Service::Direct(_)
            )
        };
        let none = || ClientOptions::builder().proxy_vars(Vec::<(String, String)>::new());
        assert!(direct("http://localhost:11434/v1", none().build()));
        assert!(direct("http://10.1.2.3:8080/", none().build()));
        assert!(!direct("https://api.example.com/v1", none().build()));
        assert!(!direct(
            "http://localhost:11434/v1",
            none().proxy("http://proxy.internal:3128").build()
        ));
        let env =
            || ClientOptions::builder().proxy_vars([("HTTP_PROXY", "http://proxy.internal:3128")]);
        assert!(!direct("http://gpu-box:11434/v1", env().build()));
        // The environment's proxy is never used for loopback.
        assert!(direct("http://127.0.0.1:11434/v1", env().build()));
        // `no_proxy` ignores the environment.
        assert!(direct(
            "http://gpu-box:11434/v1",
            env().no_proxy(true).build()
        ));
    }

    #[test]
    fn framing_headers_are_refused_when_the_client_is_built() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from_static("3"),
        );
        let e = HttpClient::new(
            "http://127.0.0.1:1/v1",
            h,
            Auth::None,
            RetryConfig::none(),
            ClientOptions::default(),
            Arc::new(StatusOnly),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
    }
}
