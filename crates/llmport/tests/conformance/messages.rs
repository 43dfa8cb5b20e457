//! The Messages API (`POST /v1/messages`), driven through `AnthropicProvider`. Shapes from
//! Anthropic's API reference (docs.anthropic.com: `/en/api/messages`, the streaming guide
//! `/en/docs/build-with-claude/streaming` with its event order `message_start`,
//! `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`,
//! `message_delta`, `message_stop`, and the errors page `/en/api/errors`), as in the recorded
//! `tests/fixtures/anthropic_messages_*` transcripts. The second mid-stream error is
//! llama.cpp's (`tools/server/server-context.cpp`, `format_error`: `event: error` with the
//! server's own error object as data, not Anthropic's envelope).

use llmport::testing::{RecordedRequest, Reply};
use llmport::{AnthropicProvider, Provider, RetryConfig};
use serde_json::{Value, json};

use crate::protocol::{
    Answer, Failure, Finish, Id, Protocol, Sent, json_reply, sent_from, strings, text_of, typed_sse,
};

/// The Messages API.
#[derive(Debug)]
pub struct Messages;

const MODEL: &str = "claude-sonnet-4-5";
const MESSAGE_ID: &str = "msg_01XFDUDYJgAACzvnptvVoYEL";
const SSE: &str = "text/event-stream; charset=utf-8";

fn stop_reason(finish: &Finish) -> (&'static str, Value) {
    match finish {
        Finish::Stop => ("end_turn", Value::Null),
        Finish::StopSequence(s) => ("stop_sequence", json!(s)),
        Finish::Length => ("max_tokens", Value::Null),
        Finish::ToolCall => ("tool_use", Value::Null),
    }
}

/// Anthropic counts the prompt's uncached tokens as `input_tokens` and the cached ones
/// apart, in `cache_read_input_tokens` (present only when there are any).
fn usage(a: &Answer, output: u64) -> Value {
    let mut usage = json!({"input_tokens": a.usage.0 - a.cached});
    if a.cached > 0 {
        usage["cache_read_input_tokens"] = json!(a.cached);
    }
    usage["output_tokens"] = json!(output);
    usage
}

fn error_envelope(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

fn error_reply(status: u16, kind: &str, message: &str, headers: &[(&str, &str)]) -> Reply {
    let mut all = vec![("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")];
    all.extend_from_slice(headers);
    json_reply(
        status,
        "application/json",
        &error_envelope(kind, message),
        &all,
    )
}

/// The events of a streamed answer up to (not including) `message_delta`.
fn opening_events(a: &Answer) -> Vec<(&'static str, Value)> {
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {"id": MESSAGE_ID, "type": "message",
                "role": "assistant", "model": MODEL, "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": usage(a, 1)}}),
    )];
    let mut index = 0;
    if !a.text.is_empty() {
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "text", "text": ""}}),
        ));
        events.push(("ping", json!({"type": "ping"})));
        for piece in a.deltas() {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    if let Some(call) = &a.tool_call {
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block":
                {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}}),
        ));
        let input = call.arguments.to_string();
        let mid = input.len() / 2;
        for fragment in ["", &input[..mid], &input[mid..]] {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": fragment}}),
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    events
}

impl Protocol for Messages {
    fn id(&self) -> Id {
        Id::Anthropic
    }

