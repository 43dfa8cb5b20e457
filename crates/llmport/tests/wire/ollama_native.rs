//! Ollama's native API against the in-process wire server: replays of every `native_*`
//! transcript, native chat for Ollama-only options (same `GenResponse` shape as `/v1`),
//! pulls that fail or are cancelled, NDJSON split at every byte, and request encoding.

use llmport_test_support as support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::StreamExt;
use llmport::ollama::{KeepAlive, OllamaChatApi, OllamaOptions, PullOptions, Think, ThinkLevel};
use llmport::testing::{Reply, TestServer};
use llmport::{
    Auth, EmbedOptions, Embedder, Error, FinishReason, GenResponse, Message, OllamaProvider,
    Options, Part, Provider, ReasoningEffort, ResponseFormat, RetryConfig, Role, Tool, ToolCall,
    ToolChoice,
};
use serde_json::{Value, json};
use support::*;

/// Options that route a chat to the native API (and change nothing else).
fn native_opts() -> Options {
    Options::builder()
        .extension(OllamaOptions::builder().num_ctx(4096).build())
        .build()
}

/// The request body the client sent, without `options.num_ctx` (set only to route a chat to
/// the native API), and without `options` when nothing else is in it.
fn sent_without_num_ctx(server: &TestServer) -> Value {
    let mut sent = server
        .last_request()
        .expect("a request")
        .json()
        .expect("a JSON body");
    let obj = sent.as_object_mut().expect("an object");
    if let Some(Value::Object(o)) = obj.get_mut("options") {
        o.remove("num_ctx");
        if o.is_empty() {
            obj.remove("options");
        }
    }
    sent
}

/// A JSON value with every number as an f64, to compare request bodies by meaning (`0` and
/// `0.0` are the same number to Ollama).
pub(crate) fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().expect("a finite number")),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_f64).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), numbers_as_f64(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An NDJSON reply from JSON lines.
fn ndjson(lines: &[Value]) -> Reply {
    Reply::ndjson(lines.iter().cloned())
}

fn line(content: &str) -> Value {
    json!({"model": "m", "created_at": "2026-08-21T17:02:11Z",
           "message": {"role": "assistant", "content": content}, "done": false})
}

fn done_line(extra: Value) -> Value {
    let mut v = json!({"model": "m", "created_at": "2026-08-21T17:02:12Z",
                       "message": {"role": "assistant", "content": ""},
                       "done": true, "done_reason": "stop",
                       "prompt_eval_count": 3, "eval_count": 2});
    for (k, x) in extra.as_object().expect("an object") {
        v[k] = x.clone();
    }
    v
}

async fn chat_server(reply: Reply) -> TestServer {
    TestServer::builder()
        .route("POST", "/api/chat", reply)
        .start()
        .await
}

async fn collect(
    p: &OllamaProvider,
    messages: &[Message],
    opts: &Options,
) -> (Vec<GenResponse>, Option<Error>) {
    let mut s = p
        .generate_stream("m", messages, opts)
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

fn fold(items: &[GenResponse]) -> GenResponse {
    let mut acc = llmport::Accumulator::new();
    for i in items {
        acc.push(i);
    }
    acc.finish()
}

// ---------------------------------------------------------------------------------------
// Replays of the native_* transcripts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn native_tags_lists_the_stored_models() {
    let server = TestServer::start([transcript("native_tags")]).await;
    let models = ollama(&server.url()).list_models().await.unwrap();
    let fx = fixture_json("native_tags");
    let expected = fx["response"]["body"]["models"].as_array().unwrap();
    assert_eq!(models.len(), expected.len());
    for (m, e) in models.iter().zip(expected) {
        assert_eq!(m.name, e["name"].as_str().unwrap());
        assert_eq!(m.size, e["size"].as_u64().unwrap());
        assert_eq!(m.digest, e["digest"].as_str().unwrap());
        assert_eq!(m.modified_at, e["modified_at"].as_str().unwrap());
        assert_eq!(
            m.details.parameter_size,
            e["details"]["parameter_size"].as_str().unwrap()
        );
        assert_eq!(
            m.details.context_length,
            e["details"]["context_length"].as_u64()
        );
    }
    let qwen = &models[0];
    assert_eq!(qwen.capabilities, ["completion", "tools", "thinking"]);
    assert_eq!(qwen.details.quantization_level, "Q4_K_M");
    assert_eq!(qwen.details.families, ["qwen3"]);
    assert_eq!(qwen.details.embedding_length, Some(4096));
    let t = qwen.modified_time().unwrap();
    assert_eq!(t.offset().whole_hours(), -7, "the offset is kept");
    assert_eq!((t.year(), t.hour(), t.nanosecond()), (2026, 7, 118_204_551));
    let req = server.last_request().unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/api/tags")
    );
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn empty_model_list_and_null_lists_are_empty() {
    let server = TestServer::builder()
        .route("GET", "/api/tags", Reply::json(200, &json!({"models": []})))
        .route("GET", "/api/ps", Reply::json(200, &json!({"models": null})))
        .start()
        .await;
    let p = ollama(&server.url());
    assert!(p.list_models().await.unwrap().is_empty());
    assert!(p.running().await.unwrap().is_empty());
}

#[tokio::test]
async fn native_show_describes_the_model() {
    let server = TestServer::start([transcript("native_show")]).await;
    let info = ollama(&server.url()).show("llama3.2").await.unwrap();
    assert_eq!(info.context_length(), Some(131_072));
    assert_eq!(info.embedding_length(), Some(3072));
    assert_eq!(info.architecture(), Some("llama"));
    assert_eq!(info.capabilities, ["completion", "tools"]);
    assert_eq!(info.details.family, "llama");
    assert!(info.template.as_deref().unwrap().contains("<|eot_id|>"));
    assert!(info.license.as_deref().unwrap().starts_with("LLAMA 3.2"));
    assert!(info.modelfile.starts_with("# Modelfile generated"));
    assert_eq!(info.tensors.len(), 2);
    assert_eq!(info.tensors[0].shape, [3072, 128_256]);
    assert_eq!(info.model_info["general.parameter_count"], 3_212_749_888u64);
    let params = info.parameter_list();
    assert_eq!(params.len(), 3);
    assert_eq!(params[2], ("stop".to_owned(), "<|eot_id|>".to_owned()));
    assert_eq!(info.modified_time().unwrap().offset().whole_hours(), -7);
    let req = server.last_request().unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/api/show")
    );
    assert_eq!(
        req.json().unwrap(),
        fixture_json("native_show")["request"]["body"]
    );
}

