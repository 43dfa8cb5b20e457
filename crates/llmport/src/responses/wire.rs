//! The Responses API's JSON, both ways: the request body and its input items, the `response`
//! object, the streamed events and the error envelope. Only field names and shapes live here;
//! what they mean is decided in `request.rs`, `response.rs`, `stream.rs` and `error.rs`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /responses`.
#[derive(Debug, Serialize)]
pub(crate) struct ResponsesRequest<'a> {
    pub model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Cow<'a, str>>,
    pub input: Vec<InputItem<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    pub store: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Value>,
    #[serde(skip_serializing_if = "<[&str]>::is_empty")]
    pub include: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_cache_retention: Option<&'static str>,
}

/// One item of `input`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum InputItem<'a> {
    /// A user turn (content parts) or an assistant turn (its text).
    Message {
        role: &'static str,
        content: MessageContent<'a>,
    },
    FunctionCall {
        call_id: &'a str,
        name: &'a str,
        arguments: Cow<'a, str>,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: &'a str,
    },
    /// Reasoning from an earlier answer, passed back as it came.
    Reasoning {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        summary: Vec<ReasoningText<'a>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        content: Vec<ReasoningText<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
}

/// A message's content: a list of parts (user turns) or one text (assistant turns).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum MessageContent<'a> {
    Parts(Vec<ContentPart<'a>>),
    Text(Cow<'a, str>),
}

/// A content part of a user turn.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentPart<'a> {
    InputText {
        text: Cow<'a, str>,
    },
    InputImage {
        image_url: Cow<'a, str>,
        detail: &'static str,
    },
}

/// `{"type":"summary_text"|"reasoning_text","text"}`.
#[derive(Debug, Serialize)]
pub(crate) struct ReasoningText<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: &'a str,
}

/// A function tool, flat: `{type, name, description?, parameters, strict}`.
#[derive(Debug, Serialize)]
pub(crate) struct WireTool<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub parameters: &'a Value,
    pub strict: bool,
}

/// A whole `response` object (the non-streaming answer, and the one lifecycle events carry).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResponseObject {
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub output: Vec<OutputItem>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    #[serde(default)]
    pub error: Option<WireError>,
}

/// Why a response is `incomplete`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IncompleteDetails {
    #[serde(default)]
    pub reason: Option<String>,
}

/// An item of `output`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum OutputItem {
    Message {
        #[serde(default)]
        content: Vec<OutputContent>,
    },
    FunctionCall {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        call_id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        arguments: String,
    },
    Reasoning {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        summary: Vec<TextPart>,
        #[serde(default)]
        content: Vec<TextPart>,
        #[serde(default)]
        encrypted_content: Option<String>,
    },
    /// Items this client does not read (server tool calls, …).
    #[serde(other)]
    Other,
}

/// A content part of an output message.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum OutputContent {
    OutputText {
        #[serde(default)]
        text: String,
    },
    Refusal {
        #[serde(default)]
        refusal: String,
    },
    #[serde(other)]
    Other,
}

/// A `summary_text` or `reasoning_text` part.
#[derive(Debug, Deserialize)]
pub(crate) struct TextPart {
    #[serde(default)]
    pub text: String,
}

/// Token counts.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub total_tokens: Option<u64>,
    #[serde(default)]
    pub input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    pub output_tokens_details: Option<OutputDetails>,
}

/// `usage.input_tokens_details`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct InputDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

/// `usage.output_tokens_details`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(crate) struct OutputDetails {
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

impl From<WireUsage> for crate::response::Usage {
    fn from(u: WireUsage) -> Self {
        crate::response::Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            total_tokens: u
                .total_tokens
                .unwrap_or_else(|| u.input_tokens.saturating_add(u.output_tokens)),
            reasoning_tokens: u.output_tokens_details.and_then(|d| d.reasoning_tokens),
            cached_input_tokens: u.input_tokens_details.and_then(|d| d.cached_tokens),
            cache_creation_input_tokens: None,
        }
    }
}

/// One streamed event's data, every event type in one flat shape (strings borrowed from the
/// event where they hold no escapes: the text deltas are the hot path).
#[derive(Debug, Deserialize)]
pub(crate) struct WireEvent<'a> {
    /// Absent in the bare `{"error":{…}}` llama.cpp's server sends when generation fails.
    #[serde(default, rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub delta: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub item_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub output_index: Option<u32>,
    #[serde(default)]
    pub summary_index: Option<u32>,
    #[serde(default, borrow)]
    pub arguments: Option<Cow<'a, str>>,
    #[serde(default)]
    pub item: Option<OutputItem>,
    #[serde(default)]
    pub response: Option<ResponseObject>,
    /// The `error` event's fields (OpenAI puts them at the top level) …
    #[serde(default)]
    pub code: Option<Value>,
    #[serde(default)]
    pub message: Option<String>,
    /// … or nested, as other servers do.
    #[serde(default)]
    pub error: Option<WireError>,
}

/// `{"type","code","message","param"}` of an error (`code` is a string at OpenAI, a number
/// at llama.cpp's server).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireError {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<Value>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<Value>,
}

/// A JSON scalar as text: `"rate_limit_exceeded"` → `rate_limit_exceeded`, `429` → `429`;
/// `null` → `None`.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
