//! Recorded exchanges ([`Transcript`]): loading them and rendering their reply's bytes.

use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::json_order::{CompactJson, OrderedMap};
use super::reply::{Reply, non_empty};
use super::{NDJSON, SSE};

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
///               "body": {}, "sse_events": [{"event": "…", "data": {}}], "ndjson_lines": [{}],
///               "raw_body": "exact bytes as the server writes them"}}
/// ```
///
/// The bytes served are `raw_body` when present; otherwise they are rendered
/// from `sse_events` (`event: <event>\n` when the item has an `event`, as the
/// Messages and Responses APIs' typed events do, then `data: <compact JSON or string>\n\n`),
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
    /// The event type (`event:` line), which the Messages and Responses APIs send.
    #[serde(default)]
    event: Option<String>,
    data: CompactJson,
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
                let name = event.event.as_deref().unwrap_or_default();
                out.push_str(&super::reply::typed_event(name, &event.data.payload()));
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
    /// [`Transcript::response`], to adjust with [`Reply`]'s setters).
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
        if bytes.get(i..).is_some_and(|rest| rest.starts_with(sep)) {
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
