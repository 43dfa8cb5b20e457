//! Whole answers in each chat API's shape, for tests that need "the server says X" without
//! a recorded transcript: [`Reply::chat_completion`] (`/v1/chat/completions`),
//! [`Reply::messages`] (Anthropic's `/v1/messages`), [`Reply::responses`] (OpenAI's
//! `/v1/responses`), each also streamed (`_stream`, one event per piece). They are the
//! smallest answers each protocol documents — every field a client needs (ids, model,
//! finish reason, usage), nothing else — so a client that reads them reads the real
//! servers' too. The token counts are made up: one input token, one output token per piece.

use serde_json::{Value, json};

use super::reply::Reply;

impl Reply {
    /// A Chat Completions answer (`200`, JSON) whose message is `text`.
    pub fn chat_completion(model: &str, text: &str) -> Reply {
        Reply::json(
            200,
            &json!({"id": "chatcmpl-test", "object": "chat.completion", "created": 0,
                "model": model, "choices": [{"index": 0, "message": {"role": "assistant",
                "content": text}, "finish_reason": "stop"}],
                "usage": usage_counts(1, 1, "prompt_tokens", "completion_tokens", true)}),
        )
    }

    /// A streamed Chat Completions answer: one chunk per piece, a last chunk with the
    /// finish reason and usage, then `data: [DONE]`.
    pub fn chat_completion_stream<S: AsRef<str>>(
        model: &str,
        pieces: impl IntoIterator<Item = S>,
    ) -> Reply {
        let chunk = |delta: Value, finish: Value, usage: Value| {
            json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
                "model": model, "choices": [{"index": 0, "delta": delta,
                "finish_reason": finish}], "usage": usage})
            .to_string()
        };
        let mut events = Vec::new();
        let mut n = 0u64;
        for piece in pieces {
            n += 1;
            events.push(chunk(
                json!({"role": "assistant", "content": piece.as_ref()}),
                Value::Null,
                Value::Null,
            ));
        }
        events.push(chunk(
            json!({}),
            json!("stop"),
            usage_counts(1, n, "prompt_tokens", "completion_tokens", true),
        ));
        events.push("[DONE]".to_owned());
        Reply::sse(events)
    }

    /// An Anthropic Messages answer (`200`, JSON) whose one text block is `text`.
    pub fn messages(model: &str, text: &str) -> Reply {
        Reply::json(
            200,
            &message_object(
                model,
                json!([{"type": "text", "text": text}]),
                "end_turn",
                1,
            ),
        )
    }

    /// A streamed Messages answer: `message_start`, one text block with one `text_delta`
    /// per piece, `message_delta` (stop reason, usage) and `message_stop`, each with its
    /// `event:` line.
    pub fn messages_stream<S: AsRef<str>>(
        model: &str,
        pieces: impl IntoIterator<Item = S>,
    ) -> Reply {
        let mut events = vec![
            (
                "message_start",
                json!({"type": "message_start", "message": message_object(model, json!([]), "", 0)}),
            ),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}),
            ),
        ];
        let mut n = 0u64;
        for piece in pieces {
            n += 1;
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece.as_ref()}}),
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push((
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                "stop_sequence": null}, "usage": {"output_tokens": n}}),
        ));
        events.push(("message_stop", json!({"type": "message_stop"})));
        Reply::sse_events(events.into_iter().map(|(e, d)| (e, d.to_string())))
    }

    /// An OpenAI Responses answer (`200`, JSON): a completed response with one message item
    /// whose text is `text`.
    pub fn responses(model: &str, text: &str) -> Reply {
        Reply::json(200, &response_object(model, "completed", &[text], 1))
    }

    /// A streamed Responses answer: `response.created`, the message item added, one
    /// `response.output_text.delta` per piece, the item done and `response.completed` (with
    /// the whole output and usage), each with its `event:` line and `sequence_number`.
    pub fn responses_stream<S: AsRef<str>>(
        model: &str,
        pieces: impl IntoIterator<Item = S>,
    ) -> Reply {
        let pieces: Vec<S> = pieces.into_iter().collect();
        let texts: Vec<&str> = pieces.iter().map(AsRef::as_ref).collect();
        let whole = texts.concat();
        let done_item = message_item(&whole, "completed");
        let mut events = vec![
            (
                "response.created",
                json!({"response": response_object(model, "in_progress", &[], 0)}),
            ),
            (
                "response.output_item.added",
                json!({"output_index": 0, "item": message_item("", "in_progress")}),
            ),
        ];
        for piece in &texts {
            events.push((
                "response.output_text.delta",
                json!({"item_id": "msg_test", "output_index": 0, "content_index": 0,
                    "delta": piece}),
            ));
        }
        events.push((
            "response.output_item.done",
            json!({"output_index": 0, "item": done_item}),
        ));
        events.push((
            "response.completed",
            json!({"response": response_object(model, "completed", &texts, texts.len() as u64)}),
        ));
        Reply::sse_events(
            events
                .into_iter()
                .enumerate()
                .map(|(i, (event, mut data))| {
                    if let Some(fields) = data.as_object_mut() {
                        fields.insert("type".into(), json!(event));
                        fields.insert("sequence_number".into(), json!(i));
                    }
                    (event, data.to_string())
                }),
        )
    }
}

fn usage_counts(input: u64, output: u64, in_key: &str, out_key: &str, total: bool) -> Value {
    let mut u = serde_json::Map::new();
    u.insert(in_key.into(), json!(input));
    u.insert(out_key.into(), json!(output));
    if total {
        u.insert("total_tokens".into(), json!(input + output));
    }
    Value::Object(u)
}

fn message_object(model: &str, content: Value, stop_reason: &str, output: u64) -> Value {
    json!({"id": "msg_test", "type": "message", "role": "assistant", "model": model,
        "content": content,
        "stop_reason": if stop_reason.is_empty() { Value::Null } else { json!(stop_reason) },
        "stop_sequence": null,
        "usage": usage_counts(1, output, "input_tokens", "output_tokens", false)})
}

fn message_item(text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([{"type": "output_text", "text": text, "annotations": []}])
    };
    json!({"id": "msg_test", "type": "message", "status": status, "role": "assistant",
        "content": content})
}

fn response_object(model: &str, status: &str, texts: &[&str], output: u64) -> Value {
    let done = status == "completed";
    json!({"id": "resp_test", "object": "response", "created_at": 0, "status": status,
    "model": model,
    "output": if done { json!([message_item(&texts.concat(), "completed")]) } else { json!([]) },
    "usage": if done {
        let mut u = usage_counts(1, output, "input_tokens", "output_tokens", true);
        if let Some(fields) = u.as_object_mut() {
            fields.insert("input_tokens_details".into(), json!({"cached_tokens": 0}));
            fields.insert("output_tokens_details".into(), json!({"reasoning_tokens": 0}));
        }
        u
    } else {
        Value::Null
    }})
}
