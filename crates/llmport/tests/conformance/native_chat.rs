//! Ollama's native chat (`POST /api/chat`), driven through `OllamaProvider` with
//! `OllamaChatApi::Native`. Shapes from Ollama's source at `fb30760` (`api/types.go`
//! `ChatResponse` field order, `server/routes.go` `ChatHandler`/`streamResponse`,
//! `server/sched.go` for the busy answer), as in the recorded `tests/fixtures/native_chat_*`
//! transcripts: NDJSON lines, `done_reason` and the counters on the last line, tool calls
//! with `id` and object arguments (≥ 0.12.10), `{"error": "…"}` bodies and a mid-stream
//! `{"error": "…"}` line. Ollama sends no `Retry-After` itself; the 429 here is a runner's
//! `rate limit exceeded` passed through (routes test) with the header a gateway in front
//! would add.

use llmport::ollama::OllamaChatApi;
use llmport::testing::{RecordedRequest, Reply};
use llmport::{Provider, RetryConfig};
use serde_json::{Value, json};

use crate::protocol::{
    Answer, Failure, Finish, Id, Protocol, Sent, bearer, function_names, json_reply, ollama,
    sent_from, strings,
};

/// Ollama's native `/api/chat`.
#[derive(Debug)]
pub struct OllamaNative;

const MODEL: &str = "llama3.2";
const JSON_UTF8: &str = "application/json; charset=utf-8";

fn done_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Length => "length",
        // Ollama says "stop" after a tool call too; the client knows it by the calls.
        Finish::Stop | Finish::StopSequence(_) | Finish::ToolCall => "stop",
    }
}

fn tool_calls(a: &Answer) -> Option<Value> {
    a.tool_call.as_ref().map(|call| {
        json!([{"id": call.id, "function": {"index": 0, "name": call.name,
            "arguments": call.arguments}}])
    })
}

/// The last line's fields after `message`.
fn last_line(a: &Answer, message: Value) -> Value {
    let (input, output) = a.usage;
    json!({"model": MODEL, "created_at": "2026-08-21T17:02:14.519539176Z", "message": message,
        "done": true, "done_reason": done_reason(&a.finish), "total_duration": 1_203_444_125,
        "load_duration": 21_004_958, "prompt_eval_count": input,
        "prompt_eval_duration": 88_112_000, "eval_count": output,
        "eval_duration": 1_090_214_000})
}

fn line(content: &str) -> Value {
    json!({"model": MODEL, "created_at": "2026-08-21T17:02:11.483920113Z",
        "message": {"role": "assistant", "content": content}, "done": false})
}

fn stream_lines(a: &Answer) -> Vec<Value> {
    let mut out: Vec<Value> = a.deltas().into_iter().map(line).collect();
    if let Some(calls) = tool_calls(a) {
        let mut l = line("");
        l["message"]["tool_calls"] = calls;
        out.push(l);
    }
    out.push(last_line(a, json!({"role": "assistant", "content": ""})));
    out
}

impl Protocol for OllamaNative {
    fn id(&self) -> Id {
        Id::OllamaNative
    }

    fn path(&self) -> &'static str {
        "/api/chat"
    }

    fn reports_cache(&self) -> bool {
        false
    }

    fn provider(&self, root: &str, key: Option<&str>, retry: RetryConfig) -> Box<dyn Provider> {
        ollama(root, key, retry, OllamaChatApi::Native)
    }

    fn answer(&self, a: &Answer) -> Reply {
        let mut message = json!({"role": "assistant", "content": a.text});
        if let Some(calls) = tool_calls(a) {
            message["tool_calls"] = calls;
        }
        json_reply(200, JSON_UTF8, &last_line(a, message), &[])
    }

    fn answer_stream(&self, a: &Answer) -> Reply {
        Reply::ndjson(stream_lines(a))
    }

    fn midstream_errors(&self, text: &str) -> Vec<(&'static str, Reply, &'static str)> {
        let message = "an error was encountered while running the model: unexpected EOF";
        let mut lines: Vec<Value> = Answer::text(text).deltas().into_iter().map(line).collect();
        lines.push(json!({"error": message}));
        vec![(
            "Ollama server/routes.go streamResponse",
            Reply::ndjson(lines),
            message,
        )]
    }

    fn failure(&self, failure: Failure) -> Reply {
        match failure {
            Failure::Unauthorized => {
                json_reply(401, JSON_UTF8, &json!({"error": "unauthorized"}), &[])
            }
            Failure::ModelNotFound(model) => json_reply(
                404,
                JSON_UTF8,
                &json!({"error": format!("model '{model}' not found")}),
                &[],
            ),
        }
    }

    fn retry_later(&self) -> Vec<Reply> {
        vec![
            json_reply(
                429,
                JSON_UTF8,
                &json!({"error": "rate limit exceeded"}),
                &[("retry-after", "1")],
            ),
            json_reply(
                503,
                JSON_UTF8,
                &json!({"error": "server busy, please try again.  maximum pending requests exceeded"}),
                &[("retry-after", "1")],
            ),
        ]
    }

    fn read(&self, request: &RecordedRequest) -> Sent {
        // Ollama streams unless told not to.
        let (body, sent) = sent_from(request, true);
        let options = &body["options"];
        let mut sent = Sent {
            stop: strings(&options["stop"]),
            max_tokens: options["num_predict"].as_u64(),
            seed: options["seed"].as_i64(),
            schema: body["format"].is_object().then(|| body["format"].clone()),
            tools: function_names(&body["tools"]),
            key: bearer(request),
            ..sent
        };
        for m in body["messages"].as_array().into_iter().flatten() {
            let role = m["role"].as_str().unwrap_or_default();
            let text = m["content"].as_str().unwrap_or_default().to_owned();
            match role {
                "system" => sent.system = Some(text),
                "tool" => sent
                    .tool_results
                    .push((m["tool_call_id"].as_str().unwrap_or_default().into(), text)),
                _ => {
                    if !text.is_empty() {
                        sent.turns.push((role.into(), text));
                    }
                    for image in m["images"].as_array().into_iter().flatten() {
                        sent.images.push(image.as_str().unwrap_or_default().into());
                    }
                    for call in m["tool_calls"].as_array().into_iter().flatten() {
                        sent.tool_calls.push((
                            call["id"].as_str().unwrap_or_default().into(),
                            call["function"]["name"].as_str().unwrap_or_default().into(),
                        ));
                    }
                }
            }
        }
        sent
    }
}
