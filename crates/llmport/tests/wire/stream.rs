//! Streaming chat over SSE against the in-process wire server: replays, both Ollama stream
//! layouts, every split position, and failures in the middle of a stream.

use llmport_test_support as support;

use bytes::Bytes;
use futures::StreamExt;
use llmport::testing::{Reply, TestServer};
use llmport::{Error, FinishReason, GenResponse, Message, Options, Provider, Result};
use support::*;

async fn collect_items(
    p: &impl Provider,
    model: &str,
    prompt: &str,
) -> (Vec<Result<GenResponse>>, Option<Error>) {
    let mut s = p
        .generate_stream(model, &[Message::user(prompt)], &Options::default())
        .await
        .expect("stream starts");
    let mut items = Vec::new();
    let mut err = None;
    while let Some(item) = s.next().await {
        match item {
            Ok(r) => items.push(Ok(r)),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    (items, err)
}

#[tokio::test]
async fn replays_the_stream_with_usage_transcript() {
    let fx = fixture_json("openai_chat_stream_with_usage");
    let server = TestServer::start([transcript("openai_chat_stream_with_usage")]).await;
    let p = ollama(&server.url());
    let (items, err) = collect_items(&p, "llama3.2", "Why is the sky blue? One sentence.").await;
    assert!(err.is_none(), "{err:?}");
    // One item per content delta, as they arrived, then the finish and the final meta chunk.
    let texts: Vec<String> = items
        .iter()
        .map(|i| i.as_ref().unwrap().text())
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(texts, ["Rayleigh", " scattering", " favors blue light."]);
    let mut acc = llmport::Accumulator::new();
    for i in &items {
        acc.push(i.as_ref().unwrap());
    }
    let r = acc.finish();
    assert_eq!(r.text(), transcript_stream_text(&fx));
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let u = r.meta.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (33, 6, 39)
    );
    assert_eq!(r.meta.id.as_deref(), Some("chatcmpl-88"));
    assert_eq!(r.meta.model.as_deref(), Some("llama3.2"));
    let ttft = r.meta.time_to_first_token.unwrap();
    let total = r.meta.total_time.unwrap();
    assert!(ttft <= total);

    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent, fx["request"]["body"]);
}

#[tokio::test]
async fn legacy_and_current_layouts_assemble_the_same_answer() {
    let server = TestServer::start([transcript("openai_chat_stream_with_usage")]).await;
    let legacy = TestServer::start([transcript("openai_chat_stream_legacy_layout")]).await;
    let prompt = "Why is the sky blue? One sentence.";
    let a = ollama(&server.url())
        .generate_stream("llama3.2", &[Message::user(prompt)], &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    let b = ollama(&legacy.url())
        .generate_stream("llama3.2", &[Message::user(prompt)], &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(a.candidates, b.candidates);
    assert_eq!(a.meta.usage, b.meta.usage);
    assert_eq!(b.text(), "Rayleigh scattering favors blue light.");
}

/// The body of a transcript, served as two HTTP chunks split at every byte position: the
/// answer must be the same every time.
#[tokio::test]
async fn stream_split_at_every_byte_position_decodes_identically() {
    let t = transcript("openai_chat_stream_with_usage");
    let template = t.reply();
    let raw: Vec<u8> = template
        .chunks
        .iter()
        .flat_map(|c| c.iter().copied())
        .collect();
    let mut builder = TestServer::builder();
    for k in 1..raw.len() {
        let mut r = template.clone();
        r.chunks = vec![
            Bytes::copy_from_slice(&raw[..k]),
            Bytes::copy_from_slice(&raw[k..]),
        ];
        builder = builder.route("POST", "/v1/chat/completions", r);
    }
    let server = builder.start().await;
    let p = ollama(&server.url());
    let expected = "Rayleigh scattering favors blue light.";
    for k in 1..raw.len() {
        let r = p
            .generate_stream("llama3.2", &[Message::user("q")], &Options::default())
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap_or_else(|e| panic!("split at {k}: {e}"));
        assert_eq!(r.text(), expected, "split at {k}");
        assert_eq!(r.meta.usage.unwrap().total_tokens, 39, "split at {k}");
        assert_eq!(r.finish_reason(), Some(&FinishReason::Stop), "split at {k}");
    }
}

#[tokio::test]
async fn tiny_writes_decode_identically() {
    for n in [1usize, 2, 3, 7, 64] {
        let server = TestServer::builder()
            .transcript(transcript("openai_chat_stream_with_usage"))
            .split_writes(n)
            .start()
            .await;
        let r = ollama(&server.url())
            .generate_stream("llama3.2", &[Message::user("q")], &Options::default())
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap();
        assert_eq!(
            r.text(),
            "Rayleigh scattering favors blue light.",
            "writes of {n}"
        );
        assert_eq!(r.meta.usage.unwrap().output_tokens, 6);
    }
}

#[tokio::test]
async fn ollama_midstream_failure_is_an_error_not_a_short_answer() {
    let server = TestServer::start([transcript("openai_chat_midstream_error")]).await;
    let p = ollama(&server.url());
    let (items, err) = collect_items(&p, "llama3.2", "Tell me a long story.").await;
    let text: String = items.iter().map(|i| i.as_ref().unwrap().text()).collect();
    assert_eq!(text, "Once upon a");
    let err = err.expect("the stream must end with an error");
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("no `data: [DONE]`"), "{msg}");
    assert!(msg.contains("did not describe"), "{msg}");
    assert!(!err.is_retryable());

    let server = TestServer::start([transcript("openai_chat_midstream_error")]).await;
    let e = ollama(&server.url())
        .generate_stream("llama3.2", &[Message::user("x")], &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Stream { .. }));
}