#[tokio::test]
async fn show_of_a_missing_model_is_a_404_with_the_pull_hint() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/show",
            Reply::json(404, &json!({"error": "model 'nope:latest' not found"})),
        )
        .start()
        .await;
    let e = ollama(&server.url()).show("nope").await.unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.status, 404);
    assert_eq!(api.message, "model 'nope:latest' not found");
    assert_eq!(
        api.hint.as_deref(),
        Some("pull it first with `ollama pull nope`")
    );
}

#[tokio::test]
async fn native_pull_progress_reports_every_line_and_ends_with_success() {
    let server = TestServer::start([transcript("native_pull_progress")]).await;
    let fx = fixture_json("native_pull_progress");
    let expected = fx["response"]["ndjson_lines"].as_array().unwrap();
    let pull = ollama(&server.url()).pull("llama3.2").await.unwrap();
    let items: Vec<_> = pull.collect().await;
    assert_eq!(items.len(), expected.len());
    for (got, want) in items.iter().zip(expected) {
        let got = got.as_ref().unwrap();
        assert_eq!(got.status, want["status"].as_str().unwrap());
        assert_eq!(got.digest.as_deref(), want["digest"].as_str());
        assert_eq!(got.total, want["total"].as_u64());
        assert_eq!(got.completed, want["completed"].as_u64());
    }
    let first_layer = items[1].as_ref().unwrap();
    assert_eq!(first_layer.total, Some(2_019_377_376));
    assert_eq!(first_layer.completed, None, "absent until bytes arrived");
    assert!(items.last().unwrap().as_ref().unwrap().is_success());
    assert!(
        items[..items.len() - 1]
            .iter()
            .all(|i| !i.as_ref().unwrap().is_success())
    );
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fx["request"]["body"]
    );
}

#[tokio::test]
async fn native_pull_nonstream_waits_for_success() {
    let server = TestServer::start([transcript("native_pull_nonstream")]).await;
    let p = ollama(&server.url());
    p.pull_without_progress("llama3.2", &PullOptions::new())
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fixture_json("native_pull_nonstream")["request"]["body"]
    );
}

#[tokio::test]
async fn pull_sends_insecure_when_asked() {
    let server = TestServer::start([transcript("native_pull_progress")]).await;
    let p = ollama(&server.url());
    let pull = p
        .pull_with("llama3.2", &PullOptions::builder().insecure(true).build())
        .await
        .unwrap();
    assert_eq!(pull.count().await, 14);
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({"model": "llama3.2", "insecure": true})
    );
}

