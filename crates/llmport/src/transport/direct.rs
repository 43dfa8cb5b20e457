//! The direct path: requests to a plain `http://` server with no proxy in between go straight
//! to hyper's connection pool (hyper-util's client) instead of through reqwest.
//!
//! Why: with one small JSON answer per request (the benchmark harness's batch of 20,000
//! non-streaming requests, 64 in flight), reqwest's own layers (redirect, retry and
//! decompression services, the URL parsed twice per request, default headers merged, the TLS
//! connector cloned) cost about 40% of a request: a bare hyper-util client used 0.60× the CPU
//! of the harness's floor, which is reqwest itself (8 paired runs). Ollama on `localhost` is
//! exactly this case. Everything reqwest does that llmport relies on is kept here: the
//! `User-Agent`, gzip (`Accept-Encoding` sent, `Content-Encoding: gzip` decoded), the connect
//! timeout, TCP keep-alive and no-delay, the idle pool with its 90 s timeout, and redirects
//! followed only within the same origin, with the same methods reqwest uses.
//!
//! HTTPS, a configured proxy, or a proxy from the environment (`HTTP_PROXY`, `ALL_PROXY`,
//! `NO_PROXY`, read the way reqwest reads them) keep the request on reqwest.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::{Body, Response};
use super::options::{ClientOptions, MAX_REDIRECTS};
use crate::error::Error;

/// How long an idle pooled connection is kept (reqwest's default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// TCP keep-alive on every connection (reqwest's default).
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);

/// A client for the direct path, bound to one set of fixed headers. Cheap to clone.
#[derive(Clone)]
pub(crate) struct DirectClient {
    client: Client<HttpConnector, Full<Bytes>>,
    /// `User-Agent`, `Accept`, `Accept-Encoding`, then the caller's fixed headers.
    headers: HeaderMap,
    connect_timeout: Option<Duration>,
}

