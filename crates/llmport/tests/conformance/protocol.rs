//! What the suite needs to know about a protocol: the [`Protocol`] trait (how to build its
//! provider for a base URL and a key; what its server answers, in the protocol's exact shape;
//! where each request setting lives on its wire), and the neutral descriptions the scenarios
//! are written in ([`Answer`], [`Sent`]).

use bytes::Bytes;
use llmport::ollama::OllamaChatApi;
use llmport::testing::{RecordedRequest, Reply};
use llmport::{Auth, OllamaProvider, Provider, RetryConfig};
use serde_json::Value;

/// The protocol paths the suite covers; the key of the table of gaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Id {
    /// `OpenAiProvider`: Chat Completions.
    OpenAiChat,
    /// `OllamaProvider` over Ollama's OpenAI-compatible `/v1`.
    OllamaV1,
    /// `OllamaProvider` over Ollama's native `/api/chat`.
    OllamaNative,
    /// `AnthropicProvider`: the Messages API.
    Anthropic,
    /// `ResponsesProvider`: OpenAI's Responses API.
    Responses,
}

/// How the model ends its answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    /// It ended on its own.
    Stop,
    /// It hit one of the request's stop sequences (this one).
    StopSequence(&'static str),
    /// It hit `max_tokens`.
    Length,
    /// It called [`Answer::tool_call`].
    ToolCall,
}

/// A tool call the model makes.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub id: &'static str,
    pub name: &'static str,
    pub arguments: Value,
}

/// What the server answers, before a protocol renders it in its own shape.
#[derive(Clone, Debug)]
pub struct Answer {
    pub text: String,
    pub finish: Finish,
    pub tool_call: Option<Call>,
    /// Input and output tokens.
    pub usage: (u64, u64),
    /// Of the input tokens, how many the server read from its prompt cache.
    pub cached: u64,
}

impl Answer {
    /// A text answer that ends on its own.
    pub fn text(text: &str) -> Self {
        Answer {
            text: text.to_owned(),
            finish: Finish::Stop,
            tool_call: None,
            usage: (12, 5),
            cached: 0,
        }
    }

    /// The same answer, ending as `finish`.
    pub fn finish(mut self, finish: Finish) -> Self {
        self.finish = finish;
        self
    }

    /// A tool call and nothing else.
    pub fn call(call: Call) -> Self {
        Answer {
            text: String::new(),
            finish: Finish::ToolCall,
            tool_call: Some(call),
            usage: (150, 20),
            cached: 0,
        }
    }

    /// The text in the pieces a server streams it in (word by word, spaces kept).
    pub fn deltas(&self) -> Vec<&str> {
        self.text.split_inclusive(' ').collect()
    }
}

/// What a request carried, read from the protocol's own wire shape: the scenarios assert on
/// this, each [`Protocol::read`] knows where each setting lives on its wire.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sent {
    pub path: String,
    pub model: String,
    pub stream: bool,
    /// The system instructions, wherever the protocol puts them.
    pub system: Option<String>,
    /// The conversation's text turns: (`user` | `assistant`, text).
    pub turns: Vec<(String, String)>,
    pub stop: Vec<String>,
    pub max_tokens: Option<u64>,
    pub seed: Option<i64>,
    /// The names of the tools offered.
    pub tools: Vec<String>,
    /// Tool calls replayed in the history: (id, name).
    pub tool_calls: Vec<(String, String)>,
    /// Tool results sent back: (call id, content).
    pub tool_results: Vec<(String, String)>,
    /// Images, as base64.
    pub images: Vec<String>,
    /// The JSON schema the answer must match.
    pub schema: Option<Value>,
    /// The API key, as the protocol carries it.
    pub key: Option<String>,
}

/// The error answers every protocol gives, in its own shape.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// 401: the key was refused.
    Unauthorized,
    /// 404: the model does not exist.
    ModelNotFound(&'static str),
}

/// One protocol path, as the suite drives it. Adding a provider to the suite is one value of
/// a type implementing this, and one `suite!` line in `conformance.rs`.
pub trait Protocol: Sync {
    /// Which path this is.
    fn id(&self) -> Id;

    /// The chat endpoint, relative to the server root.
    fn path(&self) -> &'static str;

