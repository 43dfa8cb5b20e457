//! The live tier: a conformance suite against a real OpenAI-compatible inference server.
//!
//! Runs when `LLMPORT_LIVE_BASE_URL` (e.g. `http://127.0.0.1:18080/v1`) is set, with
//! `LLMPORT_LIVE_MODEL` (default `tiny-random-llama`) and, when the server requires it,
//! `LLMPORT_LIVE_API_KEY`. Otherwise the tests pass without doing anything, after one
//! `SKIPPED …` line on stderr that `cargo test` shows.
//! `.ci/run` starts llama.cpp's `llama-server` with a tiny random model and sets them.
//!
//! The model's text is nonsense: the tests assert structure, counts, finish reasons and
//! determinism, never content.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::time::Duration;

use futures::StreamExt;
use llmport::{
    Auth, Error, FinishReason, GenResponse, Message, OllamaProvider, OpenAiProvider, Options,
    Provider, ResponseFormat, RetryConfig, Tool,
};
use serde_json::json;

/// `<|im_end|>` in the model's Qwen2 vocabulary: biasing it away forces the full length.
const END_OF_TURN: &str = "151645";

/// The live tests run one at a time: llama-server packs the sequences of concurrent requests
/// into shared batches, and its embeddings then depend on what else was in the batch (see
/// docs/interop.md). `eight_concurrent_streams` makes its own concurrency.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Live {
    /// Held for the whole test.
    _serial: tokio::sync::MutexGuard<'static, ()>,
    base_url: String,
    model: String,
    api_key: Option<String>,
}

/// Says that `what` is skipped and why, on the process's stderr: `eprintln!` would be
/// captured by the test harness, and a skipped test must not pass unnoticed.
fn skip(what: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}: {why}");
}

async fn live() -> Option<Live> {
    let base_url = match std::env::var("LLMPORT_LIVE_BASE_URL") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                skip(
                    "the live tier (every test of tests/live.rs)",
                    "LLMPORT_LIVE_BASE_URL is not set; it needs a real server (see the README)",
                );
            });
            return None;
        }
    };
    Some(Live {
        _serial: SERIAL.lock().await,
        base_url,
        model: std::env::var("LLMPORT_LIVE_MODEL").unwrap_or_else(|_| "tiny-random-llama".into()),
        api_key: std::env::var("LLMPORT_LIVE_API_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
    })
}

impl Live {
    fn auth(&self) -> Auth {
        match &self.api_key {
            Some(k) => Auth::bearer(k.clone()),
            None => Auth::None,
        }
    }

    fn openai(&self) -> OpenAiProvider {
        OpenAiProvider::builder()
            .base_url(&self.base_url)
            .auth(self.auth())
            .retry(RetryConfig::none())
            .build()
            .expect("provider")
    }

    /// The same server's Responses API (`{base}/responses`).
    fn responses(&self) -> llmport::ResponsesProvider {
        llmport::ResponsesProvider::builder()
            .base_url(&self.base_url)
            .auth(self.auth())
            .retry(RetryConfig::none())
            .build()
            .expect("provider")
    }

    /// The same server's Messages API (`/v1/messages`; the provider drops the `/v1`).
    fn messages(&self) -> llmport::AnthropicProvider {
        llmport::AnthropicProvider::builder()
            .base_url(&self.base_url)
            .auth(self.auth())
            .retry(RetryConfig::none())
            .build()
            .expect("provider")
    }

    fn ollama(&self) -> OllamaProvider {
        OllamaProvider::builder()
            .base_url(&self.base_url)
            .auth(self.auth())
            .retry(RetryConfig::none())
            .build()
            .expect("provider")
    }
}

fn forced_length(n: u32, seed: i64) -> Options {
    Options::builder()
        .max_tokens(n)
        .seed(seed)
        .extra("logit_bias", json!({ END_OF_TURN: -100 }))
        .build()
}

fn seeded(n: u32, seed: i64) -> Options {
    Options::builder().max_tokens(n).seed(seed).build()
}

