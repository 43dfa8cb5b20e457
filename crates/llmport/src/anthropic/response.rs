//! A non-streaming `message` → [`GenResponse`], and stop reasons → [`FinishReason`].

use super::reasoning::ThinkingBlocks;
use super::wire::{MessageResponse, ResponseBlock};
use crate::error::{Error, Result};
use crate::message::{Part, ToolCall};
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta};
use crate::transport::{Timer, excerpt};

/// Decodes a whole `message` body.
pub(crate) fn decode_message(body: &[u8], timer: Timer) -> Result<GenResponse> {
    let wire: MessageResponse = serde_json::from_slice(body).map_err(|e| Error::Decode {
        message: format!(
            "the answer is not a Messages API message: {}",
            excerpt(body)
        ),
        source: Some(Box::new(e)),
    })?;
    if wire.kind.as_deref().is_some_and(|k| k != "message") {
        return Err(Error::decode(format!(
            "expected a message, got an object of type {:?}: {}",
            wire.kind.unwrap_or_default(),
            excerpt(body)
        )));
    }
    let mut c = Candidate::new(0);
    for block in wire.content {
        if let Some(part) = block_part(block) {
            // The same folding a stream's chunks get, so that both give equal answers.
            c.absorb(&part);
        }
    }
    c.finish_reason = wire.stop_reason.as_deref().map(finish_reason);
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

/// A content block as a part; `None` for the blocks this client does not read. Each thinking
/// block, signed or redacted, is a reasoning part of its own (`reasoning.rs`).
pub(crate) fn block_part(block: ResponseBlock) -> Option<Part> {
    match block {
        ResponseBlock::Text { text } => (!text.is_empty()).then(|| Part::text(text)),
        ResponseBlock::Thinking {
            thinking: text,
            signature,
        } => {
            let signature = signature.filter(|s| !s.is_empty());
            (!text.is_empty() || signature.is_some()).then_some(Part::Reasoning { text, signature })
        }
        ResponseBlock::RedactedThinking { data } => Some(ThinkingBlocks::redacted_part(data)),
        ResponseBlock::ToolUse { id, name, input } => Some(Part::ToolCall(ToolCall::new(
            id,
            name,
            if input.is_null() {
                serde_json::Value::Object(Default::default())
            } else {
                input
            },
        ))),
        ResponseBlock::Other => None,
    }
}

/// A Messages API `stop_reason` as a [`FinishReason`]: `end_turn` and `stop_sequence` are
/// [`FinishReason::Stop`], `max_tokens` (and `model_context_window_exceeded`) are
/// [`FinishReason::Length`], `tool_use` is [`FinishReason::ToolCalls`], `refusal` is
/// [`FinishReason::ContentFilter`]; anything else (`pause_turn`, …) is kept by name.
pub(crate) fn finish_reason(s: &str) -> FinishReason {
    match s {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}
