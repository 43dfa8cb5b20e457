//! The one adapter that drives a [`Decoder`] over a response body: the poll/EOF/error protocol,
//! the idle and whole-stream deadlines, the size cap, and what the answer's content type says.
//! Every streamed endpoint goes through it; the decoders themselves do no I/O and keep no time.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tokio::time::Sleep;

use crate::codec::Decoder;
use crate::error::{Error, Result, TimeoutKind};
use crate::transport::{BodyKind, BodyStream, excerpt};

/// After this many body pieces in a row without progress, the deadlines are checked even
/// though the body never made the reader wait (a server flooding keep-alive comments).
const STALE_PIECES: u32 = 64;

/// How much of an HTML page is read to quote it in the error.
const MAX_PAGE: usize = 64 * 1024;

/// A response body decoded by `D`, as a stream of its items.
pub(crate) struct Decoded<D> {
    /// `None` once the body has ended, failed, or is no longer read.
    body: Option<BodyStream>,
    decoder: D,
    watch: Watch,
    /// Bytes received so far and the cap on them, if the stream has one.
    received: usize,
    cap: Option<usize>,
}

/// Opens a stream: looks at the answer's content type first. An HTML page (a login page or
/// captive portal answering `200`) is an error; one JSON document (an error object, or a
/// whole answer sent to a stream request) is read and handed to
/// [`Decoder::decode_document`]; anything else is decoded as the stream it should be.
///
/// `capped`: whether the stream's body counts against
/// [`ClientOptions::max_body_size`](crate::ClientOptions::max_body_size) (an answer, which a
/// caller may collect into memory; not a pull's progress reports, which run for as long as
/// the download does).
pub(crate) async fn open<D: Decoder>(
    mut body: BodyStream,
    mut decoder: D,
    capped: bool,
) -> Result<Decoded<D>> {
    let limits = body.limits();
    match body.kind() {
        BodyKind::Html(content_type) => {
            let page = read_all(&mut body, MAX_PAGE, limits.idle, false).await;
            let page = page.unwrap_or_default();
            Err(Error::decode(format!(
                "expected an event stream, got an HTML page (Content-Type: {content_type}; \
                 a proxy or login page in between?): {}",
                excerpt(&page)
            )))
        }
        BodyKind::Document => {
            let doc = read_all(&mut body, limits.max_body_size, limits.idle, true).await?;
            decoder.decode_document(body.status(), &doc)?;
            Ok(Decoded {
                body: None,
                decoder,
                watch: Watch::new(None, None),
                received: 0,
                cap: None,
            })
        }
        BodyKind::Stream => Ok(Decoded {
            body: Some(body),
            decoder,
            watch: Watch::new(limits.idle, limits.stream_timeout),
            received: 0,
            cap: capped.then_some(limits.max_body_size),
        }),
    }
}

/// Reads a whole (small) body, with the idle limit between pieces. Over `max` bytes: an error
/// if `strict`, else what fitted.
async fn read_all(
    body: &mut BodyStream,
    max: usize,
    idle: Option<Duration>,
    strict: bool,
) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    loop {
        let next = match idle {
            Some(idle) => {
                tokio::time::timeout(idle, body.next())
                    .await
                    .map_err(|_| Error::Timeout {
                        kind: TimeoutKind::Idle,
                        after: idle,
                    })?
            }
            None => body.next().await,
        };
        let Some(piece) = next else {
            return Ok(buf);
        };
        let piece = piece?;
        if buf.len().saturating_add(piece.len()) > max {
            if strict {
                return Err(Error::LimitExceeded {
                    what: "response body",
                    limit: max,
                });
            }
            let room = max - buf.len();
            buf.extend_from_slice(piece.get(..room).unwrap_or_default());
            return Ok(buf);
        }
        buf.extend_from_slice(&piece);
    }
}

