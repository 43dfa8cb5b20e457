//! Chat Completions (`POST /v1/chat/completions`) as two real servers speak it:
//!
//! - [`LLAMA_CPP`], driven through `OpenAiProvider`: llama.cpp's `llama-server` (the build of
//!   `../shared/tools/realserver`, `b1-0c1e570`). Every shape here was captured from that
//!   server with curl (key order included: `choices`, `created`, `model`,
//!   `system_fingerprint`, `object`, `usage`, `id`; stream chunks `choices`, `created`, `id`,
//!   `model`, `system_fingerprint`, `object`), the mid-stream error from its source
//!   (`tools/server/server-context.cpp`, `format_error`: `data: {"error": {...}}` and no
//!   `[DONE]`), the 401 from `server-http.cpp`; the 404 and 429 bodies, which llama-server
//!   never sends, from OpenAI's API reference (error codes guide).
//! - [`OLLAMA`], driven through `OllamaProvider` with `OllamaChatApi::OpenAiCompatible`:
//!   Ollama's `/v1` (`openai/openai.go`, `middleware/openai.go` at `fb30760`, as in the
//!   recorded `tests/fixtures/openai_chat_*` transcripts: `fp_ollama`, tool calls in one
//!   chunk with their `index`, errors `{"error":{"message","type","param","code"}}`, and a
//!   runner failure mid-stream swallowed into a chunk with `model: ""` and no `[DONE]`).

use llmport::ollama::OllamaChatApi;
use llmport::testing::{RecordedRequest, Reply};
use llmport::{Auth, OpenAiProvider, Provider, RetryConfig};
use serde_json::{Value, json};

use crate::protocol::{
    Answer, Failure, Finish, Id, Protocol, Sent, bearer, data_uri_base64, function_names,
    json_reply, ollama, sent_from, strings, text_of,
};

/// Which server's Chat Completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    LlamaCpp,
    Ollama,
}

/// Chat Completions as one server speaks it.
#[derive(Debug)]
pub struct ChatCompletions {
    server: Server,
}

/// llama.cpp's `llama-server` through `OpenAiProvider`.
pub const LLAMA_CPP: ChatCompletions = ChatCompletions {
    server: Server::LlamaCpp,
};

/// Ollama's `/v1` through `OllamaProvider`.
pub const OLLAMA: ChatCompletions = ChatCompletions {
    server: Server::Ollama,
};

const CREATED: u64 = 1_796_646_361;

