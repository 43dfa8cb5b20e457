//! Ollama's native wire format (`/api/*`): serde types for requests, chat chunks and the
//! envelopes around the public model types of [`super::models`].
//!
//! Chat chunks are the streaming hot path: their strings borrow from the line they are decoded
//! from ([`Text`], not `Option<Cow<str>>`, which serde always copies), so a typical chunk
//! allocates nothing but the text handed to the caller.
//! Everything else is decoded once per call and owned.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::models::{LocalModel, RunningModel};
use super::options::{KeepAlive, Think};
use crate::codec::Text;
use crate::response::{ServerTimings, TokenLogprob, Usage};
use crate::tool_schema::WireTool;

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// `{"model": …}`: the body of `/api/show` and `/api/delete`.
#[derive(Debug, Serialize)]
pub(crate) struct ModelRequest<'a> {
    pub model: &'a str,
}

/// `POST /api/pull` and `POST /api/push` (the same fields).
#[derive(Debug, Serialize)]
pub(crate) struct PullRequest<'a> {
    pub model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Absent means `true` (the native default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// `POST /api/copy`.
#[derive(Debug, Serialize)]
pub(crate) struct CopyRequest<'a> {
    pub source: &'a str,
    pub destination: &'a str,
}

/// `POST /api/generate` with an empty prompt and `keep_alive: 0`: unload the model (what
/// `ollama stop` sends).
#[derive(Debug, Serialize)]
pub(crate) struct UnloadRequest<'a> {
    pub model: &'a str,
    pub prompt: &'a str,
    pub keep_alive: u8,
}

/// `POST /api/embed`.
#[derive(Debug, Serialize)]
pub(crate) struct EmbedRequest<'a> {
    pub model: &'a str,
    pub input: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "keep_alive")]
    pub keep_alive: Option<&'a KeepAlive>,
}

/// `POST /api/chat`.
#[derive(Debug, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<ChatMessage<'a>>,
    /// Absent means `true` (the native default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "keep_alive")]
    pub keep_alive: Option<&'a KeepAlive>,
    /// Same shape as Chat Completions' tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "ChatOptions::is_empty")]
    pub options: ChatOptions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think: Option<Think>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u8>,
}

/// `POST /api/generate`: a prompt to complete (field order as Ollama's `api.GenerateRequest`).
#[derive(Debug, Serialize)]
pub(crate) struct GenerateRequest<'a> {
    pub model: &'a str,
    pub prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<&'a str>,
    #[serde(skip_serializing_if = "<[i64]>::is_empty")]
    pub context: &'a [i64],
    /// Absent means `true` (the native default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub raw: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "keep_alive")]
    pub keep_alive: Option<&'a KeepAlive>,
    /// Raw standard base64, no `data:` prefix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "ChatOptions::is_empty")]
    pub options: ChatOptions<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think: Option<Think>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u8>,
}

/// One message of a native chat request: `content` is always a string, images are raw
/// base64 strings, tool-call arguments are JSON objects.
#[derive(Debug, Serialize)]
pub(crate) struct ChatMessage<'a> {
    pub role: &'static str,
    pub content: Cow<'a, str>,
    /// The model's reasoning in an earlier assistant turn, sent back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<&'a str>,
}

impl<'a> ChatMessage<'a> {
    /// A message with text content only.
    pub(crate) fn text(role: &'static str, content: Cow<'a, str>) -> Self {
        ChatMessage {
            role,
            content,
            thinking: None,
            images: Vec::new(),
            tool_calls: Vec::new(),
            tool_name: None,
            tool_call_id: None,
        }
    }
}

/// A tool call replayed in history: no `type`, arguments as an object.
#[derive(Debug, Serialize)]
pub(crate) struct WireToolCall<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    pub id: &'a str,
    pub function: WireFunctionCall<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct WireFunctionCall<'a> {
    pub index: u32,
    pub name: &'a str,
    pub arguments: Cow<'a, Value>,
}

/// The `options` map of a chat request. Unset fields are not sent.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ChatOptions<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_keep: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typical_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_last_n: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_batch: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_gpu: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_gpu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_mmap: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_thread: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft_num_predict: Option<u32>,
}

