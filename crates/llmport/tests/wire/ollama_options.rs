//! Ollama's native options on the wire: every `OllamaOptions` setting of `api.Options`
//! (`num_keep`, `typical_p`, `repeat_last_n`, `num_batch`, `num_gpu`, `main_gpu`,
//! `use_mmap`, `num_thread`, `draft_num_predict`) inside `options`, `truncate` and `shift` at
//! the top level, each only when set (their ranges are checked with the others in
//! `ollama_native::out_of_range_ollama_options_are_refused_before_sending`); and the 400s for
//! input that does not fit the context as `Error::ContextLength`.
//! Transcripts: `native_chat_shift_false_too_long.json` (written for llmport from
//! `llm/llama_server.go`), `native_embed_truncate_false_too_long.json`.

use llmport_test_support as support;

use llmport::ollama::OllamaOptions;
use llmport::testing::TestServer;
use llmport::{EmbedOptions, Error, Message, Options, Provider, RetryConfig};
use serde_json::{Value, json};
use support::*;

fn with(o: OllamaOptions) -> Options {
    Options::builder().extension(o).build()
}

/// The body of a native chat sent with `o`.
async fn sent(o: OllamaOptions) -> Value {
    let server = TestServer::start([transcript("native_chat_format_schema_nonstream")]).await;
    ollama(&server.url())
        .generate("llama3.1", &[Message::user("hi")], &with(o))
        .await
        .expect("the chat");
    server
        .last_request()
        .expect("a request")
        .json()
        .expect("a JSON body")
}

#[tokio::test]
async fn every_new_option_is_sent_where_ollama_reads_it() {
    let body = sent(
        OllamaOptions::builder()
            .num_keep(-1)
            .typical_p(0.5)
            .repeat_last_n(64)
            .num_batch(256)
            .num_gpu(0)
            .main_gpu(1)
            .use_mmap(false)
            .num_thread(8)
            .draft_num_predict(4)
            .truncate(false)
            .shift(false)
            .build(),
    )
    .await;
    assert_eq!(
        body["options"],
        json!({
            "num_keep": -1, "typical_p": 0.5, "repeat_last_n": 64, "num_batch": 256,
            "num_gpu": 0, "main_gpu": 1, "use_mmap": false, "num_thread": 8,
            "draft_num_predict": 4
        })
    );
    assert_eq!(body["truncate"], false);
    assert_eq!(body["shift"], false);
}

#[tokio::test]
async fn each_option_alone_sends_only_its_key() {
    let cases: Vec<(OllamaOptions, &str, Value)> = vec![
        (
            OllamaOptions::builder().num_keep(5).build(),
            "num_keep",
            json!(5),
        ),
        (
            OllamaOptions::builder().typical_p(1.0).build(),
            "typical_p",
            json!(1.0),
        ),
        (
            OllamaOptions::builder().repeat_last_n(0).build(),
            "repeat_last_n",
            json!(0),
        ),
        (
            OllamaOptions::builder().num_batch(1).build(),
            "num_batch",
            json!(1),
        ),
        (
            OllamaOptions::builder().num_gpu(-1).build(),
            "num_gpu",
            json!(-1),
        ),
        (
            OllamaOptions::builder().main_gpu(0).build(),
            "main_gpu",
            json!(0),
        ),
        (
            OllamaOptions::builder().use_mmap(true).build(),
            "use_mmap",
            json!(true),
        ),
        (
            OllamaOptions::builder().num_thread(0).build(),
            "num_thread",
            json!(0),
        ),
        (
            OllamaOptions::builder().draft_num_predict(2).build(),
            "draft_num_predict",
            json!(2),
        ),
    ];
    for (o, key, value) in cases {
        let body = sent(o).await;
        assert_eq!(body["options"], json!({ key: value }), "{key}");
        assert!(
            body.get("truncate").is_none() && body.get("shift").is_none(),
            "{key}"
        );
    }
    // The two top-level ones, alone: no `options` object at all.
    let body = sent(OllamaOptions::builder().truncate(true).build()).await;
    assert_eq!(body["truncate"], true);
    assert!(
        body.get("shift").is_none() && body.get("options").is_none(),
        "{body}"
    );
    let body = sent(OllamaOptions::builder().shift(true).build()).await;
    assert_eq!(body["shift"], true);
    assert!(
        body.get("truncate").is_none() && body.get("options").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn unset_options_are_absent_from_the_wire() {
    let body = sent(OllamaOptions::builder().num_ctx(2048).build()).await;
    assert_eq!(body["options"], json!({"num_ctx": 2048}));
    let top: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for absent in ["truncate", "shift"] {
        assert!(!top.contains(&absent), "{absent} in {top:?}");
    }
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_with_shift_off_is_context_length() {
    let server = TestServer::start([transcript("native_chat_shift_false_too_long")]).await;
    let p = llmport::OllamaProvider::builder()
        .host(server.url())
        .retry(fast_retries(3))
        .build()
        .unwrap();
    let e = p
        .generate(
            "llama3.2",
            &[Message::user("a long prompt")],
            &with(
                OllamaOptions::builder()
                    .num_ctx(64)
                    .shift(false)
                    .truncate(false)
                    .build(),
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ContextLength(_)), "{e:?}");
    assert_eq!(e.status(), Some(400));
    assert!(!e.is_retryable());
    let text = e.to_string();
    assert!(text.contains("longer than the context length"), "{text}");
    assert!(text.contains("num_ctx"), "the hint: {text}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_embedding_input_too_long_with_truncate_off_is_context_length() {
    let server = TestServer::start([transcript("native_embed_truncate_false_too_long")]).await;
    let p = llmport::OllamaProvider::builder()
        .host(server.url())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let e = p
        .embed(
            "nomic-embed-text",
            &["The history of the printing press"],
            &EmbedOptions::builder().truncate(false).build(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ContextLength(_)), "{e:?}");
    assert!(e.to_string().contains("EmbedOptions::truncate"), "{e}");
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["truncate"],
        false
    );
}