#[tokio::test]
async fn pull_that_fails_midway_is_a_stream_error_with_the_servers_message() {
    let reply = ndjson(&[
        json!({"status": "pulling manifest"}),
        json!({"status": "pulling ae75413e5438", "digest": "sha256:ae75", "total": 100, "completed": 40}),
        json!({"error": "max retries exceeded: unexpected EOF"}),
    ]);
    let server = TestServer::builder()
        .route("POST", "/api/pull", reply)
        .start()
        .await;
    let mut pull = ollama(&server.url()).pull("llama3.2").await.unwrap();
    assert_eq!(
        pull.next().await.unwrap().unwrap().status,
        "pulling manifest"
    );
    assert_eq!(pull.next().await.unwrap().unwrap().completed, Some(40));
    let e = pull.next().await.unwrap().unwrap_err();
    match &e {
        Error::Stream { message, .. } => {
            assert!(
                message.contains("max retries exceeded: unexpected EOF"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(pull.next().await.is_none(), "the error ends the stream");
}

/// Every item of a pull answered with `reply`.
async fn pull_items(reply: Reply) -> Vec<llmport::Result<llmport::ollama::PullProgress>> {
    let server = TestServer::builder()
        .route("POST", "/api/pull", reply)
        .start()
        .await;
    ollama(&server.url())
        .pull("m")
        .await
        .expect("the pull starts")
        .collect()
        .await
}

#[tokio::test]
async fn pull_of_an_unknown_model_fails_after_the_manifest_line() {
    let reply = ndjson(&[
        json!({"status": "pulling manifest"}),
        json!({"error": "pull model manifest: file does not exist"}),
    ]);
    let items = pull_items(reply).await;
    assert_eq!(items.len(), 2);
    let e = items[1].as_ref().unwrap_err();
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
    assert!(e.to_string().contains("file does not exist"), "{e}");
}

#[tokio::test]
async fn pull_that_ends_without_success_is_an_error() {
    let reply = ndjson(&[
        json!({"status": "pulling manifest"}),
        json!({"status": "verifying sha256 digest"}),
    ]);
    let items = pull_items(reply).await;
    assert_eq!(items.len(), 3);
    let e = items[2].as_ref().unwrap_err();
    assert!(
        e.to_string().contains("before the server reported success"),
        "{e}"
    );
}

#[tokio::test]
async fn dropping_a_pull_closes_its_connection() {
    let reply = ndjson(&[
        json!({"status": "pulling manifest"}),
        json!({"status": "pulling ae75413e5438", "digest": "sha256:ae75", "total": 100}),
        json!({"status": "pulling ae75413e5438", "digest": "sha256:ae75", "total": 100, "completed": 1}),
    ])
    .chunk_delay(Duration::from_millis(20))
    .hang_after_body();
    let server = TestServer::builder()
        .route("POST", "/api/pull", reply)
        .start()
        .await;
    let p = ollama(&server.url());
    let mut pull = p.pull("llama3.2").await.unwrap();
    assert_eq!(
        pull.next().await.unwrap().unwrap().status,
        "pulling manifest"
    );
    assert_eq!(server.active_connections(), 1);
    drop(pull);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while server.active_connections() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connection is still open after the pull was dropped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn native_delete_ok_sends_a_json_delete() {
    let server = TestServer::start([transcript("native_delete_ok")]).await;
    ollama(&server.url()).delete("llama3.2").await.unwrap();
    let req = server.last_request().unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("DELETE", "/api/delete")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.json().unwrap(),
        fixture_json("native_delete_ok")["request"]["body"]
    );
}

#[tokio::test]
async fn native_delete_not_found_names_the_model() {
    let server = TestServer::start([transcript("native_delete_not_found")]).await;
    let e = ollama(&server.url()).delete("nope").await.unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.status, 404);
    assert_eq!(api.message, "model 'nope' not found");
    let hint = api.hint.as_deref().unwrap();
    assert!(
        hint.contains("ollama list") && !hint.contains("pull"),
        "{hint}"
    );
    assert!(e.to_string().contains("'nope'"), "{e}");
}

#[tokio::test]
async fn native_ps_lists_the_loaded_models() {
    let server = TestServer::start([transcript("native_ps")]).await;
    let running = ollama(&server.url()).running().await.unwrap();
    assert_eq!(running.len(), 1);
    let m = &running[0];
    assert_eq!(m.name, "llama3.2:latest");
    assert_eq!((m.size, m.size_vram), (3_357_186_048, 3_357_186_048));
    assert_eq!(m.context_length, Some(8192));
    assert_eq!(m.details.parameter_size, "3.2B");
    assert_eq!(m.expires_at, "2026-08-21T10:12:11.494418213-07:00");
    assert_eq!(m.expires_time().unwrap().offset().whole_hours(), -7);
    assert_eq!(server.last_request().unwrap().path, "/api/ps");
}

#[tokio::test]
async fn native_version_is_the_servers() {
    let server = TestServer::start([transcript("native_version")]).await;
    let p = ollama(&server.url());
    assert_eq!(p.server_version().await.unwrap(), "0.33.0");
    assert_eq!(p.version(), env!("CARGO_PKG_VERSION"), "the client's own");
    let req = server.last_request().unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/api/version")
    );
}

#[tokio::test]
async fn native_root_health_pings() {
    let server = TestServer::start([transcript("native_root_health")]).await;
    ollama(&server.url()).ping().await.unwrap();
    let req = server.last_request().unwrap();
    assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/"));
    // Nothing listening: a Connect error naming the server.
    let dead = ollama(&format!("127.0.0.1:{}", dead_port()));
    assert!(matches!(dead.ping().await, Err(Error::Connect { .. })));
}

#[tokio::test]
async fn native_embed_sends_every_option_and_returns_the_vectors() {
    let server = TestServer::start([transcript("native_embed")]).await;
    let fx = fixture_json("native_embed");
    let opts = EmbedOptions::builder()
        .dimensions(4)
        .truncate(true)
        .extension(
            OllamaOptions::builder()
                .keep_alive(KeepAlive::Duration("5m".into()))
                .build(),
        )
        .extra("options", json!({"num_ctx": 2048}))
        .build();
    let p = ollama(&server.url());
    let inputs = ["hello world".to_owned(), "goodbye".to_owned()];
    let e = p.embed("nomic-embed-text", &inputs, &opts).await.unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fx["request"]["body"]
    );
    let want: Vec<Vec<f32>> =
        serde_json::from_value(fx["response"]["body"]["embeddings"].clone()).unwrap();
    assert_eq!(e.vectors, want);
    assert_eq!(e.dimension(), 4);
    assert_eq!(e.input_tokens, Some(8));
    assert_eq!(e.model.as_deref(), Some("nomic-embed-text"));
    assert!(e.total_time.is_some());
    // Through the trait object too.
    let dyn_embedder: &dyn Embedder = &p;
    let again = dyn_embedder
        .embed("nomic-embed-text", &inputs, &opts)
        .await
        .unwrap();
    assert_eq!(again.vectors, want);
}

#[tokio::test]
async fn embed_errors_are_typed() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/embed",
            Reply::json(
                404,
                &json!({"error": "model \"nomic\" not found, try pulling it first"}),
            ),
        )
        .start()
        .await;
    let p = ollama(&server.url());
    let e = p
        .embed("nomic", &["x"], &EmbedOptions::new())
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(
        api.hint.as_deref(),
        Some("pull it first with `ollama pull nomic`")
    );

    // A vector count that does not match the inputs is refused.
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/embed",
            Reply::json(200, &json!({"model": "m", "embeddings": [[0.5, 0.5]]})),
        )
        .start()
        .await;
    let e = ollama(&server.url())
        .embed("m", &["a", "b"], &EmbedOptions::new())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("1 vectors for 2 inputs"), "{e}");
}

#[tokio::test]
async fn native_chat_stream_sends_the_options_and_maps_the_chunks() {
    let server = TestServer::start([transcript("native_chat_stream")]).await;
    let fx = fixture_json("native_chat_stream");
    let p = ollama(&server.url());
    let opts = Options::builder()
        .temperature(0.7)
        .seed(42)
        .extension(
            OllamaOptions::builder()
                .num_ctx(8192)
                .num_predict(256)
                .keep_alive(KeepAlive::Duration("10m".into()))
                .build(),
        )
        .build();
    let (items, err) = collect(&p, &[Message::user("Why is the sky blue?")], &opts).await;
    assert!(err.is_none(), "{err:?}");
    // The request: native endpoint, options map, top-level keep_alive, streaming by default.
    let req = server.last_request().unwrap();
    assert_eq!(req.path, "/api/chat");
    let mut sent = req.json().unwrap();
    sent["model"] = json!("llama3.2");
    assert_eq!(sent, fx["request"]["body"]);
    assert_eq!(sent["options"]["num_ctx"], 8192);

    // One chunk per content line, then the last chunk with finish reason, usage and timings.
    let texts: Vec<String> = items.iter().map(GenResponse::text).collect();
    assert_eq!(
        texts,
        ["Rayleigh", " scattering", " favors blue light.", ""]
    );
    assert_eq!(items[0].meta.model.as_deref(), Some("llama3.2"));
    assert!(
        items[..3]
            .iter()
            .all(|i| i.finish_reason().is_none() && i.meta.usage.is_none())
    );
    let last = items.last().unwrap();
    assert_eq!(last.finish_reason(), Some(&FinishReason::Stop));
    let u = last.meta.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (31, 9, 40)
    );
    let t = last.meta.server_timings.unwrap();
    assert_eq!(t.total, Some(Duration::from_nanos(1_203_444_125)));
    assert_eq!(t.load, Some(Duration::from_nanos(21_004_958)));
    assert_eq!(t.prompt_eval, Some(Duration::from_nanos(88_112_000)));
    assert_eq!(t.eval, Some(Duration::from_nanos(1_090_214_000)));
    let r = fold(&items);
    assert_eq!(r.text(), "Rayleigh scattering favors blue light.");
    assert!(r.meta.time_to_first_token.unwrap() <= r.meta.total_time.unwrap());
}