async fn stream_collect(
    p: &dyn Provider,
    model: &str,
    prompt: &str,
    o: &Options,
) -> (GenResponse, usize) {
    let mut s = p
        .generate_stream(model, &[Message::user(prompt)], o)
        .await
        .expect("stream starts");
    let mut acc = llmport::Accumulator::new();
    let mut chunks = 0;
    while let Some(c) = s.next().await {
        acc.push(&c.expect("chunk"));
        chunks += 1;
    }
    (acc.finish(), chunks)
}

#[tokio::test]
async fn non_streaming_chat() {
    let Some(l) = live().await else { return };
    let r = l
        .openai()
        .generate(
            &l.model,
            &[Message::user("Say hello")],
            &forced_length(8, 42),
        )
        .await
        .unwrap();
    assert!(!r.text().is_empty());
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    let u = r.meta.usage.expect("usage");
    assert_eq!(u.output_tokens, 8);
    assert!(u.input_tokens > 0);
    assert_eq!(u.total_tokens, u.input_tokens + u.output_tokens);
    assert!(r.meta.total_time.unwrap() > Duration::ZERO);
}

#[tokio::test]
async fn max_tokens_gives_length_with_exactly_that_many_tokens_in_both_modes() {
    let Some(l) = live().await else { return };
    let p = l.openai();
    for n in [1u32, 5, 17] {
        let o = forced_length(n, 7);
        let r = p
            .generate(&l.model, &[Message::user("Count")], &o)
            .await
            .unwrap();
        assert_eq!(r.finish_reason(), Some(&FinishReason::Length), "n={n}");
        assert_eq!(r.meta.output_tokens(), Some(u64::from(n)), "n={n}");
        let (s, _) = stream_collect(&p, &l.model, "Count", &o).await;
        assert_eq!(s.finish_reason(), Some(&FinishReason::Length), "n={n}");
        assert_eq!(s.meta.output_tokens(), Some(u64::from(n)), "stream n={n}");
    }
}

async fn stream_equals_generate(p: &dyn Provider, model: &str) {
    let o = seeded(40, 1234);
    let whole = p
        .generate(model, &[Message::user("Tell me something")], &o)
        .await
        .unwrap();
    let (streamed, chunks) = stream_collect(p, model, "Tell me something", &o).await;
    assert!(chunks > 2, "a stream of several chunks, got {chunks}");
    assert_eq!(streamed.text(), whole.text());
    assert_eq!(streamed.finish_reason(), whole.finish_reason());
    assert_eq!(
        streamed
            .meta
            .usage
            .map(|u| (u.input_tokens, u.output_tokens)),
        whole.meta.usage.map(|u| (u.input_tokens, u.output_tokens))
    );
    let ttft = streamed.meta.time_to_first_token.unwrap();
    let total = streamed.meta.total_time.unwrap();
    assert!(ttft > Duration::ZERO && ttft <= total, "{ttft:?} {total:?}");
}

#[tokio::test]
async fn streaming_accumulates_to_the_non_streaming_answer() {
    let Some(l) = live().await else { return };
    stream_equals_generate(&l.openai(), &l.model).await;
}

#[tokio::test]
async fn ollama_provider_streaming_accumulates_to_the_non_streaming_answer() {
    let Some(l) = live().await else { return };
    stream_equals_generate(&l.ollama(), &l.model).await;
}

async fn same_seed_same_text(p: &dyn Provider, model: &str) {
    let o = seeded(24, 99);
    let a = p.generate(model, &[Message::user("Go")], &o).await.unwrap();
    let b = p.generate(model, &[Message::user("Go")], &o).await.unwrap();
    assert!(!a.text().is_empty());
    assert_eq!(a.text(), b.text());
    let c = p
        .generate(model, &[Message::user("Go")], &seeded(24, 100))
        .await
        .unwrap();
    assert_ne!(a.text(), c.text(), "another seed, another text");
}

#[tokio::test]
async fn same_seed_same_text_openai() {
    let Some(l) = live().await else { return };
    same_seed_same_text(&l.openai(), &l.model).await;
}

#[tokio::test]
async fn same_seed_same_text_ollama() {
    let Some(l) = live().await else { return };
    same_seed_same_text(&l.ollama(), &l.model).await;
}

