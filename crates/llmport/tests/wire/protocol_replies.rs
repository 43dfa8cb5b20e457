//! `llmport::testing` speaks the three chat APIs: the whole answers `Reply::{chat_completion,
//! messages, responses}` (and their streams) read by the provider of each API give the same
//! answer streamed and not, and a transcript's typed `sse_events` are served with their
//! `event:` lines.

use llmport::testing::{Reply, TestServer, Transcript};
use llmport::{
    AnthropicProvider, FinishReason, GenResponse, Message, OpenAiProvider, Options, Provider,
    ResponsesProvider,
};
use serde_json::json;

async fn both(p: &dyn Provider) -> (GenResponse, GenResponse) {
    let q = [Message::user("Hi")];
    let whole = p
        .generate("m", &q, &Options::default())
        .await
        .expect("the whole answer");
    let streamed = p
        .generate_stream("m", &q, &Options::default())
        .await
        .expect("the stream starts")
        .collect_response()
        .await
        .expect("the streamed answer");
    (whole, streamed)
}

fn check(name: &str, (whole, streamed): (GenResponse, GenResponse)) {
    for r in [&whole, &streamed] {
        assert_eq!(r.text(), "Hello there", "{name}");
        assert_eq!(r.finish_reason(), Some(&FinishReason::Stop), "{name}");
        assert_eq!(r.meta.model.as_deref(), Some("m"), "{name}");
        assert!(r.meta.usage.is_some_and(|u| u.input_tokens == 1), "{name}");
    }
    assert_eq!(
        streamed.meta.usage.map(|u| u.output_tokens),
        Some(2),
        "{name}"
    );
}

#[tokio::test]
async fn each_api_s_canned_answer_reads_the_same_streamed_or_not() {
    let pieces = ["Hello", " there"];
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::chat_completion("m", "Hello there"),
        )
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::chat_completion_stream("m", pieces),
        )
        .route("POST", "/v1/messages", Reply::messages("m", "Hello there"))
        .route("POST", "/v1/messages", Reply::messages_stream("m", pieces))
        .route(
            "POST",
            "/v1/responses",
            Reply::responses("m", "Hello there"),
        )
        .route(
            "POST",
            "/v1/responses",
            Reply::responses_stream("m", pieces),
        )
        .start()
        .await;
    let chat = OpenAiProvider::new(server.v1_url()).unwrap();
    check("chat", both(&chat).await);
    let messages = AnthropicProvider::new(server.url()).unwrap();
    check("messages", both(&messages).await);
    let responses = ResponsesProvider::new(server.v1_url()).unwrap();
    check("responses", both(&responses).await);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/chat/completions",
            "/v1/chat/completions",
            "/v1/messages",
            "/v1/messages",
            "/v1/responses",
            "/v1/responses"
        ]
    );
}

#[test]
fn typed_sse_events_of_a_transcript_keep_their_event_lines() {
    let t = Transcript::from_value(json!({
        "case": "typed",
        "request": {"method": "POST", "path": "/v1/messages"},
        "response": {"status": 200, "headers": {"Content-Type": "text/event-stream"},
            "sse_events": [
                {"event": "message_stop", "data": {"type": "message_stop"}},
                {"data": "[DONE]"}
            ]}
    }))
    .unwrap();
    let reply = t.reply();
    assert_eq!(
        reply.chunks,
        [
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
            "data: [DONE]\n\n"
        ]
    );
    let typed = Reply::sse_events([("a", "1\n2")]);
    assert_eq!(typed.body_bytes(), "event: a\ndata: 1\ndata: 2\n\n");
}
