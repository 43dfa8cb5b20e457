//! OpenAI's Responses API (`POST /v1/responses`), driven through `ResponsesProvider`. Shapes
//! from OpenAI's API reference (platform.openai.com/docs/api-reference/responses: the
//! response object, `status: "incomplete"` with `incomplete_details.reason:
//! "max_output_tokens"`, `function_call` output items, and the streaming events
//! `response.created` … `response.output_text.delta`,
//! `response.function_call_arguments.delta`/`.done`, `response.completed`, `error`), the
//! error bodies from its error-codes guide. The second mid-stream error is llama.cpp's
//! (`tools/server/server-context.cpp`, `format_error`: for this endpoint a plain
//! `data: {"error": {...}}`, no `event:` line).

use llmport::responses::ResponsesProvider;
use llmport::testing::{RecordedRequest, Reply};
use llmport::{Provider, RetryConfig};
use serde_json::{Value, json};

use crate::protocol::{
    Answer, Failure, Finish, Id, Protocol, Sent, bearer, data_uri_base64, json_reply, sent_from,
    text_of, typed_sse,
};

/// The Responses API.
#[derive(Debug)]
pub struct Responses;

const MODEL: &str = "gpt-4.1-2025-04-14";
const RESPONSE_ID: &str = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b";
const MESSAGE_ID: &str = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b";
const CREATED: u64 = 1_741_476_542;

fn message_item(text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([{"type": "output_text", "text": text, "annotations": []}])
    };
    json!({"type": "message", "id": MESSAGE_ID, "status": status, "role": "assistant",
        "content": content})
}

fn call_item(a: &Answer, status: &str) -> Option<Value> {
    a.tool_call.as_ref().map(|call| {
        let arguments = if status == "in_progress" {
            String::new()
        } else {
            call.arguments.to_string()
        };
        json!({"type": "function_call", "id": "fc_67ccd3acc8d48190a77525dc6de64b55",
            "call_id": call.id, "name": call.name, "arguments": arguments, "status": status})
    })
}

/// The response object, `in_progress` (no output yet) or finished.
fn response(a: &Answer, done: bool) -> Value {
    let (status, incomplete) = match (done, &a.finish) {
        (false, _) => ("in_progress", Value::Null),
        (true, Finish::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        (true, _) => ("completed", Value::Null),
    };
    let mut output = Vec::new();
    if done {
        if !a.text.is_empty() {
            output.push(message_item(&a.text, "completed"));
        }
        output.extend(call_item(a, "completed"));
    }
    let usage = if done {
        let (input, out) = a.usage;
        json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": a.cached},
            "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input + out})
    } else {
        Value::Null
    };
    json!({"id": RESPONSE_ID, "object": "response", "created_at": CREATED, "status": status,
        "error": null, "incomplete_details": incomplete, "instructions": null,
        "max_output_tokens": null, "model": MODEL, "output": output,
        "parallel_tool_calls": true, "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null}, "store": false, "temperature": 1.0,
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
        "top_p": 1.0, "truncation": "disabled", "usage": usage, "user": null, "metadata": {}})
}

/// The events of a stream, without its last (`response.completed` / `.incomplete`).
fn events(a: &Answer) -> Vec<(&'static str, Value)> {
    let mut out: Vec<(&'static str, Value)> = Vec::new();
    let mut push = |name: &'static str, mut data: Value| {
        let mut ordered = json!({"type": name, "sequence_number": out.len()});
        if let (Some(o), Some(d)) = (ordered.as_object_mut(), data.as_object_mut()) {
            o.append(d);
        }
        out.push((name, ordered));
    };
    push("response.created", json!({"response": response(a, false)}));
    push(
        "response.in_progress",
        json!({"response": response(a, false)}),
    );
    let mut index = 0;
    if !a.text.is_empty() {
        push(
            "response.output_item.added",
            json!({"output_index": index, "item": message_item("", "in_progress")}),
        );
        push(
            "response.content_part.added",
            json!({"item_id": MESSAGE_ID, "output_index": index, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []}}),
        );
        for piece in a.deltas() {
            push(
                "response.output_text.delta",
                json!({"item_id": MESSAGE_ID, "output_index": index, "content_index": 0,
                    "delta": piece}),
            );
        }
        push(
            "response.output_text.done",
            json!({"item_id": MESSAGE_ID, "output_index": index, "content_index": 0,
                "text": a.text}),
        );
        push(
            "response.content_part.done",
            json!({"item_id": MESSAGE_ID, "output_index": index, "content_index": 0,
                "part": {"type": "output_text", "text": a.text, "annotations": []}}),
        );
        push(
            "response.output_item.done",
            json!({"output_index": index, "item": message_item(&a.text, "completed")}),
        );
        index += 1;
    }
    if let (Some(added), Some(done)) = (call_item(a, "in_progress"), call_item(a, "completed")) {
        let item_id = added["id"].clone();
        let arguments = done["arguments"].as_str().unwrap_or_default().to_owned();
        push(
            "response.output_item.added",
            json!({"output_index": index, "item": added}),
        );
        let mid = arguments.len() / 2;
        for fragment in [&arguments[..mid], &arguments[mid..]] {
            push(
                "response.function_call_arguments.delta",
                json!({"item_id": item_id, "output_index": index, "delta": fragment}),
            );
        }
        push(
            "response.function_call_arguments.done",
            json!({"item_id": item_id, "output_index": index, "arguments": arguments}),
        );
        push(
            "response.output_item.done",
            json!({"output_index": index, "item": done}),
        );
    }
    out
}