async fn stop_is_honoured(p: &dyn Provider, model: &str) {
    // The random model may end early on its own: take the first seed that says enough.
    let mut found = None;
    for seed in 1..=20 {
        let base = p
            .generate(model, &[Message::user("Words")], &forced_like(p, 30, seed))
            .await
            .unwrap();
        if base.text().split_whitespace().count() > 6 {
            found = Some((seed, base.text()));
            break;
        }
    }
    let (seed, text) = found.expect("some seed gives more than six words");
    let words: Vec<&str> = text.split_whitespace().collect();
    let stop = words[3].to_owned();
    let cut = text.find(&stop).unwrap();
    let mut o = forced_like(p, 30, seed);
    o.stop = vec![stop.clone()];
    let r = p
        .generate(model, &[Message::user("Words")], &o)
        .await
        .unwrap();
    assert_eq!(r.text(), &text[..cut], "stop {stop:?}");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let (s, _) = stream_collect(p, model, "Words", &o).await;
    assert_eq!(s.text(), &text[..cut]);
}

/// Ollama's `/v1` ignores `logit_bias`, so the Ollama provider refuses it: use a plain seed.
fn forced_like(p: &dyn Provider, n: u32, seed: i64) -> Options {
    if p.name() == "ollama" {
        seeded(n, seed)
    } else {
        forced_length(n, seed)
    }
}

#[tokio::test]
async fn stop_is_honoured_openai() {
    let Some(l) = live().await else { return };
    stop_is_honoured(&l.openai(), &l.model).await;
}

#[tokio::test]
async fn stop_is_honoured_ollama() {
    let Some(l) = live().await else { return };
    stop_is_honoured(&l.ollama(), &l.model).await;
}

#[tokio::test]
async fn usage_is_present_in_both_modes_through_ollama_provider() {
    let Some(l) = live().await else { return };
    let p = l.ollama();
    let r = p
        .generate(&l.model, &[Message::user("hi")], &seeded(6, 3))
        .await
        .unwrap();
    assert!(r.meta.usage.unwrap().output_tokens > 0);
    let (s, _) = stream_collect(&p, &l.model, "hi", &seeded(6, 3)).await;
    assert!(s.meta.usage.unwrap().output_tokens > 0);
}

#[tokio::test]
async fn streamed_tool_call_fragments_are_assembled() {
    let Some(l) = live().await else { return };
    let tool = Tool::function(
        "get_weather",
        "Get the weather for a city",
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["c", "f"]}
            },
            "required": ["city", "unit"]
        }),
    );
    let o = Options::builder()
        .max_tokens(200)
        .seed(3)
        .temperature(0.0)
        .tool(tool)
        .build();
    let p = l.openai();
    let mut s = p
        .generate_stream(&l.model, &[Message::user("Weather in Paris?")], &o)
        .await
        .unwrap();
    let mut acc = llmport::Accumulator::new();
    let mut chunks = 0;
    while let Some(c) = s.next().await {
        acc.push(&c.unwrap());
        chunks += 1;
    }
    let r = acc.finish();
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls), "{r:?}");
    let calls = r.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "get_weather");
    assert!(calls[0].raw_arguments.is_none(), "{:?}", calls[0]);
    assert!(calls[0].arguments.is_object(), "{:?}", calls[0].arguments);
    assert!(calls[0].arguments.get("city").is_some());
    // llama-server streams the arguments in about 20 fragments; the call is yielded once,
    // whole, when its choice finishes.
    assert!(chunks >= 2, "{chunks} chunks");

    // Round trip: send the result back, get an answer.
    let call = (*calls[0]).clone();
    let history = vec![
        Message::user("Weather in Paris?"),
        Message::new(llmport::Role::Assistant).add_tool_call(call.clone()),
        Message::tool_result(call.id.clone(), r#"{"temp_c": 18}"#),
    ];
    let o2 = Options::builder().max_tokens(20).seed(3).build();
    let answer = p.generate(&l.model, &history, &o2).await.unwrap();
    assert!(answer.finish_reason().is_some());
}

/// A short string keeps the random model's JSON within `max_tokens` (llama.cpp turns the
/// schema into a grammar that honours `maxLength`).
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct City {
    #[schemars(length(max = 12))]
    name: String,
    big: bool,
}

