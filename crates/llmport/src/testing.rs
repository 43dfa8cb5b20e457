//! An in-process HTTP/1.1 server that speaks Ollama's wire format, for tests.
//!
//! [`TestServer`] listens on `127.0.0.1` with an ephemeral port and answers
//! requests with canned [`Reply`]s, usually taken from recorded
//! [`Transcript`]s (the JSON files under `tests/fixtures/`). It records every
//! request it receives ([`TestServer::requests`]) so a test can check what the
//! client sent.
//!
//! The server runs on its own thread with its own Tokio runtime, so it works
//! the same under `#[tokio::test]` (current-thread or multi-thread) and keeps
//! serving even while the test's runtime is busy. Dropping the [`TestServer`]
//! stops it synchronously: the listening socket and every open connection are
//! closed before `drop` returns.
//!
//! Wire behaviour:
//!
//! * Routing matches the method and the path (the query string is ignored).
//!   Several replies registered for one route are served in order, one per
//!   request; the last one repeats once the list is exhausted. An
//!   unregistered route answers like Ollama (gin): `404`,
//!   `Content-Type: text/plain`, body `404 page not found`.
//! * A request is recorded (its whole body read) before its reply is sent.
//! * Each entry of [`Reply::chunks`] is written as its own HTTP/1.1 chunk and
//!   flushed before the next, so a client sees the chunks as separate reads.
//! * Replies with [`Reply::content_length`] set carry a `Content-Length`
//!   header; the others use chunked transfer encoding.
//! * Connections are kept alive between requests.
//!
//! # Example
//!
//! ```
//! use llmport::testing::{Reply, TestServer, Transcript};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let transcript = Transcript::load("tests/fixtures/openai_chat_plain.json")?;
//! let server = TestServer::builder()
//!     .transcript(transcript)
//!     .route("GET", "/api/version", Reply::json(200, &serde_json::json!({"version": "0.12.0"})))
//!     .start()
//!     .await;
//!
//! // Point the client under test at `server.v1_url()` (OpenAI-compatible API)
//! // or `server.url()` (native API), run it, then inspect what it sent:
//! if let Some(request) = server.last_request() {
//!     assert_eq!(request.path, "/v1/chat/completions");
//!     assert_eq!(request.json()?["model"], "llama3.2");
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

const SSE: &str = "text/event-stream";
const NDJSON: &str = "application/x-ndjson";

// ---------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------

/// Why a transcript could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum TranscriptError {
    /// The file (or directory) could not be read.
    Io {
        /// The path that was being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not JSON, or not JSON of the transcript shape.
    Json {
        /// The file the text came from, when it came from a file.
        path: Option<PathBuf>,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The JSON has the transcript shape but a value in it cannot be served
    /// (for example a header value that is not a string).
    Invalid {
        /// The file the text came from, when it came from a file.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
}

impl TranscriptError {
    fn with_path(self, file: &Path) -> Self {
        match self {
            Self::Json { source, .. } => Self::Json {
                path: Some(file.to_path_buf()),
                source,
            },
            Self::Invalid { message, .. } => Self::Invalid {
                path: Some(file.to_path_buf()),
                message,
            },
            other => other,
        }
    }
}

impl fmt::Display for TranscriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => {
                write!(f, "cannot read transcript {}: {source}", path.display())
            }
            Self::Json { path, source } => match path {
                Some(path) => write!(f, "malformed transcript {}: {source}", path.display()),
                None => write!(f, "malformed transcript: {source}"),
            },
            Self::Invalid { path, message } => match path {
                Some(path) => write!(f, "invalid transcript {}: {message}", path.display()),
                None => write!(f, "invalid transcript: {message}"),
            },
        }
    }
}

impl std::error::Error for TranscriptError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Json { source, .. } => Some(source),
            Self::Invalid { .. } => None,
        }
    }
}