#[tokio::test]
async fn native_chat_has_the_same_shape_as_the_v1_path() {
    let native = TestServer::start([transcript("native_chat_stream")]).await;
    let v1 = TestServer::start([transcript("openai_chat_stream_with_usage")]).await;
    let msgs = [Message::user("Why is the sky blue?")];
    let (n_items, n_err) = collect(&ollama(&native.url()), &msgs, &native_opts()).await;
    let (v_items, v_err) = collect(&ollama(&v1.url()), &msgs, &Options::default()).await;
    assert!(n_err.is_none() && v_err.is_none());
    assert_eq!(native.last_request().unwrap().path, "/api/chat");
    assert_eq!(v1.last_request().unwrap().path, "/v1/chat/completions");
    // The same text deltas, in the same order.
    let deltas = |items: &[GenResponse]| -> Vec<String> {
        items
            .iter()
            .map(GenResponse::text)
            .filter(|t| !t.is_empty())
            .collect()
    };
    assert_eq!(deltas(&n_items), deltas(&v_items));
    // The same folded answer, and the same meta fields populated.
    let (n, v) = (fold(&n_items), fold(&v_items));
    assert_eq!(n.candidates, v.candidates);
    assert_eq!(n.finish_reason(), Some(&FinishReason::Stop));
    for r in [&n, &v] {
        assert!(r.meta.usage.is_some());
        assert!(r.meta.model.is_some());
        assert!(r.meta.time_to_first_token.is_some() && r.meta.total_time.is_some());
    }
    // The finish reason comes once, after the last text delta; usage comes on the last chunk.
    for items in [&n_items, &v_items] {
        let finishes: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].finish_reason().is_some())
            .collect();
        let last_text = items.iter().rposition(|i| !i.text().is_empty()).unwrap();
        assert_eq!(finishes.len(), 1);
        assert!(finishes[0] > last_text);
        assert!(items.last().unwrap().meta.usage.is_some());
    }
    assert!(
        n.meta.server_timings.is_some(),
        "native adds the server's timings"
    );
}

#[tokio::test]
async fn streaming_then_accumulating_equals_the_non_streaming_answer() {
    // The non-streaming answer Ollama gives for the same generation: the last line with the
    // content concatenated.
    let fx = fixture_json("native_chat_stream");
    let lines = fx["response"]["ndjson_lines"].as_array().unwrap();
    let mut whole = lines.last().unwrap().clone();
    let text: String = lines
        .iter()
        .map(|l| l["message"]["content"].as_str().unwrap())
        .collect();
    whole["message"]["content"] = json!(text);
    let server = TestServer::builder()
        .transcript(transcript("native_chat_stream"))
        .start()
        .await;
    let whole_server = chat_server(Reply::json(200, &whole)).await;
    let msgs = [Message::user("Why is the sky blue?")];
    let streamed = ollama(&server.url())
        .generate_stream("llama3.2", &msgs, &native_opts())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    let p = ollama(&whole_server.url());
    let at_once = p.generate("llama3.2", &msgs, &native_opts()).await.unwrap();
    assert_eq!(
        whole_server.last_request().unwrap().json().unwrap()["stream"],
        false
    );
    assert_eq!(streamed.candidates, at_once.candidates);
    assert_eq!(streamed.meta.usage, at_once.meta.usage);
    assert_eq!(streamed.meta.model, at_once.meta.model);
    assert_eq!(streamed.meta.server_timings, at_once.meta.server_timings);
    assert_eq!(at_once.text(), "Rayleigh scattering favors blue light.");
}

#[tokio::test]
async fn native_chat_stream_split_at_every_byte_decodes_identically() {
    let t = transcript("native_chat_stream");
    let template = t.reply();
    let raw = template.body_bytes();
    let mut builder = TestServer::builder();
    for k in 1..raw.len() {
        let mut r = template.clone();
        r.chunks = vec![raw.slice(..k), raw.slice(k..)];
        builder = builder.route("POST", "/api/chat", r);
    }
    let server = builder.start().await;
    let p = ollama(&server.url());
    for k in 1..raw.len() {
        let r = p
            .generate_stream("llama3.2", &[Message::user("q")], &native_opts())
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap_or_else(|e| panic!("split at {k}: {e}"));
        assert_eq!(
            r.text(),
            "Rayleigh scattering favors blue light.",
            "split at {k}"
        );
        assert_eq!(r.meta.usage.unwrap().total_tokens, 40, "split at {k}");
        assert_eq!(r.finish_reason(), Some(&FinishReason::Stop), "split at {k}");
    }
}

#[tokio::test]
async fn native_chat_byte_by_byte_writes_decode_identically() {
    let server = TestServer::builder()
        .transcript(transcript("native_chat_stream_tool_calls"))
        .split_writes(1)
        .start()
        .await;
    let r = ollama(&server.url())
        .generate_stream("llama3.2", &[Message::user("q")], &native_opts())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.tool_calls().len(), 1);
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
}

#[tokio::test]
async fn native_chat_stream_tool_calls_arrive_whole_on_the_last_chunk() {
    let server = TestServer::start([transcript("native_chat_stream_tool_calls")]).await;
    let fx = fixture_json("native_chat_stream_tool_calls");
    let tool = Tool::function(
        "get_weather",
        "Get current weather for a city",
        json!({"type": "object",
               "properties": {"city": {"type": "string", "description": "City name"}},
               "required": ["city"]}),
    );
    let opts = Options::builder()
        .tool(tool)
        .extension(OllamaOptions::builder().num_ctx(4096).build())
        .build();
    let p = ollama(&server.url());
    let (items, err) = collect(&p, &[Message::user("Weather in Tokyo?")], &opts).await;
    assert!(err.is_none(), "{err:?}");
    let mut sent = sent_without_num_ctx(&server);
    sent["model"] = json!("llama3.2");
    assert_eq!(sent, fx["request"]["body"]);

    assert_eq!(
        items.len(),
        1,
        "the calls come with the finish reason: {items:?}"
    );
    let last = &items[0];
    assert_eq!(last.finish_reason(), Some(&FinishReason::ToolCalls));
    let calls = last.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_4fj2k9xq");
    assert_eq!(calls[0].name, "get_weather");
    assert_eq!(calls[0].arguments, json!({"city": "Tokyo"}));
    assert_eq!(last.meta.usage.unwrap().input_tokens, 169);
}

