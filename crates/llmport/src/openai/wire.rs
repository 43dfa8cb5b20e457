//! The OpenAI wire format: serde types for Chat Completions requests, responses and stream
//! chunks, and for embeddings.
//!
//! Response types borrow from the input ([`Text`]): a chunk's strings are copied only when
//! they contain JSON escapes, so decoding a typical stream chunk allocates nothing but the
//! text handed to the caller.

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;

use crate::codec::Text;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::response::TokenLogprob;
use crate::tool_schema::WireTool;

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// `POST /chat/completions` body.
#[derive(Debug, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub logprobs: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u8>,
}

#[derive(Debug, Serialize)]
pub(crate) struct StreamOptions {
    pub include_usage: bool,
}

/// One message in a request.
#[derive(Debug, Serialize)]
pub(crate) struct WireMessage<'a> {
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<WireContent<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<WireToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

/// Message content: a plain string, or an array of typed parts.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum WireContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<WirePart<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum WirePart<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Debug, Serialize)]
pub(crate) struct ImageUrl {
    pub url: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct WireToolCall<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireFunctionCall,
}

#[derive(Debug, Serialize)]
pub(crate) struct WireFunctionCall {
    pub name: String,
    pub arguments: String,
}

// ---------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------

/// A non-streaming `chat.completion`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatCompletion<'a> {
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub model: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Choice<'a> {
    #[serde(default)]
    pub index: u32,
    #[serde(borrow)]
    pub message: ResponseMessage<'a>,
    #[serde(borrow, default)]
    pub finish_reason: Option<Text<'a>>,
    #[serde(default)]
    pub logprobs: Option<ChoiceLogprobs>,
}

/// A choice's `logprobs`: `{"content": [<token>…]}` (OpenAI, llama.cpp, Ollama; Ollama
/// leaves out `top_logprobs` when none were asked for and `bytes` for an empty token, OpenAI
/// sends `null`: both read as empty). The `refusal` list is not read.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ChoiceLogprobs {
    #[serde(default)]
    pub content: Option<Vec<TokenLogprob>>,
}

impl ChoiceLogprobs {
    /// The entries of an optional `logprobs` (none for `null` or an absent key).
    pub(crate) fn entries(this: Option<Self>) -> Vec<TokenLogprob> {
        this.and_then(|l| l.content).unwrap_or_default()
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct ResponseMessage<'a> {
    #[serde(borrow, default)]
    pub content: Option<Text<'a>>,
    /// Ollama's reasoning field.
    #[serde(borrow, default)]
    pub reasoning: Option<Text<'a>>,
    /// The reasoning field of DeepSeek, vLLM and llama.cpp.
    #[serde(borrow, default)]
    pub reasoning_content: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub tool_calls: Option<Vec<ToolCallDelta<'a>>>,
    #[serde(borrow, default)]
    pub refusal: Option<Text<'a>>,
}

impl ResponseMessage<'_> {
    /// The reasoning text, from whichever field the server uses (`reasoning` on Ollama,
    /// `reasoning_content` on DeepSeek, vLLM and llama.cpp), if it is not empty.
    pub(crate) fn reasoning_text(&self) -> Option<&str> {
        [&self.reasoning, &self.reasoning_content]
            .into_iter()
            .filter_map(|r| r.as_deref())
            .find(|r| !r.is_empty())
    }
}

/// Token counts.
#[derive(Debug, Deserialize, Clone, Copy, Default)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionDetails>,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default)]
pub(crate) struct CompletionDetails {
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default)]
pub(crate) struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

impl From<WireUsage> for crate::response::Usage {
    fn from(u: WireUsage) -> Self {
        crate::response::Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
            reasoning_tokens: u.completion_tokens_details.and_then(|d| d.reasoning_tokens),
            cached_input_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens),
            cache_creation_input_tokens: None,
        }
    }
}

/// A `chat.completion.chunk`, except its `choices`: [`parse_chunk`] hands those one by one to
/// a [`ChoiceSink`] while the chunk is parsed.
#[derive(Debug, Default)]
pub(crate) struct ChunkHead<'a> {
    pub id: Option<Text<'a>>,
    pub model: Option<Text<'a>>,
    pub usage: Option<WireUsage>,
    /// Some servers (vLLM, llama.cpp, OpenAI) report a failure inside the stream this way.
    pub error: Option<Value>,
}

/// Receives the choices of a chunk as they are parsed.
pub(crate) trait ChoiceSink<'de> {
    /// Takes one choice. `Break` stops the parse (with a serde error); the sink keeps the
    /// reason for its caller, typed.
    fn choice(&mut self, choice: ChunkChoice<'de>) -> ControlFlow<()>;
}

