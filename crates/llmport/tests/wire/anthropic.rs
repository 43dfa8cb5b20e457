//! `AnthropicProvider` (the Messages API, `POST /v1/messages`) against the in-process wire
//! server: requests as the API wants them, answers, streams (typed events, tool input
//! fragments, thinking with its signature, redacted thinking, structured output, mid-stream errors, truncation, every split
//! position), error answers and retries. Transcripts: `anthropic_messages_{nonstream,stream}`
//! are Ollama's (shared fixtures, from its Go source and tests); the others are written from
//! Anthropic's API reference (each file's `source` and `notes` say where).

use llmport_test_support as support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use llmport::anthropic::{AnthropicOptions, StreamDecoder};
use llmport::codec::decode_pieces;
use llmport::testing::{Reply, TestServer};
use llmport::{
    AnthropicProvider, ApiError, Auth, Error, FinishReason, GenResponse, Message, Options, Part,
    Provider, ReasoningEffort, Role, Tool, ToolCall, ToolChoice,
};
use serde_json::json;
use support::{fast_retries, fixture_json, transcript};

const MESSAGES: &str = "/v1/messages";

fn provider(server: &TestServer) -> AnthropicProvider {
    AnthropicProvider::builder()
        .base_url(server.url())
        .api_key("sk-ant-test")
        .retry(fast_retries(2))
        .build()
        .expect("provider builds")
}

async fn serve(name: &str) -> TestServer {
    TestServer::start([transcript(name)]).await
}

fn sent(server: &TestServer) -> serde_json::Value {
    server
        .last_request()
        .expect("a request")
        .json()
        .expect("JSON body")
}

/// The request body a transcript recorded.
fn recorded(name: &str) -> serde_json::Value {
    fixture_json(name)["request"]["body"].clone()
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Get the current weather in a given location",
        json!({"type": "object", "properties": {"location": {"type": "string",
            "description": "The city and state, e.g. San Francisco, CA"}},
            "required": ["location"]}),
    )
}

async fn stream_items(
    p: &AnthropicProvider,
    messages: &[Message],
    options: &Options,
    model: &str,
) -> (Vec<GenResponse>, Option<Error>) {
    let mut s = p
        .generate_stream(model, messages, options)
        .await
        .expect("stream starts");
    let mut items = Vec::new();
    while let Some(item) = s.next().await {
        match item {
            Ok(r) => items.push(r),
            Err(e) => return (items, Some(e)),
        }
    }
    (items, None)
}

#[tokio::test]
async fn plain_chat_sends_the_messages_request_with_its_headers() {
    let server = serve("anthropic_messages_nonstream").await;
    let r = provider(&server)
        .generate(
            "qwen3-coder",
            &[Message::user("Hello, how are you?")],
            &Options::builder().max_tokens(1024).build(),
        )
        .await
        .unwrap();
    assert_eq!(
        r.text(),
        "Hello! I'm doing well, thanks for asking. How can I help you today?"
    );
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let u = r.meta.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (14, 17, 31)
    );
    assert_eq!(r.meta.id.as_deref(), Some("msg_4f1c9e2ab07d53c8e61a0b9d"));
    let req = server.last_request().unwrap();
    assert_eq!(req.path, MESSAGES);
    assert_eq!(req.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.header("authorization"), None);
    assert_eq!(
        sent(&server),
        json!({"model": "qwen3-coder", "max_tokens": 1024, "messages": [{"role": "user",
            "content": [{"type": "text", "text": "Hello, how are you?"}]}]})
    );
}

