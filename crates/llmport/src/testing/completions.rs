//! Whole prompt-completion answers, for tests of code that completes prompts without a
//! recorded transcript: [`Reply::generate`] (Ollama's `/api/generate`) and
//! [`Reply::completion`] (`/v1/completions`), each also streamed (`_stream`, one line or event
//! per piece). Like the chat answers beside them, they hold every field a client needs and
//! nothing else; token counts are made up (one input token, one output token per piece).

use serde_json::json;

use super::reply::Reply;

/// The timestamp every generated line carries (Ollama's RFC 3339 `created_at`).
const CREATED_AT: &str = "2026-01-01T00:00:00Z";

impl Reply {
    /// An `/api/generate` answer (`200`, one JSON object, as for `"stream": false`) whose
    /// response is `text`: `done_reason` `stop`, a `context`, counts and durations.
    pub fn generate(model: &str, text: &str) -> Reply {
        Reply::json(200, &generate_done(model, text, 1))
    }

    /// A streamed `/api/generate` answer (NDJSON): one line per piece, then the `done` line
    /// with `done_reason`, `context`, counts and durations.
    pub fn generate_stream<S: AsRef<str>>(
        model: &str,
        pieces: impl IntoIterator<Item = S>,
    ) -> Reply {
        let mut lines = Vec::new();
        for piece in pieces {
            lines.push(json!({"model": model, "created_at": CREATED_AT,
                "response": piece.as_ref(), "done": false}));
        }
        let n = lines.len() as u64;
        lines.push(generate_done(model, "", n));
        Reply::ndjson(lines)
    }

    /// A `/v1/completions` answer (`200`, JSON) whose one choice's text is `text`.
    pub fn completion(model: &str, text: &str) -> Reply {
        Reply::json(
            200,
            &json!({"id": "cmpl-test", "object": "text_completion", "created": 0,
                "model": model, "choices": [{"text": text, "index": 0, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
        )
    }

    /// A streamed `/v1/completions` answer: one chunk per piece, a last chunk with the finish
    /// reason and usage, then `data: [DONE]`.
    pub fn completion_stream<S: AsRef<str>>(
        model: &str,
        pieces: impl IntoIterator<Item = S>,
    ) -> Reply {
        let chunk = |text: &str, finish: serde_json::Value, usage: serde_json::Value| {
            json!({"id": "cmpl-test", "object": "text_completion", "created": 0, "model": model,
                "choices": [{"text": text, "index": 0, "finish_reason": finish}],
                "usage": usage})
            .to_string()
        };
        let mut events = Vec::new();
        for piece in pieces {
            events.push(chunk(piece.as_ref(), json!(null), json!(null)));
        }
        let n = events.len() as u64;
        events.push(chunk(
            "",
            json!("stop"),
            json!({"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}),
        ));
        events.push("[DONE]".to_owned());
        Reply::sse(events)
    }
}

/// The last `/api/generate` object: `text`, `stop`, a `context` and `output` tokens.
fn generate_done(model: &str, text: &str, output: u64) -> serde_json::Value {
    json!({"model": model, "created_at": CREATED_AT, "response": text, "done": true,
        "done_reason": "stop", "context": [1, 2, 3], "total_duration": 2000,
        "load_duration": 100, "prompt_eval_count": 1, "prompt_eval_duration": 400,
        "eval_count": output, "eval_duration": 1500})
}
