//! `ResponsesProvider` (OpenAI's Responses API, `POST {base}/responses`) against the
//! in-process wire server: requests as the API wants them, answers, typed event streams
//! (reasoning summaries, function-call argument fragments, `response.incomplete`,
//! `response.failed`, `error`, truncation, every split position), error answers and
//! retries. Transcripts: `openai_responses_{nonstream,stream}` are Ollama's (shared fixtures,
//! from its Go source and tests); `llamacpp_responses_*` were captured from the real
//! llama-server here; the other `openai_responses_*` are written from OpenAI's API reference
//! (each file's `source` and `notes` say where).

use llmport_test_support as support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use llmport::codec::decode_pieces;
use llmport::responses::{PromptCacheRetention, ReasoningSummary, ResponsesOptions, StreamDecoder};
use llmport::testing::{Reply, TestServer};
use llmport::{
    ApiError, Auth, Error, FinishReason, GenResponse, Message, Options, Part, Provider,
    ReasoningEffort, ResponseFormat, ResponsesProvider, Tool, ToolCall, ToolChoice,
};
use serde_json::json;
use support::{fast_retries, transcript};

const RESPONSES: &str = "/v1/responses";

fn provider(server: &TestServer) -> ResponsesProvider {
    ResponsesProvider::builder()
        .base_url(server.v1_url())
        .api_key("sk-test-responses")
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

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Get the current weather in a given location",
        json!({"type": "object", "properties": {"location": {"type": "string"}},
            "required": ["location"]}),
    )
}