fn sse_server(events: &[&str]) -> impl std::future::Future<Output = TestServer> {
    TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::sse(events.iter().map(|s| s.to_string())),
        )
        .start()
}

const HELLO: &str = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}"#;
const STOP: &str = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;

#[tokio::test]
async fn stream_cut_without_done_is_an_error_even_after_a_finish_reason() {
    let server = sse_server(&[HELLO, STOP]).await;
    let e = openai(&server.v1_url())
        .generate_stream("m", &[Message::user("x")], &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
}

#[tokio::test]
async fn error_object_inside_the_stream_is_a_stream_error_with_its_message() {
    let server = sse_server(&[
        HELLO,
        r#"{"error":{"message":"the model crashed","type":"server_error"}}"#,
    ])
    .await;
    let (items, err) = collect_items(&openai(&server.v1_url()), "m", "x").await;
    assert_eq!(items.len(), 1);
    let err = err.unwrap();
    assert!(matches!(err, Error::Stream { .. }));
    assert!(err.to_string().contains("the model crashed"), "{err}");
}

#[tokio::test]
async fn malformed_chunk_is_a_decode_error() {
    let server = sse_server(&[HELLO, r#"{"choices": [{"delta": "#, "[DONE]"]).await;
    let (_, err) = collect_items(&openai(&server.v1_url()), "m", "x").await;
    let err = err.unwrap();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("stream chunk 2"), "{err}");
}

#[tokio::test]
async fn invalid_utf8_in_the_stream_is_a_decode_error() {
    let mut reply = Reply::sse([HELLO.to_string()]);
    reply
        .chunks
        .push(Bytes::from_static(b"data: {\"x\":\"\xff\xfe\"}\n\n"));
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", reply)
        .start()
        .await;
    let (_, err) = collect_items(&openai(&server.v1_url()), "m", "x").await;
    assert!(matches!(err, Some(Error::Decode { .. })), "{err:?}");
}

#[tokio::test]
async fn oversized_line_is_refused_with_limit_exceeded() {
    let big = format!(
        r#"{{"choices":[{{"index":0,"delta":{{"content":"{}"}}}}]}}"#,
        "x".repeat(64 * 1024)
    );
    let server = sse_server(&[HELLO, &big, "[DONE]"]).await;
    let p = llmport::OpenAiProvider::builder()
        .base_url(server.v1_url())
        .max_stream_line(16 * 1024)
        .build()
        .unwrap();
    let (items, err) = collect_items(&p, "m", "x").await;
    assert_eq!(items.len(), 1);
    assert!(
        matches!(err, Some(Error::LimitExceeded { limit: 16384, .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn reasoning_and_answer_arrive_apart() {
    let server = TestServer::start([transcript("openai_chat_reasoning_stream")]).await;
    let fx = fixture_json("openai_chat_reasoning_stream");
    let mut reasoning = String::new();
    for ev in fx["response"]["sse_events"].as_array().unwrap() {
        if let Some(r) = ev["data"]["choices"][0]["delta"]["reasoning"].as_str() {
            reasoning.push_str(r);
        }
    }
    let r = ollama(&server.url())
        .generate_stream(
            "qwen3:8b",
            &[Message::user("What is 17*3?")],
            &Options::default(),
        )
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert!(!reasoning.is_empty());
    assert_eq!(r.reasoning(), reasoning);
    assert_eq!(r.text(), transcript_stream_text(&fx));
    assert!(!r.text().contains(&reasoning));
}

#[tokio::test]
async fn whole_tool_calls_in_a_stream_are_assembled() {
    let server = TestServer::start([transcript("openai_chat_stream_tool_calls")]).await;
    let r = ollama(&server.url())
        .generate_stream(
            "llama3.2",
            &[Message::user("Weather in Tokyo and Paris?")],
            &Options::default(),
        )
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    let calls = r.tool_calls();
    let names: Vec<_> = calls
        .iter()
        .map(|c| (c.name.as_str(), c.arguments["city"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("get_weather", "Tokyo"), ("get_weather", "Paris")]);
    assert!(calls.iter().all(|c| c.id.starts_with("call_")));
}

#[tokio::test]
async fn dropping_a_stream_mid_way_cancels_it() {
    let reply = Reply::sse([HELLO, HELLO, HELLO])
        .chunk_delay(std::time::Duration::from_millis(50))
        .hang_after_body();
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", reply)
        .start()
        .await;
    let p = openai(&server.v1_url());
    let mut s = p
        .generate_stream("m", &[Message::user("x")], &Options::default())
        .await
        .unwrap();
    let first = s.next().await.unwrap().unwrap();
    assert_eq!(first.text(), "Hello");
    drop(s);
    // The provider (and its pool) still works afterwards.
    let server2 = TestServer::start([transcript("openai_chat_plain")]).await;
    let r = openai(&server2.v1_url())
        .generate("llama3.2", &[Message::user("q")], &Options::default())
        .await
        .unwrap();
    assert!(!r.text().is_empty());
}