#[tokio::test]
async fn a_bearer_token_or_no_credentials_work_too_and_v1_in_the_base_is_dropped() {
    let server = serve("anthropic_messages_nonstream").await;
    let p = AnthropicProvider::builder()
        .base_url(format!("{}/v1/", server.url()))
        .auth(Auth::bearer("ollama-key"))
        .build()
        .unwrap();
    p.generate("qwen3-coder", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    let req = server.last_request().unwrap();
    assert_eq!(req.path, MESSAGES);
    assert_eq!(req.header("authorization"), Some("Bearer ollama-key"));
    assert_eq!(req.header("x-api-key"), None);
    let none = AnthropicProvider::new(server.url()).unwrap();
    none.generate("qwen3-coder", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    let req = server.last_request().unwrap();
    assert_eq!(req.header("authorization"), None);
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    // No max_tokens given: the documented default is sent (the protocol requires one).
    assert_eq!(sent(&server)["max_tokens"], 4096);
}

#[tokio::test]
async fn system_text_goes_top_level_and_history_alternates() {
    let name = "anthropic_messages_system_multiturn";
    let server = serve(name).await;
    let history = [
        Message::system("You are a terse geography tutor."),
        Message::user("Capital of France?"),
        Message::assistant("Paris."),
        Message::user("And of Italy?"),
    ];
    let r = provider(&server)
        .generate("claude-sonnet-4-5", &history, &Options::default())
        .await
        .unwrap();
    assert_eq!(r.text(), "Rome.");
    assert_eq!(sent(&server), recorded(name));
    // The same through Options::system.
    let r = provider(&server)
        .generate(
            "claude-sonnet-4-5",
            &history[1..],
            &Options::builder()
                .system("You are a terse geography tutor.")
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(r.text(), "Rome.");
    assert_eq!(sent(&server), recorded(name));
}

#[tokio::test]
async fn streaming_equals_non_streaming() {
    let a = serve("anthropic_messages_nonstream").await;
    let b = serve("anthropic_messages_stream").await;
    let msgs = [Message::user("Hello, how are you?")];
    let opts = Options::builder().max_tokens(1024).build();
    let whole = provider(&a)
        .generate("qwen3-coder", &msgs, &opts)
        .await
        .unwrap();
    let (items, err) = stream_items(&provider(&b), &msgs, &opts, "qwen3-coder").await;
    assert!(err.is_none(), "{err:?}");
    let texts: Vec<String> = items
        .iter()
        .map(GenResponse::text)
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(
        texts,
        [
            "Hello",
            "! I'm doing well, thanks for asking.",
            " How can I help you today?"
        ]
    );
    let mut acc = llmport::Accumulator::new();
    items.iter().for_each(|i| acc.push(i));
    let streamed = acc.finish();
    assert_eq!(streamed.candidates, whole.candidates);
    // message_start's input count is Ollama's estimate (5); message_delta's real one wins.
    assert_eq!(streamed.meta.usage, whole.meta.usage);
    assert_eq!(streamed.meta.model.as_deref(), Some("qwen3-coder"));
    let sent = sent(&b);
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["max_tokens"], 1024);
}

#[tokio::test]
async fn stop_sequence_is_stop_and_cache_tokens_are_counted() {
    let name = "anthropic_messages_stop_sequence_cache_usage";
    let server = serve(name).await;
    let r = provider(&server)
        .generate(
            "claude-sonnet-4-5",
            &[Message::user("Count: one, two, three")],
            &Options::builder().stop("four").build(),
        )
        .await
        .unwrap();
    assert_eq!(sent(&server), recorded(name));
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let u = r.meta.usage.unwrap();
    assert_eq!(
        u.input_tokens,
        12 + 2048 + 1024,
        "every prompt token counted"
    );
    assert_eq!(u.cached_input_tokens, Some(1024));
    assert_eq!(u.cache_creation_input_tokens, Some(2048));
    assert_eq!(u.output_tokens, 9);
    assert_eq!(u.total_tokens, 3084 + 9);
}

#[tokio::test]
async fn max_tokens_is_length() {
    let name = "anthropic_messages_max_tokens";
    let server = serve(name).await;
    let r = provider(&server)
        .generate(
            "claude-sonnet-4-5",
            &[Message::user("Tell me a long story.")],
            &Options::builder().max_tokens(5).build(),
        )
        .await
        .unwrap();
    assert_eq!(sent(&server), recorded(name));
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(r.text(), "Once upon a time");
}

fn tool_options() -> Options {
    Options::builder()
        .tool(weather_tool())
        .tool_choice(ToolChoice::Auto)
        .build()
}

fn expected_call() -> ToolCall {
    ToolCall::new(
        "toolu_01A09q90qw90lq917835lq9",
        "get_weather",
        json!({"location": "San Francisco, CA"}),
    )
}

#[tokio::test]
async fn tool_round_trip_non_streamed() {
    let name = "anthropic_messages_tool_use_nonstream";
    let server = TestServer::start([
        transcript(name),
        transcript("anthropic_messages_tool_result"),
    ])
    .await;
    let p = provider(&server);
    let question = Message::user("What is the weather like in San Francisco?");
    let r = p
        .generate(
            "claude-sonnet-4-5",
            std::slice::from_ref(&question),
            &tool_options(),
        )
        .await
        .unwrap();
    assert_eq!(sent(&server), recorded(name));
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(r.tool_calls(), [&expected_call()]);
    assert_eq!(r.text(), "I'll check the weather.");
    // Second leg: the assistant turn replayed, the result in a user turn (served by the
    // route's next reply).
    let history = [
        question,
        r.message().unwrap().clone(),
        Message::tool_result("toolu_01A09q90qw90lq917835lq9", "15 degrees, foggy"),
    ];
    let r = p
        .generate(
            "claude-sonnet-4-5",
            &history,
            &Options::builder().tool(weather_tool()).build(),
        )
        .await
        .unwrap();
    assert_eq!(sent(&server), recorded("anthropic_messages_tool_result"));
    assert_eq!(r.text(), "It is 15 degrees and foggy in San Francisco.");
}

#[tokio::test]
async fn tool_call_streamed_is_assembled_from_its_fragments() {
    let name = "anthropic_messages_tool_use_stream";
    let server = serve(name).await;
    let question = [Message::user("What is the weather like in San Francisco?")];
    let (items, err) = stream_items(
        &provider(&server),
        &question,
        &tool_options(),
        "claude-sonnet-4-5",
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(sent(&server), recorded(name));
    // The call is handed out once, whole, at its content_block_stop.
    let calls: Vec<&ToolCall> = items.iter().flat_map(|i| i.tool_calls()).collect();
    assert_eq!(calls, [&expected_call()]);
    let mut acc = llmport::Accumulator::new();
    items.iter().for_each(|i| acc.push(i));
    let streamed = acc.finish();
    let whole_server = serve("anthropic_messages_tool_use_nonstream").await;
    let whole = provider(&whole_server)
        .generate("claude-sonnet-4-5", &question, &tool_options())
        .await
        .unwrap();
    assert_eq!(streamed.candidates, whole.candidates);
    assert_eq!(streamed.meta.usage, whole.meta.usage);
}

#[tokio::test]
async fn tool_choice_variants_are_encoded() {
    let server = serve("anthropic_messages_tool_use_nonstream").await;
    let p = provider(&server);
    for (choice, wire) in [
        (ToolChoice::Auto, json!({"type": "auto"})),
        (ToolChoice::Required, json!({"type": "any"})),
        (ToolChoice::None, json!({"type": "none"})),
        (
            ToolChoice::Function("get_weather".into()),
            json!({"type": "tool", "name": "get_weather"}),
        ),
    ] {
        let opts = Options::builder()
            .tool(weather_tool())
            .tool_choice(choice)
            .build();
        p.generate("m", &[Message::user("x")], &opts).await.unwrap();
        assert_eq!(sent(&server)["tool_choice"], wire);
        assert_eq!(
            sent(&server)["tools"][0]["input_schema"]["required"],
            json!(["location"])
        );
    }
}

/// A stream transcript asked for: the request it recorded is sent, and its chunks add up to
/// `whole`'s candidates. Returns the chunks.
async fn streamed_as_whole(
    name: &str,
    q: &[Message],
    options: &Options,
    whole: &GenResponse,
) -> Vec<GenResponse> {
    let b = serve(name).await;
    let (items, err) = stream_items(&provider(&b), q, options, "claude-sonnet-4-5").await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(sent(&b), recorded(name));
    let mut acc = llmport::Accumulator::new();
    items.iter().for_each(|i| acc.push(i));
    assert_eq!(acc.finish().candidates, whole.candidates);
    items
}

fn thinking_options() -> Options {
    Options::builder()
        .max_tokens(16000)
        .extension(AnthropicOptions::builder().thinking_budget(10000).build())
        .build()
}

const SIGNATURE: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";

#[tokio::test]
async fn thinking_keeps_its_signature_streamed_or_not_and_is_sent_back() {
    let q = [Message::user("What is 27 * 453?")];
    let a = serve("anthropic_messages_thinking_nonstream").await;
    let whole = provider(&a)
        .generate("claude-sonnet-4-5", &q, &thinking_options())
        .await
        .unwrap();
    assert_eq!(sent(&a), recorded("anthropic_messages_thinking_nonstream"));
    assert_eq!(
        whole.candidates[0].message.parts,
        [
            Part::Reasoning {
                text: "27 * 453 = 27*400 + 27*53 = 10800 + 1431 = 12231.".into(),
                signature: Some(SIGNATURE.into()),
            },
            Part::text("27 * 453 = 12,231."),
        ]
    );
    let items = streamed_as_whole(
        "anthropic_messages_thinking_stream",
        &q,
        &thinking_options(),
        &whole,
    )
    .await;
    assert!(items.iter().any(|i| !i.reasoning().is_empty()));

    // Sent back in the history as a signed thinking block, before the text.
    let history = [
        q[0].clone(),
        whole.message().unwrap().clone(),
        Message::user("Thanks"),
    ];
    provider(&a)
        .generate("claude-sonnet-4-5", &history, &thinking_options())
        .await
        .unwrap();
    assert_eq!(
        sent(&a)["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "27 * 453 = 27*400 + 27*53 = 10800 + 1431 = 12231.",
             "signature": SIGNATURE},
            {"type": "text", "text": "27 * 453 = 12,231."}
        ])
    );
}

const REDACTED: &str = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj2pkmF7iQ5t0dGF3gbuYO9Q1Yg9UdpRs8zfnyTnzpZLeF0Bzf09c09vu0FdRnIoRj0=";

/// The reasoning parts a turn with a signed and a redacted thinking block carries: one per
/// block, in order.
fn redacted_reasoning() -> [Part; 2] {
    [
        Part::Reasoning {
            text: "The user wants the weather in Paris: call get_weather.".into(),
            signature: Some(SIGNATURE.into()),
        },
        Part::Reasoning {
            text: String::new(),
            signature: Some(format!(
                r#"{{"anthropic_thinking":[{{"redacted_thinking":"{REDACTED}"}}]}}"#
            )),
        },
    ]
}

fn redacted_options() -> Options {
    Options::builder()
        .max_tokens(16000)
        .tool(weather_tool())
        .extension(AnthropicOptions::builder().thinking_budget(10000).build())
        .build()
}

/// The server of the transcript `name` and its non-streamed answer to `q` (thinking and the
/// weather tool on), the request checked against the recorded one; the server stays up for
/// the next turn.
async fn answered(name: &str, q: &[Message]) -> (TestServer, GenResponse) {
    let server = serve(name).await;
    let whole = provider(&server)
        .generate("claude-sonnet-4-5", q, &redacted_options())
        .await
        .expect("the first turn is answered");
    assert_eq!(sent(&server), recorded(name));
    (server, whole)
}

fn weather_call(id: &str, city: &str) -> ToolCall {
    ToolCall::new(id, "get_weather", json!({"location": city}))
}

#[tokio::test]
async fn redacted_thinking_is_kept_streamed_or_not_and_sent_back_unmodified() {
    let q = [Message::user("What is the weather in Paris?")];
    let (a, whole) = answered("anthropic_messages_redacted_thinking_nonstream", &q).await;
    let call = weather_call("toolu_01Redact000000000000", "Paris");
    let [signed, redacted] = redacted_reasoning();
    assert_eq!(
        whole.candidates[0].message.parts,
        [signed, redacted, Part::ToolCall(call.clone())]
    );
    assert_eq!(whole.finish_reason(), Some(&FinishReason::ToolCalls));

    streamed_as_whole(
        "anthropic_messages_redacted_thinking_stream",
        &q,
        &redacted_options(),
        &whole,
    )
    .await;

    // The assistant turn goes back with both blocks as they came, in order, before the
    // tool call; the tool result follows.
    let history = [
        q[0].clone(),
        whole.message().unwrap().clone(),
        Message::tool_result(&call.id, "18°C, sunny"),
    ];
    provider(&a)
        .generate("claude-sonnet-4-5", &history, &redacted_options())
        .await
        .unwrap();
    assert_eq!(
        sent(&a)["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "thinking",
             "thinking": "The user wants the weather in Paris: call get_weather.",
             "signature": SIGNATURE},
            {"type": "redacted_thinking", "data": REDACTED},
            {"type": "tool_use", "id": "toolu_01Redact000000000000", "name": "get_weather",
             "input": {"location": "Paris"}}
        ]})
    );
    // A reasoning part holding only redacted thinking (no text) goes back as that block.
    let mut only_redacted = Message::new(Role::Assistant).add_tool_call(call.clone());
    only_redacted.parts.insert(
        0,
        Part::Reasoning {
            text: String::new(),
            signature: Some(format!(
                r#"{{"anthropic_thinking":[{{"redacted_thinking":"{REDACTED}"}}]}}"#
            )),
        },
    );
    provider(&a)
        .generate(
            "claude-sonnet-4-5",
            &[q[0].clone(), only_redacted, history[2].clone()],
            &redacted_options(),
        )
        .await
        .unwrap();
    assert_eq!(
        sent(&a)["messages"][1]["content"][0],
        json!({"type": "redacted_thinking", "data": REDACTED})
    );
}

