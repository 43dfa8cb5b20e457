//! Stream-then-accumulate equals non-stream, for every pair of transcripts (the same answer
//! streamed and not), and the client-measured timings of both modes.

use llmport_test_support as support;

use std::time::Duration;

use llmport::testing::{Reply, TestServer};
use llmport::{GenResponse, Message, Options, Provider};
use serde_json::json;
use support::*;

/// (stream transcript, its non-streaming twin, target)
const PAIRS: &[(&str, &str, Target)] = &[
    (
        "openai_chat_stream_with_usage",
        "openai_chat_stream_with_usage_nonstream",
        Target::Ollama,
    ),
    (
        "openai_chat_stream_legacy_layout",
        "openai_chat_stream_with_usage_nonstream",
        Target::Ollama,
    ),
    (
        "openai_chat_stream_tool_calls",
        "openai_chat_stream_tool_calls_nonstream",
        Target::Ollama,
    ),
    (
        "openai_chat_stream_tool_calls_one_chunk",
        "openai_chat_tool_calls_one_chunk_nonstream",
        Target::Ollama,
    ),
    (
        "openai_chat_reasoning_stream",
        "openai_chat_reasoning_nonstream",
        Target::Ollama,
    ),
    (
        "openai_chat_stream_tool_args_fragmented",
        "openai_chat_tool_args_fragmented_nonstream",
        Target::OpenAi,
    ),
    (
        "openai_chat_stream_tool_calls_interleaved",
        "openai_chat_tool_calls_interleaved_nonstream",
        Target::OpenAi,
    ),
];

async fn generate_transcript(name: &str, target: Target) -> GenResponse {
    let fx = fixture_json(name);
    let server = TestServer::start([transcript(name)]).await;
    let (model, messages, options) = request_of(&fx);
    let r = provider(target, &server)
        .generate(&model, &messages, &options)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        server
            .last_request()
            .expect("a request")
            .json()
            .expect("JSON"),
        fx["request"]["body"],
        "{name}: request body"
    );
    r
}

#[tokio::test]
async fn stream_then_accumulate_equals_non_stream_for_every_transcript_pair() {
    for &(stream, nonstream, target) in PAIRS {
        let (_, streamed) = replay_stream(stream, target).await;
        let whole = generate_transcript(nonstream, target).await;
        let pair = format!("{stream} / {nonstream}");

        // Text, reasoning, tool calls (ids, names, arguments, order), finish reason.
        assert_eq!(streamed.candidates, whole.candidates, "{pair}");
        assert_eq!(streamed.meta.id, whole.meta.id, "{pair}");
        assert_eq!(streamed.meta.model, whole.meta.model, "{pair}");
        // Usage comes from the stream's usage chunk, when the server sent one.
        if stream_has_usage(&fixture_json(stream)) {
            assert_eq!(streamed.meta.usage, whole.meta.usage, "{pair}");
        } else {
            assert_eq!(streamed.meta.usage, None, "{pair}");
        }
        for r in [&streamed, &whole] {
            let ttft = r.meta.time_to_first_token.expect("time to first token");
            let total = r.meta.total_time.expect("total time");
            assert!(ttft <= total, "{pair}");
        }
        // Sanity: the pair is not trivially empty.
        let c = &whole.candidates[0];
        assert!(
            !c.message.parts.is_empty() && c.finish_reason.is_some(),
            "{pair}"
        );
    }
}

#[tokio::test]
async fn collect_response_is_the_accumulator() {
    for &(stream, _, target) in PAIRS {
        let (_, accumulated) = replay_stream(stream, target).await;
        let fx = fixture_json(stream);
        let server = TestServer::start([transcript(stream)]).await;
        let (model, messages, options) = request_of(&fx);
        let collected = provider(target, &server)
            .generate_stream(&model, &messages, &options)
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap();
        assert_eq!(collected.candidates, accumulated.candidates, "{stream}");
        assert_eq!(collected.meta.usage, accumulated.meta.usage, "{stream}");
    }
}

#[tokio::test]
async fn text_after_a_tool_call_joins_the_text_part_as_in_a_whole_answer() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::sse([
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"reasoning_content":"Think."}}]}"#,
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Calling."}}]}"#,
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}"#,
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":" Done."}}]}"#,
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"reasoning_content":" More."},"finish_reason":"tool_calls"}]}"#,
                "[DONE]",
            ]),
        )
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::json(
                200,
                &json!({"id":"c","model":"m","choices":[{"index":0,"message":{
                    "role":"assistant","content":"Calling. Done.","reasoning_content":"Think. More.",
                    "tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},
                    "finish_reason":"tool_calls"}]}),
            ),
        )
        .start()
        .await;
    let p = openai(&server.v1_url());
    let q = [Message::user("q")];
    let streamed = p
        .generate_stream("m", &q, &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    let whole = p.generate("m", &q, &Options::default()).await.unwrap();
    assert_eq!(streamed.candidates, whole.candidates);
    assert_eq!(whole.text(), "Calling. Done.");
    assert_eq!(whole.reasoning(), "Think. More.");
}

/// Time to first token is measured when the first generated content arrives (not the
/// headers, not the role-only first chunk); total time when the stream ends.
#[tokio::test]
async fn stream_timings_are_measured_by_the_client() {
    const DELAY: Duration = Duration::from_millis(120);
    let reply = Reply::sse([
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
        "[DONE]",
    ])
    .chunk_delay(DELAY);
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", reply)
        .start()
        .await;
    let r = openai(&server.v1_url())
        .generate_stream("m", &[Message::user("q")], &Options::default())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    let ttft = r.meta.time_to_first_token.unwrap();
    let total = r.meta.total_time.unwrap();
    // "Hi" is the second event: one delay after the first.
    assert!(ttft >= DELAY, "ttft {ttft:?}");
    // [DONE] is the fifth: four delays.
    assert!(total >= DELAY * 4, "total {total:?}");
    assert!(total >= ttft + DELAY * 3, "ttft {ttft:?}, total {total:?}");
    assert_eq!(r.meta.usage.unwrap().total_tokens, 2);
}

#[tokio::test]
async fn non_stream_timings_cover_the_whole_answer() {
    const DELAY: Duration = Duration::from_millis(150);
    let reply = transcript("openai_chat_plain")
        .reply()
        .delay_before_headers(DELAY);
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", reply)
        .start()
        .await;
    let r = ollama(&server.url())
        .generate("llama3.2", &[Message::user("q")], &Options::default())
        .await
        .unwrap();
    let total = r.meta.total_time.unwrap();
    assert!(total >= DELAY, "{total:?}");
    // Without streaming, the first token reaches the caller with the last.
    assert_eq!(r.meta.time_to_first_token, Some(total));
}