/// Why a request on the direct path failed before a response arrived.
pub(crate) enum SendError {
    /// The connection could not be made in time.
    ConnectTimeout(Duration),
    /// Anything else: no connection, or it broke before the answer's head arrived.
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl DirectClient {
    /// The direct path for requests to `base`, if it applies: a plain `http://` URL, no proxy
    /// configured, and no proxy from the environment for it. `fixed` are the headers every
    /// request carries (extra headers and static credentials).
    pub(crate) fn for_base(
        base: &url::Url,
        options: &ClientOptions,
        fixed: &HeaderMap,
    ) -> Option<Self> {
        // The matcher reqwest's `system-proxy` feature builds (environment variables here).
        Self::for_base_with(base, options, fixed, &Matcher::from_system())
    }

    /// [`DirectClient::for_base`] with the environment's proxies given as `env`.
    fn for_base_with(
        base: &url::Url,
        options: &ClientOptions,
        fixed: &HeaderMap,
        env: &Matcher,
    ) -> Option<Self> {
        if base.scheme() != "http" || options.proxy.is_some() {
            return None;
        }
        if !options.no_proxy {
            let uri: http::Uri = base.as_str().parse().ok()?;
            if env.intercept(&uri).is_some() {
                return None;
            }
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_keepalive(Some(TCP_KEEPALIVE));
        connector.set_connect_timeout(options.connect_timeout);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(options.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .build(connector);
        let mut headers = HeaderMap::new();
        if let Ok(ua) = HeaderValue::from_str(&options.user_agent) {
            headers.insert(header::USER_AGENT, ua);
        }
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        headers.extend(fixed.clone());
        Some(DirectClient {
            client,
            headers,
            connect_timeout: options.connect_timeout,
        })
    }

    /// Sends a request, following redirects within the same origin (at most
    /// [`MAX_REDIRECTS`]); a redirect elsewhere, or one too many, is returned as the answer.
    pub(crate) async fn send(
        &self,
        method: &Method,
        url: &url::Url,
        credentials: &HeaderMap,
        body: Option<&Bytes>,
    ) -> std::result::Result<Response, SendError> {
        let mut method = method.clone();
        let mut body = body;
        let mut url = std::borrow::Cow::Borrowed(url);
        let mut hops = 0;
        loop {
            let resp = self
                .send_once(&method, &url, credentials, body.cloned())
                .await?;
            let status = resp.status();
            let next = match status {
                StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT => resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc).ok()),
                _ => None,
            };
            let Some(next) = next.filter(|n| same_origin(&url, n) && hops < MAX_REDIRECTS) else {
                return Ok(decoded(resp));
            };
            // What reqwest does: 303 becomes a GET (and so do 301/302 answers to a POST),
            // without the body; 307 and 308 repeat the request as it was.
            let to_get = status == StatusCode::SEE_OTHER && method != Method::HEAD
                || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                    && method == Method::POST;
            if to_get {
                method = Method::GET;
                body = None;
            }
            hops += 1;
            url = std::borrow::Cow::Owned(next);
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &url::Url,
        credentials: &HeaderMap,
        body: Option<Bytes>,
    ) -> std::result::Result<http::Response<hyper::body::Incoming>, SendError> {
        let has_body = body.is_some();
        let mut req = http::Request::new(Full::new(body.unwrap_or_default()));
        *req.method_mut() = method.clone();
        // `url` is already valid; an http::Uri parse of its text is a few hundred
        // instructions (a url::Url parse, which reqwest does twice, is ~6,700).
        *req.uri_mut() = url
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| SendError::Failed(Box::new(e)))?;
        let headers = req.headers_mut();
        *headers = self.headers.clone();
        if !credentials.is_empty() {
            headers.extend(credentials.clone());
        }
        if has_body {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        self.client
            .request(req)
            .await
            .map_err(|e| match self.connect_timeout {
                Some(after) if e.is_connect() && is_timeout(&e) => SendError::ConnectTimeout(after),
                _ => SendError::Failed(Box::new(e)),
            })
    }
}

/// Whether two URLs have the same scheme, host and port.
fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether a connect error is the connect timeout expiring.
fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// The answer with its body typed and, when the server gzip-encoded it, decoded (as reqwest
/// does: the `Content-Encoding` and `Content-Length` of the encoded body are removed).
fn decoded(resp: http::Response<hyper::body::Incoming>) -> Response {
    let gzip = resp
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    let (mut parts, incoming) = resp.into_parts();
    let body: Body =
        Box::pin(
            http_body_util::BodyDataStream::new(incoming).map_err(|e| Error::Stream {
                message: "the connection broke while the answer was being received".into(),
                source: Some(Box::new(e)),
            }),
        );
    if !gzip {
        return Response::from_parts(parts, body);
    }
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, gunzip(body))
}

/// A gzip-encoded body, decoded as it arrives.
fn gunzip(body: Body) -> Body {
    use tokio_util::io::{ReaderStream, StreamReader};
    let reader = StreamReader::new(body.map_err(std::io::Error::other));
    let decoder = async_compression::tokio::bufread::GzipDecoder::new(reader);
    Box::pin(ReaderStream::new(decoder).map_err(|e| {
        // An error of the body itself comes back as it was; the decoder's own is corrupt
        // data.
        let corrupt = e.kind() == std::io::ErrorKind::InvalidData;
        let source = match e.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(inner)) => return *inner,
            Some(Err(other)) => Some(other),
            None => None,
        };
        if corrupt {
            Error::Decode {
                message: "the answer's compressed body is corrupt".into(),
                source,
            }
        } else {
            Error::Stream {
                message: "the connection broke while the answer was being received".into(),
                source,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applies(base: &str, options: &ClientOptions, env: &Matcher) -> bool {
        let base = url::Url::parse(base).unwrap();
        DirectClient::for_base_with(&base, options, &HeaderMap::new(), env).is_some()
    }

    #[tokio::test]
    async fn only_plain_http_with_no_proxy_goes_direct() {
        let none = Matcher::builder().build();
        let opts = ClientOptions::default();
        assert!(applies("http://localhost:11434/v1", &opts, &none));
        assert!(applies("http://10.1.2.3:8080/", &opts, &none));
        assert!(!applies("https://api.example.com/v1", &opts, &none));
        let proxied = opts.clone().with_proxy("http://proxy.internal:3128");
        assert!(!applies("http://localhost:11434/v1", &proxied, &none));
        // HTTP_PROXY / ALL_PROXY from the environment, and NO_PROXY exempting the host.
        let env = Matcher::builder()
            .http("http://proxy.internal:3128")
            .build();
        assert!(!applies("http://gpu-box:11434/v1", &opts, &env));
        let all = Matcher::builder().all("http://proxy.internal:3128").build();
        assert!(!applies("http://gpu-box:11434/v1", &opts, &all));
        let exempt = Matcher::builder()
            .http("http://proxy.internal:3128")
            .no("gpu-box")
            .build();
        assert!(applies("http://gpu-box:11434/v1", &opts, &exempt));
        // `no_proxy` ignores the environment, as it does on the reqwest path.
        let no_proxy = opts.clone().with_no_proxy(true);
        assert!(applies("http://gpu-box:11434/v1", &no_proxy, &env));
    }

    #[test]
    fn same_origin_compares_scheme_host_and_port() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(same_origin(&u("http://h:80/a"), &u("http://h/b")));
        assert!(!same_origin(&u("http://h:8080/a"), &u("http://h:8081/a")));
        assert!(!same_origin(&u("http://h/a"), &u("https://h/a")));
        assert!(!same_origin(&u("http://h/a"), &u("http://h2/a")));
    }
}