#[tokio::test]
async fn the_final_done_line_keeps_its_content_thinking_and_tool_calls() {
    let call = |i: u32, city: &str| {
        json!({"id": format!("call_{i}"),
               "function": {"index": i, "name": "get_weather", "arguments": {"city": city}}})
    };
    let reply = ndjson(&[
        json!({"model": "m", "message": {"role": "assistant", "content": "", "thinking": "Hmm, "}, "done": false}),
        json!({"model": "m", "message": {"role": "assistant", "content": "", "thinking": "two cities."}, "done": false}),
        line("Checking"),
        done_line(json!({"message": {"role": "assistant", "content": " both.",
                                      "tool_calls": [call(1, "Paris"), call(0, "Tokyo")]}})),
    ]);
    let server = chat_server(reply).await;
    let (items, err) = collect(
        &ollama(&server.url()),
        &[Message::user("q")],
        &native_opts(),
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(items[0].reasoning(), "Hmm, ");
    assert_eq!(items[0].text(), "");
    let last = items.last().unwrap();
    assert_eq!(last.text(), " both.", "content on the done line is kept");
    let r = fold(&items);
    assert_eq!(r.reasoning(), "Hmm, two cities.");
    assert_eq!(r.text(), "Checking both.");
    let cities: Vec<_> = r
        .tool_calls()
        .iter()
        .map(|c| c.arguments["city"].clone())
        .collect();
    assert_eq!(cities, ["Tokyo", "Paris"], "in index order");
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    assert!(matches!(
        r.candidates[0].message.parts[0],
        Part::Reasoning { .. }
    ));
}

#[tokio::test]
async fn length_stays_length_even_with_tool_calls() {
    let reply = ndjson(&[done_line(json!({
        "done_reason": "length",
        "message": {"role": "assistant", "content": "",
                    "tool_calls": [{"function": {"index": 0, "name": "f", "arguments": {}}}]}
    }))]);
    let server = chat_server(reply).await;
    let r = ollama(&server.url())
        .generate_stream("m", &[Message::user("q")], &native_opts())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(r.tool_calls()[0].id, "", "an id may be absent");
}

#[tokio::test]
async fn native_chat_midstream_error_is_a_stream_error_after_the_text() {
    let server = TestServer::start([transcript("native_chat_midstream_error")]).await;
    let (items, err) = collect(
        &ollama(&server.url()),
        &[Message::user("Tell me a long story.")],
        &native_opts(),
    )
    .await;
    let texts: Vec<String> = items.iter().map(GenResponse::text).collect();
    assert_eq!(texts, ["Once", " upon a"]);
    match err {
        Some(Error::Stream { message, .. }) => assert!(
            message.contains("an error was encountered while running the model: unexpected EOF"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn native_chat_model_not_found_has_the_pull_hint() {
    let server = TestServer::start([transcript("native_chat_model_not_found")]).await;
    let p = ollama(&server.url());
    for stream in [false, true] {
        let e = if stream {
            p.generate_stream("no-such-model", &[Message::user("hi")], &native_opts())
                .await
                .unwrap_err()
        } else {
            p.generate("no-such-model", &[Message::user("hi")], &native_opts())
                .await
                .unwrap_err()
        };
        let Error::Api(api) = &e else { panic!("{e:?}") };
        assert_eq!(api.status, 404);
        assert_eq!(api.message, "model 'no-such-model' not found");
        assert_eq!(
            api.hint.as_deref(),
            Some("pull it first with `ollama pull no-such-model`")
        );
    }
    let mut sent = sent_without_num_ctx(&server);
    sent["model"] = json!("no-such-model");
    assert_eq!(
        sent,
        fixture_json("native_chat_model_not_found")["request"]["body"]
    );
}

#[tokio::test]
async fn native_chat_format_schema_nonstream() {
    let server = TestServer::start([transcript("native_chat_format_schema_nonstream")]).await;
    let fx = fixture_json("native_chat_format_schema_nonstream");
    let schema = fx["request"]["body"]["format"].clone();
    let opts = Options::builder()
        .temperature(0.0)
        .extension(OllamaOptions::builder().format(schema).build())
        .build();
    let r = ollama(&server.url())
        .generate(
            "llama3.1",
            &[Message::user(
                "Ollama is 22 and busy. Return age and availability as JSON.",
            )],
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(
        numbers_as_f64(&server.last_request().unwrap().json().unwrap()),
        numbers_as_f64(&fx["request"]["body"])
    );
    let v: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(v, json!({"age": 22, "available": false}));
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let u = r.meta.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (34, 12, 46)
    );
    assert_eq!(
        r.meta.server_timings.unwrap().total,
        Some(Duration::from_nanos(2_254_970_291))
    );
    assert_eq!(r.meta.model.as_deref(), Some("llama3.1"));
    assert!(r.meta.total_time.is_some() && r.meta.time_to_first_token.is_some());
}

// ---------------------------------------------------------------------------------------
// Stream failures
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn native_stream_cut_without_done_is_an_error() {
    let server = chat_server(ndjson(&[line("Hel"), line("lo")])).await;
    let (items, err) = collect(
        &ollama(&server.url()),
        &[Message::user("q")],
        &native_opts(),
    )
    .await;
    assert_eq!(items.len(), 2);
    match err {
        Some(Error::Stream { message, .. }) => assert!(message.contains("done"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_last_line_without_newline_still_counts() {
    let mut reply = ndjson(&[line("Hi"), done_line(json!({}))]);
    let last = reply.chunks.pop().unwrap();
    reply.chunks.push(last.slice(..last.len() - 1));
    let server = chat_server(reply).await;
    let r = ollama(&server.url())
        .generate_stream("m", &[Message::user("q")], &native_opts())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.text(), "Hi");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
}

#[tokio::test]
async fn malformed_and_non_utf8_lines_are_decode_errors() {
    let mut bad_utf8 = ndjson(&[line("ok")]);
    bad_utf8
        .chunks
        .push(Bytes::from_static(b"{\"x\":\"\xff\xfe\"}\n"));
    for (reply, what) in [
        (ndjson(&[line("ok"), json!([1, 2])]), "not a chat chunk"),
        (bad_utf8, "UTF-8"),
    ] {
        let server = chat_server(reply).await;
        let (items, err) = collect(
            &ollama(&server.url()),
            &[Message::user("q")],
            &native_opts(),
        )
        .await;
        assert_eq!(items.len(), 1);
        let e = err.unwrap();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert!(e.to_string().contains(what), "{e}");
    }
}

#[tokio::test]
async fn lines_after_done_are_ignored() {
    let server = chat_server(ndjson(&[
        line("A"),
        done_line(json!({})),
        line("after the end"),
        json!({"error": "ignored"}),
    ]))
    .await;
    let (items, err) = collect(
        &ollama(&server.url()),
        &[Message::user("q")],
        &native_opts(),
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(fold(&items).text(), "A");
}

#[tokio::test]
async fn an_endpoint_the_server_lacks_gets_a_native_hint() {
    // An old Ollama (or another server) without /api/embed: gin's text 404.
    let server = TestServer::builder().start().await;
    let e = ollama(&server.url())
        .embed("m", &["x"], &EmbedOptions::new())
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.status, 404);
    assert!(
        api.hint.as_deref().unwrap().contains("/api/embed endpoint"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Request encoding
// ---------------------------------------------------------------------------------------

async fn sent_body(messages: &[Message], opts: &Options) -> Value {
    let server = chat_server(ndjson(&[done_line(json!({}))])).await;
    ollama(&server.url())
        .generate_stream("m", messages, opts)
        .await
        .expect("stream starts")
        .collect_response()
        .await
        .expect("the stream completes");
    server
        .last_request()
        .expect("a request")
        .json()
        .expect("a JSON body")
}

#[tokio::test]
async fn keep_alive_is_a_number_of_seconds_or_a_duration_string() {
    for (k, want) in [
        (KeepAlive::Seconds(300.0), json!(300)),
        (KeepAlive::Seconds(-1.0), json!(-1)),
        (KeepAlive::Seconds(0.0), json!(0)),
        (KeepAlive::Seconds(2.5), json!(2.5)),
        (KeepAlive::Duration("1h30m".into()), json!("1h30m")),
        (KeepAlive::parse("300").unwrap(), json!(300)),
        (KeepAlive::parse("5m").unwrap(), json!("5m")),
    ] {
        let opts = Options::builder()
            .extension(OllamaOptions::builder().keep_alive(k.clone()).build())
            .build();
        let sent = sent_body(&[Message::user("q")], &opts).await;
        assert_eq!(sent["keep_alive"], want, "{k:?}");
        assert!(
            sent.get("options").is_none(),
            "keep_alive is top-level: {sent}"
        );
    }
    let opts = Options::builder()
        .extension(
            OllamaOptions::builder()
                .keep_alive(KeepAlive::Seconds(f64::NAN))
                .build(),
        )
        .build();
    let server = chat_server(ndjson(&[done_line(json!({}))])).await;
    let e = ollama(&server.url())
        .generate("m", &[Message::user("q")], &opts)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn images_go_as_raw_base64_without_a_data_prefix() {
    let png = vec![0x89u8, b'P', b'N', b'G', 0, 1, 2, 255];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cat.jpg");
    // A real JPEG starts with its magic bytes: the type is sniffed from them.
    let jpeg = b"\xff\xd8\xff\xe0jpeg bytes";
    std::fs::write(&file, jpeg).unwrap();
    let file_uri = url::Url::from_file_path(&file).unwrap().to_string();
    let msg = Message::text(Role::User, "What is in these pictures?")
        .add_binary("a.png", png.clone(), "image/png")
        .add_file("data:image/png;base64,AAEC", "image/png")
        .add_file(file_uri, "image/jpeg")
        .add_binary("note.txt", "a note", "text/plain");
    let sent = sent_body(&[msg], &native_opts()).await;
    assert_eq!(
        sent["messages"],
        json!([{
            "role": "user",
            "content": "What is in these pictures?\na note",
            "images": [STANDARD.encode(&png), "AAEC", STANDARD.encode(jpeg)]
        }])
    );
    for image in sent["messages"][0]["images"].as_array().unwrap() {
        assert!(!image.as_str().unwrap().starts_with("data:"));
    }
}

#[tokio::test]
async fn images_that_cannot_be_inlined_are_refused() {
    let server = chat_server(ndjson(&[done_line(json!({}))])).await;
    let p = ollama(&server.url());
    for msg in [
        Message::user("x").add_file("https://example.com/cat.png", "image/png"),
        Message::user("x").add_binary("a.pdf", vec![1u8], "application/pdf"),
    ] {
        let e = p.generate("m", &[msg], &native_opts()).await.unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn every_option_lands_in_the_native_request() {
    let opts = Options::builder()
        .max_tokens(100)
        .temperature(0.25)
        .top_p(0.5)
        .seed(7)
        .stop(["\n\n", "END"])
        .frequency_penalty(0.75)
        .presence_penalty(-0.5)
        .system("You are terse.")
        .response_format(ResponseFormat::Json)
        .reasoning_effort(ReasoningEffort::None)
        .extra("truncate", false)
        .extension(
            OllamaOptions::builder()
                .num_ctx(8192)
                .repeat_penalty(1.1)
                .top_k(20)
                .min_p(0.05)
                .build(),
        )
        .build();
    let sent = sent_body(&[Message::user("hi")], &opts).await;
    assert_eq!(
        sent,
        json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "hi"}
            ],
            "format": "json",
            "options": {
                "num_ctx": 8192,
                "num_predict": 100,
                "temperature": 0.25,
                "top_p": 0.5,
                "top_k": 20,
                "min_p": 0.05,
                "seed": 7,
                "repeat_penalty": 1.1,
                "frequency_penalty": 0.75,
                "presence_penalty": -0.5,
                "stop": ["\n\n", "END"]
            },
            "think": false,
            "truncate": false
        })
    );
}

#[tokio::test]
async fn ollama_options_win_over_their_generic_counterparts() {
    let schema = json!({"type": "object"});
    let opts = Options::builder()
        .max_tokens(100)
        .reasoning_effort(ReasoningEffort::Low)
        .response_format(ResponseFormat::JsonSchema {
            name: "x".into(),
            schema: json!({"type": "array"}),
            strict: true,
        })
        .extension(
            OllamaOptions::builder()
                .num_predict(-1)
                .think(Think::Level(ThinkLevel::HIGH))
                .format(schema.clone())
                .build(),
        )
        .build();
    let sent = sent_body(&[Message::user("hi")], &opts).await;
    assert_eq!(sent["options"], json!({"num_predict": -1}));
    assert_eq!(sent["think"], "high");
    assert_eq!(sent["format"], schema);

    // Without the Ollama ones, the generic ones are mapped.
    let opts = Options::builder()
        .reasoning_effort(ReasoningEffort::Max)
        .response_format(ResponseFormat::JsonSchema {
            name: "x".into(),
            schema: json!({"type": "array"}),
            strict: true,
        })
        .extension(OllamaOptions::builder().think(Think::Enabled(true)).build())
        .build();
    let sent = sent_body(&[Message::user("hi")], &opts).await;
    assert_eq!(sent["think"], true);
    assert_eq!(sent["format"], json!({"type": "array"}));
    let opts = Options::builder()
        .reasoning_effort(ReasoningEffort::Max)
        .extension(OllamaOptions::builder().top_k(1).build())
        .build();
    assert_eq!(
        sent_body(&[Message::user("hi")], &opts).await["think"],
        "max"
    );
}

#[tokio::test]
async fn tool_calls_and_results_replay_in_native_form() {
    let history = [
        Message::user("Weather in Tokyo and Paris?"),
        Message::new(Role::Assistant)
            .add_tool_call(ToolCall::new(
                "call_1",
                "get_weather",
                json!({"city": "Tokyo"}),
            ))
            .add_tool_call(ToolCall::new(
                "call_2",
                "get_weather",
                json!({"city": "Paris"}),
            )),
        Message::tool_result("call_1", "22C sunny"),
        Message::tool_result("call_2", "18C rain"),
    ];
    let sent = sent_body(&history, &native_opts()).await;
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "Weather in Tokyo and Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Tokyo"}}},
                {"id": "call_2", "function": {"index": 1, "name": "get_weather", "arguments": {"city": "Paris"}}}
            ]},
            {"role": "tool", "content": "22C sunny", "tool_name": "get_weather", "tool_call_id": "call_1"},
            {"role": "tool", "content": "18C rain", "tool_name": "get_weather", "tool_call_id": "call_2"}
        ])
    );

    // Arguments that are not a JSON object cannot be sent natively.
    let bad = Message::new(Role::Assistant).add_tool_call(ToolCall::from_raw("c", "f", "{oops"));
    let server = chat_server(ndjson(&[done_line(json!({}))])).await;
    let e = ollama(&server.url())
        .generate("m", &[Message::user("q"), bad], &native_opts())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
}

#[tokio::test]
async fn tool_choice_none_offers_no_tools_and_forced_choices_are_refused() {
    let tool = Tool::function("f", "does f", json!({"type": "object"}));
    let opts = Options::builder()
        .tool(tool.clone())
        .tool_choice(ToolChoice::None)
        .extension(OllamaOptions::builder().num_ctx(1).build())
        .build();
    let sent = sent_body(&[Message::user("q")], &opts).await;
    assert!(sent.get("tools").is_none(), "{sent}");

    let server = chat_server(ndjson(&[done_line(json!({}))])).await;
    let p = ollama(&server.url());
    for opts in [
        Options::builder()
            .tool(tool.clone())
            .tool_choice(ToolChoice::Required)
            .extension(OllamaOptions::builder().num_ctx(1).build())
            .build(),
        Options::builder()
            .candidate_count(2)
            .extension(OllamaOptions::builder().num_ctx(1).build())
            .build(),
    ] {
        let e = p
            .generate("m", &[Message::user("q")], &opts)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
    let e = p.generate("m", &[], &native_opts()).await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let e = p
        .generate("", &[Message::user("q")], &native_opts())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn without_ollama_options_chat_stays_on_v1() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    ollama(&server.url())
        .generate(
            "llama3.2",
            &[Message::text(Role::User, "Say hello in five words.")],
            &Options::default(),
        )
        .await
        .unwrap();
    assert_eq!(server.last_request().unwrap().path, "/v1/chat/completions");
}

#[tokio::test]
async fn native_calls_share_auth_and_headers_with_chat() {
    let server =
        TestServer::start([transcript("native_tags"), transcript("native_chat_stream")]).await;
    let p = OllamaProvider::builder()
        .host(server.url())
        .auth(Auth::bearer("s3cret"))
        .header("X-Team", "blue")
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    p.list_models().await.unwrap();
    p.generate_stream("llama3.2", &[Message::user("q")], &native_opts())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
    for req in server.requests() {
        assert_eq!(
            req.header("authorization"),
            Some("Bearer s3cret"),
            "{}",
            req.path
        );
        assert_eq!(req.header("x-team"), Some("blue"), "{}", req.path);
    }
    assert!(!format!("{p:?}").contains("s3cret"));
}

#[tokio::test]
async fn a_dyn_provider_routes_ollama_options_natively() {
    let server = TestServer::start([transcript("native_chat_stream")]).await;
    let p: std::sync::Arc<dyn Provider> = std::sync::Arc::new(ollama(&server.url()));
    let r = p
        .generate("llama3.2", &[Message::user("q")], &native_opts())
        .await;
    // The transcript is a stream; a non-streaming call reads it as one object and fails to
    // find a single answer in it, which is a decode error (not a silent partial answer).
    assert!(matches!(r, Err(Error::Decode { .. })), "{r:?}");
    let r = p
        .generate_stream("llama3.2", &[Message::user("q")], &native_opts())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.text(), "Rayleigh scattering favors blue light.");
}

// ---------------------------------------------------------------------------------------
// Which chat API: OllamaChatApi
// ---------------------------------------------------------------------------------------

fn with_api(root: &str, api: OllamaChatApi) -> OllamaProvider {
    OllamaProvider::builder()
        .host(root)
        .retry(RetryConfig::none())
        .chat_api(api)
        .build()
        .expect("provider builds")
}

/// A server with both chat endpoints, each answering "hi" in its own format.
async fn both_chats() -> TestServer {
    TestServer::builder()
        .route(
            "POST",
            "/api/chat",
            // One line: a whole answer (stream: false) and a one-chunk stream alike.
            ndjson(&[done_line(
                json!({"message": {"role": "assistant", "content": "hi"}}),
            )]),
        )
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::json(
                200,
                &json!({"id": "c", "object": "chat.completion", "model": "m",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "hi"}}]}),
            ),
        )
        .start()
        .await
}