impl ChatOptions<'_> {
    fn is_empty(&self) -> bool {
        self.num_ctx.is_none()
            && self.num_predict.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.min_p.is_none()
            && self.seed.is_none()
            && self.repeat_penalty.is_none()
            && self.frequency_penalty.is_none()
            && self.presence_penalty.is_none()
            && self.stop.is_empty()
            && self.num_keep.is_none()
            && self.typical_p.is_none()
            && self.repeat_last_n.is_none()
            && self.num_batch.is_none()
            && self.num_gpu.is_none()
            && self.main_gpu.is_none()
            && self.use_mmap.is_none()
            && self.num_thread.is_none()
            && self.draft_num_predict.is_none()
    }
}

/// `keep_alive` as Ollama parses it: a whole number of seconds as an integer (`300`, not
/// `300.0`), other numbers as they are, durations as strings (`"5m"`).
fn keep_alive<S: Serializer>(k: &Option<&KeepAlive>, s: S) -> Result<S::Ok, S::Error> {
    match k {
        Some(KeepAlive::Seconds(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a whole number below 9e15 in magnitude: exact in i64"
            )]
            let whole = *n as i64;
            s.serialize_i64(whole)
        }
        Some(KeepAlive::Seconds(n)) => s.serialize_f64(*n),
        Some(KeepAlive::Duration(d)) => s.serialize_str(d),
        None => s.serialize_none(),
    }
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// One line of a native chat stream (or the whole non-streaming answer), except its
/// `message`: [`parse_chat_line`] hands that to a [`MessageSink`] while the line is parsed,
/// and fills this in place.
///
/// `model` and `done_reason` are [`Text`]: as `Option<Cow<str>>` serde copied `model` and
/// `content` out of every line. Measured with the benchmark harness's
/// `client-llmport --api native` and a counting allocator (20k lines): 5.008 → 3.007
/// allocations per line with 64 KiB frames, 5.141 → 3.101 with a frame per line (37.5 → 34.1
/// per non-streamed request); the 3 left are the caller's `GenResponse`, as on `/v1`.
#[derive(Debug, Default)]
pub(crate) struct ChatChunkHead<'a> {
    pub model: Option<Text<'a>>,
    pub done: bool,
    pub done_reason: Option<Text<'a>>,
    pub total_duration: Option<u64>,
    pub load_duration: Option<u64>,
    pub prompt_eval_count: Option<u64>,
    pub prompt_eval_duration: Option<u64>,
    pub eval_count: Option<u64>,
    pub eval_duration: Option<u64>,
    /// A failure reported inside a stream whose status was already 200.
    pub error: Option<Value>,
    /// The log probabilities of the line's tokens (`None`, unallocated, when absent).
    pub logprobs: Option<Vec<TokenLogprob>>,
}

/// Receives the `message` of a chat line as it is parsed.
pub(crate) trait MessageSink<'de> {
    /// Takes the line's message.
    fn message(&mut self, message: ChunkMessage<'de>);
}

