//! Ollama's model management beyond pull/list/show/delete — create (from a model, from
//! uploaded files), blobs (HEAD, streamed POST), copy, push, unload — and what a request
//! learns from the model: capabilities (the server's 400s and the up-front check), open
//! thinking levels checked against `/api/show`, reasoning sent back in history, thinking that
//! used up the token limit. Transcripts are `tests/fixtures/native_{create,blob,copy,push,
//! show}_*.json` and `native_chat_*_unsupported.json`, each citing its Ollama source.

use llmport_test_support as support;

use std::io::Write;

use futures::StreamExt;
use llmport::ollama::{CreateOptions, OllamaOptions, Progress, Think};
use llmport::testing::{RecordedRequest, Reply, TestServer};
use llmport::{
    EmbedOptions, Embedder, Error, Message, OllamaProvider, Options, Part, Provider, RetryConfig,
    Role, Tool,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::*;

/// The statuses of a transcript's progress lines (`ndjson_lines[].status`), up to the first
/// error line.
fn statuses(name: &str) -> Vec<String> {
    fixture_json(name)["response"]["ndjson_lines"]
        .as_array()
        .expect("ndjson_lines")
        .iter()
        .map_while(|l| l["status"].as_str().map(str::to_owned))
        .collect()
}

/// The request body a transcript records.
fn fixture_request(name: &str) -> Value {
    fixture_json(name)["request"]["body"].clone()
}

/// Every item of a progress stream, with the statuses of the reports.
async fn drain(
    stream: llmport::ollama::ProgressStream,
) -> (Vec<String>, Vec<Progress>, Option<Error>) {
    let items: Vec<llmport::Result<Progress>> = stream.collect().await;
    let mut reports = Vec::new();
    let mut error = None;
    for item in items {
        match item {
            Ok(p) => reports.push(p),
            Err(e) => {
                assert!(error.is_none(), "one error ends the stream");
                error = Some(e);
            }
        }
    }
    let names = reports.iter().map(|p| p.status.clone()).collect();
    (names, reports, error)
}

fn requests_to(server: &TestServer, method: &str, path_start: &str) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with(path_start))
        .collect()
}

/// A server that replays the transcript `name`, its body split in writes of `split` bytes
/// (0: whole).
async fn replaying(name: &str, split: usize) -> TestServer {
    TestServer::builder()
        .transcript(transcript(name))
        .split_writes(split)
        .start()
        .await
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A GGUF-looking file of `len` bytes (the magic, then a byte pattern), and its digest.
fn gguf_file(dir: &tempfile::TempDir, name: &str, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let mut bytes = b"GGUF".to_vec();
    bytes.extend((0..len.saturating_sub(4)).map(|i| (i * 31 % 251) as u8));
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&bytes))
        .expect("write the file");
    (path, bytes)
}

// ---------------------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------------------

fn mario() -> CreateOptions {
    CreateOptions::builder()
        .from("llama3.2")
        .system("You are Mario from Super Mario Bros.")
        .parameter("temperature", 0.7)
        .parameter("num_ctx", 8192)
        .build()
        .expect("options")
}

#[tokio::test]
async fn create_from_a_model_sends_the_transcripts_request_and_reports_every_step() {
    for split in [0, 1] {
        let server = replaying("native_create_from_model", split).await;
        let stream = ollama(&server.url())
            .create("mario", &mario())
            .await
            .expect("starts");
        let (names, _, error) = drain(stream).await;
        assert!(error.is_none(), "split {split}: {error:?}");
        assert_eq!(names, statuses("native_create_from_model"), "split {split}");
        assert_eq!(names.last().map(String::as_str), Some("success"));
        let sent = server.last_request().expect("a request");
        assert_eq!(
            sent.json().unwrap(),
            fixture_request("native_create_from_model")
        );
    }
}