#[tokio::test]
async fn the_chat_api_is_chosen_explicitly_or_by_the_ollama_options() {
    let server = both_chats().await;
    let msgs = [Message::user("hello")];
    let plain = Options::default();
    let with_ctx = native_opts();
    let cases = [
        // Auto (the default): native exactly when an OllamaOptions setting is made.
        (OllamaChatApi::Auto, &plain, "/v1/chat/completions"),
        (OllamaChatApi::Auto, &with_ctx, "/api/chat"),
        // Native: always /api/chat.
        (OllamaChatApi::Native, &plain, "/api/chat"),
        (OllamaChatApi::Native, &with_ctx, "/api/chat"),
        // OpenAiCompatible: always /v1.
        (
            OllamaChatApi::OpenAiCompatible,
            &plain,
            "/v1/chat/completions",
        ),
    ];
    for (api, opts, path) in cases {
        let p = with_api(&server.url(), api);
        assert_eq!(p.chat_api(), api);
        let r = p.generate("m", &msgs, opts).await.unwrap();
        assert_eq!(r.text(), "hi");
        assert_eq!(
            server.last_request().unwrap().path,
            path,
            "{api:?} generate"
        );
        let r = p
            .generate_stream("m", &msgs, opts)
            .await
            .unwrap()
            .collect_response()
            .await;
        // The /v1 route answers JSON, not a stream: only the path matters here.
        let _ = r;
        assert_eq!(server.last_request().unwrap().path, path, "{api:?} stream");
    }
    assert_eq!(
        OllamaProvider::new().unwrap().chat_api(),
        OllamaChatApi::Auto
    );
    // An unset OllamaOptions extension does not move the chat.
    let p = with_api(&server.url(), OllamaChatApi::Auto);
    let empty = Options::builder().extension(OllamaOptions::new()).build();
    p.generate("m", &msgs, &empty).await.unwrap();
    assert_eq!(server.last_request().unwrap().path, "/v1/chat/completions");

    // OpenAiCompatible refuses Ollama-only settings /v1 would ignore, before sending…
    let n = server.requests().len();
    let p = with_api(&server.url(), OllamaChatApi::OpenAiCompatible);
    let e = p.generate("m", &msgs, &with_ctx).await.unwrap_err();
    let Error::Unsupported { option, reason, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(option.contains("OllamaOptions"), "{option}");
    assert!(reason.contains("OllamaChatApi::Native"), "{reason}");
    assert_eq!(server.requests().len(), n);
    // …and drops them with a warning in lenient mode.
    let p = OllamaProvider::builder()
        .host(server.url())
        .chat_api(OllamaChatApi::OpenAiCompatible)
        .lenient(true)
        .build()
        .unwrap();
    p.generate("m", &msgs, &with_ctx).await.unwrap();
    let last = server.last_request().unwrap();
    assert_eq!(last.path, "/v1/chat/completions");
    let sent = last.json().unwrap();
    assert!(
        sent.get("options").is_none() && sent.get("num_ctx").is_none(),
        "{sent}"
    );
}

/// Issue 12: the native body with `extra` keys kept f32 values exact; the test pins it with
/// values inexact in f32, as for /v1 (tests/chat.rs).
#[tokio::test]
async fn native_f32_options_keep_their_exact_spelling_with_extra_keys() {
    for extra in [false, true] {
        let server = chat_server(ndjson(&[done_line(json!({}))])).await;
        let mut b = Options::builder()
            .temperature(0.05)
            .top_p(0.1)
            .extension(OllamaOptions::builder().num_ctx(4096).min_p(0.7).build());
        if extra {
            b = b.extra("keep_alive", "5m");
        }
        ollama(&server.url())
            .generate("m", &[Message::user("hi")], &b.build())
            .await
            .unwrap();
        let text = String::from_utf8(server.last_request().unwrap().body.to_vec()).unwrap();
        for want in [
            r#""temperature":0.05,"#,
            r#""top_p":0.1,"#,
            r#""min_p":0.7"#,
        ] {
            assert!(text.contains(want), "extra={extra}: {want} not in {text}");
        }
        assert!(!text.contains("0000000"), "extra={extra}: {text}");
    }
}

/// Issue 13 #11: Ollama-only options with a documented range are checked before sending.
#[tokio::test]
async fn out_of_range_ollama_options_are_refused_before_sending() {
    let server = chat_server(ndjson(&[done_line(json!({}))])).await;
    let p = ollama(&server.url());
    let cases = [
        (
            OllamaOptions::builder().num_ctx(0).build(),
            "OllamaOptions::num_ctx",
        ),
        (
            OllamaOptions::builder().top_k(0).build(),
            "OllamaOptions::top_k",
        ),
        (
            OllamaOptions::builder().min_p(1.5).build(),
            "OllamaOptions::min_p",
        ),
        (
            OllamaOptions::builder().num_predict(0).build(),
            "OllamaOptions::num_predict",
        ),
        (
            OllamaOptions::builder().num_predict(-3).build(),
            "OllamaOptions::num_predict",
        ),
        (
            OllamaOptions::builder().repeat_penalty(-1.0).build(),
            "OllamaOptions::repeat_penalty",
        ),
        (
            OllamaOptions::builder()
                .keep_alive(KeepAlive::Seconds(f64::INFINITY))
                .build(),
            "OllamaOptions::keep_alive",
        ),
        (
            OllamaOptions::builder().typical_p(1.5).build(),
            "OllamaOptions::typical_p",
        ),
        (
            OllamaOptions::builder().typical_p(-0.1).build(),
            "OllamaOptions::typical_p",
        ),
        (
            OllamaOptions::builder().num_keep(-2).build(),
            "OllamaOptions::num_keep",
        ),
        (
            OllamaOptions::builder().repeat_last_n(-5).build(),
            "OllamaOptions::repeat_last_n",
        ),
        (
            OllamaOptions::builder().num_gpu(-2).build(),
            "OllamaOptions::num_gpu",
        ),
        (
            OllamaOptions::builder().num_batch(0).build(),
            "OllamaOptions::num_batch",
        ),
        (
            OllamaOptions::builder().draft_num_predict(0).build(),
            "OllamaOptions::draft_num_predict",
        ),
    ];
    for (o, setting) in cases {
        let opts = Options::builder().extension(o).build();
        let e = p
            .generate("m", &[Message::user("hi")], &opts)
            .await
            .unwrap_err();
        assert_eq!(e.setting(), Some(setting), "{e:?}");
    }
    let e = p
        .embed("m", &["x"], &EmbedOptions::builder().dimensions(0).build())
        .await
        .unwrap_err();
    assert_eq!(e.setting(), Some("EmbedOptions::dimensions"), "{e:?}");
    assert!(server.requests().is_empty(), "nothing is sent");
}