/// Parses one `chat.completion.chunk`, handing each choice to `sink` in order.
///
/// Not a `#[derive(Deserialize)]` struct with a `choices: Vec<ChunkChoice>`: such a chunk is
/// ~400 bytes on the stack and serde's generated code moves it (and each choice) several
/// times between `Result`s and `Option`s. Those copies (`memmove` under `deserialize_struct`)
/// were 25% of the client's CPU on the harness's 64 KiB-frame stream and 28% of `cargo bench
/// --bench stream` (`chunk_to_response`) in `perf`; with this seeded parse (and the response
/// built in place, see `ChoiceMapper`) `memmove` is ~7%. Handing choices over in place also
/// drops the `Vec`, one heap allocation per chunk.
///
/// The rest of the chunk goes to `head` (filled in place, not returned, for the same reason).
pub(crate) fn parse_chunk<'de, S: ChoiceSink<'de>>(
    data: &'de str,
    sink: &mut S,
    head: &mut ChunkHead<'de>,
) -> serde_json::Result<()> {
    let mut de = serde_json::Deserializer::from_str(data);
    serde::de::DeserializeSeed::deserialize(ChunkSeed { sink, head }, &mut de)?;
    de.end()
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ChunkField {
    Id,
    Model,
    Choices,
    Usage,
    Error,
    #[serde(other)]
    Other,
}

struct ChunkSeed<'s, 'de, S> {
    sink: &'s mut S,
    head: &'s mut ChunkHead<'de>,
}

impl<'de, S: ChoiceSink<'de>> serde::de::DeserializeSeed<'de> for ChunkSeed<'_, 'de, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: ChoiceSink<'de>> Visitor<'de> for ChunkSeed<'_, 'de, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a chat completion chunk object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let head = self.head;
        while let Some(key) = map.next_key::<ChunkField>()? {
            match key {
                ChunkField::Id => head.id = map.next_value()?,
                ChunkField::Model => head.model = map.next_value()?,
                ChunkField::Choices => map.next_value_seed(ChoicesSeed {
                    sink: &mut *self.sink,
                })?,
                ChunkField::Usage => head.usage = map.next_value()?,
                ChunkField::Error => head.error = map.next_value()?,
                ChunkField::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `choices`: an array (or `null`), each element handed to the sink.
struct ChoicesSeed<'s, S> {
    sink: &'s mut S,
}

impl<'de, S: ChoiceSink<'de>> serde::de::DeserializeSeed<'de> for ChoicesSeed<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: ChoiceSink<'de>> Visitor<'de> for ChoicesSeed<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of choices")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let sink = self.sink;
        while seq
            .next_element_seed(ChoiceSeed { sink: &mut *sink })?
            .is_some()
        {}
        Ok(())
    }
}

/// One choice of a stream chunk.
#[derive(Debug)]
pub(crate) struct ChunkChoice<'a> {
    pub index: u32,
    pub delta: Option<ResponseMessage<'a>>,
    pub finish_reason: Option<Text<'a>>,
    /// The chunk's token log probabilities (empty, and unallocated, when there are none).
    pub logprobs: Vec<TokenLogprob>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum ChoiceField {
    Index,
    Delta,
    FinishReason,
    Logprobs,
    #[serde(other)]
    Other,
}

/// One element of `choices`, parsed field by field and handed to the sink: a derived
/// `Deserialize` would build the 152-byte choice and move it through several `Result`s first.
struct ChoiceSeed<'s, S> {
    sink: &'s mut S,
}

impl<'de, S: ChoiceSink<'de>> serde::de::DeserializeSeed<'de> for ChoiceSeed<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: ChoiceSink<'de>> Visitor<'de> for ChoiceSeed<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a choice object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut choice = ChunkChoice {
            index: 0,
            delta: None,
            finish_reason: None,
            logprobs: Vec::new(),
        };
        while let Some(key) = map.next_key::<ChoiceField>()? {
            match key {
                ChoiceField::Index => choice.index = map.next_value()?,
                ChoiceField::Delta => choice.delta = map.next_value()?,
                ChoiceField::FinishReason => choice.finish_reason = map.next_value()?,
                ChoiceField::Logprobs => {
                    choice.logprobs = ChoiceLogprobs::entries(map.next_value()?);
                }
                ChoiceField::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        if self.sink.choice(choice).is_break() {
            return Err(serde::de::Error::custom("the chunk's consumer stopped"));
        }
        Ok(())
    }
}

/// A tool call in a response or (partially) in a stream delta.
#[derive(Debug, Deserialize)]
pub(crate) struct ToolCallDelta<'a> {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub function: Option<FunctionDelta<'a>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FunctionDelta<'a> {
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// A JSON string on OpenAI-compatible servers; tolerated as an object too.
    #[serde(default)]
    pub arguments: Option<Arguments<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Arguments<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Json(Value),
}

// ---------------------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------------------

/// `POST /embeddings` body.
#[derive(Debug, Serialize)]
pub(crate) struct EmbeddingsRequest<'a> {
    pub model: &'a str,
    pub input: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<&'static str>,
}

/// The `list` answer of `/embeddings`.
#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingList<'a> {
    /// `null` on Ollama when there are no vectors.
    #[serde(borrow, default)]
    pub data: Option<Vec<EmbeddingItem<'a>>>,
    #[serde(borrow, default)]
    pub model: Option<Cow<'a, str>>,
    #[serde(default)]
    pub usage: Option<EmbeddingUsage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingItem<'a> {
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(borrow)]
    pub embedding: WireVector<'a>,
}

/// A vector as the server encoded it: an array of numbers, or base64 text.
#[derive(Debug)]
pub(crate) enum WireVector<'a> {
    Floats(Vec<f32>),
    Base64(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for WireVector<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = WireVector<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of numbers or a base64 string")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(x) = seq.next_element::<f32>()? {
                    v.push(x);
                }
                Ok(WireVector::Floats(v))
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                s: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(WireVector::Base64(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(WireVector::Base64(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize, Clone, Copy)]
pub(crate) struct EmbeddingUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
}