    /// The provider for a server whose root is `root` (`http://127.0.0.1:PORT`), sending
    /// `key` where the protocol carries keys.
    fn provider(&self, root: &str, key: Option<&str>, retry: RetryConfig) -> Box<dyn Provider>;

    /// Whether the protocol has a sampling seed (the streamed scenarios send one when it has).
    fn takes_seed(&self) -> bool {
        true
    }

    /// Whether the server says how many prompt tokens came from its cache.
    fn reports_cache(&self) -> bool {
        true
    }

    /// The whole (non-streamed) answer.
    fn answer(&self, answer: &Answer) -> Reply;

    /// The streamed answer, ending as the server ends a complete stream.
    fn answer_stream(&self, answer: &Answer) -> Reply;

    /// Streams whose server fails after `text` was sent, each with where its shape comes
    /// from and the server's error message, which the caller must see (empty where the
    /// server itself loses it: the caller still gets an error, not an end).
    fn midstream_errors(&self, text: &str) -> Vec<(&'static str, Reply, &'static str)>;

    /// An error answer.
    fn failure(&self, failure: Failure) -> Reply;

    /// The answers the server gives when it wants the call repeated later: each carries a
    /// `Retry-After`, the client retries them.
    fn retry_later(&self) -> Vec<Reply>;

    /// What a request carried.
    fn read(&self, request: &RecordedRequest) -> Sent;
}

/// A streamed answer cut off after its first text delta: no finish, no end marker, as when a
/// connection drops (the HTTP body itself ends cleanly).
pub fn truncated(full: Reply, first_delta: &str) -> Reply {
    let cut = full
        .chunks
        .iter()
        .position(|c| contains(c, first_delta.as_bytes()))
        .expect("the stream carries the first delta");
    let mut reply = full;
    reply.chunks.truncate(cut + 1);
    reply
}

fn contains(haystack: &Bytes, needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A `200` SSE stream of typed events (`event: NAME` + `data: JSON`), one HTTP chunk per event,
/// as Anthropic's and llama.cpp's servers write them, with this exact `Content-Type`.
pub fn typed_sse(content_type: &str, events: Vec<(&str, Value)>) -> Reply {
    Reply::sse_events(
        events
            .into_iter()
            .map(|(name, data)| (name, data.to_string())),
    )
    .header("Content-Type", content_type)
}

/// A JSON answer with this exact `Content-Type` and extra headers.
pub fn json_reply(
    status: u16,
    content_type: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> Reply {
    let mut reply = Reply::text(status, content_type, body.to_string());
    for (name, value) in headers {
        reply = reply.header(*name, *value);
    }
    reply
}

/// The text of a content value that is a string or an array of `{"type": "...", "text"}`
/// parts.
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The base64 data of a `data:` URI.
pub fn data_uri_base64(uri: &str) -> String {
    uri.split_once(";base64,")
        .map(|(_, b64)| b64.to_owned())
        .unwrap_or_default()
}

/// The `stop` of a request: a string or a list of strings.
pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The names of Chat Completions-style tools (`[{"type": "function", "function": {"name"}}]`).
pub fn function_names(tools: &Value) -> Vec<String> {
    tools
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            t["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The bearer token of a request.
pub fn bearer(request: &RecordedRequest) -> Option<String> {
    request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// `OllamaProvider` for a server root, held to one of Ollama's chat APIs.
pub fn ollama(
    root: &str,
    key: Option<&str>,
    retry: RetryConfig,
    api: OllamaChatApi,
) -> Box<dyn Provider> {
    Box::new(
        OllamaProvider::builder()
            .host(root)
            .auth(key.map_or(Auth::None, Auth::bearer))
            .chat_api(api)
            .retry(retry)
            .build()
            .expect("provider builds"),
    )
}

/// A request's JSON body, and what every protocol reads the same way from it: the path, the
/// model and the stream flag (`stream_default` when absent).
pub fn sent_from(request: &RecordedRequest, stream_default: bool) -> (Value, Sent) {
    let body: Value = request.json().expect("a JSON request");
    let sent = Sent {
        path: request.path_only().to_owned(),
        model: body["model"].as_str().unwrap_or_default().to_owned(),
        stream: body["stream"].as_bool().unwrap_or(stream_default),
        ..Sent::default()
    };
    (body, sent)
}