/// The redacted-thinking stream split at every byte position: the same blocks every time.
#[tokio::test]
async fn redacted_thinking_stream_split_at_every_byte_position_decodes_identically() {
    let (answers, items) = every_split("anthropic_messages_redacted_thinking_stream").await;
    for (k, r) in answers {
        assert_eq!(
            r.candidates[0].message.parts[..2],
            redacted_reasoning(),
            "split at {k}"
        );
        assert_eq!(r.tool_calls().len(), 1, "split at {k}");
    }
    let mut acc = llmport::Accumulator::new();
    for i in &items {
        acc.push(i.as_ref().expect("every event decodes"));
    }
    assert_eq!(
        acc.finish().candidates[0].message.parts[..2],
        redacted_reasoning()
    );
}

const FIRST_SIGNATURE: &str = "EqQBCgIYAhIMInterleavedFirst0Xw9pLkTq2b3hGgxBdjrkzLoky3dl1pkiMOYds";
const SECOND_SIGNATURE: &str = "EqQBCgIYAhIMInterleavedSecond7Nf4aZc1VyIwxtE3rAFBa8cr3qpPkNRj2Yf";

/// Interleaved thinking: each signed block is its own part, where it came, with its own
/// signature (one merged part would keep only the last signature, and Anthropic would then
/// refuse the history), streamed or not, and both go back in order.
#[tokio::test]
async fn interleaved_signed_thinking_blocks_stay_separate_and_all_go_back_in_order() {
    let q = [Message::user("What is the weather in Paris and in London?")];
    let (a, whole) = answered("anthropic_messages_interleaved_thinking_nonstream", &q).await;
    let paris = weather_call("toolu_01Interleave0000000001", "Paris");
    let london = weather_call("toolu_01Interleave0000000002", "London");
    assert_eq!(
        whole.candidates[0].message.parts,
        [
            Part::Reasoning {
                text: "Weather for two cities: Paris first.".into(),
                signature: Some(FIRST_SIGNATURE.into()),
            },
            Part::ToolCall(paris.clone()),
            Part::Reasoning {
                text: "Paris done; now London.".into(),
                signature: Some(SECOND_SIGNATURE.into()),
            },
            Part::ToolCall(london.clone()),
        ]
    );
    assert_eq!(
        whole.reasoning(),
        "Weather for two cities: Paris first.Paris done; now London."
    );
    streamed_as_whole(
        "anthropic_messages_interleaved_thinking_stream",
        &q,
        &redacted_options(),
        &whole,
    )
    .await;

    let history = [
        q[0].clone(),
        whole.message().unwrap().clone(),
        Message::tool_result(&paris.id, "18°C, sunny"),
        Message::tool_result(&london.id, "12°C, rain"),
    ];
    provider(&a)
        .generate("claude-sonnet-4-5", &history, &redacted_options())
        .await
        .unwrap();
    let body = server_body_text(&a);
    let first = body
        .find(FIRST_SIGNATURE)
        .expect("the first signature is sent");
    let second = body
        .find(SECOND_SIGNATURE)
        .expect("the second signature is sent");
    assert!(first < second, "{body}");
    assert_eq!(
        sent(&a)["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Weather for two cities: Paris first.",
             "signature": FIRST_SIGNATURE},
            {"type": "tool_use", "id": "toolu_01Interleave0000000001", "name": "get_weather",
             "input": {"location": "Paris"}},
            {"type": "thinking", "thinking": "Paris done; now London.",
             "signature": SECOND_SIGNATURE},
            {"type": "tool_use", "id": "toolu_01Interleave0000000002", "name": "get_weather",
             "input": {"location": "London"}}
        ]})
    );
}