async fn stream_items(
    p: &ResponsesProvider,
    messages: &[Message],
    options: &Options,
) -> (Vec<GenResponse>, Option<Error>) {
    let mut s = p
        .generate_stream("gpt-5-mini", messages, options)
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
async fn plain_answer_sends_instructions_input_and_store_false() {
    let server = serve("openai_responses_nonstream").await;
    let options = Options::builder()
        .system("Answer in one sentence.")
        .max_tokens(64)
        .build();
    let r = provider(&server)
        .generate(
            "llama3.2",
            &[Message::user("Why is the sky blue?")],
            &options,
        )
        .await
        .unwrap();
    assert!(r.text().starts_with("The sky looks blue"), "{}", r.text());
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let u = r.meta.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (38, 22, 60)
    );
    assert_eq!(u.cached_input_tokens, Some(0));
    assert_eq!(u.reasoning_tokens, Some(0));
    assert_eq!(r.meta.id.as_deref(), Some("resp_482913"));
    let req = server.last_request().unwrap();
    assert_eq!(req.path, RESPONSES);
    assert_eq!(
        req.header("authorization"),
        Some("Bearer sk-test-responses")
    );
    assert_eq!(
        sent(&server),
        json!({"model": "llama3.2", "instructions": "Answer in one sentence.",
            "input": [{"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "Why is the sky blue?"}]}],
            "store": false, "max_output_tokens": 64})
    );
}

#[tokio::test]
async fn every_auth_scheme_reaches_the_server() {
    let server = serve("openai_responses_nonstream").await;
    for (auth, header, value) in [
        (Auth::None, "authorization", None),
        (Auth::bearer("tok"), "authorization", Some("Bearer tok")),
        (Auth::api_key("api-key", "k1"), "api-key", Some("k1")),
        (Auth::basic("u", "p"), "authorization", Some("Basic dTpw")),
    ] {
        let p = ResponsesProvider::builder()
            .base_url(format!("{}/", server.v1_url()))
            .auth(auth)
            .build()
            .unwrap();
        p.generate("m", &[Message::user("hi")], &Options::default())
            .await
            .unwrap();
        let req = server.last_request().unwrap();
        assert_eq!(req.path, RESPONSES);
        assert_eq!(req.header(header), value);
    }
}

#[tokio::test]
async fn a_completed_answer_that_used_every_token_is_length() {
    // llama.cpp's server (and Ollama) say `completed` even when max_output_tokens cut it.
    let server = serve("llamacpp_responses_nonstream").await;
    let p = provider(&server);
    let r = p
        .generate(
            "tiny-random-llama",
            &[Message::user("Hello")],
            &Options::builder().max_tokens(5).build(),
        )
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(r.meta.usage.unwrap().cached_input_tokens, Some(16));
    let r = p
        .generate(
            "tiny-random-llama",
            &[Message::user("Hello")],
            &Options::builder().max_tokens(50).build(),
        )
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
}

#[tokio::test]
async fn ollama_stream_reasoning_summary_then_text() {
    let server = serve("openai_responses_stream").await;
    let p = provider(&server);
    let r = p
        .generate_stream(
            "gpt-oss:20b",
            &[Message::user("Write a haiku about the sea.")],
            &Options::builder()
                .reasoning_effort(ReasoningEffort::Low)
                .build(),
        )
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let Part::Reasoning { text, signature } = &r.candidates[0].message.parts[0] else {
        panic!("reasoning first: {:?}", r.candidates[0].message.parts)
    };
    assert!(!text.is_empty());
    assert!(
        signature.is_some(),
        "the item's id travels in the signature"
    );
    assert!(!r.text().is_empty());
    assert!(r.meta.usage.is_some());
    let body = sent(&server);
    assert_eq!(body["stream"], true);
    assert_eq!(body["reasoning"], json!({"effort": "low"}));
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
}

#[tokio::test]
async fn llama_cpp_stream_without_indexes_decodes() {
    let server = serve("llamacpp_responses_stream").await;
    let r = provider(&server)
        .generate_stream(
            "tiny-random-llama",
            &[Message::user("Hello")],
            &Options::builder().max_tokens(5).build(),
        )
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.text(), " postfix roku rue outfield plains");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    let u = r.meta.usage.unwrap();
    assert_eq!((u.output_tokens, u.cached_input_tokens), (5, Some(16)));
}

#[tokio::test]
async fn llama_cpp_tool_call_fragments_by_item_id() {
    let server = serve("llamacpp_responses_stream_tool_call").await;
    let options = Options::builder()
        .tools([weather_tool()])
        .tool_choice(ToolChoice::Required)
        .max_tokens(30)
        .build();
    let r = provider(&server)
        .generate_stream("tiny-random-llama", &[Message::user("weather?")], &options)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    let calls = r.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "get_weather");
    assert!(calls[0].id.starts_with("call_"), "{}", calls[0].id);
    // The random model's arguments are not JSON: kept raw, never dropped.
    assert!(calls[0].raw_arguments.is_some());
    let body = sent(&server);
    assert_eq!(body["tool_choice"], "required");
    for unset in ["prompt_cache_key", "prompt_cache_retention"] {
        assert!(body.get(unset).is_none(), "{unset} sent unasked: {body}");
    }
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "name": "get_weather",
            "description": "Get the current weather in a given location",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                "required": ["location"]}, "strict": false})
    );
}

fn reasoning_options() -> Options {
    Options::builder()
        .tools([weather_tool()])
        .reasoning_effort(ReasoningEffort::Low)
        .extension(
            ResponsesOptions::builder()
                .reasoning_summary(ReasoningSummary::Auto)
                .build(),
        )
        .build()
}

const SUMMARY: &str =
    "**Checking the weather**\n\nThe user wants Paris's weather: call get_weather.";

fn expected_call() -> ToolCall {
    ToolCall::new(
        "call_Wx9fZ1",
        "get_weather",
        json!({"location": "Paris, France"}),
    )
}