#[tokio::test]
async fn create_from_an_unknown_model_fails_in_the_stream_with_the_servers_words() {
    let server = TestServer::start([transcript("native_create_bad_from")]).await;
    let options = CreateOptions::builder()
        .from("no-such-model-xyz")
        .system("You are Mario.")
        .build()
        .unwrap();
    let stream = ollama(&server.url())
        .create("mario", &options)
        .await
        .unwrap();
    let (names, _, error) = drain(stream).await;
    assert_eq!(names, ["pulling manifest"]);
    match error {
        Some(Error::Stream { message, .. }) => assert_eq!(
            message,
            "the create failed: pull model manifest: file does not exist"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn create_with_a_missing_blob_fails_in_the_stream() {
    let server = TestServer::start([transcript("native_create_from_files_missing_blob")]).await;
    let digest = "sha256:d2a40d7bbd3fbbd1c3b1b4ac4a4b7b0ad31d8cfdbe80f2b3f4fa2b6f6a1b47c9";
    let options = CreateOptions::builder()
        .file("model.gguf", digest)
        .build()
        .unwrap();
    let stream = ollama(&server.url())
        .create("my-gguf-model", &options)
        .await
        .unwrap();
    let (names, _, error) = drain(stream).await;
    assert_eq!(names, ["parsing GGUF"]);
    assert!(
        matches!(&error, Some(Error::Stream { message, .. })
            if message.contains("sha256-d2a40d7bbd3f") && message.ends_with("no such file or directory")),
        "{error:?}"
    );
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fixture_request("native_create_from_files_missing_blob")
    );
}

#[tokio::test]
async fn create_without_a_source_is_refused_before_anything_is_sent() {
    let server = TestServer::start([transcript("native_create_from_model")]).await;
    let e = ollama(&server.url())
        .create("x", &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert_eq!(e.setting(), Some("CreateOptions::from"));
    assert!(server.requests().is_empty());
}

/// The server of a create from a local file: HEAD answers `head`, the upload 201, the
/// create as the transcript.
async fn blob_server(digest: &str, head: &str) -> TestServer {
    let blob = format!("/api/blobs/{digest}");
    TestServer::builder()
        .route("HEAD", &blob, transcript(head).reply())
        .route(
            "POST",
            &blob,
            transcript("native_blob_push_created").reply(),
        )
        .route(
            "POST",
            "/api/create",
            transcript("native_create_from_model").reply(),
        )
        .start()
        .await
}

#[tokio::test]
async fn create_from_a_gguf_uploads_the_exact_bytes_under_their_digest_when_the_server_lacks_them()
{
    let dir = tempfile::tempdir().unwrap();
    // Several upload pieces (256 KiB each) and an odd tail.
    let (path, bytes) = gguf_file(&dir, "tiny.gguf", 700_001);
    let digest = sha256(&bytes);
    let server = blob_server(&digest, "native_blob_head_missing").await;
    let stream = ollama(&server.url())
        .create_from_gguf("tiny", &path)
        .await
        .expect("uploads and starts");
    let (names, _, error) = drain(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(names.last().map(String::as_str), Some("success"));

    let order: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let blob = format!("/api/blobs/{digest}");
    assert_eq!(
        order,
        [
            ("HEAD".to_owned(), blob.clone()),
            ("POST".to_owned(), blob.clone()),
            ("POST".to_owned(), "/api/create".to_owned()),
        ]
    );
    let upload = &requests_to(&server, "POST", "/api/blobs/")[0];
    // What the server checks: the path's digest is the body's, spelled as it computes it.
    assert_eq!(sha256(&upload.body), digest);
    assert!(
        digest
            .strip_prefix("sha256:")
            .unwrap()
            .bytes()
            .all(|b| !b.is_ascii_uppercase())
    );
    assert_eq!(upload.body.len(), bytes.len());
    assert_eq!(
        upload.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(upload.header("content-length"), Some("700001"));
    let create = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        create,
        json!({"model": "tiny", "files": {"tiny.gguf": digest}})
    );
}

#[tokio::test]
async fn create_from_a_gguf_the_server_has_uploads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = gguf_file(&dir, "m.gguf", 1000);
    let digest = sha256(&bytes);
    let server = blob_server(&digest, "native_blob_head_exists").await;
    let options = CreateOptions::builder().system("Be brief.").build();
    // A file is a source: options without `from` are fine here, but not on their own.
    assert!(options.is_err());
    let stream = ollama(&server.url())
        .create_from_gguf_with("m", &path, &CreateOptions::default())
        .await
        .unwrap();
    let (_, _, error) = drain(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(requests_to(&server, "HEAD", "/api/blobs/").len(), 1);
    assert!(requests_to(&server, "POST", "/api/blobs/").is_empty());
}

#[tokio::test]
async fn an_upload_is_sent_again_from_its_first_byte_when_it_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = gguf_file(&dir, "m.gguf", 300_000);
    let digest = sha256(&bytes);
    let blob = format!("/api/blobs/{digest}");
    let server = TestServer::builder()
        .route("POST", &blob, Reply::json(503, &json!({"error": "busy"})))
        .route("POST", &blob, Reply::empty(201))
        .start()
        .await;
    let ollama = OllamaProvider::builder()
        .host(server.url())
        .retry(fast_retries(1))
        .build()
        .unwrap();
    assert!(ollama.upload_blob(&digest, &path).await.expect("uploaded"));
    let uploads = requests_to(&server, "POST", "/api/blobs/");
    assert_eq!(uploads.len(), 2);
    for u in uploads {
        assert_eq!(
            sha256(&u.body),
            digest,
            "every attempt sends the whole file"
        );
    }
}

#[tokio::test]
async fn blob_answers_200_and_201_and_404_mean_what_the_server_says() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = gguf_file(&dir, "m.gguf", 10);
    let digest = sha256(&bytes);
    let blob = format!("/api/blobs/{digest}");
    let server = TestServer::builder()
        .route(
            "HEAD",
            &blob,
            transcript("native_blob_head_missing").reply(),
        )
        .route("HEAD", &blob, transcript("native_blob_head_exists").reply())
        .route("POST", &blob, Reply::empty(200))
        .start()
        .await;
    let ollama = ollama(&server.url());
    assert!(!ollama.has_blob(&digest).await.unwrap());
    assert!(
        ollama
            .has_blob(&digest.to_uppercase().replace("SHA256:", "sha256-"))
            .await
            .unwrap()
    );
    // 200: the server had it and did not read the upload.
    assert!(!ollama.upload_blob(&digest, &path).await.unwrap());
    let heads = requests_to(&server, "HEAD", "/api/blobs/");
    assert!(
        heads.iter().all(|h| h.path == blob),
        "always sha256:<lowercase>"
    );
    let e = ollama.has_blob("sha256:1234").await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// copy, push, unload
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn copy_sends_source_and_destination_and_a_missing_source_is_a_404() {
    let server = TestServer::start([transcript("native_copy_ok")]).await;
    ollama(&server.url())
        .copy("llama3.2", "llama3-backup")
        .await
        .expect("copied");
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fixture_request("native_copy_ok")
    );

    let server = TestServer::builder()
        .route(
            "POST",
            "/api/copy",
            Reply::json(404, &json!({"error": "model \"x\" not found"})),
        )
        .start()
        .await;
    let e = ollama(&server.url()).copy("x", "y").await.unwrap_err();
    match e {
        Error::Api(api) => {
            assert_eq!(api.status, 404);
            assert_eq!(api.message, "model \"x\" not found");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn push_reports_every_layer_at_every_split() {
    for split in [0, 1] {
        let server = replaying("native_push_progress", split).await;
        let stream = ollama(&server.url()).push("alice/mario").await.unwrap();
        let (names, reports, error) = drain(stream).await;
        assert!(error.is_none(), "split {split}: {error:?}");
        assert_eq!(names, statuses("native_push_progress"));
        let done = &reports[4];
        assert_eq!(
            (done.total, done.completed),
            (Some(986_000_000), Some(986_000_000))
        );
        assert_eq!(reports[1].completed, None, "completed is omitted at 0");
        assert_eq!(
            server.last_request().unwrap().json().unwrap(),
            fixture_request("native_push_progress")
        );
    }
}

#[tokio::test]
async fn an_unauthorized_push_is_an_auth_error_after_the_manifest() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/push",
            Reply::ndjson([
                json!({"status": "retrieving manifest"}),
                json!({"error": "unauthorized: access denied"}),
            ]),
        )
        .start()
        .await;
    let stream = ollama(&server.url()).push("bob/mario").await.unwrap();
    let (names, _, error) = drain(stream).await;
    assert_eq!(names, ["retrieving manifest"]);
    match error {
        Some(Error::Auth {
            status, message, ..
        }) => {
            assert_eq!(status, None);
            assert!(message.contains("unauthorized: access denied"), "{message}");
            assert!(
                message.contains("https://ollama.com/settings/keys"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unload_is_an_empty_generate_with_keep_alive_zero() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/generate",
            Reply::json(
                200,
                &json!({"model": "m", "created_at": "2026-08-21T10:00:00Z", "response": "",
                        "done": true, "done_reason": "unload"}),
            ),
        )
        .start()
        .await;
    ollama(&server.url()).unload("m").await.expect("unloaded");
    let sent = server.last_request().unwrap();
    assert_eq!(sent.text(), r#"{"model":"m","prompt":"","keep_alive":0}"#);
}

// ---------------------------------------------------------------------------------------
// capabilities
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn show_reports_capabilities_context_and_thinking_levels() {
    let server = TestServer::start([transcript("native_show_capabilities")]).await;
    let info = ollama(&server.url()).show("x").await.unwrap();
    assert_eq!(info.capabilities, ["completion", "tools", "insert"]);
    assert!(info.supports("insert") && !info.supports("vision"));
    assert!(info.context_length().is_some());
    assert_eq!(info.thinking, None);

    let server = TestServer::start([transcript("native_show_thinking_metadata")]).await;
    let info = ollama(&server.url()).show("qwen3.8:27b").await.unwrap();
    let levels = info.thinking.clone().expect("thinking metadata");
    assert_eq!(
        levels.values,
        [
            Think::Enabled(false),
            Think::level("low"),
            Think::level("medium"),
            Think::level("xhigh")
        ]
    );
    assert_eq!(levels.default, Some(Think::level("medium")));
    assert_eq!(info.context_length(), Some(262_144));
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Get the current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

fn user(text: &str) -> Vec<Message> {
    vec![Message::text(Role::User, text)]
}

fn native_with(think: Option<Think>) -> Options {
    let mut o = OllamaOptions::builder().num_ctx(2048);
    if let Some(t) = think {
        o = o.think(t);
    }
    Options::builder().extension(o.build()).build()
}

#[tokio::test]
async fn the_servers_capability_400s_are_typed_errors_naming_model_and_capability() {
    // Tools: the fully-qualified name; the error names the model as requested.
    let server = TestServer::start([transcript("native_chat_tools_unsupported")]).await;
    let options = Options::builder()
        .tool(weather_tool())
        .extension(OllamaOptions::builder().num_ctx(2048).build())
        .build();
    let e = ollama(&server.url())
        .generate("gemma2:2b", &user("Weather in Paris?"), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ModelCapability { model, capability } if model == "gemma2:2b" && capability == "tools"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "model gemma2:2b does not support tools — pick a model with tools (`llmport show \
         gemma2:2b` lists what it supports)"
    );

    // Thinking: Go's %q spelling, also through the OpenAI-compatible /v1.
    let server = TestServer::start([transcript("native_chat_thinking_unsupported")]).await;
    let e = ollama(&server.url())
        .generate(
            "llama3.2",
            &user("hi"),
            &native_with(Some(Think::Enabled(true))),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ModelCapability { model, capability } if model == "llama3.2" && capability == "thinking"),
        "{e:?}"
    );
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::json(
                400,
                &json!({"error": {"message": "\"llama3.2\" does not support thinking",
                                  "type": "invalid_request_error", "param": null, "code": null}}),
            ),
        )
        .start()
        .await;
    let options = Options::builder()
        .reasoning_effort(llmport::ReasoningEffort::High)
        .build();
    let e = ollama(&server.url())
        .generate("llama3.2", &user("hi"), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ModelCapability { capability, .. } if capability == "thinking"),
        "{e:?}"
    );

    // Embedding, and insert: the same mapping for every endpoint.
    for (path, capability) in [("/api/embed", "embedding"), ("/api/generate", "insert")] {
        let server = TestServer::builder()
            .route(
                "POST",
                path,
                Reply::json(
                    400,
                    &json!({"error": format!("registry.ollama.ai/library/llama3.2:latest does not support {capability}")}),
                ),
            )
            .start()
            .await;
        let ollama = ollama(&server.url());
        let e = if capability == "embedding" {
            ollama
                .embed_strs("llama3.2", &["x"], &EmbedOptions::default())
                .await
                .unwrap_err()
        } else {
            // `unload` is the one /api/generate call of this branch.
            ollama.unload("llama3.2").await.unwrap_err()
        };
        assert!(
            matches!(&e, Error::ModelCapability { model, capability: c } if model == "llama3.2" && c == capability),
            "{e:?}"
        );
    }
}

/// A server whose `/api/show` answers `show`, and whose chat answers a short reply.
async fn checked_server(show: Reply) -> TestServer {
    TestServer::builder()
        .route("POST", "/api/show", show)
        .route(
            "POST",
            "/api/chat",
            Reply::json(
                200,
                &json!({"model": "m", "created_at": "2026-09-20T11:02:44Z",
                        "message": {"role": "assistant", "content": "ok"},
                        "done": true, "done_reason": "stop"}),
            ),
        )
        .start()
        .await
}

#[tokio::test]
async fn a_think_level_the_model_does_not_list_is_refused_with_the_list_and_show_is_asked_once() {
    let server = checked_server(transcript("native_show_thinking_metadata").reply()).await;
    let ollama = ollama(&server.url());
    let e = ollama
        .generate(
            "qwen3.8:27b",
            &user("hi"),
            &native_with(Some(Think::level("ultra"))),
        )
        .await
        .unwrap_err();
    match &e {
        Error::Unsupported { option, reason, .. } => {
            assert_eq!(option, "think \"ultra\" for model qwen3.8:27b");
            assert!(
                reason.contains("false, low, medium, xhigh (default medium)"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // "max" is a typed level, but not this model's.
    let max = native_with(Some(Think::Level(llmport::ollama::ThinkLevel::MAX)));
    assert!(
        ollama
            .generate("qwen3.8:27b", &user("hi"), &max)
            .await
            .is_err()
    );
    let ok = ollama
        .generate(
            "qwen3.8:27b",
            &user("hi"),
            &native_with(Some(Think::level("xhigh"))),
        )
        .await
        .expect("a listed level is sent");
    assert_eq!(ok.text(), "ok");
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["think"],
        "xhigh"
    );
    assert_eq!(
        requests_to(&server, "POST", "/api/show").len(),
        1,
        "cached per model"
    );
    assert_eq!(requests_to(&server, "POST", "/api/chat").len(), 1);

    // Turned off: sent as given, no lookup.
    let server = checked_server(transcript("native_show_thinking_metadata").reply()).await;
    let unchecked = OllamaProvider::builder()
        .host(server.url())
        .check_think_levels(false)
        .build()
        .unwrap();
    unchecked
        .generate(
            "qwen3.8:27b",
            &user("hi"),
            &native_with(Some(Think::level("ultra"))),
        )
        .await
        .expect("sent");
    assert!(requests_to(&server, "POST", "/api/show").is_empty());
}

#[tokio::test]
async fn booleans_and_servers_without_metadata_cost_no_check() {
    let server = checked_server(transcript("native_show_capabilities").reply()).await;
    let ollama = ollama(&server.url());
    ollama
        .generate("m", &user("hi"), &native_with(Some(Think::Enabled(true))))
        .await
        .unwrap();
    assert!(
        requests_to(&server, "POST", "/api/show").is_empty(),
        "no lookup for a bool"
    );
    // A level on a server without `thinking` metadata: looked up once, sent as given.
    ollama
        .generate("m", &user("hi"), &native_with(Some(Think::level("high"))))
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["think"],
        "high"
    );
    assert_eq!(requests_to(&server, "POST", "/api/show").len(), 1);

    // A server without /api/show (404) is asked once, then left alone.
    let server = checked_server(Reply::not_found()).await;
    let ollama = support::ollama(&server.url());
    for _ in 0..3 {
        ollama
            .generate("m", &user("hi"), &native_with(Some(Think::level("high"))))
            .await
            .expect("sent unchecked");
    }
    assert_eq!(requests_to(&server, "POST", "/api/show").len(), 1);
    assert_eq!(requests_to(&server, "POST", "/api/chat").len(), 3);
}

#[tokio::test]
async fn the_up_front_check_refuses_what_the_model_cannot_do_before_the_chat() {
    // native_show_capabilities: completion, tools, insert — no vision, no thinking.
    let server = checked_server(transcript("native_show_capabilities").reply()).await;
    let ollama = OllamaProvider::builder()
        .host(server.url())
        .retry(RetryConfig::none())
        .check_capabilities(true)
        .build()
        .unwrap();
    let png = Message::new(Role::User)
        .add_text("what is this?")
        .add_binary("x.png", vec![0x89, b'P', b'N', b'G'], "image/png");
    let e = ollama
        .generate("m", &[png], &native_with(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ModelCapability { capability, .. } if capability == "vision"),
        "{e:?}"
    );
    let e = ollama
        .generate("m", &user("hi"), &native_with(Some(Think::Enabled(true))))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ModelCapability { capability, .. } if capability == "thinking"),
        "{e:?}"
    );
    let e = ollama
        .embed_strs("m", &["x"], &EmbedOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::ModelCapability { capability, .. } if capability == "embedding"),
        "{e:?}"
    );
    // Tools it has: the chat goes out.
    let options = Options::builder()
        .tool(weather_tool())
        .extension(OllamaOptions::builder().num_ctx(2048).build())
        .build();
    ollama.generate("m", &user("hi"), &options).await.unwrap();
    assert_eq!(requests_to(&server, "POST", "/api/show").len(), 1);
    assert_eq!(requests_to(&server, "POST", "/api/chat").len(), 1);
}

// ---------------------------------------------------------------------------------------
// thinking in history, thinking that used up the tokens
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn earlier_reasoning_goes_back_in_the_native_thinking_field() {
    let server = checked_server(Reply::empty(404)).await;
    let mut answer = Message::text(Role::Assistant, "4");
    answer.parts.insert(
        0,
        Part::Reasoning {
            text: "2+2 is 4".into(),
            signature: None,
        },
    );
    let history = vec![
        Message::text(Role::User, "2+2?"),
        answer,
        Message::text(Role::User, "and 3+3?"),
    ];
    ollama(&server.url())
        .generate("m", &history, &native_with(None))
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "thinking": "2+2 is 4"},
            {"role": "user", "content": "and 3+3?"}
        ])
    );
}

#[tokio::test]
async fn thinking_that_used_up_the_token_limit_is_recognisable() {
    let lines = [
        json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "", "thinking": "Let me think"}, "done": false}),
        json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "length", "eval_count": 16}),
    ];
    let server = TestServer::builder()
        .route("POST", "/api/chat", Reply::ndjson(lines.clone()))
        .start()
        .await;
    let ollama = ollama(&server.url());
    let r = ollama
        .generate_stream("m", &user("hi"), &native_with(None))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert!(r.thinking_used_up_tokens());
    assert_eq!(r.text(), "");
    // An answer that started is only cut off.
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/chat",
            Reply::ndjson([
                lines[0].clone(),
                json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "Th"}, "done": true, "done_reason": "length"}),
            ]),
        )
        .start()
        .await;
    let r = support::ollama(&server.url())
        .generate_stream("m", &user("hi"), &native_with(None))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert!(!r.thinking_used_up_tokens());
}
