//! Reasoning ("thinking"): kept apart from the answer in both modes and both wire fields,
//! counted in the metadata, never sent back, and `reasoning_effort` never sent unless set.

use llmport_test_support as support;

use llmport::testing::TestServer;
use llmport::{Message, Options, Part, Provider, ReasoningEffort};
use support::*;

#[tokio::test]
async fn reasoning_effort_is_never_sent_by_default() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let providers: [Box<dyn Provider>; 2] = [
        Box::new(ollama(&server.url())),
        Box::new(openai(&server.v1_url())),
    ];
    for p in providers {
        p.generate("llama3.2", &[Message::user("q")], &Options::default())
            .await
            .unwrap();
        let sent = server.last_request().unwrap().json().unwrap();
        for key in ["reasoning_effort", "reasoning", "think"] {
            assert!(sent.get(key).is_none(), "{}: {sent}", p.name());
        }
    }
}

#[tokio::test]
async fn every_effort_goes_on_the_wire_by_name() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = ollama(&server.url());
    for (effort, wire) in [
        (ReasoningEffort::None, "none"),
        (ReasoningEffort::Low, "low"),
        (ReasoningEffort::Medium, "medium"),
        (ReasoningEffort::High, "high"),
        (ReasoningEffort::Max, "max"),
    ] {
        let o = Options::builder().reasoning_effort(effort).build();
        p.generate("qwen3:8b", &[Message::user("q")], &o)
            .await
            .unwrap();
        assert_eq!(
            server.last_request().unwrap().json().unwrap()["reasoning_effort"],
            wire
        );
    }
}

#[tokio::test]
async fn ollama_reasoning_is_a_separate_part_before_the_answer() {
    let server = TestServer::start([transcript("openai_chat_reasoning_nonstream")]).await;
    let r = ollama(&server.url())
        .generate(
            "qwen3:8b",
            &[Message::user("What is 17*3?")],
            &Options::builder()
                .reasoning_effort(ReasoningEffort::Low)
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(
        r.candidates[0].message.parts,
        [
            Part::Reasoning {
                text: "17 times 3 is 51. Answer briefly.".into(),
                signature: None,
            },
            Part::text("51.")
        ]
    );
    assert_eq!(r.text(), "51.");
    // Ollama counts reasoning tokens in the output tokens and does not break them out.
    assert_eq!(r.meta.reasoning_tokens(), None);
    assert_eq!(r.meta.output_tokens(), Some(11));
}

#[tokio::test]
async fn reasoning_content_and_its_token_count_in_both_modes() {
    let server = TestServer::start([
        transcript("openai_chat_tool_calls_interleaved_nonstream"),
        transcript("openai_chat_stream_tool_calls_interleaved"),
    ])
    .await;
    let p = openai(&server.v1_url());
    let fx = fixture_json("openai_chat_tool_calls_interleaved_nonstream");
    let (model, messages, options) = request_of(&fx);
    let whole = p.generate(&model, &messages, &options).await.unwrap();
    assert_eq!(whole.reasoning(), "Two tools, in parallel.");
    assert_eq!(whole.meta.reasoning_tokens(), Some(6));
    let streamed = p
        .generate_stream(&model, &messages, &options)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed.reasoning(), "Two tools, in parallel.");
    assert_eq!(streamed.meta.reasoning_tokens(), Some(6));
    assert!(!streamed.text().contains("Two tools"));
}

#[tokio::test]
async fn reasoning_is_not_sent_back_in_history() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let mut with_reasoning = Message::assistant("51.");
    with_reasoning.parts.insert(
        0,
        Part::Reasoning {
            text: "17 times 3".into(),
            signature: None,
        },
    );
    let history = [
        Message::user("What is 17*3?"),
        with_reasoning,
        Message::user("And 17*4?"),
    ];
    ollama(&server.url())
        .generate("qwen3:8b", &history, &Options::default())
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent["messages"][1],
        serde_json::json!({"role": "assistant", "content": "51."})
    );
}