impl<D> Stream for Decoded<D>
where
    D: Decoder + Unpin,
    D::Item: Unpin,
{
    type Item = Result<D::Item>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.decoder.next_item() {
                if item.is_err() {
                    this.body = None;
                }
                return Poll::Ready(Some(item));
            }
            let Some(body) = this.body.as_mut() else {
                return Poll::Ready(None);
            };
            if this.decoder.is_done() {
                // Whatever follows the end marker is ignored. Read the body's end if it is
                // already there, so that the connection goes back to the pool; never wait.
                match Pin::new(body).poll_next(cx) {
                    Poll::Ready(Some(_)) => continue,
                    Poll::Ready(None) | Poll::Pending => {
                        this.body = None;
                        return Poll::Ready(None);
                    }
                }
            }
            if this.watch.active {
                // Checked once per piece of the body, not per item: a clock read per piece
                // (as the byte-counting timer did before) rather than per chunk.
                if this.decoder.take_progress() {
                    this.watch.progress();
                } else if let Some(e) = this.watch.stale() {
                    this.body = None;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            match Pin::new(body).poll_next(cx) {
                Poll::Ready(Some(Ok(bytes))) => {
                    if let Some(cap) = this.cap {
                        this.received = this.received.saturating_add(bytes.len());
                        if this.received > cap {
                            this.body = None;
                            return Poll::Ready(Some(Err(Error::LimitExceeded {
                                what: "streamed response body",
                                limit: cap,
                            })));
                        }
                    }
                    this.decoder.feed(bytes);
                }
                Poll::Ready(Some(Err(e))) => {
                    this.body = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.body = None;
                    this.decoder.end();
                }
                Poll::Pending => {
                    return match this.watch.poll(cx) {
                        Poll::Ready(e) => {
                            this.body = None;
                            Poll::Ready(Some(Err(e)))
                        }
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}

/// The idle limit (counted from the last progress, not the last byte) and the whole-stream
/// deadline, with one timer.
///
/// The timer is not reset on every progress (that costs a timer-wheel update each time):
/// progress only records when it happened, and when the timer fires it is re-armed from the
/// last progress if the limit has not actually passed yet.
struct Watch {
    active: bool,
    idle: Option<Duration>,
    /// When the whole-stream deadline passes, and the configured limit.
    deadline: Option<(Instant, Duration)>,
    last_progress: Instant,
    stale: u32,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Watch {
    fn new(idle: Option<Duration>, stream: Option<Duration>) -> Self {
        let now = Instant::now();
        // A limit too far away to be represented is no limit.
        let deadline = stream.and_then(|d| Some((now.checked_add(d)?, d)));
        Watch {
            active: idle.is_some() || deadline.is_some(),
            idle,
            deadline,
            last_progress: now,
            stale: 0,
            timer: None,
        }
    }

    fn progress(&mut self) {
        self.last_progress = Instant::now();
        self.stale = 0;
    }

    /// A piece without progress: every [`STALE_PIECES`], whether a limit has passed.
    fn stale(&mut self) -> Option<Error> {
        self.stale += 1;
        if self.stale < STALE_PIECES {
            return None;
        }
        self.stale = 0;
        self.expired(Instant::now())
    }

    fn idle_deadline(&self) -> Option<Instant> {
        self.last_progress.checked_add(self.idle?)
    }

    /// The limit that has passed at `now`, if one has.
    fn expired(&self, now: Instant) -> Option<Error> {
        if let Some((at, after)) = self.deadline
            && now >= at
        {
            return Some(Error::Timeout {
                kind: TimeoutKind::Stream,
                after,
            });
        }
        match (self.idle, self.idle_deadline()) {
            (Some(after), Some(at)) if now >= at => Some(Error::Timeout {
                kind: TimeoutKind::Idle,
                after,
            }),
            _ => None,
        }
    }

    /// The earliest time a limit may pass.
    fn next_deadline(&self) -> Option<Instant> {
        match (self.idle_deadline(), self.deadline) {
            (Some(a), Some((b, _))) => Some(a.min(b)),
            (a, b) => a.or(b.map(|(at, _)| at)),
        }
    }

    /// Ready with the timeout once a limit has passed.
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        let Some(at) = self.next_deadline() else {
            return Poll::Pending;
        };
        let mut timer = self.timer.take().unwrap_or_else(|| {
            Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(at)))
        });
        let outcome = loop {
            match timer.as_mut().poll(cx) {
                Poll::Pending => break Poll::Pending,
                Poll::Ready(()) => {
                    let now = Instant::now();
                    if let Some(e) = self.expired(now) {
                        break Poll::Ready(e);
                    }
                    let at = self.next_deadline().unwrap_or(now);
                    timer.as_mut().reset(tokio::time::Instant::from_std(at));
                }
            }
        };
        self.timer = Some(timer);
        outcome
    }
}