/// Streamed and not, the answer is the same: the reasoning summary with its item (id and
/// encrypted content) in the signature, then the call; usage with cached and reasoning
/// tokens. Sent back, the reasoning item goes before the call and its output.
#[tokio::test]
async fn reasoning_and_tool_call_streaming_equals_non_streaming_and_round_trips() {
    let server = TestServer::start([
        transcript("openai_responses_reasoning_tool_nonstream"),
        transcript("openai_responses_reasoning_tool_stream"),
    ])
    .await;
    let p = provider(&server);
    let question = [Message::user("What is the weather in Paris?")];
    let whole = p
        .generate("gpt-5-mini", &question, &reasoning_options())
        .await
        .unwrap();
    let first = sent(&server);
    let server = TestServer::start([transcript("openai_responses_reasoning_tool_stream")]).await;
    let p = provider(&server);
    let (items, err) = stream_items(&p, &question, &reasoning_options()).await;
    assert!(err.is_none(), "{err:?}");
    let mut acc = llmport::Accumulator::new();
    for item in &items {
        acc.push(item);
    }
    let streamed = acc.finish();
    for r in [&whole, &streamed] {
        assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
        assert_eq!(r.tool_calls(), vec![&expected_call()]);
        let u = r.meta.usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.total_tokens),
            (75, 150, 225)
        );
        assert_eq!(u.cached_input_tokens, Some(64));
        assert_eq!(u.reasoning_tokens, Some(128));
    }
    assert_eq!(
        whole.candidates[0].message.parts,
        streamed.candidates[0].message.parts
    );
    assert_eq!(
        first,
        json!({"model": "gpt-5-mini", "input": [{"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "What is the weather in Paris?"}]}],
            "store": false,
            "tools": [{"type": "function", "name": "get_weather",
                "description": "Get the current weather in a given location",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                    "required": ["location"]}, "strict": false}],
            "reasoning": {"effort": "low", "summary": "auto"},
            "include": ["reasoning.encrypted_content"]})
    );
    let Part::Reasoning { text, .. } = &whole.candidates[0].message.parts[0] else {
        panic!("{:?}", whole.candidates[0].message.parts)
    };
    assert_eq!(text, SUMMARY);

    // The next turn: the reasoning item, the call and its output go back.
    let server = serve("openai_responses_nonstream").await;
    let mut history = question.to_vec();
    history.push(whole.candidates[0].message.clone());
    history.push(Message::tool_result("call_Wx9fZ1", "18°C, sunny"));
    provider(&server)
        .generate("gpt-5-mini", &history, &reasoning_options())
        .await
        .unwrap();
    let input = &sent(&server)["input"];
    assert_eq!(
        input[1],
        json!({"type": "reasoning", "id": "rs_68b1c1",
            "summary": [{"type": "summary_text", "text": SUMMARY}],
            "encrypted_content": "gAAAAABoscEncRyPtEd=="})
    );
    assert_eq!(
        input[2],
        json!({"type": "function_call", "call_id": "call_Wx9fZ1", "name": "get_weather",
            "arguments": "{\"location\":\"Paris, France\"}"})
    );
    assert_eq!(
        input[3],
        json!({"type": "function_call_output", "call_id": "call_Wx9fZ1",
            "output": "18°C, sunny"})
    );
}

