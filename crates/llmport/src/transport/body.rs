//! A response body as a stream of byte chunks, with an idle timeout between chunks, read ahead
//! of its consumer by a task on the runtime (see [`super::prefetch`]).

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

/// The chunks of a streamed response body. Yields an [`Error::Timeout`] of kind
/// [`TimeoutKind::Idle`] when the server goes silent for longer than the idle timeout, and an
/// [`Error::Stream`] when the connection breaks.
///
/// The body is read by a task on the tokio runtime and handed over in batches (bounded:
/// reading pauses while the consumer is behind); dropping the stream ends the task and closes
/// the connection.
#[derive(Debug)]
pub struct BodyStream {
    inner: super::prefetch::Prefetched,
}

impl BodyStream {
    pub(crate) fn new(resp: Response, idle: Option<Duration>) -> Self {
        BodyStream {
            inner: super::prefetch::spawn(TimedBody::new(resp, idle)),
        }
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
            let timer = this.timer.get_or_insert_with(|| {
                Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
                    this.last_data + idle,
                )))
            });
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let deadline = this.last_data + idle;
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
