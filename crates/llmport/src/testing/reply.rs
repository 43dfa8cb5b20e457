//! What the server sends ([`Reply`]) and how its body goes on the wire ([`ReplyBody`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{Response, StatusCode};
use hyper::body::{Body, Frame, SizeHint};
use serde_json::Value;

use super::{NDJSON, SSE};

/// What the server sends for one request.
///
/// Build one with [`Reply::json`], [`Reply::text`], [`Reply::sse`], [`Reply::sse_events`],
/// [`Reply::ndjson`], a whole answer in one API's shape ([`Reply::chat_completion`],
/// [`Reply::messages`], [`Reply::responses`] and their `_stream` forms) or [`Transcript::reply`](super::Transcript::reply), then adjust it with the
/// setters named after its fields ([`Reply::header`],
/// [`Reply::chunk_delay`], …) or the public fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status code. An invalid or informational (1xx) status makes
    /// the server answer `500` with a plain-text explanation instead.
    pub status: u16,
    /// Response headers, sent in this order. `Content-Length` and
    /// `Transfer-Encoding` are normally left out: the server sets them.
    pub headers: Vec<(String, String)>,
    /// The body, one entry per write. Each entry is flushed as its own
    /// HTTP/1.1 chunk before the next one is written. Empty entries are
    /// skipped.
    pub chunks: Vec<Bytes>,
    /// A pause between two consecutive chunks (not before the first one).
    pub chunk_delay: Option<Duration>,
    /// A pause after the request has been read and recorded, before the
    /// status line and headers are sent.
    pub delay_before_headers: Option<Duration>,
    /// Keep the response open after the last chunk, without ever finishing
    /// the body, until the client disconnects. Such a reply always uses
    /// chunked encoding (with a `Content-Length` the client could finish
    /// reading), whatever [`Reply::content_length`] says.
    pub hang_after: bool,
    /// Send a `Content-Length` header (the sum of the chunk lengths) instead
    /// of chunked transfer encoding.
    pub content_length: bool,
}

impl Reply {
    /// An empty body with `Content-Length: 0` and no headers.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            chunks: Vec::new(),
            chunk_delay: None,
            delay_before_headers: None,
            hang_after: false,
            content_length: true,
        }
    }

    /// A compact JSON body with `Content-Type: application/json` and a
    /// `Content-Length`.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::text(status, "application/json", body.to_string())
    }

    /// A body sent as one piece, with the given `Content-Type` and a
    /// `Content-Length`.
    pub fn text(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
        Reply {
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            chunks: non_empty(body.into()),
            ..Reply::empty(status)
        }
    }

    /// A `200` Server-Sent Events stream (`Content-Type: text/event-stream`,
    /// chunked), one HTTP chunk per event.
    ///
    /// Each item is one event's data, sent as `data: <item>\n\n` (an item
    /// containing `\n` becomes several `data:` lines, as SSE requires). The
    /// terminating `[DONE]` is not added: pass it as the last item when the
    /// stream should have it.
    pub fn sse(events: impl IntoIterator<Item = impl Into<String>>) -> Reply {
        let chunks = events
            .into_iter()
            .map(|event| {
                let event: String = event.into();
                let mut out = String::with_capacity(event.len() + 8);
                for line in event.split('\n') {
                    out.push_str("data: ");
                    out.push_str(line);
                    out.push('\n');
                }
                out.push('\n');
                Bytes::from(out)
            })
            .collect();
        Reply {
            headers: vec![("Content-Type".to_owned(), SSE.to_owned())],
            chunks,
            content_length: false,
            ..Reply::empty(200)
        }
    }

    /// A `200` Server-Sent Events stream of typed events, one HTTP chunk per event: each
    /// `(event, data)` pair is sent as `event: <event>\ndata: <data>\n\n`, as the Anthropic
    /// Messages API and OpenAI's Responses API send them (`data` containing `\n` becomes
    /// several `data:` lines).
    ///
    /// ```
    /// use llmport::testing::Reply;
    /// let reply = Reply::sse_events([("message_stop", r#"{"type":"message_stop"}"#)]);
    /// assert_eq!(
    ///     reply.body_bytes(),
    ///     "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    /// );
    /// ```
    pub fn sse_events<E, D>(events: impl IntoIterator<Item = (E, D)>) -> Reply
    where
        E: AsRef<str>,
        D: AsRef<str>,
    {
        let chunks = events
            .into_iter()
            .map(|(event, data)| Bytes::from(typed_event(event.as_ref(), data.as_ref())))
            .collect();
        Reply {
            headers: vec![("Content-Type".to_owned(), SSE.to_owned())],
            chunks,
            content_length: false,
            ..Reply::empty(200)
        }
    }

    /// A `200` NDJSON stream (`Content-Type: application/x-ndjson`, chunked),
    /// one HTTP chunk per line: compact JSON followed by `\n`.
    pub fn ndjson(lines: impl IntoIterator<Item = Value>) -> Reply {
        let chunks = lines
            .into_iter()
            .map(|line| {
                let mut text = line.to_string();
                text.push('\n');
                Bytes::from(text)
            })
            .collect();
        Reply {
            headers: vec![("Content-Type".to_owned(), NDJSON.to_owned())],
            chunks,
            content_length: false,
            ..Reply::empty(200)
        }
    }

    /// Ollama's (gin's) answer to an unknown route: `404`,
    /// `Content-Type: text/plain`, body `404 page not found`.
    pub fn not_found() -> Reply {
        Reply::text(404, "text/plain", "404 page not found")
    }

    /// Ollama's (gin's) answer to a known path with a method it does not serve there:
    /// `405`, `Content-Type: text/plain`, body `405 method not allowed`.
    pub fn method_not_allowed() -> Reply {
        Reply::text(405, "text/plain", "405 method not allowed")
    }

    /// Sets a header, replacing any header of the same name (compared
    /// case-insensitively). To send a header twice, push to
    /// [`Reply::headers`] directly.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Pauses for `delay` between consecutive chunks.
    pub fn chunk_delay(mut self, delay: Duration) -> Reply {
        self.chunk_delay = Some(delay);
        self
    }

    /// Keeps the response open after the last chunk until the client
    /// disconnects (see [`Reply::hang_after`]).
    pub fn hang_after_body(mut self) -> Reply {
        self.hang_after = true;
        self
    }

    /// Pauses for `delay` before sending the status line and headers.
    pub fn delay_before_headers(mut self, delay: Duration) -> Reply {
        self.delay_before_headers = Some(delay);
        self
    }

    /// The whole body: all chunks concatenated.
    pub fn body_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        for chunk in &self.chunks {
            out.extend_from_slice(chunk);
        }
        out.freeze()
    }
}