#[tokio::test]
async fn json_schema_output_parses_into_a_rust_type() {
    let Some(l) = live().await else { return };
    let p = l.openai();
    let mut parsed = 0;
    for seed in 1..=8 {
        let o = Options::builder()
            .max_tokens(300)
            .seed(seed)
            .response_format(ResponseFormat::for_type::<City>())
            .build();
        let r = p
            .generate(&l.model, &[Message::user("A city as JSON")], &o)
            .await
            .unwrap();
        if r.finish_reason() != Some(&FinishReason::Stop) {
            continue; // random strings can run into max_tokens
        }
        let city: City = serde_json::from_str(&r.text())
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {:?}", r.text()));
        assert!(city.name.chars().count() <= 12, "{city:?}");
        parsed += 1;
    }
    assert!(parsed > 0, "no seed finished within max_tokens");
}

#[tokio::test]
async fn eight_concurrent_streams() {
    let Some(l) = live().await else { return };
    let p = std::sync::Arc::new(l.openai());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let p = p.clone();
        let model = l.model.clone();
        tasks.push(tokio::spawn(async move {
            let (r, _) = stream_collect(&*p, &model, "Go", &forced_length(12, i)).await;
            r
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.meta.output_tokens(), Some(12));
        assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    }
}

#[tokio::test]
async fn unknown_route_is_a_typed_error() {
    let Some(l) = live().await else { return };
    let p = OpenAiProvider::builder()
        .base_url(format!("{}/nope", l.base_url))
        .auth(l.auth())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let e = p
        .generate(&l.model, &[Message::user("hi")], &seeded(2, 1))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");
}

#[tokio::test]
async fn bearer_auth_right_key_passes_wrong_key_is_an_auth_error() {
    let Some(l) = live().await else { return };
    let Some(key) = &l.api_key else {
        skip(
            "bearer_auth_right_key_passes_wrong_key_is_an_auth_error",
            "LLMPORT_LIVE_API_KEY is not set (the server was started without a key)",
        );
        return;
    };
    let ok = l
        .openai()
        .generate(&l.model, &[Message::user("hi")], &seeded(2, 1))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    for auth in [Auth::bearer(format!("{key}-wrong")), Auth::None] {
        let p = OpenAiProvider::builder()
            .base_url(&l.base_url)
            .auth(auth)
            .retry(RetryConfig::none())
            .build()
            .unwrap();
        let e = p
            .generate(&l.model, &[Message::user("hi")], &seeded(2, 1))
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
        assert!(!e.to_string().contains(key.as_str()));
    }
}

async fn embeddings_are_unit_length_and_deterministic(e: &dyn llmport::Embedder, model: &str) {
    let inputs = vec!["hello world".to_owned(), "second".to_owned()];
    let a = e
        .embed(model, &inputs, &llmport::EmbedOptions::default())
        .await
        .unwrap();
    assert_eq!(a.vectors.len(), 2);
    assert!(a.dimension() > 0);
    assert!(a.vectors.iter().all(|v| v.len() == a.dimension()));
    for v in &a.vectors {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
    assert_ne!(a.vectors[0], a.vectors[1]);
    // The same request gives the same vectors. (llama-server gives a text embedded alone a
    // different vector than the same text inside a batch: see docs/interop.md.)
    let again = e
        .embed(model, &inputs, &llmport::EmbedOptions::default())
        .await
        .unwrap();
    assert_eq!(again.vectors, a.vectors, "same input, same vectors");
    let single = |e: &'static str| vec![e.to_owned()];
    let b1 = e
        .embed(
            model,
            &single("hello world"),
            &llmport::EmbedOptions::default(),
        )
        .await
        .unwrap();
    let b2 = e
        .embed(
            model,
            &single("hello world"),
            &llmport::EmbedOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(b1.vectors, b2.vectors);
    assert!(a.input_tokens.unwrap_or(0) > 0);
}

#[tokio::test]
async fn embeddings_openai() {
    let Some(l) = live().await else { return };
    embeddings_are_unit_length_and_deterministic(&l.openai(), &l.model).await;
}

/// llama-server has no native `/api/embed`, so the Ollama provider's `/v1` embeddings (its
/// wrapped OpenAI provider) are what this server can check.
#[tokio::test]
async fn embeddings_through_the_ollama_providers_v1() {
    let Some(l) = live().await else { return };
    embeddings_are_unit_length_and_deterministic(l.ollama().openai(), &l.model).await;
}

#[tokio::test]
async fn ollama_provider_refuses_options_ollama_would_ignore() {
    let Some(l) = live().await else { return };
    let p = l.ollama();
    let tool = Tool::function("f", "a tool", json!({"type": "object", "properties": {}}));
    let cases = [
        Options::builder()
            .max_tokens(4)
            .tool(tool)
            .tool_choice(llmport::ToolChoice::Required)
            .build(),
        Options::builder().max_tokens(4).candidate_count(2).build(),
        forced_length(4, 1),
    ];
    for o in cases {
        let e = p
            .generate(&l.model, &[Message::user("hi")], &o)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
    // The same requests through the OpenAI provider are honoured by this server.
    let r = l
        .openai()
        .generate(
            &l.model,
            &[Message::user("hi")],
            &Options::builder().max_tokens(4).candidate_count(2).build(),
        )
        .await
        .unwrap();
    assert_eq!(r.candidates.len(), 2);
}

/// Runs this test binary's `test` alone, without a live server, as `cargo test` would (the
/// output of passing tests captured), and returns its stderr.
fn stderr_of_a_run_without_a_server(test: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1"])
        .env_remove("LLMPORT_LIVE_BASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn without_a_server_the_skip_is_printed_where_cargo_test_shows_it() {
    let stderr = stderr_of_a_run_without_a_server("non_streaming_chat");
    assert!(
        stderr.contains("SKIPPED the live tier") && stderr.contains("LLMPORT_LIVE_BASE_URL"),
        "{stderr}"
    );
}

/// `n` tokens, the end of turn biased away (`logit_bias` rides in `Options::extra`: neither
/// API has a seed or a bias, and llama-server passes the key on to its sampler). Greedy:
/// sampled, about 1 answer in 75 drew one of the model's other end-of-generation tokens
/// (`<|endoftext|>`, the FIM tokens) as its first token and came back empty with `end_turn`
/// (measured: 4 of 300 at n = 1), which made these tests flaky.
fn biased_length(n: u32) -> Options {
    Options::builder()
        .max_tokens(n)
        .temperature(0.0)
        .extra("logit_bias", json!({ END_OF_TURN: -100 }))
        .build()
}

/// A plain answer, streamed and not, cut at the token limit: `Length`, exactly that many
/// tokens, usage in both modes.
async fn plain_stream_and_length(p: &dyn Provider, model: &str) {
    for n in [1u32, 8] {
        let o = biased_length(n);
        let r = p
            .generate(model, &[Message::user("Say hello")], &o)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", p.name()));
        assert!(!r.text().is_empty(), "{}", p.name());
        assert_eq!(
            r.finish_reason(),
            Some(&FinishReason::Length),
            "{} n={n}",
            p.name()
        );
        let u = r.meta.usage.expect("usage");
        assert_eq!(u.output_tokens, u64::from(n), "{}", p.name());
        assert!(u.input_tokens > 0, "{}", p.name());
        let (s, chunks) = stream_collect(p, model, "Say hello", &o).await;
        assert!(chunks >= 2, "{}: {chunks} chunks", p.name());
        assert!(!s.text().is_empty(), "{}", p.name());
        assert_eq!(
            s.finish_reason(),
            Some(&FinishReason::Length),
            "{} stream n={n}",
            p.name()
        );
        assert_eq!(
            s.meta.output_tokens(),
            Some(u64::from(n)),
            "{} stream",
            p.name()
        );
    }
}

#[tokio::test]
async fn responses_api_plain_stream_and_max_output_tokens() {
    let Some(l) = live().await else { return };
    plain_stream_and_length(&l.responses(), &l.model).await;
}

#[tokio::test]
async fn messages_api_plain_stream_and_max_tokens() {
    let Some(l) = live().await else { return };
    plain_stream_and_length(&l.messages(), &l.model).await;
}

/// A conversation with a system prompt, an image-free tool round trip and reasoning from an
/// earlier turn is accepted in each API's shape (the server parses every input item).
async fn tool_history_is_accepted(p: &dyn Provider, model: &str) {
    let call = llmport::ToolCall::new("call_1", "get_weather", json!({"city": "Paris"}));
    let mut assistant = Message::assistant("");
    assistant.parts = vec![
        llmport::Part::Reasoning {
            text: "The user wants the weather.".into(),
            // A Responses reasoning item (see `responses/reasoning.rs`); the Messages API
            // would verify a signature, so it gets none.
            signature: (p.description() == "OpenAI Responses API")
                .then(|| r#"{"id":"rs_live1"}"#.to_owned()),
        },
        llmport::Part::ToolCall(call),
    ];
    let history = [
        Message::system("You are terse."),
        Message::user("Weather in Paris?"),
        assistant,
        Message::tool_result("call_1", "18C, sunny"),
    ];
    let o = Options::builder()
        .max_tokens(3)
        .tools([Tool::function(
            "get_weather",
            "Get the weather",
            json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        )])
        .build();
    let r = p
        .generate(model, &history, &o)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", p.description()));
    assert!(r.finish_reason().is_some(), "{}", p.description());
}

#[tokio::test]
async fn responses_and_messages_accept_a_tool_round_trip_history() {
    let Some(l) = live().await else { return };
    tool_history_is_accepted(&l.responses(), &l.model).await;
    tool_history_is_accepted(&l.messages(), &l.model).await;
}

// ---- /v1/completions and log probabilities (issue 14) ----

#[tokio::test]
async fn v1_completions_stop_at_the_length_with_exact_counts() {
    use llmport::completion::{Completer, CompletionRequest};
    let Some(l) = live().await else { return };
    let request = CompletionRequest::builder()
        .model(&l.model)
        .prompt("hello")
        .options(forced_length(7, 3))
        .build();
    let p = l.openai();
    let whole = p.complete(&request).await.unwrap();
    assert_eq!(whole.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(whole.meta.output_tokens(), Some(7));
    assert!(!whole.text().is_empty());
    let streamed = p
        .complete_stream(&request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(streamed.meta.output_tokens(), Some(7));
    assert_eq!(streamed.text(), whole.text(), "same seed, same text");
}

#[tokio::test]
async fn v1_completions_refuse_a_suffix_llama_cpp_would_ignore() {
    use llmport::completion::{Completer, CompletionRequest};
    let Some(l) = live().await else { return };
    let request = CompletionRequest::builder()
        .model(&l.model)
        .prompt("fn add(a: i32, b: i32) -> i32 {\n")
        .suffix("\n}\n")
        .options(seeded(4, 1))
        .build();
    let e = l.openai().complete(&request).await.unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { option, .. } if option == "CompletionRequest::suffix"),
        "{e:?}"
    );
}

#[tokio::test]
async fn logprobs_and_top_logprobs_on_chat_and_completions() {
    use llmport::completion::{Completer, CompletionRequest};
    let Some(l) = live().await else { return };
    let mut o = forced_length(4, 5);
    o.logprobs = true;
    o.top_logprobs = Some(3);
    let p = l.openai();
    let check = |what: &str, r: &GenResponse| {
        let lp = &r.candidates[0].logprobs;
        assert_eq!(lp.len(), 4, "{what}: one entry per token");
        let joined: String = lp.iter().map(|t| t.token.as_str()).collect();
        assert_eq!(joined, r.text(), "{what}: the tokens spell the text");
        for t in lp {
            assert!(t.logprob <= 0.0, "{what}: {t:?}");
            assert_eq!(t.top_logprobs.len(), 3, "{what}: {t:?}");
            assert_eq!(t.bytes.as_deref(), Some(t.token.as_bytes()), "{what}");
        }
    };
    let chat = p
        .generate(&l.model, &[Message::user("hi")], &o)
        .await
        .unwrap();
    check("chat", &chat);
    let (streamed, _) = stream_collect(&p, &l.model, "hi", &o).await;
    check("chat stream", &streamed);
    assert_eq!(streamed.candidates[0].logprobs, chat.candidates[0].logprobs);
    let request = CompletionRequest::builder()
        .model(&l.model)
        .prompt("hello")
        .options(o)
        .build();
    check("completion", &p.complete(&request).await.unwrap());
}