#[tokio::test]
async fn request_features_are_encoded() {
    let server = serve("openai_responses_nonstream").await;
    let p = provider(&server);
    let png = Bytes::from_static(b"\x89PNG\r\n\x1a\n0000");
    let history = [
        Message::system("Be terse."),
        Message {
            role: llmport::Role::User,
            parts: vec![
                Part::text("What is in these?"),
                Part::File {
                    uri: "https://example.com/cat.png".into(),
                    mime_type: "image/png".into(),
                },
                Part::Binary {
                    name: "dot.png".into(),
                    data: png,
                    mime_type: "image/png".into(),
                },
            ],
        },
        Message::assistant("A cat and a dot."),
        Message::user("Thanks."),
    ];
    let options = Options::builder()
        .temperature(0.5)
        .top_p(0.9)
        .max_tokens(100)
        .tool_choice(ToolChoice::Function("get_weather".into()))
        .tools([weather_tool()])
        .response_format(ResponseFormat::json_schema(
            "answer",
            json!({"type": "object", "properties": {"a": {"type": "string"}}}),
        ))
        .reasoning_effort(ReasoningEffort::Max)
        .extension(
            ResponsesOptions::builder()
                .store(true)
                .parallel_tool_calls(false)
                .prompt_cache_key("thread-42")
                .prompt_cache_retention(PromptCacheRetention::Day)
                .build(),
        )
        .build();
    p.generate("gpt-5", &history, &options).await.unwrap();
    let body = sent(&server);
    assert_eq!(body["instructions"], "Be terse.");
    assert_eq!(
        body["input"],
        json!([
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is in these?"},
                {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgowMDAw", "detail": "auto"}]},
            {"type": "message", "role": "assistant", "content": "A cat and a dot."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Thanks."}]}
        ])
    );
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.9);
    assert_eq!(body["max_output_tokens"], 100);
    assert_eq!(body["store"], true);
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(body["prompt_cache_key"], "thread-42");
    assert_eq!(body["prompt_cache_retention"], "24h");
    assert!(
        body.get("include").is_none(),
        "stored reasoning needs no encrypted copy"
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "name": "get_weather"})
    );
    assert_eq!(
        body["text"],
        json!({"format": {"type": "json_schema", "name": "answer", "strict": true,
            "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}})
    );
    assert_eq!(body["reasoning"], json!({"effort": "xhigh"}));
    for (choice, wire) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
    ] {
        p.generate(
            "m",
            &[Message::user("x")],
            &Options::builder()
                .tools([weather_tool()])
                .tool_choice(choice)
                .build(),
        )
        .await
        .unwrap();
        assert_eq!(sent(&server)["tool_choice"], wire);
    }
    p.generate(
        "m",
        &[Message::user("x")],
        &Options::builder()
            .response_format(ResponseFormat::Json)
            .build(),
    )
    .await
    .unwrap();
    assert_eq!(
        sent(&server)["text"],
        json!({"format": {"type": "json_object"}})
    );
}

#[tokio::test]
async fn options_the_api_lacks_are_refused_before_sending() {
    let server = serve("openai_responses_nonstream").await;
    let p = provider(&server);
    for (options, what) in [
        (Options::builder().stop("END").build(), "Options::stop"),
        (Options::builder().seed(1).build(), "Options::seed"),
        (
            Options::builder().presence_penalty(0.5).build(),
            "penalties",
        ),
        (
            Options::builder().candidate_count(2).build(),
            "candidate_count",
        ),
        (
            Options::builder()
                .extension(
                    llmport::anthropic::AnthropicOptions::builder()
                        .top_k(3)
                        .build(),
                )
                .build(),
            "AnthropicOptions",
        ),
    ] {
        let e = p
            .generate("m", &[Message::user("x")], &options)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert!(e.to_string().contains(what), "{what}: {e}");
    }
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn incomplete_at_max_output_tokens_is_length() {
    let server = serve("openai_responses_incomplete_stream").await;
    let (items, err) = stream_items(
        &provider(&server),
        &[Message::user("Tell me a long story.")],
        &Options::builder().max_tokens(16).build(),
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    let text: String = items.iter().map(GenResponse::text).collect();
    assert_eq!(text, "Once upon a time");
    let last = items.last().unwrap();
    assert_eq!(last.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(last.meta.usage.unwrap().reasoning_tokens, Some(12));
}

async fn midstream_error(name: &str) -> (String, Error) {
    let server = serve(name).await;
    let (items, err) = stream_items(
        &provider(&server),
        &[Message::user("Tell me a long story.")],
        &Options::default(),
    )
    .await;
    let text: String = items.iter().map(GenResponse::text).collect();
    (text, err.expect("the stream ends with an error"))
}

fn api_source(err: &Error) -> &ApiError {
    std::error::Error::source(err)
        .and_then(|s| s.downcast_ref::<ApiError>())
        .expect("the server's error as the source")
}

#[tokio::test]
async fn response_failed_is_a_typed_stream_error() {
    let (text, err) = midstream_error("openai_responses_failed_midstream").await;
    assert_eq!(text, "Once upon");
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    assert!(err.to_string().contains("server_error"), "{err}");
    let api = api_source(&err);
    assert_eq!(api.code.as_deref(), Some("server_error"));
    assert!(api.message.starts_with("The server had an error"));
    assert!(api.retryable);
}

#[tokio::test]
async fn an_error_event_is_a_typed_stream_error() {
    let (text, err) = midstream_error("openai_responses_error_event_midstream").await;
    assert_eq!(text, "Once upon");
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    let api = api_source(&err);
    assert_eq!(api.code.as_deref(), Some("rate_limit_exceeded"));
    assert!(api.message.starts_with("Rate limit reached"));
    assert!(api.retryable);
}

/// llama.cpp's server reports a failure during generation as a bare `data: {"error":…}`.
#[tokio::test]
async fn llama_cpp_bare_error_data_is_a_stream_error() {
    let server = TestServer::builder()
        .route(
            "POST",
            RESPONSES,
            Reply::sse([
                r#"{"type":"response.output_text.delta","item_id":"msg_1","delta":"Hi"}"#,
                r#"{"error":{"code":500,"message":"context shift is disabled","type":"server_error"}}"#,
            ]),
        )
        .start()
        .await;
    let (items, err) = stream_items(
        &provider(&server),
        &[Message::user("x")],
        &Options::default(),
    )
    .await;
    assert_eq!(items.len(), 1);
    let err = err.expect("an error");
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    let api = api_source(&err);
    assert_eq!(api.message, "context shift is disabled");
    assert_eq!(api.code.as_deref(), Some("500"));
    assert!(api.retryable);
}

#[tokio::test]
async fn a_stream_without_response_completed_is_an_error() {
    let t = transcript("openai_responses_stream");
    let raw = t.reply().body_bytes();
    let text = std::str::from_utf8(&raw).unwrap();
    let cut = text.find("event: response.completed").unwrap();
    let mut reply = t.reply();
    reply.chunks = vec![Bytes::copy_from_slice(&raw[..cut])];
    let server = TestServer::builder()
        .route("POST", RESPONSES, reply)
        .start()
        .await;
    let (items, err) = stream_items(
        &provider(&server),
        &[Message::user("x")],
        &Options::default(),
    )
    .await;
    assert!(!items.is_empty());
    let err = err.expect("a cut stream is an error, never a short answer");
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    assert!(err.to_string().contains("response.completed"), "{err}");
}

/// The stream transcript served as two HTTP chunks split at every byte position, and
/// decoded by the bare decoder one byte at a time: the same answer every time.
#[tokio::test]
async fn stream_split_at_every_byte_position_decodes_identically() {
    let t = transcript("openai_responses_reasoning_tool_stream");
    let raw = t.reply().body_bytes();
    let mut builder = TestServer::builder();
    for k in 1..raw.len() {
        let mut r = t.reply();
        r.chunks = vec![raw.slice(..k), raw.slice(k..)];
        builder = builder.route("POST", RESPONSES, r);
    }
    let server = builder.start().await;
    let p = provider(&server);
    for k in 1..raw.len() {
        let r = p
            .generate_stream("m", &[Message::user("q")], &Options::default())
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap_or_else(|e| panic!("split at {k}: {e}"));
        assert_eq!(r.tool_calls(), vec![&expected_call()], "split at {k}");
        assert_eq!(
            r.finish_reason(),
            Some(&FinishReason::ToolCalls),
            "split at {k}"
        );
        assert_eq!(
            r.meta.usage.unwrap().reasoning_tokens,
            Some(128),
            "split at {k}"
        );
        assert!(
            matches!(&r.candidates[0].message.parts[0], Part::Reasoning { text, signature: Some(_) } if text == SUMMARY),
            "split at {k}"
        );
    }
    let bytes = (0..raw.len()).map(|i| raw.slice(i..i + 1));
    let items = decode_pieces(StreamDecoder::default(), bytes);
    assert!(items.iter().all(Result::is_ok));
    let calls: usize = items
        .iter()
        .map(|i| i.as_ref().unwrap().tool_calls().len())
        .sum();
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn unauthorized_is_an_auth_error_and_not_retried() {
    let server = serve("openai_responses_unauthorized").await;
    let e = provider(&server)
        .generate("gpt-5-mini", &[Message::user("Hi")], &Options::default())
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
    assert!(e.to_string().contains("Incorrect API key"), "{e}");
    assert!(!e.to_string().contains("sk-test-responses"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn unknown_model_is_a_404_naming_it_and_not_retried() {
    let server = serve("openai_responses_model_not_found").await;
    let e = provider(&server)
        .generate("gpt-nope", &[Message::user("Hi")], &Options::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.code.as_deref(), Some("model_not_found"));
    assert!(api.hint.as_deref().is_some_and(|h| h.contains("gpt-nope")));
    assert!(!e.is_retryable());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn llama_cpp_bad_request_keeps_its_numeric_code() {
    let server = serve("llamacpp_responses_bad_input").await;
    let e = provider(&server)
        .generate("m", &[Message::user("Hi")], &Options::default())
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!((api.status, api.code.as_deref()), (400, Some("400")));
    assert_eq!(api.message, "'input' must be a string or array of objects");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn rate_limited_is_retried_after_retry_after() {
    let server = TestServer::builder()
        .route(
            "POST",
            RESPONSES,
            Reply::json(
                429,
                &json!({"error": {"message": "Rate limit reached", "type": "requests",
                    "param": null, "code": "rate_limit_exceeded"}}),
            )
            .header("Retry-After", "1"),
        )
        .transcript(transcript("openai_responses_nonstream"))
        .start()
        .await;
    let started = Instant::now();
    let r = provider(&server)
        .generate("llama3.2", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(r.text().starts_with("The sky"));
    assert_eq!(server.requests().len(), 2);
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(1800),
        "waited {took:?} for Retry-After: 1"
    );
}

#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_an_error_or_a_whole_response() {
    let whole = transcript("openai_responses_nonstream").raw()["response"]["body"].clone();
    let server = TestServer::builder()
        .route(
            "POST",
            RESPONSES,
            Reply::json(
                200,
                &json!({"error": {"message": "boom", "type": "server_error"}}),
            ),
        )
        .route("POST", RESPONSES, Reply::json(200, &whole))
        .start()
        .await;
    let p = provider(&server);
    let err = p
        .generate_stream("m", &[Message::user("x")], &Options::default())
        .await
        .expect_err("an error document is an error");
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert!(err.to_string().contains("boom"), "{err}");
    let (items, err) = stream_items(&p, &[Message::user("x")], &Options::default()).await;
    assert!(err.is_none(), "{err:?}");
    assert!(items[0].text().starts_with("The sky"));
}

/// The `gen_ai.chat` span names the protocol's owner in `gen_ai.provider.name`: `openai`
/// for the Responses API, `anthropic` for the Messages API.
#[tokio::test]
async fn spans_name_the_provider_per_protocol() {
    let responses = serve("openai_responses_nonstream").await;
    let messages = serve("anthropic_messages_nonstream").await;
    let (captured, guard) = support::trace::capture();
    provider(&responses)
        .generate("llama3.2", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    llmport::AnthropicProvider::new(messages.url())
        .unwrap()
        .generate("qwen3-coder", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    drop(guard);
    let text = captured.text();
    for expected in [
        "gen_ai.provider.name=\"openai\" gen_ai.operation.name=\"chat\" gen_ai.request.model=\"llama3.2\"",
        "gen_ai.provider.name=\"anthropic\" gen_ai.operation.name=\"chat\" gen_ai.request.model=\"qwen3-coder\"",
        "gen_ai.usage.input_tokens=38",
    ] {
        assert!(text.contains(expected), "{expected} not in:\n{text}");
    }
    assert!(!text.contains("gen_ai.system"), "{text}");
}

/// llama.cpp's reasoning: `response.reasoning_text.delta`s, then the item (`content` with
/// the text, `encrypted_content` empty) — sent back in the next turn as it came, with its
/// text in `content`, which llama.cpp's server requires.
#[tokio::test]
async fn reasoning_text_streams_and_goes_back_in_content() {
    let events = [
        (
            "response.created",
            r#"{"type":"response.created","response":{"id":"resp_1","object":"response","status":"in_progress"}}"#,
        ),
        (
            "response.output_item.added",
            r#"{"type":"response.output_item.added","item":{"id":"rs_x","summary":[],"type":"reasoning","content":[],"encrypted_content":"","status":"in_progress"}}"#,
        ),
        (
            "response.reasoning_text.delta",
            r#"{"type":"response.reasoning_text.delta","delta":"Think","item_id":"rs_x"}"#,
        ),
        (
            "response.reasoning_text.delta",
            r#"{"type":"response.reasoning_text.delta","delta":"ing.","item_id":"rs_x"}"#,
        ),
        (
            "response.output_item.added",
            r#"{"type":"response.output_item.added","item":{"content":[],"id":"msg_x","role":"assistant","status":"in_progress","type":"message"}}"#,
        ),
        (
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","item_id":"msg_x","delta":"Hi"}"#,
        ),
        (
            "response.output_item.done",
            r#"{"type":"response.output_item.done","item":{"id":"rs_x","summary":[],"type":"reasoning","content":[{"text":"Thinking.","type":"reasoning_text"}],"encrypted_content":""}}"#,
        ),
        (
            "response.output_item.done",
            r#"{"type":"response.output_item.done","item":{"type":"message","status":"completed","id":"msg_x","content":[{"type":"output_text","text":"Hi"}],"role":"assistant"}}"#,
        ),
        (
            "response.completed",
            r#"{"type":"response.completed","response":{"id":"resp_1","object":"response","status":"completed","output":[],"usage":{"input_tokens":5,"output_tokens":4,"total_tokens":9}}}"#,
        ),
    ];
    let server = TestServer::builder()
        .route("POST", RESPONSES, Reply::sse_events(events))
        .route("POST", RESPONSES, Reply::responses("m", "ok"))
        .start()
        .await;
    let p = provider(&server);
    let r = p
        .generate_stream("m", &[Message::user("q")], &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.text(), "Hi");
    assert_eq!(r.reasoning(), "Thinking.");
    let mut history = vec![Message::user("q"), r.candidates[0].message.clone()];
    history.push(Message::user("and?"));
    p.generate("m", &history, &Options::default())
        .await
        .unwrap();
    let input = &sent(&server)["input"];
    assert_eq!(
        input[1],
        json!({"type": "reasoning", "id": "rs_x", "summary": [],
            "content": [{"type": "reasoning_text", "text": "Thinking."}]})
    );
    assert_eq!(
        input[2],
        json!({"type": "message", "role": "assistant", "content": "Hi"})
    );
}

/// Lifecycle events are no progress (the idle limit keeps counting); a delta is.
#[test]
fn lifecycle_events_are_no_progress_and_a_delta_is() {
    use llmport::codec::Decoder;
    let mut d = StreamDecoder::default();
    d.feed(Bytes::from_static(
        b"event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n\
          event: response.in_progress\ndata: {\"type\":\"response.in_progress\"}\n\n",
    ));
    assert!(d.next_item().is_none());
    assert!(!d.take_progress());
    d.feed(Bytes::from_static(
        b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\n\n",
    ));
    assert_eq!(d.next_item().unwrap().unwrap().text(), "x");
    assert!(d.take_progress());
}

#[tokio::test]
async fn tool_arguments_past_the_limit_fail_the_stream() {
    let server = serve("openai_responses_reasoning_tool_stream").await;
    let p = ResponsesProvider::builder()
        .base_url(server.v1_url())
        .max_tool_arguments(16)
        .build()
        .unwrap();
    let (_, err) = stream_items(&p, &[Message::user("q")], &Options::default()).await;
    let err = err.expect("the limit ends the stream");
    assert!(
        matches!(err, Error::LimitExceeded { limit: 16, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_stream_cut_mid_event_says_so() {
    let t = transcript("llamacpp_responses_stream");
    let raw = t.reply().body_bytes();
    let text = std::str::from_utf8(&raw).unwrap();
    let cut = text.find("event: response.completed").unwrap() + 30;
    let server = TestServer::builder()
        .route(
            "POST",
            RESPONSES,
            Reply::text(200, "text/event-stream", raw.slice(..cut)),
        )
        .start()
        .await;
    let (_, err) = stream_items(
        &provider(&server),
        &[Message::user("x")],
        &Options::default(),
    )
    .await;
    let err = err.expect("an error");
    assert!(err.to_string().contains("cut off"), "{err}");
}

/// Bytes after the end of the answer in the same frame (found by the fuzz targets: invalid
/// UTF-8 there) are ignored, as they are in a later frame: the answer is whole, with no error
/// after it. The Messages decoder had the same flaw.
#[test]
fn bytes_after_the_end_in_the_same_frame_are_ignored() {
    let body = Bytes::from_static(
        b"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\"}}\n\n\xff\xfe\n\n",
    );
    let items = decode_pieces(StreamDecoder::default(), [body]);
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].is_ok());
    let body = Bytes::from_static(
        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n\xff\xfe\n\n",
    );
    let items = decode_pieces(llmport::anthropic::StreamDecoder::default(), [body]);
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].is_ok());
}