/// One recorded exchange with an Ollama server: the request a client sent
/// and the reply the server gave.
///
/// Transcripts are JSON files of this shape (unknown keys are ignored):
///
/// ```json
/// {"case": "openai_chat_plain",
///  "request":  {"method": "POST", "path": "/v1/chat/completions", "headers": {}, "body": {}},
///  "response": {"status": 200, "headers": {"Content-Type": "application/json"},
///               "body": {}, "sse_events": [{"data": {}}], "ndjson_lines": [{}],
///               "raw_body": "exact bytes as the server writes them"}}
/// ```
///
/// The bytes served are `raw_body` when present; otherwise they are rendered
/// from `sse_events` (`data: <compact JSON or string>\n\n` each),
/// `ndjson_lines` (compact JSON and `\n` each) or `body` (compact JSON, or a
/// string as is; `null` or absent is empty). Rendered JSON keeps the file's
/// key order; number formatting may differ from the original text, so keep a
/// `raw_body` wherever the exact bytes matter.
///
/// An SSE reply (`Content-Type: text/event-stream`) is sent as one HTTP chunk
/// per event, an NDJSON reply (`application/x-ndjson`) as one chunk per line,
/// anything else as a single body with `Content-Length`.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// The case name (`"case"`), e.g. `"openai_chat_plain"`.
    pub case: String,
    /// The request the client sent.
    pub request: TranscriptRequest,
    /// What the server answered, ready to serve.
    pub response: Reply,
    raw: Value,
}

/// The request half of a [`Transcript`].
#[derive(Clone, Debug, PartialEq)]
pub struct TranscriptRequest {
    /// The HTTP method, e.g. `"POST"`.
    pub method: String,
    /// The request path, e.g. `"/v1/chat/completions"`.
    pub path: String,
    /// The request headers recorded in the transcript (often none), in the
    /// file's key order.
    pub headers: Vec<(String, String)>,
    /// The JSON request body, when the transcript has one.
    pub body: Option<Value>,
}

#[derive(Deserialize)]
struct RawTranscript {
    case: String,
    request: RawRequest,
    response: RawResponse,
}

#[derive(Deserialize)]
struct RawRequest {
    method: String,
    path: String,
    #[serde(default)]
    headers: OrderedMap,
    #[serde(default)]
    body: Option<Value>,
}

#[derive(Deserialize)]
struct RawResponse {
    status: u16,
    #[serde(default)]
    headers: OrderedMap,
    #[serde(default)]
    body: Option<CompactJson>,
    #[serde(default)]
    sse_events: Option<Vec<RawSseEvent>>,
    #[serde(default)]
    ndjson_lines: Option<Vec<CompactJson>>,
    #[serde(default)]
    raw_body: Option<String>,
}

#[derive(Deserialize)]
struct RawSseEvent {
    data: CompactJson,
}

/// A JSON object's entries in document order (`null` reads as empty).
#[derive(Default)]
struct OrderedMap(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<OrderedMap, E> {
                Ok(OrderedMap::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<OrderedMap, E> {
                Ok(OrderedMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_any(MapVisitor)
    }
}

/// Any JSON value re-encoded as compact JSON text with object keys in
/// document order (a `serde_json::Value` would sort them).
struct CompactJson(String);

impl CompactJson {
    /// The text to send: a JSON string as is (`"[DONE]"` gives `[DONE]`),
    /// anything else as compact JSON.
    fn payload(&self) -> String {
        if self.0.starts_with('"') {
            serde_json::from_str::<String>(&self.0).unwrap_or_else(|_| self.0.clone())
        } else {
            self.0.clone()
        }
    }

    fn is_null(&self) -> bool {
        self.0 == "null"
    }
}

impl<'de> Deserialize<'de> for CompactJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut out = String::new();
        CompactSeed(&mut out).deserialize(deserializer)?;
        Ok(CompactJson(out))
    }
}

struct CompactSeed<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for CompactSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CompactSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.push_str(&v.to_string());
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.push_str(&Value::from(v).to_string());
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_str(&Value::from(v).to_string());
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.push_str("null");
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.push('[');
        let mut first = true;
        loop {
            let mark = self.0.len();
            if !first {
                self.0.push(',');
            }
            if seq.next_element_seed(CompactSeed(&mut *self.0))?.is_none() {
                self.0.truncate(mark);
                break;
            }
            first = false;
        }
        self.0.push(']');
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.push('{');
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if !first {
                self.0.push(',');
            }
            first = false;
            self.0.push_str(&Value::from(key).to_string());
            self.0.push(':');
            map.next_value_seed(CompactSeed(&mut *self.0))?;
        }
        self.0.push('}');
        Ok(())
    }
}