    fn path(&self) -> &'static str {
        "/v1/messages"
    }

    fn provider(&self, root: &str, key: Option<&str>, retry: RetryConfig) -> Box<dyn Provider> {
        let mut builder = AnthropicProvider::builder().base_url(root).retry(retry);
        if let Some(key) = key {
            builder = builder.api_key(key);
        }
        Box::new(builder.build().expect("provider builds"))
    }

    fn takes_seed(&self) -> bool {
        false
    }

    fn answer(&self, a: &Answer) -> Reply {
        let mut content = Vec::new();
        if !a.text.is_empty() {
            content.push(json!({"type": "text", "text": a.text}));
        }
        if let Some(call) = &a.tool_call {
            content.push(
                json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}),
            );
        }
        let (reason, sequence) = stop_reason(&a.finish);
        let body = json!({"id": MESSAGE_ID, "type": "message", "role": "assistant",
            "model": MODEL, "content": content, "stop_reason": reason,
            "stop_sequence": sequence,
            "usage": usage(a, a.usage.1)});
        json_reply(200, "application/json", &body, &[])
    }

    fn answer_stream(&self, a: &Answer) -> Reply {
        let mut events = opening_events(a);
        let (reason, sequence) = stop_reason(&a.finish);
        events.push((
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": reason,
                "stop_sequence": sequence}, "usage": {"output_tokens": a.usage.1}}),
        ));
        events.push(("message_stop", json!({"type": "message_stop"})));
        typed_sse(SSE, events)
    }

    fn midstream_errors(&self, text: &str) -> Vec<(&'static str, Reply, &'static str)> {
        let mut anthropic = opening_events(&Answer::text(text));
        anthropic.pop(); // still inside the text block
        let mut llama = anthropic.clone();
        anthropic.push(("error", error_envelope("overloaded_error", "Overloaded")));
        let message = "the model failed: out of memory";
        llama.push((
            "error",
            json!({"code": 500, "message": message, "type": "server_error"}),
        ));
        vec![
            (
                "Anthropic streaming guide, error events",
                typed_sse(SSE, anthropic),
                "Overloaded",
            ),
            (
                "llama.cpp server-context.cpp format_error",
                typed_sse("text/event-stream", llama),
                message,
            ),
        ]
    }

    fn failure(&self, failure: Failure) -> Reply {
        match failure {
            Failure::Unauthorized => {
                error_reply(401, "authentication_error", "invalid x-api-key", &[])
            }
            Failure::ModelNotFound(model) => {
                error_reply(404, "not_found_error", &format!("model: {model}"), &[])
            }
        }
    }

    fn retry_later(&self) -> Vec<Reply> {
        vec![
            error_reply(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
                &[
                    ("retry-after", "1"),
                    ("anthropic-ratelimit-requests-remaining", "0"),
                ],
            ),
            error_reply(
                529,
                "overloaded_error",
                "Overloaded",
                &[("retry-after", "1")],
            ),
        ]
    }

    fn read(&self, request: &RecordedRequest) -> Sent {
        let (body, sent) = sent_from(request, false);
        let mut sent = Sent {
            system: body.get("system").map(text_of),
            stop: strings(&body["stop_sequences"]),
            max_tokens: body["max_tokens"].as_u64(),
            key: request.header("x-api-key").map(str::to_owned),
            schema: body["output_config"]["format"].get("schema").cloned(),
            ..sent
        };
        for tool in body["tools"].as_array().into_iter().flatten() {
            sent.tools
                .push(tool["name"].as_str().unwrap_or_default().into());
        }
        for m in body["messages"].as_array().into_iter().flatten() {
            let role = m["role"].as_str().unwrap_or_default();
            let text = text_of(&m["content"]);
            if !text.is_empty() {
                sent.turns.push((role.into(), text));
            }
            for block in m["content"].as_array().into_iter().flatten() {
                match block["type"].as_str() {
                    Some("image") => sent
                        .images
                        .push(block["source"]["data"].as_str().unwrap_or_default().into()),
                    Some("tool_use") => sent.tool_calls.push((
                        block["id"].as_str().unwrap_or_default().into(),
                        block["name"].as_str().unwrap_or_default().into(),
                    )),
                    Some("tool_result") => sent.tool_results.push((
                        block["tool_use_id"].as_str().unwrap_or_default().into(),
                        text_of(&block["content"]),
                    )),
                    _ => {}
                }
            }
        }
        sent
    }
}