impl ChatCompletions {
    fn finish_reason(finish: &Finish) -> &'static str {
        match finish {
            Finish::Stop | Finish::StopSequence(_) => "stop",
            Finish::Length => "length",
            Finish::ToolCall => "tool_calls",
        }
    }

    fn usage(&self, a: &Answer) -> Value {
        let (input, output) = a.usage;
        match self.server {
            Server::LlamaCpp => json!({"completion_tokens": output, "prompt_tokens": input,
                "total_tokens": input + output,
                "prompt_tokens_details": {"cached_tokens": a.cached}}),
            Server::Ollama => json!({"prompt_tokens": input, "completion_tokens": output,
                "total_tokens": input + output}),
        }
    }

    /// One stream chunk in the server's envelope.
    fn chunk(&self, choices: Value, model: &str) -> Value {
        match self.server {
            Server::LlamaCpp => json!({"choices": choices, "created": CREATED,
                "id": "chatcmpl-4NzsCc2H4FTqBwRbQIjcKhPhyB2HCjPV", "model": model,
                "system_fingerprint": "b1-0c1e570", "object": "chat.completion.chunk"}),
            Server::Ollama => json!({"id": "chatcmpl-950", "object": "chat.completion.chunk",
                "created": CREATED, "model": model, "system_fingerprint": "fp_ollama",
                "choices": choices}),
        }
    }

    fn choice(&self, delta: Value, finish: Option<&str>) -> Value {
        match self.server {
            Server::LlamaCpp => json!([{"finish_reason": finish, "index": 0, "delta": delta}]),
            Server::Ollama => json!([{"index": 0, "delta": delta, "finish_reason": finish}]),
        }
    }

    fn model(&self) -> &'static str {
        match self.server {
            Server::LlamaCpp => "tiny-random-llama",
            Server::Ollama => "llama3.2",
        }
    }

    /// The stream chunks of an answer, without `[DONE]`.
    fn stream_chunks(&self, a: &Answer) -> Vec<Value> {
        let model = self.model();
        let mut out = Vec::new();
        if self.server == Server::LlamaCpp {
            out.push(self.chunk(
                self.choice(json!({"role": "assistant", "content": null}), None),
                model,
            ));
        }
        for (i, piece) in a.deltas().into_iter().enumerate() {
            let delta = if i == 0 && self.server == Server::Ollama {
                json!({"role": "assistant", "content": piece})
            } else {
                json!({"content": piece})
            };
            out.push(self.chunk(self.choice(delta, None), model));
        }
        if let Some(call) = &a.tool_call {
            let args = call.arguments.to_string();
            match self.server {
                Server::LlamaCpp => {
                    // The name and `{` first, then the rest in fragments.
                    let (head, rest) = args.split_at(1);
                    out.push(self.chunk(
                        self.choice(
                            json!({"tool_calls": [{"index": 0, "id": call.id, "type": "function",
                                "function": {"name": call.name, "arguments": head}}]}),
                            None,
                        ),
                        model,
                    ));
                    let mid = rest.len() / 2;
                    for fragment in [&rest[..mid], &rest[mid..]] {
                        out.push(self.chunk(
                            self.choice(
                                json!({"tool_calls": [{"index": 0,
                                    "function": {"arguments": fragment}}]}),
                                None,
                            ),
                            model,
                        ));
                    }
                }
                Server::Ollama => out.push(self.chunk(
                    self.choice(
                        json!({"role": "assistant", "content": "", "tool_calls": [{"id": call.id,
                            "index": 0, "type": "function",
                            "function": {"name": call.name, "arguments": args}}]}),
                        None,
                    ),
                    model,
                )),
            }
        }
        out.push(self.chunk(
            self.choice(json!({}), Some(Self::finish_reason(&a.finish))),
            model,
        ));
        let mut usage = self.chunk(json!([]), model);
        usage["usage"] = self.usage(a);
        out.push(usage);
        out
    }

    fn error_body(&self, status: u16, message: &str, kind: &str, code: Option<&str>) -> Value {
        match self.server {
            Server::LlamaCpp if status == 401 => {
                json!({"error": {"code": status, "message": message, "type": kind}})
            }
            _ => json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
        }
    }
}

impl Protocol for ChatCompletions {
    fn id(&self) -> Id {
        match self.server {
            Server::LlamaCpp => Id::OpenAiChat,
            Server::Ollama => Id::OllamaV1,
        }
    }