fn invalid(message: String) -> TranscriptError {
    TranscriptError::Invalid {
        path: None,
        message,
    }
}

fn header_list(map: OrderedMap, what: &str) -> Result<Vec<(String, String)>, TranscriptError> {
    let mut out = Vec::new();
    for (name, value) in map.0 {
        match value {
            Value::String(s) => out.push((name, s)),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::String(s) => out.push((name.clone(), s)),
                        other => {
                            return Err(invalid(format!(
                                "{what} header {name:?} has a non-string value {other}"
                            )));
                        }
                    }
                }
            }
            other => {
                return Err(invalid(format!(
                    "{what} header {name:?} has a non-string value {other}"
                )));
            }
        }
    }
    Ok(out)
}

impl Transcript {
    /// Parses a transcript from its JSON text.
    pub fn from_json(text: &str) -> Result<Transcript, TranscriptError> {
        let json_err = |source| TranscriptError::Json { path: None, source };
        let value: Value = serde_json::from_str(text).map_err(json_err)?;
        // Parsed from the text (not from `value`) to keep key order.
        let raw: RawTranscript = serde_json::from_str(text).map_err(json_err)?;
        Self::from_raw(raw, value)
    }

    /// Builds a transcript from already parsed JSON.
    ///
    /// Bytes rendered from `sse_events`, `ndjson_lines` or `body` (when there
    /// is no `raw_body`) follow the key order of `value`, which
    /// `serde_json::Value` sorts unless serde_json's `preserve_order` feature
    /// is on; [`Transcript::from_json`] keeps the text's order.
    pub fn from_value(value: Value) -> Result<Transcript, TranscriptError> {
        let raw: RawTranscript = serde_json::from_value(value.clone())
            .map_err(|source| TranscriptError::Json { path: None, source })?;
        Self::from_raw(raw, value)
    }

    fn from_raw(raw: RawTranscript, value: Value) -> Result<Transcript, TranscriptError> {
        let request = TranscriptRequest {
            method: raw.request.method,
            path: raw.request.path,
            headers: header_list(raw.request.headers, "request")?,
            body: raw.request.body,
        };
        let response = Self::build_reply(raw.response)?;
        Ok(Transcript {
            case: raw.case,
            request,
            response,
            raw: value,
        })
    }

    fn build_reply(raw: RawResponse) -> Result<Reply, TranscriptError> {
        if StatusCode::from_u16(raw.status).is_err() {
            return Err(invalid(format!("invalid response status {}", raw.status)));
        }
        let headers = header_list(raw.headers, "response")?;
        let body: Bytes = if let Some(raw_body) = raw.raw_body {
            Bytes::from(raw_body)
        } else if let Some(events) = &raw.sse_events {
            let mut out = String::new();
            for event in events {
                out.push_str("data: ");
                out.push_str(&event.data.payload());
                out.push_str("\n\n");
            }
            Bytes::from(out)
        } else if let Some(lines) = &raw.ndjson_lines {
            let mut out = String::new();
            for line in lines {
                out.push_str(&line.0);
                out.push('\n');
            }
            Bytes::from(out)
        } else {
            match raw.body {
                Some(body) if !body.is_null() => Bytes::from(body.payload()),
                _ => Bytes::new(),
            }
        };

        let media = media_type(&headers);
        let framing = match media.as_deref() {
            Some(SSE) => Framing::Sse,
            Some(NDJSON) => Framing::Ndjson,
            Some(_) => Framing::Whole,
            None if raw.sse_events.is_some() => Framing::Sse,
            None if raw.ndjson_lines.is_some() => Framing::Ndjson,
            None => Framing::Whole,
        };
        let (chunks, content_length) = match framing {
            Framing::Sse => (split_after(&body, b"\n\n"), false),
            Framing::Ndjson => (split_after(&body, b"\n"), false),
            Framing::Whole => (non_empty(body), true),
        };
        Ok(Reply {
            status: raw.status,
            headers,
            chunks,
            chunk_delay: None,
            delay_before_headers: None,
            hang_after: false,
            content_length,
        })
    }

