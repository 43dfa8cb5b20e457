//! Options Ollama's `/v1` API silently ignores are refused with `Error::Unsupported` naming
//! them (typed fields and `Options::extra` keys alike), or dropped with a warning in lenient
//! mode; the OpenAI provider sends them.

use llmport_test_support as support;

use std::sync::{Arc, Mutex};

use llmport::testing::TestServer;
use llmport::{Error, Message, OllamaProvider, Options, Provider, RetryConfig, ToolChoice};
use serde_json::{Value, json};
use support::*;

/// The keys listed under "Ignored (silently)" in ollama-wire.md §2.
const IGNORED: &[&str] = &[
    "n",
    "user",
    "logit_bias",
    "tool_choice",
    "parallel_tool_calls",
    "max_completion_tokens",
    "service_tier",
    "store",
    "metadata",
    "modalities",
    "audio",
    "prediction",
    "web_search_options",
    "options",
    "num_ctx",
    "keep_alive",
    "think",
    "format",
    "truncate",
];

/// A value none of the options treats as harmless.
fn meaningful() -> Value {
    json!(["something"])
}

fn lenient(root: &str) -> OllamaProvider {
    OllamaProvider::builder()
        .host(root)
        .retry(RetryConfig::none())
        .lenient(true)
        .build()
        .expect("provider builds")
}

#[tokio::test]
async fn every_ignored_key_in_extra_is_refused_by_name_before_sending() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = ollama(&server.url());
    for key in IGNORED {
        let o = Options::builder().extra(*key, meaningful()).build();
        for stream in [false, true] {
            let e = if stream {
                p.generate_stream("llama3.2", &[Message::user("q")], &o)
                    .await
                    .unwrap_err()
            } else {
                p.generate("llama3.2", &[Message::user("q")], &o)
                    .await
                    .unwrap_err()
            };
            let Error::Unsupported {
                provider, option, ..
            } = &e
            else {
                panic!("{key}: {e:?}")
            };
            assert_eq!(*provider, "ollama");
            assert_eq!(option, &format!("`{key}` (in Options::extra)"));
            assert!(e.to_string().contains("lenient(true)"), "{e}");
        }
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn typed_options_ollama_ignores_are_refused_and_harmless_values_pass() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = ollama(&server.url());
    let e = p
        .generate(
            "llama3.2",
            &[Message::user("q")],
            &Options::builder().candidate_count(3).build(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Options::candidate_count (`n`) is not supported by ollama: Ollama always returns \
         exactly one choice (`n` is not a field of its ChatCompletionRequest, \
         openai/openai.go); make one request per answer you need. (To drop such options with \
         a warning instead, build the provider with `.lenient(true)`.)"
    );
    assert!(server.requests().is_empty());

    // Values with which ignoring changes nothing, and the options Ollama honours.
    let o = Options::builder()
        .candidate_count(1)
        .tool_choice(ToolChoice::Auto)
        .extra("parallel_tool_calls", true)
        .extra("store", false)
        .extra("logprobs", true)
        .extra("top_logprobs", 2)
        .build();
    p.generate("llama3.2", &[Message::user("q")], &o)
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent["n"], 1);
    assert_eq!(sent["logprobs"], true);
    assert_eq!(sent["top_logprobs"], 2);
}

#[tokio::test]
async fn the_openai_provider_sends_them() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let mut b = Options::builder().candidate_count(2);
    for key in IGNORED.iter().filter(|k| **k != "n") {
        b = b.extra(*key, meaningful());
    }
    openai(&server.v1_url())
        .generate("m", &[Message::user("q")], &b.build())
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent["n"], 2);
    for key in IGNORED.iter().filter(|k| **k != "n") {
        assert_eq!(sent[*key], meaningful(), "{key}");
    }
}

/// Collects the messages of `tracing` events.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Text<'a>(&'a mut String);
        impl tracing::field::Visit for Text<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{}={:?} ", field.name(), value));
            }
        }
        let mut line = format!("{} ", event.metadata().level());
        event.record(&mut Text(&mut line));
        self.0.lock().expect("not poisoned").push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn lenient_mode_drops_them_with_a_warning() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let captured = Captured::default();
    // Other tests of this binary run on other threads without a subscriber: see
    // `share_interest` for why a rebuild of the interest cache is not enough.
    support::trace::share_interest();
    let _guard = tracing::subscriber::set_default(captured.clone());
    let mut b = Options::builder()
        .candidate_count(2)
        .tool_choice(ToolChoice::Required)
        .max_tokens(5)
        .extra("logprobs", true);
    for key in IGNORED
        .iter()
        .filter(|k| !matches!(**k, "n" | "tool_choice"))
    {
        b = b.extra(*key, meaningful());
    }
    lenient(&server.url())
        .generate("llama3.2", &[Message::user("q")], &b.build())
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent,
        json!({"model": "llama3.2", "messages": [{"role": "user", "content": "q"}],
               "max_tokens": 5, "logprobs": true})
    );
    let warnings: Vec<String> = captured
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("WARN"))
        .cloned()
        .collect();
    assert_eq!(warnings.len(), IGNORED.len(), "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Options::candidate_count (`n`)") && w.contains("dropped")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`max_completion_tokens` (in Options::extra)")),
        "{warnings:#?}"
    );
}

#[tokio::test]
async fn lenient_mode_still_refuses_images_ollama_cannot_take() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let msg = Message::user("?").add_file("https://example.com/a.png", "image/png");
    let e = lenient(&server.url())
        .generate("m", &[msg], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(server.requests().is_empty());
}
