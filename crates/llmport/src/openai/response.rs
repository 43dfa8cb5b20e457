//! A non-streaming `chat.completion` → [`GenResponse`].

use super::wire::{Arguments, ChatCompletion, ChoiceLogprobs, ToolCallDelta};
use crate::error::{Error, Result};
use crate::message::{Part, ToolCall};
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta};
use crate::transport::{Timer, excerpt};

/// Decodes a whole `chat.completion` body.
pub(crate) fn decode_completion(body: &[u8], timer: Timer) -> Result<GenResponse> {
    match serde_json::from_slice::<ChatCompletion<'_>>(body) {
        Ok(wire) => completion(wire, body, timer),
        Err(e) => {
            // A lone surrogate escape (half an emoji) is read as U+FFFD, as Go's
            // encoding/json does: parsed again with those replaced (failure path only).
            let fixed = std::str::from_utf8(body)
                .ok()
                .and_then(crate::codec::surrogates::replace_lone_surrogates);
            match fixed
                .as_deref()
                .map(serde_json::from_str::<ChatCompletion<'_>>)
            {
                Some(Ok(wire)) => completion(wire, body, timer),
                _ => Err(Error::Decode {
                    message: format!("the chat completion is not valid JSON: {}", excerpt(body)),
                    source: Some(Box::new(e)),
                }),
            }
        }
    }
}

fn completion(wire: ChatCompletion<'_>, body: &[u8], timer: Timer) -> Result<GenResponse> {
    let Some(choices) = wire.choices else {
        return Err(Error::decode(format!(
            "the chat completion has no `choices`: {}",
            excerpt(body)
        )));
    };
    let mut candidates = Vec::with_capacity(choices.len());
    for choice in choices {
        let mut c = Candidate::new(choice.index);
        let msg = choice.message;
        if let Some(r) = msg.reasoning_text() {
            c.push_reasoning(r);
        }
        if let Some(t) = msg.content.as_deref()
            && !t.is_empty()
        {
            c.push_text(t);
        }
        if let Some(refusal) = msg.refusal.as_deref()
            && !refusal.is_empty()
        {
            c.push_text(refusal);
        }
        for call in msg.tool_calls.unwrap_or_default() {
            c.message
                .parts
                .push(Part::ToolCall(tool_call_from_wire(call)));
        }
        c.finish_reason = choice.finish_reason.as_deref().map(FinishReason::from_wire);
        c.logprobs = ChoiceLogprobs::entries(choice.logprobs);
        candidates.push(c);
    }
    let elapsed = timer.elapsed();
    Ok(GenResponse {
        candidates: candidates.into(),
        meta: ResponseMeta {
            id: wire.id.map(Into::into),
            model: wire.model.map(Into::into),
            usage: wire.usage.map(Into::into),
            // Without streaming, the first token reaches the caller with the last.
            time_to_first_token: Some(elapsed),
            total_time: Some(elapsed),
            server_timings: None,
        }
        .into(),
    })
}

/// A complete tool call from its wire form.
pub(crate) fn tool_call_from_wire(call: ToolCallDelta<'_>) -> ToolCall {
    let id = call.id.map(|c| c.into_owned()).unwrap_or_default();
    let (name, args) = match call.function {
        Some(f) => (
            f.name.map(|n| n.into_owned()).unwrap_or_default(),
            f.arguments,
        ),
        None => (String::new(), None),
    };
    match args {
        Some(Arguments::Text(text)) => ToolCall::from_raw(id, name, &text),
        Some(Arguments::Json(value)) => ToolCall::new(id, name, value),
        None => ToolCall::from_raw(id, name, ""),
    }
}
