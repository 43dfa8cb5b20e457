//! The recorded transcripts under `crates/llmport/tests/fixtures/`: loading them, reading
//! expectations from them, and replaying them through a provider.

use std::path::PathBuf;

use llmport::testing::Transcript;

use crate::providers::{Target, provider};

/// The path of a transcript in `tests/fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../llmport/tests/fixtures"
    ))
    .join(format!("{name}.json"))
}

/// Loads a transcript by case name.
pub fn transcript(name: &str) -> Transcript {
    Transcript::load(fixture_path(name)).expect("fixture loads")
}

/// A stand-in for ollama.com: answers `POST /api/web_search` and `/api/web_fetch` with the
/// `cloud_web_search` and `cloud_web_fetch` transcripts (point a provider at it with
/// `OllamaProviderBuilder::cloud_url`, the CLI with `LLMPORT_OLLAMA_CLOUD_URL`).
pub async fn web_cloud() -> llmport::testing::TestServer {
    llmport::testing::TestServer::builder()
        .route(
            "POST",
            "/api/web_search",
            transcript("cloud_web_search").reply(),
        )
        .route(
            "POST",
            "/api/web_fetch",
            transcript("cloud_web_fetch").reply(),
        )
        .start()
        .await
}

/// The transcript file as raw JSON, to read expectations from it.
pub fn fixture_json(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture_path(name)).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The concatenated `delta.content` (and legacy message content) of an SSE transcript.
pub fn transcript_stream_text(fx: &serde_json::Value) -> String {
    let mut out = String::new();
    for ev in fx["response"]["sse_events"].as_array().expect("sse_events") {
        if let Some(choices) = ev["data"]["choices"].as_array() {
            for c in choices {
                if let Some(t) = c["delta"]["content"].as_str() {
                    out.push_str(t);
                }
            }
        }
    }
    out
}

/// The model, messages and options of a transcript's request body, rebuilt with the public
/// API, so that replaying a transcript sends what it recorded. Handles text messages, tools,
/// `tool_choice`, `reasoning_effort`, `response_format` and `max_tokens`.
pub fn request_of(fx: &serde_json::Value) -> (String, Vec<llmport::Message>, llmport::Options) {
    use llmport::{Message, Options, ReasoningEffort, ResponseFormat, Role, Tool, ToolChoice};
    let body = &fx["request"]["body"];
    let model = body["model"].as_str().expect("model").to_owned();
    let messages = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let role = match m["role"].as_str().expect("role") {
                "system" => Role::System,
                "assistant" => Role::Assistant,
                "user" => Role::User,
                other => panic!("request_of does not rebuild {other} messages"),
            };
            Message::text(role, m["content"].as_str().expect("text content"))
        })
        .collect();
    let mut b = Options::builder();
    for t in body["tools"].as_array().into_iter().flatten() {
        let f = &t["function"];
        b = b.tool(Tool::function(
            f["name"].as_str().expect("name"),
            f["description"].as_str().expect("description"),
            f["parameters"].clone(),
        ));
    }
    if let Some(c) = body.get("tool_choice") {
        b = b.tool_choice(match c.as_str() {
            Some("auto") => ToolChoice::Auto,
            Some("none") => ToolChoice::None,
            Some("required") => ToolChoice::Required,
            _ => ToolChoice::Function(c["function"]["name"].as_str().expect("name").into()),
        });
    }
    if let Some(e) = body["reasoning_effort"].as_str() {
        b = b.reasoning_effort(match e {
            "none" => ReasoningEffort::None,
            "low" => ReasoningEffort::Low,
            "medium" => ReasoningEffort::Medium,
            "high" => ReasoningEffort::High,
            _ => ReasoningEffort::Max,
        });
    }
    if let Some(f) = body.get("response_format") {
        b = b.response_format(match f["type"].as_str() {
            Some("json_schema") => {
                let s = &f["json_schema"];
                let mut rf = ResponseFormat::json_schema(
                    s["name"].as_str().expect("name"),
                    s["schema"].clone(),
                );
                if let ResponseFormat::JsonSchema { strict, .. } = &mut rf {
                    *strict = s["strict"].as_bool().unwrap_or(false);
                }
                rf
            }
            _ => ResponseFormat::Json,
        });
    }
    if let Some(n) = body["max_tokens"].as_u64() {
        b = b.max_tokens(n as u32);
    }
    (model, messages, b.build())
}

/// Whether a stream transcript carries a usage chunk.
pub fn stream_has_usage(fx: &serde_json::Value) -> bool {
    fx["response"]["sse_events"]
        .as_array()
        .expect("sse_events")
        .iter()
        .any(|e| e["data"]["usage"].is_object())
}

/// Streams a transcript through a provider of `target`, sending the transcript's request
/// (checked, apart from `stream_options.include_usage`, which the client always asks for).
/// Returns the chunks as they came and their accumulated answer.
pub async fn replay_stream(
    name: &str,
    target: Target,
) -> (Vec<llmport::GenResponse>, llmport::GenResponse) {
    use futures::StreamExt;
    let fx = fixture_json(name);
    let server = llmport::testing::TestServer::start([transcript(name)]).await;
    let (model, messages, options) = request_of(&fx);
    let mut s = provider(target, &server)
        .generate_stream(&model, &messages, &options)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut chunks = Vec::new();
    let mut acc = llmport::Accumulator::new();
    while let Some(item) = s.next().await {
        let chunk = item.unwrap_or_else(|e| panic!("{name}: {e}"));
        acc.push(&chunk);
        chunks.push(chunk);
    }
    let usage = serde_json::json!({"include_usage": true});
    let mut sent = server
        .last_request()
        .expect("a request")
        .json()
        .expect("JSON");
    let mut recorded = fx["request"]["body"].clone();
    recorded["stream_options"] = usage.clone();
    sent["stream_options"] = usage;
    assert_eq!(sent, recorded, "{name}: request body");
    (chunks, acc.finish())
}