    /// Reads and parses a transcript file.
    pub fn load(path: impl AsRef<Path>) -> Result<Transcript, TranscriptError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TranscriptError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text).map_err(|e| e.with_path(path))
    }

    /// Loads every `*.json` file of a directory (not recursive), sorted by
    /// file name.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<Transcript>, TranscriptError> {
        let dir = dir.as_ref();
        let io_err = |source| TranscriptError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err)? {
            let path = entry.map_err(io_err)?.path();
            if path.extension().is_some_and(|ext| ext == "json") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        paths.iter().map(Self::load).collect()
    }

    /// The reply the server gives for this transcript (a copy of
    /// [`Transcript::response`], to adjust with the `Reply::with_*` methods).
    pub fn reply(&self) -> Reply {
        self.response.clone()
    }

    /// The whole transcript as parsed JSON, including keys this module does
    /// not interpret (`description`, `notes`, ...).
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The transcript's `description`, if any.
    pub fn description(&self) -> Option<&str> {
        self.raw.get("description").and_then(Value::as_str)
    }
}

enum Framing {
    Sse,
    Ndjson,
    Whole,
}

/// The lower-cased media type of the first `Content-Type` header, without
/// parameters.
fn media_type(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// Splits `bytes` after every occurrence of `sep`; a trailing remainder
/// without `sep` is the last piece. Never yields empty pieces.
fn split_after(bytes: &Bytes, sep: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= bytes.len() {
        if &bytes[i..i + sep.len()] == sep {
            i += sep.len();
            out.push(bytes.slice(start..i));
            start = i;
        } else {
            i += 1;
        }
    }
    if start < bytes.len() {
        out.push(bytes.slice(start..));
    }
    out
}

fn non_empty(bytes: Bytes) -> Vec<Bytes> {
    if bytes.is_empty() {
        Vec::new()
    } else {
        vec![bytes]
    }
}

// ---------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------

/// What the server sends for one request.
///
/// Build one with [`Reply::json`], [`Reply::text`], [`Reply::sse`],
/// [`Reply::ndjson`] or [`Transcript::reply`], then adjust it with the
/// `with_*` methods or the public fields.
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

    /// Sets a header, replacing any header of the same name (compared
    /// case-insensitively). To send a header twice, push to
    /// [`Reply::headers`] directly.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        let name = name.into();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Pauses for `delay` between consecutive chunks.
    pub fn with_chunk_delay(mut self, delay: Duration) -> Reply {
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
    pub fn with_delay_before_headers(mut self, delay: Duration) -> Reply {
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
struct ReplyBody {
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

fn plain_response(status: StatusCode, text: String) -> Response<ReplyBody> {
    let reply = Reply::text(status.as_u16(), "text/plain; charset=utf-8", text);
    let mut response = Response::new(ReplyBody::new(&reply, None));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn build_response(reply: &Reply, split_writes: Option<usize>) -> Response<ReplyBody> {
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

// ---------------------------------------------------------------------------
// Recorded requests
// ---------------------------------------------------------------------------

/// A request as the server received it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// The method, e.g. `"POST"`.
    pub method: String,
    /// The path with its query string, e.g. `"/api/tags?x=1"`.
    pub path: String,
    /// The headers, names lower-cased, in arrival order (values of a repeated
    /// header follow its first occurrence).
    pub headers: Vec<(String, String)>,
    /// The exact body bytes (as much as arrived, if the client broke off).
    pub body: Bytes,
}

impl RecordedRequest {
    /// The body parsed as JSON; [`Value::Null`] when the body is empty.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        if self.body.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_slice(&self.body)
        }
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of a header, the name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        strip_query(&self.path)
    }

    /// The query string (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }
}

fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

type RouteKey = (String, String);

fn route_key(method: &str, path: &str) -> RouteKey {
    (method.to_ascii_uppercase(), strip_query(path).to_owned())
}

struct Route {
    replies: Vec<Reply>,
    next: usize,
}

struct Shared {
    routes: Mutex<HashMap<RouteKey, Route>>,
    requests: Mutex<Vec<RecordedRequest>>,
    split_writes: Option<usize>,
    active: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn next_reply(&self, method: &str, path: &str) -> Option<Reply> {
        let mut routes = lock(&self.routes);
        let route = routes.get_mut(&route_key(method, path))?;
        let last = route.replies.len().checked_sub(1)?;
        let index = route.next.min(last);
        if route.next < last {
            route.next += 1;
        }
        route.replies.get(index).cloned()
    }
}

/// Counts a connection as open for as long as it lives.
struct ConnectionGuard(Arc<Shared>);

impl ConnectionGuard {
    fn new(shared: Arc<Shared>) -> Self {
        shared.active.fetch_add(1, Ordering::SeqCst);
        ConnectionGuard(shared)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Configures a [`TestServer`]: its routes and write splitting.
#[derive(Debug, Default)]
pub struct TestServerBuilder {
    routes: Vec<(String, String, Reply)>,
    split_writes: Option<usize>,
}

impl TestServerBuilder {
    /// Serves the transcript's reply on its route (its request method and
    /// path, without query).
    pub fn transcript(self, transcript: Transcript) -> Self {
        let Transcript {
            request, response, ..
        } = transcript;
        self.route(&request.method, &request.path, response)
    }

    /// Serves each transcript on its route (see
    /// [`TestServerBuilder::transcript`]).
    pub fn transcripts(self, transcripts: impl IntoIterator<Item = Transcript>) -> Self {
        transcripts.into_iter().fold(self, Self::transcript)
    }

    /// Serves `reply` for `method` (case-insensitive) and `path` (a query
    /// string in it is ignored). Several replies on one route are served in
    /// registration order, one per request; the last one repeats.
    pub fn route(mut self, method: &str, path: &str, reply: Reply) -> Self {
        self.routes
            .push((method.to_owned(), path.to_owned(), reply));
        self
    }

    /// Split every body into writes of at most `n` bytes, each flushed as its
    /// own HTTP chunk (tests decoders at every split). `0` turns splitting
    /// off. Splits never join bytes of different [`Reply::chunks`] entries,
    /// and a [`Reply::chunk_delay`] also applies between the pieces.
    pub fn split_writes(mut self, n: usize) -> Self {
        self.split_writes = (n > 0).then_some(n);
        self
    }

    /// Binds `127.0.0.1` on an ephemeral port and starts serving.
    ///
    /// # Panics
    ///
    /// When the socket cannot be bound or the server thread cannot start.
    pub async fn start(self) -> TestServer {
        let mut routes: HashMap<RouteKey, Route> = HashMap::new();
        for (method, path, reply) in self.routes {
            routes
                .entry(route_key(&method, &path))
                .or_insert_with(|| Route {
                    replies: Vec::new(),
                    next: 0,
                })
                .replies
                .push(reply);
        }
        let shared = Arc::new(Shared {
            routes: Mutex::new(routes),
            requests: Mutex::new(Vec::new()),
            split_writes: self.split_writes,
            active: AtomicUsize::new(0),
        });

        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .unwrap_or_else(|e| panic!("llmport test server: cannot bind 127.0.0.1:0: {e}"));
        let addr = std_listener
            .local_addr()
            .unwrap_or_else(|e| panic!("llmport test server: no local address: {e}"));

        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("llmport-test-server-{}", addr.port()))
            .spawn(move || server_thread(std_listener, thread_shared, ready_tx, stop_rx))
            .unwrap_or_else(|e| panic!("llmport test server: cannot spawn its thread: {e}"));

        let mut server = TestServer {
            addr,
            shared,
            stop_tx: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.await {
            Ok(Ok(())) => server,
            Ok(Err(message)) => {
                server.stop();
                panic!("llmport test server: cannot start: {message}")
            }
            Err(_) => {
                server.stop();
                panic!("llmport test server: its thread ended before it was ready")
            }
        }
    }
}

fn server_thread(
    std_listener: std::net::TcpListener,
    shared: Arc<Shared>,
    ready_tx: oneshot::Sender<Result<(), String>>,
    stop_rx: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready_tx.send(Err(format!("cannot build a Tokio runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::from_std(std_listener) {
            Ok(listener) => listener,
            Err(e) => {
                let _ = ready_tx.send(Err(format!("cannot register the listener: {e}")));
                return;
            }
        };
        let _ = ready_tx.send(Ok(()));
        tokio::select! {
            () = accept_loop(listener, shared) => {}
            _ = stop_rx => {}
        }
        // Dropping `accept_loop` here closed the listener and aborted every
        // connection task (they live in its `JoinSet`).
    });
    // Dropping the runtime drops the aborted tasks, closing their sockets.
    drop(runtime);
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let guard = ConnectionGuard::new(Arc::clone(&shared));
                    connections.spawn(serve_connection(stream, guard));
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, guard: ConnectionGuard) {
    let _ = stream.set_nodelay(true);
    let shared = Arc::clone(&guard.0);
    let service = service_fn(move |request| handle(Arc::clone(&shared), request));
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
    drop(guard);
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<ReplyBody>, Infallible> {
    let (parts, mut body) = request.into_parts();
    let mut bytes = BytesMut::new();
    let mut complete = true;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let method = parts.method.as_str().to_owned();
    let reply = complete.then(|| shared.next_reply(&method, &path));
    lock(&shared.requests).push(RecordedRequest {
        method,
        path,
        headers,
        body: bytes.freeze(),
    });
    let Some(reply) = reply else {
        // The client broke off the upload; it will hardly read this.
        return Ok(plain_response(
            StatusCode::BAD_REQUEST,
            "llmport test server: the request body broke off".to_owned(),
        ));
    };
    let reply = reply.unwrap_or_else(Reply::not_found);
    if let Some(delay) = reply.delay_before_headers {
        tokio::time::sleep(delay).await;
    }
    Ok(build_response(&reply, shared.split_writes))
}

/// An in-process HTTP/1.1 server on `127.0.0.1` that replays [`Reply`]s.
///
/// Dropping it shuts it down: the listening socket and all connections are
/// closed before `drop` returns.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop_tx: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("requests", &lock(&self.shared.requests).len())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts configuring a server.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// Starts a server that serves each transcript on its route.
    ///
    /// # Panics
    ///
    /// See [`TestServerBuilder::start`].
    pub async fn start(transcripts: impl IntoIterator<Item = Transcript>) -> TestServer {
        Self::builder().transcripts(transcripts).start().await
    }

    /// The server root, `http://127.0.0.1:PORT` (where Ollama's native API
    /// lives).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OpenAI-compatible API base, `http://127.0.0.1:PORT/v1`.
    pub fn v1_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The most recent request, if any.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        lock(&self.shared.requests).last().cloned()
    }

    /// How many client connections are open right now.
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Stops the server; same as dropping it.
    pub async fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(stop_tx) = self.stop_tx.take() {
            let _ = stop_tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The thread only runs the server's own runtime, which ends
            // promptly once told to stop; a panic in it is not re-raised.
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}