    fn path(&self) -> &'static str {
        "/v1/chat/completions"
    }

    fn reports_cache(&self) -> bool {
        // Ollama's /v1 usage has no prompt_tokens_details.
        self.server == Server::LlamaCpp
    }

    fn provider(&self, root: &str, key: Option<&str>, retry: RetryConfig) -> Box<dyn Provider> {
        let auth = key.map_or(Auth::None, Auth::bearer);
        match self.server {
            Server::LlamaCpp => Box::new(
                OpenAiProvider::builder()
                    .base_url(format!("{root}/v1"))
                    .auth(auth)
                    .retry(retry)
                    .build()
                    .expect("provider builds"),
            ),
            Server::Ollama => ollama(root, key, retry, OllamaChatApi::OpenAiCompatible),
        }
    }

    fn answer(&self, a: &Answer) -> Reply {
        let mut message = json!({"role": "assistant", "content": a.text});
        if let Some(call) = &a.tool_call {
            let args = call.arguments.to_string();
            message["tool_calls"] = match self.server {
                Server::LlamaCpp => json!([{"type": "function",
                    "function": {"name": call.name, "arguments": args}, "id": call.id}]),
                Server::Ollama => json!([{"id": call.id, "index": 0, "type": "function",
                    "function": {"name": call.name, "arguments": args}}]),
            };
        }
        let finish = Self::finish_reason(&a.finish);
        let body = match self.server {
            Server::LlamaCpp => json!({
                "choices": [{"finish_reason": finish, "index": 0, "message": message}],
                "created": CREATED, "model": self.model(), "system_fingerprint": "b1-0c1e570",
                "object": "chat.completion", "usage": self.usage(a),
                "id": "chatcmpl-4NzsCc2H4FTqBwRbQIjcKhPhyB2HCjPV"}),
            Server::Ollama => json!({
                "id": "chatcmpl-950", "object": "chat.completion", "created": CREATED,
                "model": self.model(), "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": self.usage(a)}),
        };
        let content_type = match self.server {
            Server::LlamaCpp => "application/json; charset=utf-8",
            Server::Ollama => "application/json",
        };
        json_reply(200, content_type, &body, &[])
    }

    fn answer_stream(&self, a: &Answer) -> Reply {
        let mut events: Vec<String> = self.stream_chunks(a).iter().map(Value::to_string).collect();
        events.push("[DONE]".to_owned());
        Reply::sse(events)
    }

    fn midstream_errors(&self, text: &str) -> Vec<(&'static str, Reply, &'static str)> {
        let mut events: Vec<String> = self
            .stream_chunks(&Answer::text(text))
            .iter()
            .take_while(|c| c["choices"][0]["finish_reason"].is_null())
            .map(Value::to_string)
            .collect();
        match self.server {
            Server::LlamaCpp => {
                let message = "the model failed: out of memory";
                events.push(
                    json!({"error": {"code": 500, "message": message, "type": "server_error"}})
                        .to_string(),
                );
                vec![(
                    "llama.cpp server-context.cpp format_error",
                    Reply::sse(events),
                    message,
                )]
            }
            Server::Ollama => {
                // The runner's error line is swallowed: a chunk with model "" and no [DONE].
                events.push(
                    self.chunk(self.choice(json!({"content": ""}), None), "")
                        .to_string(),
                );
                vec![(
                    "Ollama middleware/openai.go (error swallowed)",
                    Reply::sse(events),
                    "",
                )]
            }
        }
    }

    fn failure(&self, failure: Failure) -> Reply {
        match (self.server, failure) {
            (Server::LlamaCpp, Failure::Unauthorized) => json_reply(
                401,
                "application/json; charset=utf-8",
                &self.error_body(401, "Invalid API Key", "authentication_error", None),
                &[],
            ),
            (Server::Ollama, Failure::Unauthorized) => json_reply(
                401,
                "application/json",
                &self.error_body(401, "unauthorized", "api_error", None),
                &[],
            ),
            (Server::LlamaCpp, Failure::ModelNotFound(model)) => json_reply(
                404,
                "application/json; charset=utf-8",
                &self.error_body(
                    404,
                    &format!("The model `{model}` does not exist or you do not have access to it."),
                    "invalid_request_error",
                    Some("model_not_found"),
                ),
                &[],
            ),
            (Server::Ollama, Failure::ModelNotFound(model)) => json_reply(
                404,
                "application/json",
                &self.error_body(
                    404,
                    &format!("model '{model}' not found"),
                    "not_found_error",
                    None,
                ),
                &[],
            ),
        }
    }

    fn retry_later(&self) -> Vec<Reply> {
        let body = self.error_body(
            429,
            "Rate limit reached for requests",
            "requests",
            Some("rate_limit_exceeded"),
        );
        vec![json_reply(
            429,
            "application/json",
            &body,
            &[
                ("retry-after", "1"),
                ("x-ratelimit-remaining-requests", "0"),
            ],
        )]
    }

    fn read(&self, request: &RecordedRequest) -> Sent {
        let (body, sent) = sent_from(request, false);
        let mut sent = Sent {
            stop: strings(&body["stop"]),
            max_tokens: body["max_tokens"].as_u64(),
            seed: body["seed"].as_i64(),
            schema: body["response_format"]["json_schema"]
                .get("schema")
                .cloned(),
            tools: function_names(&body["tools"]),
            key: bearer(request),
            ..sent
        };
        for m in body["messages"].as_array().into_iter().flatten() {
            let role = m["role"].as_str().unwrap_or_default();
            match role {
                "system" => sent.system = Some(text_of(&m["content"])),
                "tool" => sent.tool_results.push((
                    m["tool_call_id"].as_str().unwrap_or_default().into(),
                    text_of(&m["content"]),
                )),
                _ => {
                    let text = text_of(&m["content"]);
                    if !text.is_empty() {
                        sent.turns.push((role.into(), text));
                    }
                    for part in m["content"].as_array().into_iter().flatten() {
                        if part["type"] == "image_url" {
                            sent.images.push(data_uri_base64(
                                part["image_url"]["url"].as_str().unwrap_or_default(),
                            ));
                        }
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
