//! A non-streaming `response` object → [`GenResponse`], and a response's status → its
//! [`FinishReason`].

use super::error::failed_response;
use super::reasoning::ReasoningItem;
use super::wire::{OutputContent, OutputItem, ResponseObject, WireUsage};
use crate::error::{Error, Result};
use crate::message::{Part, ToolCall};
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta};
use crate::transport::{Timer, excerpt};

/// Decodes a whole `response` body. `max_output_tokens` is what was asked for (see
/// [`finish_reason`]).
pub(crate) fn decode_response(
    body: &[u8],
    timer: Timer,
    max_output_tokens: Option<u32>,
) -> Result<GenResponse> {
    let wire: ResponseObject = serde_json::from_slice(body).map_err(|e| Error::Decode {
        message: format!(
            "the answer is not a Responses API response: {}",
            excerpt(body)
        ),
        source: Some(Box::new(e)),
    })?;
    if wire.object.as_deref().is_some_and(|k| k != "response") {
        return Err(Error::decode(format!(
            "expected a response, got an object of type {:?}: {}",
            wire.object.unwrap_or_default(),
            excerpt(body)
        )));
    }
    if wire.status.as_deref() == Some("failed") {
        return Err(failed_response(200, wire.error, false));
    }
    let mut c = Candidate::new(0);
    let mut calls = false;
    for item in wire.output {
        for part in item_parts(item) {
            calls |= matches!(part, Part::ToolCall(_));
            // The same folding a stream's chunks get, so that both give equal answers.
            c.absorb(&part);
        }
    }
    c.finish_reason = Some(finish_reason(
        wire.status.as_deref(),
        wire.incomplete_details.and_then(|d| d.reason).as_deref(),
        calls,
        wire.usage,
        max_output_tokens,
    ));
    let elapsed = timer.elapsed();
    Ok(GenResponse {
        candidates: c.into(),
        meta: ResponseMeta {
            id: wire.id,
            model: wire.model,
            usage: wire.usage.map(Into::into),
            // Without streaming, the first token reaches the caller with the last.
            time_to_first_token: Some(elapsed),
            total_time: Some(elapsed),
            server_timings: None,
        }
        .into(),
    })
}

/// An output item as parts (none for the items this client does not read).
pub(crate) fn item_parts(item: OutputItem) -> Vec<Part> {
    match item {
        OutputItem::Message { content } => content
            .into_iter()
            .filter_map(|c| match c {
                OutputContent::OutputText { text } => Some(text),
                OutputContent::Refusal { refusal } => Some(refusal),
                OutputContent::Other => None,
            })
            .filter(|t| !t.is_empty())
            .map(Part::text)
            .collect(),
        OutputItem::FunctionCall {
            call_id,
            name,
            arguments,
            ..
        } => vec![Part::ToolCall(tool_call(call_id, name, &arguments))],
        OutputItem::Reasoning {
            id,
            summary,
            content,
            encrypted_content,
        } => {
            let from_summary = content.is_empty() && !summary.is_empty();
            let texts = if from_summary { summary } else { content };
            let text = texts
                .into_iter()
                .map(|t| t.text)
                .collect::<Vec<_>>()
                .join("\n\n");
            let signature = reasoning_signature(id, encrypted_content, from_summary);
            if text.is_empty() && signature.is_none() {
                return Vec::new();
            }
            vec![Part::Reasoning { text, signature }]
        }
        OutputItem::Other => Vec::new(),
    }
}

/// The signature that carries a reasoning item into the next turn.
pub(crate) fn reasoning_signature(
    id: Option<String>,
    encrypted_content: Option<String>,
    summary: bool,
) -> Option<String> {
    ReasoningItem {
        id: id.filter(|s| !s.is_empty()),
        encrypted_content: encrypted_content.filter(|s| !s.is_empty()),
        summary,
    }
    .to_signature()
}

/// A `function_call` as a [`ToolCall`]: its arguments parsed, or kept raw; `{}` when empty.
pub(crate) fn tool_call(call_id: String, name: String, arguments: &str) -> ToolCall {
    if arguments.trim().is_empty() {
        ToolCall::new(call_id, name, serde_json::Value::Object(Default::default()))
    } else {
        ToolCall::from_raw(call_id, name, arguments)
    }
}

/// A finished response's [`FinishReason`]: `incomplete` for `max_output_tokens` is
/// [`FinishReason::Length`], for `content_filter` [`FinishReason::ContentFilter`]. Ollama and
/// llama.cpp's server report `completed` even when they cut the answer off at
/// `max_output_tokens`, so a completed answer whose `output_tokens` reached it is
/// [`FinishReason::Length`] too (a tool call cut off there is unfinished); otherwise one with
/// tool calls is [`FinishReason::ToolCalls`], else [`FinishReason::Stop`].
pub(crate) fn finish_reason(
    status: Option<&str>,
    incomplete: Option<&str>,
    tool_calls: bool,
    usage: Option<WireUsage>,
    max_output_tokens: Option<u32>,
) -> FinishReason {
    if status == Some("incomplete") {
        return match incomplete {
            Some("max_output_tokens") | None => FinishReason::Length,
            Some("content_filter") => FinishReason::ContentFilter,
            Some(other) => FinishReason::Other(other.to_owned()),
        };
    }
    let used_all = match (usage, max_output_tokens) {
        (Some(u), Some(max)) => max > 0 && u.output_tokens >= u64::from(max),
        _ => false,
    };
    if used_all {
        FinishReason::Length
    } else if tool_calls {
        FinishReason::ToolCalls
    } else {
        FinishReason::Stop
    }
}