/// The interleaved-thinking stream split at every byte position: both signed blocks, apart,
/// every time.
#[tokio::test]
async fn interleaved_thinking_stream_split_at_every_byte_position_keeps_both_blocks() {
    let (answers, _) = every_split("anthropic_messages_interleaved_thinking_stream").await;
    for (k, r) in answers {
        let signatures: Vec<_> = r.candidates[0]
            .message
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Reasoning { signature, .. } => signature.as_deref(),
                _ => None,
            })
            .collect();
        assert_eq!(
            signatures,
            [FIRST_SIGNATURE, SECOND_SIGNATURE],
            "split at {k}"
        );
        assert_eq!(r.tool_calls().len(), 2, "split at {k}");
    }
}

/// The last request's body as the server received it.
fn server_body_text(server: &TestServer) -> String {
    server.last_request().expect("a request").text()
}

#[tokio::test]
async fn a_json_schema_is_sent_as_output_config_and_json_mode_is_refused() {
    #[derive(Debug, PartialEq, serde::Deserialize, llmport::schemars::JsonSchema)]
    #[schemars(crate = "llmport::schemars")]
    struct City {
        name: String,
        population: u64,
    }
    let body = json!({"id": "msg_01Json", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "{\"name\":\"Paris\",\"population\":2102650}"}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 12}});
    let server = TestServer::builder()
        .route("POST", MESSAGES, Reply::json(200, &body))
        .start()
        .await;
    let p = provider(&server);
    let city: City = llmport::ProviderExt::generate_json(
        &p,
        "claude-sonnet-4-5",
        &[Message::user("Paris, as JSON.")],
        &Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        city,
        City {
            name: "Paris".into(),
            population: 2_102_650
        }
    );
    let schema = match llmport::ResponseFormat::for_type::<City>() {
        llmport::ResponseFormat::JsonSchema { schema, .. } => schema,
        other => panic!("{other:?}"),
    };
    // Anthropic's structured outputs (generally available): `output_config.format`, no beta
    // header, no name or `strict`.
    assert_eq!(
        sent(&server)["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
    let req = server.last_request().unwrap();
    assert_eq!(req.header("anthropic-beta"), None);
    assert!(sent(&server).get("output_format").is_none());

    let e = p
        .generate(
            "m",
            &[Message::user("x")],
            &Options::builder()
                .response_format(llmport::ResponseFormat::Json)
                .build(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(e.to_string().contains("ResponseFormat::json_schema"), "{e}");
    assert_eq!(server.requests().len(), 1, "nothing sent for JSON mode");
}

#[tokio::test]
async fn options_the_api_lacks_are_refused_and_top_k_rides_the_extension() {
    let server = serve("anthropic_messages_nonstream").await;
    let p = provider(&server);
    let msgs = [Message::user("x")];
    for opts in [
        Options::builder().seed(1).build(),
        Options::builder().frequency_penalty(0.5).build(),
        Options::builder()
            .reasoning_effort(ReasoningEffort::High)
            .build(),
        Options::builder()
            .response_format(llmport::ResponseFormat::Json)
            .build(),
        Options::builder()
            .extension(llmport::ollama::OllamaOptions::builder().num_ctx(8).build())
            .build(),
    ] {
        let e = p.generate("m", &msgs, &opts).await.unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
    assert!(
        server.requests().is_empty(),
        "nothing sent for refused options"
    );
    let opts = Options::builder()
        .temperature(0.05)
        .top_p(0.9)
        .reasoning_effort(ReasoningEffort::None)
        .extension(AnthropicOptions::builder().top_k(40).build())
        .build();
    p.generate("m", &msgs, &opts).await.unwrap();
    let body = server.last_request().unwrap();
    let text = String::from_utf8_lossy(&body.body).into_owned();
    assert!(text.contains("\"temperature\":0.05"), "{text}");
    let sent = sent(&server);
    assert_eq!(sent["top_k"], 40);
    assert_eq!(sent["thinking"], json!({"type": "disabled"}));
}

#[tokio::test]
async fn images_go_as_base64_or_url_blocks() {
    let server = serve("anthropic_messages_nonstream").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let m = Message::new(Role::User)
        .add_text("What is this?")
        .add_binary("a.png", png, "image/PNG")
        .add_file("https://example.com/cat.jpg", "image/jpeg");
    provider(&server)
        .generate("m", &[m], &Options::default())
        .await
        .unwrap();
    assert_eq!(
        sent(&server)["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                "data": "iVBORw0KGgoAAAANSUhEUg=="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
        ])
    );
}

#[tokio::test]
async fn midstream_overloaded_error_is_a_typed_stream_error() {
    let server = serve("anthropic_messages_overloaded_midstream").await;
    let (items, err) = stream_items(
        &provider(&server),
        &[Message::user("Tell me a long story.")],
        &Options::default(),
        "claude-sonnet-4-5",
    )
    .await;
    let text: String = items.iter().map(GenResponse::text).collect();
    assert_eq!(text, "Once upon a");
    let err = err.expect("the stream ends with an error");
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    assert!(err.to_string().contains("overloaded_error"), "{err}");
    let api = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<ApiError>())
        .expect("the server's error as the source");
    assert_eq!(api.kind.as_deref(), Some("overloaded_error"));
    assert_eq!(api.message, "Overloaded");
    assert!(
        api.retryable,
        "an overload may pass: a new call may succeed"
    );
}

#[tokio::test]
async fn a_stream_without_message_stop_is_an_error() {
    let t = transcript("anthropic_messages_stream");
    let raw = t.reply().body_bytes();
    let text = std::str::from_utf8(&raw).unwrap();
    let cut = text.find("event: message_stop").unwrap();
    let mut reply = t.reply();
    reply.chunks = vec![Bytes::copy_from_slice(&raw[..cut])];
    let server = TestServer::builder()
        .route("POST", MESSAGES, reply)
        .start()
        .await;
    let (items, err) = stream_items(
        &provider(&server),
        &[Message::user("x")],
        &Options::default(),
        "m",
    )
    .await;
    assert!(!items.is_empty());
    let err = err.expect("a cut stream is an error, never a short answer");
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    assert!(err.to_string().contains("message_stop"), "{err}");
}

/// A stream transcript served as two HTTP chunks split at every byte position (the answer
/// collected from each, with its split), and decoded by the bare decoder one byte at a time.
async fn every_split(name: &str) -> (Vec<(usize, GenResponse)>, Vec<llmport::Result<GenResponse>>) {
    let t = transcript(name);
    let raw = t.reply().body_bytes();
    let mut builder = TestServer::builder();
    for k in 1..raw.len() {
        let mut r = t.reply();
        r.chunks = vec![raw.slice(..k), raw.slice(k..)];
        builder = builder.route("POST", MESSAGES, r);
    }
    let server = builder.start().await;
    let p = provider(&server);
    let mut answers = Vec::with_capacity(raw.len());
    for k in 1..raw.len() {
        let r = p
            .generate_stream("m", &[Message::user("q")], &Options::default())
            .await
            .unwrap_or_else(|e| panic!("split at {k}: the stream starts: {e}"))
            .collect_response()
            .await
            .unwrap_or_else(|e| panic!("split at {k}: {e}"));
        answers.push((k, r));
    }
    let bytes = (0..raw.len()).map(|i| raw.slice(i..i + 1));
    (answers, decode_pieces(StreamDecoder::default(), bytes))
}

/// The thinking stream split at every byte position: the same answer every time.
#[tokio::test]
async fn stream_split_at_every_byte_position_decodes_identically() {
    let (answers, items) = every_split("anthropic_messages_thinking_stream").await;
    for (k, r) in answers {
        assert_eq!(r.text(), "27 * 453 = 12,231.", "split at {k}");
        assert_eq!(r.finish_reason(), Some(&FinishReason::Stop), "split at {k}");
        assert_eq!(r.meta.usage.unwrap().output_tokens, 61, "split at {k}");
        assert!(
            matches!(&r.candidates[0].message.parts[0], Part::Reasoning { signature: Some(s), .. } if s == SIGNATURE),
            "split at {k}"
        );
    }
    assert!(items.iter().all(Result::is_ok));
    let text: String = items.iter().map(|i| i.as_ref().unwrap().text()).collect();
    assert_eq!(text, "27 * 453 = 12,231.");
}

#[tokio::test]
async fn unauthorized_is_an_auth_error_and_not_retried() {
    let server = serve("anthropic_messages_unauthorized").await;
    let e = provider(&server)
        .generate(
            "claude-sonnet-4-5",
            &[Message::user("Hello")],
            &Options::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("invalid x-api-key"), "{e}");
    assert!(
        !e.to_string().contains("sk-ant-test"),
        "no secret in the error"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn unknown_model_is_a_404_naming_it_and_not_retried() {
    let server = serve("anthropic_messages_model_not_found").await;
    let e = provider(&server)
        .generate(
            "claude-nope",
            &[Message::user("Hello")],
            &Options::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.kind.as_deref(), Some("not_found_error"));
    assert!(e.to_string().contains("claude-nope"), "{e}");
    assert!(!e.is_retryable());
    assert_eq!(server.requests().len(), 1);
}

fn error_reply(status: u16, kind: &str) -> Reply {
    Reply::json(
        status,
        &json!({"type": "error", "error": {"type": kind, "message": "slow down"}}),
    )
}

#[tokio::test]
async fn rate_limited_and_overloaded_are_retried_after_retry_after() {
    for (status, kind) in [(429, "rate_limit_error"), (529, "overloaded_error")] {
        let server = TestServer::builder()
            .route(
                "POST",
                MESSAGES,
                error_reply(status, kind).header("Retry-After", "1"),
            )
            .transcript(transcript("anthropic_messages_nonstream"))
            .start()
            .await;
        let started = Instant::now();
        let r = provider(&server)
            .generate("qwen3-coder", &[Message::user("hi")], &Options::default())
            .await
            .unwrap_or_else(|e| panic!("HTTP {status}: {e}"));
        let took = started.elapsed();
        assert!(r.text().starts_with("Hello!"));
        assert_eq!(server.requests().len(), 2, "HTTP {status} retried once");
        assert!(
            took >= Duration::from_millis(1000) && took < Duration::from_millis(1800),
            "HTTP {status}: waited {took:?} for Retry-After: 1"
        );
    }
}

#[tokio::test]
async fn client_errors_are_final() {
    for (status, kind) in [
        (400, "invalid_request_error"),
        (403, "permission_error"),
        (413, "request_too_large"),
    ] {
        let server = TestServer::builder()
            .route("POST", MESSAGES, error_reply(status, kind))
            .transcript(transcript("anthropic_messages_nonstream"))
            .start()
            .await;
        let e = provider(&server)
            .generate("m", &[Message::user("hi")], &Options::default())
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(status));
        assert!(!e.is_retryable(), "HTTP {status}");
        assert_eq!(server.requests().len(), 1, "HTTP {status} not retried");
    }
}

/// `ping` keeps the connection alive but is no progress (the idle limit keeps counting);
/// a text delta is.
#[test]
fn ping_is_no_progress_and_a_delta_is() {
    use llmport::codec::Decoder;
    let mut d = StreamDecoder::default();
    d.feed(Bytes::from_static(
        b"event: ping\ndata: {\"type\":\"ping\"}\n\n",
    ));
    assert!(d.next_item().is_none());
    assert!(!d.take_progress());
    d.feed(Bytes::from_static(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\
          \"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
    ));
    assert_eq!(d.next_item().unwrap().unwrap().text(), "x");
    assert!(d.take_progress());
    assert!(!d.is_done());
}

#[tokio::test]
async fn prompt_caching_marks_tools_system_and_the_last_message() {
    let server = serve("anthropic_messages_stop_sequence_cache_usage").await;
    let opts = Options::builder()
        .system("Long instructions.")
        .tool(weather_tool())
        .temperature(0.05)
        .extension(AnthropicOptions::builder().cache_prompt(true).build())
        .build();
    let history = [
        Message::user("a"),
        Message::assistant("b"),
        Message::user("c"),
    ];
    let r = provider(&server)
        .generate("claude-sonnet-4-5", &history, &opts)
        .await
        .unwrap();
    assert_eq!(r.meta.usage.unwrap().cached_input_tokens, Some(1024));
    let body = server.last_request().unwrap();
    let text = String::from_utf8_lossy(&body.body).into_owned();
    assert!(
        text.contains("\"temperature\":0.05,"),
        "no f32 noise: {text}"
    );
    let sent = sent(&server);
    let ephemeral = json!({"type": "ephemeral"});
    assert_eq!(
        sent["system"],
        json!([{"type": "text", "text": "Long instructions.", "cache_control": ephemeral}])
    );
    assert_eq!(sent["tools"][0]["cache_control"], ephemeral);
    assert_eq!(
        sent["messages"][2]["content"],
        json!([{"type": "text", "text": "c", "cache_control": ephemeral}])
    );
    assert!(
        sent["messages"][0]["content"][0]
            .get("cache_control")
            .is_none()
    );
    // Off by default.
    provider(&server)
        .generate("claude-sonnet-4-5", &history, &Options::default())
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&server.last_request().unwrap().body).contains("cache_control")
    );
}

#[tokio::test]
async fn the_api_key_never_shows_in_debug_and_the_version_header_can_be_replaced() {
    let server = serve("anthropic_messages_nonstream").await;
    let p = AnthropicProvider::builder()
        .base_url(server.url())
        .api_key("sk-ant-secret-123")
        .header("anthropic-version", "2024-01-01")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .build()
        .unwrap();
    assert!(!format!("{p:?}").contains("sk-ant-secret-123"));
    p.generate("m", &[Message::user("x")], &Options::default())
        .await
        .unwrap();
    let req = server.last_request().unwrap();
    assert_eq!(req.header("anthropic-version"), Some("2024-01-01"));
    assert_eq!(
        req.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(req.header("x-api-key"), Some("sk-ant-secret-123"));
}

/// A stream request answered with one JSON document: an error envelope is the server's
/// error, a whole `message` is a one-chunk stream.
#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_an_error_or_a_whole_message() {
    let envelope = json!({"type": "error", "error": {"type": "invalid_request_error",
        "message": "max_tokens is required and must be positive"}});
    let whole = fixture_json("anthropic_messages_nonstream")["response"]["body"].clone();
    let server = TestServer::builder()
        .route("POST", MESSAGES, Reply::json(200, &envelope))
        .route("POST", MESSAGES, Reply::json(200, &whole))
        .start()
        .await;
    let p = provider(&server);
    let e = p
        .generate_stream("m", &[Message::user("x")], &Options::default())
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.kind.as_deref(), Some("invalid_request_error"));
    assert!(e.to_string().contains("max_tokens is required"), "{e}");
    let r = p
        .generate_stream("m", &[Message::user("x")], &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert!(r.text().starts_with("Hello! I'm doing well"));
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
}