/// Parses one native chat line, handing its `message` to `sink` and the rest to `head`.
///
/// Not a `#[derive(Deserialize)]` struct holding the message: such a line is ~250 bytes,
/// and serde's generated code moves it through several `Result`s (`memmove` under
/// `deserialize_struct` was 5.4% of the harness client's CPU on the 64 KiB-frame native
/// stream, another 2.9% moving it through `ChatLines::on_line`). The `/v1` chunk is parsed
/// the same way (`openai::wire::parse_chunk`).
pub(crate) fn parse_chat_line<'de, S: MessageSink<'de>>(
    line: &'de str,
    sink: &mut S,
    head: &mut ChatChunkHead<'de>,
) -> serde_json::Result<()> {
    let mut de = serde_json::Deserializer::from_str(line);
    serde::de::DeserializeSeed::deserialize(ChatLineSeed { sink, head }, &mut de)?;
    de.end()
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ChatField {
    Model,
    Message,
    Done,
    DoneReason,
    TotalDuration,
    LoadDuration,
    PromptEvalCount,
    PromptEvalDuration,
    EvalCount,
    EvalDuration,
    Error,
    Logprobs,
    #[serde(other)]
    Other,
}

struct ChatLineSeed<'s, 'de, S> {
    sink: &'s mut S,
    head: &'s mut ChatChunkHead<'de>,
}

impl<'de, S: MessageSink<'de>> serde::de::DeserializeSeed<'de> for ChatLineSeed<'_, 'de, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: MessageSink<'de>> serde::de::Visitor<'de> for ChatLineSeed<'_, 'de, S> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a chat response object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let head = self.head;
        while let Some(key) = map.next_key::<ChatField>()? {
            match key {
                ChatField::Model => head.model = map.next_value()?,
                ChatField::Message => {
                    if let Some(message) = map.next_value::<Option<ChunkMessage<'de>>>()? {
                        self.sink.message(message);
                    }
                }
                ChatField::Done => head.done = map.next_value()?,
                ChatField::DoneReason => head.done_reason = map.next_value()?,
                ChatField::TotalDuration => head.total_duration = map.next_value()?,
                ChatField::LoadDuration => head.load_duration = map.next_value()?,
                ChatField::PromptEvalCount => head.prompt_eval_count = map.next_value()?,
                ChatField::PromptEvalDuration => head.prompt_eval_duration = map.next_value()?,
                ChatField::EvalCount => head.eval_count = map.next_value()?,
                ChatField::EvalDuration => head.eval_duration = map.next_value()?,
                ChatField::Error => head.error = map.next_value()?,
                ChatField::Logprobs => head.logprobs = map.next_value()?,
                ChatField::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkMessage<'a> {
    #[serde(borrow, default)]
    pub content: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub thinking: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub tool_calls: Option<Vec<ChunkToolCall<'a>>>,
}

/// A native tool call: whole, with object arguments and `function.index`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChunkToolCall<'a> {
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub function: ChunkFunction<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkFunction<'a> {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(default)]
    pub arguments: Value,
}

/// One line of a native generate stream (or the whole non-streaming answer). Strings borrow
/// from the line, as a chat chunk's do; `context` and `logprobs` allocate only when present.
#[derive(Debug, Deserialize)]
pub(crate) struct GenerateChunk<'a> {
    #[serde(borrow, default)]
    pub model: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub response: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub thinking: Option<Text<'a>>,
    #[serde(default)]
    pub done: bool,
    #[serde(borrow, default)]
    pub done_reason: Option<Text<'a>>,
    /// The prompt's and the answer's tokens, on the last line (not in raw mode).
    #[serde(default)]
    pub context: Option<Vec<i64>>,
    #[serde(default)]
    pub total_duration: Option<u64>,
    #[serde(default)]
    pub load_duration: Option<u64>,
    #[serde(default)]
    pub prompt_eval_count: Option<u64>,
    #[serde(default)]
    pub prompt_eval_duration: Option<u64>,
    #[serde(default)]
    pub eval_count: Option<u64>,
    #[serde(default)]
    pub eval_duration: Option<u64>,
    /// A failure reported inside a stream whose status was already 200.
    #[serde(default)]
    pub error: Option<Value>,
    /// The log probabilities of the line's tokens: the line's last key.
    #[serde(default)]
    pub logprobs: Option<Vec<TokenLogprob>>,
}

/// The counts and durations of a native final line (Ollama leaves out those that are zero).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Metrics {
    pub total_duration: Option<u64>,
    pub load_duration: Option<u64>,
    pub prompt_eval_count: Option<u64>,
    pub prompt_eval_duration: Option<u64>,
    pub eval_count: Option<u64>,
    pub eval_duration: Option<u64>,
}

impl Metrics {
    /// The token counts; absent ones are zero.
    pub(crate) fn usage(&self) -> Usage {
        let input = self.prompt_eval_count.unwrap_or(0);
        let output = self.eval_count.unwrap_or(0);
        Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input.saturating_add(output),
            reasoning_tokens: None,
            cached_input_tokens: None,
            cache_creation_input_tokens: None,
        }
    }

    /// The server's timings (nanoseconds on the wire), if it reported any.
    pub(crate) fn server_timings(&self) -> Option<ServerTimings> {
        let timings = [
            self.total_duration,
            self.load_duration,
            self.prompt_eval_duration,
            self.eval_duration,
        ];
        timings.iter().any(Option::is_some).then(|| ServerTimings {
            total: self.total_duration.map(Duration::from_nanos),
            load: self.load_duration.map(Duration::from_nanos),
            prompt_eval: self.prompt_eval_duration.map(Duration::from_nanos),
            eval: self.eval_duration.map(Duration::from_nanos),
        })
    }
}

