//! What a model answers: [`GenResponse`], [`Candidate`], [`FinishReason`], [`ResponseMeta`],
//! and the log probabilities of the generated tokens ([`TokenLogprob`]).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::message::{Message, Part, Role, ToolCall};

mod candidates;
mod lazy_meta;

pub use candidates::Candidates;
pub use lazy_meta::LazyMeta;

/// A model's answer (or, in a stream, one chunk of it).
///
/// In a stream, each chunk's candidates hold only what is new in that chunk (text deltas,
/// complete tool calls); the finish reason arrives on the chunk that ends a candidate and
/// [`ResponseMeta`] usage and timings on the last chunk. [`crate::ResponseStream::collect_response`]
/// folds a stream back into the same `GenResponse` that a non-streaming call returns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenResponse {
    /// The alternative answers; usually one (stored inline: see [`Candidates`]).
    pub candidates: Candidates,
    /// Token counts, timings and server identifiers (a [`ResponseMeta`], read and written
    /// through [`LazyMeta`]).
    pub meta: LazyMeta,
}

impl GenResponse {
    /// The text of the first candidate (all its text parts joined), or `""` if there is none.
    pub fn text(&self) -> String {
        self.candidates
            .first()
            .map(|c| c.message.text_content())
            .unwrap_or_default()
    }

    /// The reasoning text of the first candidate, or `""`.
    pub fn reasoning(&self) -> String {
        self.candidates
            .first()
            .map(|c| c.message.reasoning())
            .unwrap_or_default()
    }

    /// The tool calls of the first candidate.
    pub fn tool_calls(&self) -> Vec<&ToolCall> {
        self.candidates
            .first()
            .map(|c| c.message.tool_calls().collect())
            .unwrap_or_default()
    }

    /// The finish reason of the first candidate, if it has finished.
    pub fn finish_reason(&self) -> Option<&FinishReason> {
        self.candidates
            .first()
            .and_then(|c| c.finish_reason.as_ref())
    }

    /// Whether the token limit ran out while the model was still thinking: the first
    /// candidate finished with [`FinishReason::Length`], has reasoning, and has neither answer
    /// text nor tool calls. A thinking model (thinking is on by default on Ollama) spends
    /// `max_tokens` / `num_predict` on its thoughts too: raise the limit, or lower the thinking
    /// effort (`think`, [`ReasoningEffort`](crate::ReasoningEffort)).
    pub fn thinking_used_up_tokens(&self) -> bool {
        let Some(c) = self.candidates.first() else {
            return false;
        };
        c.finish_reason == Some(FinishReason::Length)
            && c.message.parts.iter().any(
                |p| matches!(p, crate::message::Part::Reasoning { text, .. } if !text.is_empty()),
            )
            && !c.message.parts.iter().any(|p| match p {
                crate::message::Part::Text { text } => !text.trim().is_empty(),
                crate::message::Part::Reasoning { .. } => false,
                _ => true,
            })
    }

    /// The first candidate's message: the assistant turn to append to the history of a
    /// multi-turn conversation (its tool calls are replayed; reasoning is sent back where the protocol carries it, as
    /// Ollama's native `thinking`).
    pub fn message(&self) -> Option<&Message> {
        self.candidates.first().map(|c| &c.message)
    }

    /// The text of the first candidate parsed as JSON into `T`: the answer to a request made
    /// with [`ResponseFormat`](crate::ResponseFormat) (see also
    /// [`ProviderExt::generate_json`](crate::ProviderExt::generate_json)).
    ///
    /// When the text does not parse, the [`Error::Decode`] shows the text around the spot
    /// where it failed, and says so when the answer was cut off by the token limit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let text = self.text();
        serde_json::from_str(&text).map_err(|e| {
            let what = if self.finish_reason() == Some(&FinishReason::Length) {
                "the model's answer (cut off at the token limit: raise max_tokens)"
            } else {
                "the model's answer"
            };
            Error::json_mismatch::<T>(what, &text, e)
        })
    }
}

/// One alternative answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Its position among the candidates (the server's `index`).
    pub index: u32,
    /// The answer, as an assistant message.
    pub message: Message,
    /// Why generation stopped; `None` while a stream is still going.
    pub finish_reason: Option<FinishReason>,
    /// The log probability of each generated token, in order, when they were asked for
    /// ([`Options::logprobs`](crate::Options::logprobs)) and the server returned them; in a
    /// stream, those of the chunk's tokens. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logprobs: Vec<TokenLogprob>,
    /// The tokens of the prompt and this answer, where a completion server returns them (a
    /// continuation handle): the provider that returned them documents how to send them back
    /// to continue from this answer. `None` where the server sends none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Vec<i64>>,
}

