//! The direct path: requests to a plain `http://` server with no proxy in between go straight
//! to hyper's connection pool (hyper-util's client) instead of through reqwest.
//!
//! Why: with one small JSON answer per request (the benchmark harness's batch of 20,000
//! non-streaming requests, 64 in flight), reqwest's own layers (redirect, retry and
//! decompression services, the URL parsed twice per request, default headers merged, the TLS
//! connector cloned) cost about 40% of a request: a bare hyper-util client used 0.60× the CPU
//! of the harness's floor, which is reqwest itself (8 paired runs). Ollama on `localhost` is
//! exactly this case.
//!
//! This is only one `send` behind [`super::service`]: headers, redirects, gzip, timeouts and
//! retries are the transport's, above the seam, for both paths. What stays here is what
//! configures the connection the way reqwest does: TCP keep-alive and no-delay, the connect
//! timeout, the idle pool with its 90 s timeout.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use http::{HeaderValue, header};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::{Body, Response};
use super::options::ClientOptions;
use super::service::{Outgoing, SendError};
use crate::error::Error;

/// How long an idle pooled connection is kept (reqwest's default).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// TCP keep-alive on every connection (reqwest's default).
const TCP_KEEPALIVE: Duration = Duration::from_secs(15);

/// A pooled hyper-util client for plain HTTP. Cheap to clone.
#[derive(Clone)]
pub(crate) struct DirectClient {
    client: Client<HttpConnector, Full<Bytes>>,
    connect_timeout: Option<Duration>,
}

impl DirectClient {
    /// A client with the connection settings of `options`. Whether the direct path applies
    /// at all is the transport's decision ([`super::proxy::Route`]).
    pub(crate) fn new(options: &ClientOptions) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_keepalive(Some(TCP_KEEPALIVE));
        connector.set_connect_timeout(options.connect_timeout);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(options.pool_max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .build(connector);
        DirectClient {
            client,
            connect_timeout: options.connect_timeout,
        }
    }

    /// Sends one request.
    pub(crate) async fn send(&self, out: Outgoing<'_>) -> Result<Response, SendError> {
        let mut req = http::Request::new(Full::new(out.body.cloned().unwrap_or_default()));
        *req.method_mut() = out.method.clone();
        // `url` is already valid; an http::Uri parse of its text is a few hundred
        // instructions (a url::Url parse, which reqwest does twice, is ~6,700).
        *req.uri_mut() = out
            .url
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| SendError::Failed(Box::new(e)))?;
        let headers = req.headers_mut();
        *headers = out.headers.clone();
        if !out.credentials.is_empty() {
            headers.extend(out.credentials.clone());
        }
        if out.body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| match self.connect_timeout {
                Some(after) if e.is_connect() && is_timeout(&e) => SendError::ConnectTimeout(after),
                _ => SendError::Failed(Box::new(e)),
            })?;
        Ok(resp.map(|incoming| {
            Box::pin(
                http_body_util::BodyDataStream::new(incoming).map_err(|e| Error::Stream {
                    message: "the connection broke while the answer was being received".into(),
                    source: Some(Box::new(e)),
                }),
            ) as Body
        }))
    }
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