/// One line of a pull's progress stream.
#[derive(Debug, Deserialize)]
pub(crate) struct PullLine {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub completed: Option<u64>,
    #[serde(default)]
    pub error: Option<Value>,
}

/// `GET /api/tags`.
#[derive(Debug, Deserialize)]
pub(crate) struct TagsResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub models: Vec<LocalModel>,
}

/// `GET /api/ps`.
#[derive(Debug, Deserialize)]
pub(crate) struct PsResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub models: Vec<RunningModel>,
}

/// `GET /api/version`.
#[derive(Debug, Deserialize)]
pub(crate) struct VersionResponse {
    pub version: String,
}

/// `POST /api/embed`.
#[derive(Debug, Deserialize)]
pub(crate) struct EmbedResponse {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub embeddings: Vec<Vec<f32>>,
    #[serde(default)]
    pub prompt_eval_count: Option<u64>,
}

/// Go marshals a nil slice or map as `null`: read it as the empty value.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The failure an `error` key reports, if it reports one: a string as it is (an empty one is
/// no error, as for Ollama's own client), `{"message": …}` by its message.
pub(crate) fn reported_error(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        other => Some(error_text(other)),
    }
}

fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_chunk_strings_borrow_from_the_line_unless_escaped() {
        let line = r#"{"model":"llama3","created_at":"x","message":{"role":"assistant","content":"größe ","thinking":"a\"b\n😀"},"done":true,"done_reason":"stop"}"#;
        struct Keep<'de>(Option<ChunkMessage<'de>>);
        impl<'de> MessageSink<'de> for Keep<'de> {
            fn message(&mut self, message: ChunkMessage<'de>) {
                self.0 = Some(message);
            }
        }
        let (mut sink, mut chunk) = (Keep(None), ChatChunkHead::default());
        parse_chat_line(line, &mut sink, &mut chunk).unwrap();
        assert!(chunk.done);
        let borrowed = |t: &Option<Text<'_>>| matches!(t, Some(Text(Cow::Borrowed(_))));
        assert!(borrowed(&chunk.model), "{:?}", chunk.model);
        assert!(borrowed(&chunk.done_reason), "{:?}", chunk.done_reason);
        let msg = sink.0.unwrap();
        assert!(borrowed(&msg.content), "{:?}", msg.content);
        assert_eq!(msg.content.as_deref(), Some("größe "));
        // An escaped string cannot be borrowed: it is unescaped into a copy.
        assert_eq!(msg.thinking.as_deref(), Some("a\"b\n😀"));
    }

    fn ka(k: KeepAlive) -> String {
        let req = EmbedRequest {
            model: "m",
            input: &[],
            dimensions: None,
            truncate: None,
            keep_alive: Some(&k),
        };
        serde_json::to_value(&req).unwrap()["keep_alive"].to_string()
    }

    #[test]
    fn keep_alive_is_an_integer_a_fraction_or_a_duration_string() {
        assert_eq!(ka(KeepAlive::Seconds(300.0)), "300");
        assert_eq!(ka(KeepAlive::Seconds(-1.0)), "-1");
        assert_eq!(ka(KeepAlive::Seconds(0.0)), "0");
        assert_eq!(ka(KeepAlive::Seconds(1.5)), "1.5");
        assert_eq!(ka(KeepAlive::Duration("1h30m".into())), "\"1h30m\"");
    }

    #[test]
    fn empty_options_are_not_sent_and_null_lists_read_as_empty() {
        assert!(ChatOptions::default().is_empty());
        let t: TagsResponse = serde_json::from_str(r#"{"models":null}"#).unwrap();
        assert!(t.models.is_empty());
        let err = |v: Value| reported_error(Some(&v));
        assert_eq!(
            err(serde_json::json!({"message": "x"})).as_deref(),
            Some("x")
        );
        assert_eq!(err(serde_json::json!("y")).as_deref(), Some("y"));
        assert_eq!(err(serde_json::json!("")), None);
        assert_eq!(err(Value::Null), None);
    }
}