impl Candidate {
    /// An empty assistant candidate at `index`.
    pub fn new(index: u32) -> Self {
        Candidate {
            index,
            message: Message::new(Role::Assistant),
            finish_reason: None,
            logprobs: Vec::new(),
            context: None,
        }
    }

    /// Appends text to the last text part, or adds one.
    pub(crate) fn push_text(&mut self, text: &str) {
        if let Some(Part::Text { text: t }) = self.message.parts.last_mut() {
            t.push_str(text);
        } else {
            self.push_part(Part::text(text));
        }
    }

    /// Appends reasoning to the last reasoning part, or adds one.
    pub(crate) fn push_reasoning(&mut self, text: &str) {
        if let Some(Part::Reasoning { text: t, .. }) = self.message.parts.last_mut() {
            t.push_str(text);
        } else {
            self.push_part(Part::Reasoning {
                text: text.into(),
                signature: None,
            });
        }
    }

    /// Adds a part. A stream chunk's candidate usually gets exactly one (its text delta):
    /// the first part is allocated for itself (`vec![part]`, one exact allocation) rather
    /// than pushed into the empty `Vec`, whose growth path (`grow_one` → `finish_grow`, room
    /// for 4 parts) cost 36 (native) to 63 (`/v1`) more instructions per chunk (callgrind,
    /// `native_chat_to_response/64k`, `chunk_to_response/64k`; see `bench/README.md`). A
    /// second part grows it as usual.
    fn push_part(&mut self, part: Part) {
        let parts = &mut self.message.parts;
        if parts.capacity() == 0 {
            *parts = vec![part];
        } else {
            parts.push(part);
        }
    }

    /// Folds one streamed part into the answer the way a non-streaming answer holds it:
    /// reasoning first, then one text part, then tool calls (and anything else) in the order
    /// they came. Text that arrives after a tool call still joins the text part. Unsigned
    /// reasoning all joins one part; a signature closes its part (it arrives once, after the
    /// reasoning it signs), so several signed blocks (thinking between tool calls) stay
    /// separate parts, in order, each with the signature that matches its text.
    pub(crate) fn absorb(&mut self, part: &Part) {
        let parts = &mut self.message.parts;
        match part {
            Part::Reasoning { text, signature } => {
                let open = parts.iter_mut().rev().find_map(|p| match p {
                    Part::Reasoning {
                        text: t,
                        signature: s,
                    } => Some((t, s)),
                    _ => None,
                });
                match open {
                    Some((t, s)) if s.is_none() => {
                        t.push_str(text);
                        s.clone_from(signature);
                    }
                    // A block after a signed one: its own part, where it came.
                    Some(_) => parts.push(part.clone()),
                    None => parts.insert(0, part.clone()),
                }
            }
            Part::Text { text } => {
                match parts.iter_mut().find_map(|p| match p {
                    Part::Text { text: t } => Some(t),
                    _ => None,
                }) {
                    Some(t) => t.push_str(text),
                    None => {
                        let at = parts
                            .iter()
                            .position(|p| !matches!(p, Part::Reasoning { .. }))
                            .unwrap_or(parts.len());
                        parts.insert(at, part.clone());
                    }
                }
            }
            other => parts.push(other.clone()),
        }
    }
}

/// The log probability of one generated token, and of the most likely alternatives at its
/// place. The same shape on every API that returns them (OpenAI's Chat Completions, llama.cpp,
/// Ollama's native and `/v1` APIs), and serialised in that shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    /// The token's text.
    pub token: String,
    /// Its natural-log probability (≤ 0).
    pub logprob: f64,
    /// The token's UTF-8 bytes, where the server sent them (a token may hold part of a
    /// character; Ollama leaves them out for an empty token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
    /// The most likely tokens at this place, most likely first, when
    /// [`Options::top_logprobs`](crate::Options::top_logprobs) asked for them (Ollama and
    /// llama.cpp usually list the sampled token among them).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_empty"
    )]
    pub top_logprobs: Vec<TopLogprob>,
}

/// One alternative in [`TokenLogprob::top_logprobs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopLogprob {
    /// The token's text.
    pub token: String,
    /// Its natural-log probability (≤ 0).
    pub logprob: f64,
    /// The token's UTF-8 bytes, where the server sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
}