fn error_body(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

impl Protocol for Responses {
    fn id(&self) -> Id {
        Id::Responses
    }

    fn path(&self) -> &'static str {
        "/v1/responses"
    }

    fn provider(&self, root: &str, key: Option<&str>, retry: RetryConfig) -> Box<dyn Provider> {
        let mut builder = ResponsesProvider::builder()
            .base_url(format!("{root}/v1"))
            .retry(retry);
        if let Some(key) = key {
            builder = builder.api_key(key);
        }
        Box::new(builder.build().expect("provider builds"))
    }

    fn takes_seed(&self) -> bool {
        false
    }

    fn answer(&self, a: &Answer) -> Reply {
        json_reply(200, "application/json", &response(a, true), &[])
    }

    fn answer_stream(&self, a: &Answer) -> Reply {
        let mut all = events(a);
        let name = if a.finish == Finish::Length {
            "response.incomplete"
        } else {
            "response.completed"
        };
        all.push((
            name,
            json!({"type": name, "sequence_number": all.len(), "response": response(a, true)}),
        ));
        typed_sse("text/event-stream; charset=utf-8", all)
    }

    fn midstream_errors(&self, text: &str) -> Vec<(&'static str, Reply, &'static str)> {
        let answer = Answer::text(text);
        let mut opening = events(&answer);
        // Still inside the text: cut after the last delta.
        let last_delta = opening
            .iter()
            .rposition(|(name, _)| *name == "response.output_text.delta")
            .expect("deltas");
        opening.truncate(last_delta + 1);
        let mut openai = opening.clone();
        let message = "The server had an error while processing your request.";
        openai.push((
            "error",
            json!({"type": "error", "sequence_number": openai.len(), "code": "server_error",
                "message": message, "param": null}),
        ));
        let mut llama = typed_sse("text/event-stream", opening);
        let llama_message = "the model failed: out of memory";
        llama.chunks.push(
            format!(
                "data: {}\n\n",
                json!({"error": {"code": 500, "message": llama_message, "type": "server_error"}})
            )
            .into(),
        );
        vec![
            (
                "OpenAI API reference, streaming error event",
                typed_sse("text/event-stream; charset=utf-8", openai),
                message,
            ),
            (
                "llama.cpp server-context.cpp format_error",
                llama,
                llama_message,
            ),
        ]
    }

    fn failure(&self, failure: Failure) -> Reply {
        match failure {
            Failure::Unauthorized => json_reply(
                401,
                "application/json; charset=utf-8",
                &error_body(
                    "Incorrect API key provided: sk-conf*******0123. You can find your API \
                     key at https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
                &[],
            ),
            Failure::ModelNotFound(model) => json_reply(
                404,
                "application/json; charset=utf-8",
                &error_body(
                    &format!("The model `{model}` does not exist or you do not have access to it."),
                    "invalid_request_error",
                    "model_not_found",
                ),
                &[],
            ),
        }
    }

    fn retry_later(&self) -> Vec<Reply> {
        vec![json_reply(
            429,
            "application/json; charset=utf-8",
            &error_body(
                "Rate limit reached for requests",
                "requests",
                "rate_limit_exceeded",
            ),
            &[
                ("retry-after", "1"),
                ("x-ratelimit-remaining-requests", "0"),
            ],
        )]
    }

    fn read(&self, request: &RecordedRequest) -> Sent {
        let (body, sent) = sent_from(request, false);
        let mut sent = Sent {
            system: body["instructions"].as_str().map(str::to_owned),
            max_tokens: body["max_output_tokens"].as_u64(),
            seed: body["seed"].as_i64(),
            schema: body["text"]["format"].get("schema").cloned(),
            key: bearer(request),
            ..sent
        };
        for tool in body["tools"].as_array().into_iter().flatten() {
            sent.tools
                .push(tool["name"].as_str().unwrap_or_default().into());
        }
        let items = match &body["input"] {
            Value::String(s) => vec![json!({"role": "user", "content": s})],
            Value::Array(items) => items.clone(),
            _ => Vec::new(),
        };
        for item in &items {
            match item["type"].as_str() {
                Some("function_call") => sent.tool_calls.push((
                    item["call_id"].as_str().unwrap_or_default().into(),
                    item["name"].as_str().unwrap_or_default().into(),
                )),
                Some("function_call_output") => sent.tool_results.push((
                    item["call_id"].as_str().unwrap_or_default().into(),
                    item["output"].as_str().unwrap_or_default().into(),
                )),
                _ => {
                    let role = item["role"].as_str().unwrap_or_default();
                    let text = text_of(&item["content"]);
                    if role == "system" || role == "developer" {
                        sent.system = Some(text);
                        continue;
                    }
                    if !text.is_empty() {
                        sent.turns.push((role.into(), text));
                    }
                    for part in item["content"].as_array().into_iter().flatten() {
                        if part["type"] == "input_image" {
                            sent.images.push(data_uri_base64(
                                part["image_url"].as_str().unwrap_or_default(),
                            ));
                        }
                    }
                }
            }
        }
        sent
    }
}
