//! The seam between llmport's HTTP policy and an HTTP client: [`Service::send`] sends ONE
//! request and hands back its answer with a typed body stream. Nothing below this seam
//! follows a redirect, decodes gzip, retries, times out a phase or words an error: that is
//! written once, above it, in [`super::HttpClient`] (the shape of object_store's
//! `HttpService`).
//!
//! Two implementations: reqwest (TLS, proxies, HTTP/2) and, for a plain `http://` server
//! reached without a proxy, hyper-util's pooled client directly ([`super::direct`]). An enum
//! rather than a trait object: the request's future stays one unboxed state machine (a
//! boxed future per request is what the direct path exists to avoid).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};

use super::body::{Response, from_reqwest};
use super::direct::DirectClient;
use super::upload::Upload;
use crate::error::{BoxError, Error};

/// One request as it goes on the wire.
pub(crate) struct Outgoing<'a> {
    pub(crate) method: &'a Method,
    pub(crate) url: &'a url::Url,
    /// The headers of every request ([`super::headers::defaults`]).
    pub(crate) headers: &'a HeaderMap,
    /// This attempt's credentials (OAuth2, custom), if any.
    pub(crate) credentials: &'a HeaderMap,
    /// A JSON body.
    pub(crate) body: Option<&'a Bytes>,
    /// A file streamed as the body, opened for this attempt (reqwest only: the transport
    /// never gives one to the direct path).
    pub(crate) upload: Option<&'a Upload>,
}

/// Why no answer arrived.
pub(crate) enum SendError {
    /// The connection could not be made within the connect timeout.
    ConnectTimeout(Duration),
    /// Anything else: no connection, it broke before the answer's head arrived, or the head
    /// was not valid HTTP (see [`super::malformed_answer`]).
    Failed(BoxError),
    /// The request's body could not be made (its file cannot be opened): nothing was sent.
    Body(Error),
}

/// An HTTP client that sends one request at a time and knows no policy.
#[derive(Clone)]
pub(crate) enum Service {
    /// reqwest, with its redirect policy `none` and its decompression off.
    Reqwest {
        client: reqwest::Client,
        connect_timeout: Option<Duration>,
    },
    /// hyper-util's client, for plain HTTP with no proxy (boxed once, when the client is
    /// built: it is several times the size of the reqwest variant).
    Direct(Box<DirectClient>),
}

impl Service {
    /// Sends one request; the answer's body is not decoded (see [`super::decompress`]).
    pub(crate) async fn send(&self, out: Outgoing<'_>) -> Result<Response, SendError> {
        match self {
            Service::Direct(direct) => direct.send(out).await,
            Service::Reqwest {
                client,
                connect_timeout,
            } => {
                // reqwest takes the URL by value; a clone of a parsed Url is one string copy,
                // where a &str would be parsed again on every attempt.
                let mut builder = client
                    .request(out.method.clone(), out.url.clone())
                    .headers(out.headers.clone());
                if !out.credentials.is_empty() {
                    builder = builder.headers(out.credentials.clone());
                }
                if let Some(body) = out.body {
                    builder = builder
                        .header(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )
                        .body(body.clone());
                }
                if let Some(upload) = out.upload {
                    builder = builder
                        .header(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/octet-stream"),
                        )
                        .header(header::CONTENT_LENGTH, upload.len())
                        .body(upload.open().map_err(SendError::Body)?);
                }
                match builder.send().await {
                    Ok(resp) => Ok(from_reqwest(resp)),
                    Err(e) => Err(match connect_timeout {
                        // The only timeout reqwest is given is the connect timeout.
                        Some(after) if e.is_timeout() => SendError::ConnectTimeout(*after),
                        _ => SendError::Failed(Box::new(e.without_url())),
                    }),
                }
            }
        }
    }
}