/// `null` (OpenAI's spelling of "none") read as an empty list.
fn null_as_empty<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Why the model stopped generating.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It finished its answer or hit a stop string.
    Stop,
    /// It hit the token limit (`max_tokens`); the answer is cut off.
    Length,
    /// It stopped to call tools.
    ToolCalls,
    /// The server filtered the content.
    ContentFilter,
    /// Another reason, as the server named it.
    Other(String),
}

impl FinishReason {
    /// Parses the wire name (`stop`, `length`, `tool_calls`, `content_filter`, anything else).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(s) => s,
        }
    }
}

/// Token counts as the server reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub input_tokens: u64,
    /// Tokens generated.
    pub output_tokens: u64,
    /// Both together, as the server reported it.
    pub total_tokens: u64,
    /// Of the generated tokens, how many were reasoning, if the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Of the prompt tokens, how many came from the server's cache, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_tokens: Option<u64>,
    /// Of the prompt tokens, how many were written to the server's cache, if it said
    /// (Anthropic's `cache_creation_input_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
}

/// Everything about an answer that is not the answer: usage, timings, identifiers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// The response id the server gave (not unique on Ollama: do not use it as a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The model name the server reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Token counts, if the server reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// From sending the request to the first generated content (text, reasoning or tool
    /// call), measured by the client.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration_secs_opt"
    )]
    pub time_to_first_token: Option<Duration>,
    /// From sending the request to the end of the answer, measured by the client.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration_secs_opt"
    )]
    pub total_time: Option<Duration>,
    /// The server's own timings, where it reports them (Ollama's native API does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_timings: Option<ServerTimings>,
}

impl ResponseMeta {
    /// No metadata (what [`Default`] gives), as a constant.
    pub const EMPTY: ResponseMeta = ResponseMeta {
        id: None,
        model: None,
        usage: None,
        time_to_first_token: None,
        total_time: None,
        server_timings: None,
    };

    /// Tokens in the prompt, if reported.
    pub fn input_tokens(&self) -> Option<u64> {
        self.usage.map(|u| u.input_tokens)
    }

    /// Tokens generated, if reported.
    pub fn output_tokens(&self) -> Option<u64> {
        self.usage.map(|u| u.output_tokens)
    }

    /// Total tokens, if reported.
    pub fn total_tokens(&self) -> Option<u64> {
        self.usage.map(|u| u.total_tokens)
    }

    /// Of the generated tokens, how many the model spent reasoning, if the server said
    /// (OpenAI's `completion_tokens_details.reasoning_tokens`; Ollama does not report it, its
    /// reasoning tokens are counted in [`ResponseMeta::output_tokens`]).
    pub fn reasoning_tokens(&self) -> Option<u64> {
        self.usage.and_then(|u| u.reasoning_tokens)
    }
}

/// Timings measured by the server (Ollama's native API reports them in nanoseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTimings {
    /// The whole request on the server.
    #[serde(with = "duration_secs_opt")]
    pub total: Option<Duration>,
    /// Loading the model.
    #[serde(with = "duration_secs_opt")]
    pub load: Option<Duration>,
    /// Evaluating the prompt.
    #[serde(with = "duration_secs_opt")]
    pub prompt_eval: Option<Duration>,
    /// Generating the answer.
    #[serde(with = "duration_secs_opt")]
    pub eval: Option<Duration>,
}

/// Durations as fractional seconds in JSON.
pub(crate) mod duration_secs_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_f64(d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let v = Option::<f64>::deserialize(d)?;
        Ok(v.and_then(|s| Duration::try_from_secs_f64(s).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reason_round_trips_wire_names() {
        for s in ["stop", "length", "tool_calls", "content_filter", "load"] {
            assert_eq!(FinishReason::from_wire(s).as_str(), s);
        }
        assert_eq!(
            FinishReason::from_wire("load"),
            FinishReason::Other("load".into())
        );
    }

    #[test]
    fn text_helpers_read_the_first_candidate() {
        let mut c = Candidate::new(0);
        c.push_text("Hel");
        c.push_text("lo");
        c.push_reasoning("hmm");
        let r = GenResponse {
            candidates: c.into(),
            meta: LazyMeta::default(),
        };
        assert_eq!(r.text(), "Hello");
        assert_eq!(r.reasoning(), "hmm");
        assert_eq!(GenResponse::default().text(), "");
    }
}