/// The response body: chunks written one at a time, flushed in between.
pub(super) struct ReplyBody {
    chunks: VecDeque<Bytes>,
    delay: Option<Duration>,
    pause: Pause,
    hang_after: bool,
    /// Bytes still to send, when the length was announced.
    remaining: Option<u64>,
}

enum Pause {
    /// Nothing to wait for.
    Ready,
    /// Return `Pending` once (waking at once) so hyper flushes what it has.
    Yield,
    /// Wait for the chunk delay.
    Sleep(Pin<Box<tokio::time::Sleep>>),
}

impl ReplyBody {
    fn new(reply: &Reply, split_writes: Option<usize>) -> Self {
        let mut chunks = VecDeque::new();
        for chunk in reply.chunks.iter().filter(|c| !c.is_empty()) {
            match split_writes {
                Some(n) if n > 0 => {
                    let mut at = 0;
                    while at < chunk.len() {
                        let end = (at + n).min(chunk.len());
                        chunks.push_back(chunk.slice(at..end));
                        at = end;
                    }
                }
                _ => chunks.push_back(chunk.clone()),
            }
        }
        let remaining = (reply.content_length && !reply.hang_after)
            .then(|| chunks.iter().map(|c| c.len() as u64).sum());
        ReplyBody {
            chunks,
            delay: reply.chunk_delay,
            pause: Pause::Ready,
            hang_after: reply.hang_after,
            remaining,
        }
    }
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        match &mut this.pause {
            Pause::Ready => {}
            Pause::Yield => {
                this.pause = Pause::Ready;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Pause::Sleep(sleep) => {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.pause = Pause::Ready;
            }
        }
        let Some(chunk) = this.chunks.pop_front() else {
            // A hanging body never wakes up again; hyper still watches the
            // socket and ends the connection when the client goes away.
            return if this.hang_after {
                Poll::Pending
            } else {
                Poll::Ready(None)
            };
        };
        if !this.chunks.is_empty() || this.hang_after {
            this.pause = match this.delay {
                Some(delay) if !this.chunks.is_empty() => {
                    Pause::Sleep(Box::pin(tokio::time::sleep(delay)))
                }
                _ => Pause::Yield,
            };
        }
        if let Some(remaining) = &mut this.remaining {
            *remaining = remaining.saturating_sub(chunk.len() as u64);
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && !self.hang_after && matches!(self.pause, Pause::Ready)
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

pub(super) fn plain_response(status: StatusCode, text: String) -> Response<ReplyBody> {
    let reply = Reply::text(status.as_u16(), "text/plain; charset=utf-8", text);
    let mut response = Response::new(ReplyBody::new(&reply, None));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pub(super) fn build_response(reply: &Reply, split_writes: Option<usize>) -> Response<ReplyBody> {
    match try_build_response(reply, split_writes) {
        Ok(response) => response,
        Err(message) => plain_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("llmport test server: cannot send the registered reply: {message}"),
        ),
    }
}

fn try_build_response(
    reply: &Reply,
    split_writes: Option<usize>,
) -> Result<Response<ReplyBody>, String> {
    let status = StatusCode::from_u16(reply.status)
        .map_err(|_| format!("invalid status {}", reply.status))?;
    if status.is_informational() {
        return Err(format!("informational status {status} as a final reply"));
    }
    let mut response = Response::new(ReplyBody::new(reply, split_writes));
    *response.status_mut() = status;
    for (name, value) in &reply.headers {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let header_value = HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value {value:?} for header {name:?}"))?;
        response.headers_mut().append(header_name, header_value);
    }
    Ok(response)
}

pub(super) fn non_empty(bytes: Bytes) -> Vec<Bytes> {
    if bytes.is_empty() {
        Vec::new()
    } else {
        vec![bytes]
    }
}

/// One typed SSE event: `event: <name>` and the data, one `data:` line per line of it.
pub(super) fn typed_event(event: &str, data: &str) -> String {
    let mut out = String::with_capacity(event.len() + data.len() + 16);
    if !event.is_empty() {
        out.push_str("event: ");
        out.push_str(event);
        out.push('\n');
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}
