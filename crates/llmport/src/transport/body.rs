//! A response body as a stream of byte chunks: read whole with an idle timeout between pieces
//! ([`read_body`]), or read ahead of its consumer by a task on the runtime ([`BodyStream`],
//! see [`super::prefetch`]) for the stream adapter.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::Stream;
use tokio::time::Sleep;

use crate::error::{Error, Result, TimeoutKind};

/// A response body as the transport hands it on: its data frames, errors already typed
/// (whichever HTTP path it came from, see [`super::direct`]).
pub(crate) type Body = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// A response as the transport hands it on.
pub(crate) type Response = http::Response<Body>;

/// A reqwest response as a [`Response`] (headers moved, not copied).
pub(crate) fn from_reqwest(resp: reqwest::Response) -> Response {
    use futures::TryStreamExt;
    http::Response::<reqwest::Body>::from(resp).map(|body| {
        Box::pin(http_body_util::BodyDataStream::new(body).map_err(super::body_error)) as Body
    })
}

/// The announced length of a response's body, if any.
pub(crate) fn content_length(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// What a streamed answer's `Content-Type` says it is (the stream adapter decides what to do
/// with each, see `crate::stream`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// An HTML page (with the full content type): a login page or proxy, not the API.
    Html(String),
    /// One JSON document (`application/json`): an error object, or a whole answer.
    Document,
    /// Anything else: decoded as the stream that was asked for.
    Stream,
}

/// The limits a streamed body is read with (from [`ClientOptions`](super::ClientOptions)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamLimits {
    pub(crate) idle: Option<Duration>,
    pub(crate) stream_timeout: Option<Duration>,
    pub(crate) max_body_size: usize,
}

/// The pieces of a streamed response body, with its status, content type and the limits to
/// read it with. Yields an [`Error::Stream`] when the connection breaks; the time limits are
/// the stream adapter's (they count progress, not bytes).
///
/// The body is read by a task on the tokio runtime and handed over in batches (bounded:
/// reading pauses while the consumer is behind); dropping the stream ends the task and closes
/// the connection.
#[derive(Debug)]
pub(crate) struct BodyStream {
    inner: super::prefetch::Prefetched,
    status: u16,
    kind: BodyKind,
    limits: StreamLimits,
}

impl BodyStream {
    pub(crate) fn new(resp: Response, limits: StreamLimits) -> Self {
        let status = resp.status().as_u16();
        let kind = body_kind(&resp);
        BodyStream {
            inner: super::prefetch::spawn(TimedBody::new(resp, None)),
            status,
            kind,
            limits,
        }
    }

    pub(crate) fn status(&self) -> u16 {
        self.status
    }

    pub(crate) fn kind(&self) -> BodyKind {
        self.kind.clone()
    }

    pub(crate) fn limits(&self) -> StreamLimits {
        self.limits
    }
}

fn body_kind(resp: &Response) -> BodyKind {
    let Some(value) = resp.headers().get(http::header::CONTENT_TYPE) else {
        return BodyKind::Stream;
    };
    let full = String::from_utf8_lossy(value.as_bytes()).into_owned();
    let essence = full.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("text/html") {
        BodyKind::Html(full)
    } else if essence.eq_ignore_ascii_case("application/json") {
        BodyKind::Document
    } else {
        BodyKind::Stream
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// Reads a whole response body, refusing to hold more than `max` bytes or to wait longer
/// than `idle` for the next piece of it.
///
/// Read in place by the caller's future, not through a read-ahead task: a non-streaming
/// answer is one or two frames, and spawning the task, its channel and its batches cost
/// ~6,000 instructions per request (callgrind, the harness's batch of non-streaming requests:
/// 88,800 per request with the task).
pub(crate) async fn read_body(resp: Response, max: usize, idle: Option<Duration>) -> Result<Bytes> {
    use futures::StreamExt;
    let expected = content_length(&resp);
    if let Some(len) = expected
        && len > max as u64
    {
        return Err(Error::LimitExceeded {
            what: "response body",
            limit: max,
        });
    }
    let mut body = TimedBody::new(resp, idle);
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        // A body that arrives in one piece of its announced length is handed back as it is,
        // without a copy (the common case for a non-streaming answer).
        if buf.is_empty() && expected == Some(chunk.len() as u64) {
            return Ok(chunk);
        }
        if buf.len() + chunk.len() > max {
            return Err(Error::LimitExceeded {
                what: "response body",
                limit: max,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A response body with the idle timer: what the reading task polls, or
/// [`read_body`] in place.
struct TimedBody {
    inner: Body,
    idle: Option<Duration>,
    // The timer is not reset on every chunk (that costs a timer-wheel update per chunk):
    // each chunk only records when it came, and when the timer fires it is re-armed from
    // the last chunk's time if the silence has not actually lasted `idle` yet.
    timer: Option<Pin<Box<Sleep>>>,
    last_data: Instant,
    done: bool,
}

impl TimedBody {
    fn new(resp: Response, idle: Option<Duration>) -> Self {
        TimedBody {
            inner: resp.into_body(),
            idle,
            timer: None,
            last_data: Instant::now(),
            done: false,
        }
    }
}

impl Stream for TimedBody {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if this.idle.is_some() {
                    this.last_data = Instant::now();
                }
                return Poll::Ready(Some(Ok(bytes)));
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                return Poll::Ready(Some(Err(e)));
            }
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        let Some(idle) = this.idle else {
            return Poll::Pending;
        };
        loop {
            // A limit too far away to be represented is no limit.
            let Some(deadline) = this.last_data.checked_add(idle) else {
                return Poll::Pending;
            };
            let timer = this.timer.get_or_insert_with(|| {
                Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
                    deadline,
                )))
            });
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    if Instant::now() < deadline {
                        timer
                            .as_mut()
                            .reset(tokio::time::Instant::from_std(deadline));
                    } else {
                        this.done = true;
                        return Poll::Ready(Some(Err(Error::Timeout {
                            kind: TimeoutKind::Idle,
                            after: idle,
                        })));
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
