//! `llmport chat --format json`, `--schema FILE` and `--show-reasoning` against the wire
//! server.

use llmport_test_support::cli as support;

use llmport::testing::TestServer;
use serde_json::json;
use support::{fixture, llmport};

#[tokio::test(flavor = "multi_thread")]
async fn schema_file_is_sent_as_a_strict_json_schema_named_after_the_file() {
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../llmport/tests/fixtures/openai_chat_json_schema.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let schema = fx["request"]["body"]["response_format"]["json_schema"]["schema"].clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city_info.json");
    std::fs::write(&path, schema.to_string()).unwrap();
    let server = TestServer::start([fixture("openai_chat_json_schema")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--no-stream",
            "--schema",
            path.to_str().unwrap(),
            "Give Tokyo's population as JSON.",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let answer: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(answer, json!({"city": "Tokyo", "population": 14094034}));
    let sent = server.last_request().unwrap().json().unwrap();
    let rf = &sent["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["name"], "city_info");
    assert_eq!(rf["json_schema"]["strict"], true);
    assert_eq!(rf["json_schema"]["schema"], schema);
}

#[tokio::test(flavor = "multi_thread")]
async fn format_json_asks_for_a_json_object() {
    let server = TestServer::start([fixture("openai_chat_plain")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--no-stream",
            "--format",
            "json",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent["response_format"], json!({"type": "json_object"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_schema_or_format_is_a_usage_error_and_nothing_is_sent() {
    let server = TestServer::start([fixture("openai_chat_plain")]).await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let url = server.url();
    for args in [
        vec!["chat", "--schema", "/nonexistent/schema.json", "hi"],
        vec!["chat", "--schema", bad.to_str().unwrap(), "hi"],
        vec!["chat", "--format", "yaml", "hi"],
        vec![
            "chat",
            "--format",
            "json",
            "--schema",
            bad.to_str().unwrap(),
            "hi",
        ],
    ] {
        let mut full = vec!["--host", url.as_str()];
        full.extend(args.iter().copied());
        let run = llmport(&full, &[], None).await;
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn show_reasoning_prints_the_thinking_on_stderr_apart_from_the_answer() {
    for (fx, extra) in [
        ("openai_chat_reasoning_stream", None),
        ("openai_chat_reasoning_nonstream", Some("--no-stream")),
    ] {
        let server = TestServer::start([fixture(fx)]).await;
        let url = server.url();
        let mut args = vec!["--host", &url, "chat", "-m", "qwen3:8b", "--show-reasoning"];
        args.extend(extra);
        args.push("What is 17*3?");
        let run = llmport(&args, &[], None).await;
        assert_eq!(run.code, Some(0), "{fx}: {run:?}");
        assert_eq!(run.stdout, "51.\n", "{fx}");
        assert!(
            run.stderr.contains("17 times 3 is 51. Answer briefly."),
            "{fx}: {run:?}"
        );
        assert!(!run.stderr.contains('\x1b'), "no escape codes when piped");

        // Without the flag the reasoning is not shown.
        let server = TestServer::start([fixture(fx)]).await;
        let url = server.url();
        let mut args = vec!["--host", &url, "chat", "-m", "qwen3:8b"];
        args.extend(extra);
        args.push("What is 17*3?");
        let run = llmport(&args, &[], None).await;
        assert_eq!(run.stdout, "51.\n");
        assert!(!run.stderr.contains("17 times 3"), "{run:?}");
    }
}

// ---- JSON cut off by the token limit (issue 13, item 23) ----

/// A chat answer whose JSON was cut off by the token limit, streamed or whole.
fn cut_off_answer(stream: bool) -> llmport::testing::Reply {
    use llmport::testing::Reply;
    if stream {
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
            json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            .to_string()
        };
        Reply::sse([
            chunk(
                json!({"role": "assistant", "content": "{\"city\": \"Par"}),
                json!(null),
            ),
            chunk(json!({}), json!("length")),
            "[DONE]".to_owned(),
        ])
    } else {
        Reply::json(
            200,
            &json!({"id": "c1", "object": "chat.completion", "model": "m",
                    "choices": [{"index": 0, "finish_reason": "length",
                                 "message": {"role": "assistant", "content": "{\"city\": \"Par"}}]}),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_cut_off_by_max_tokens_warns_and_exits_8() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("city.json");
    std::fs::write(&schema, r#"{"type": "object"}"#).unwrap();
    let schema = schema.to_str().unwrap();
    for stream in [true, false] {
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", cut_off_answer(stream))
            .start()
            .await;
        let url = server.url();
        let base = ["--host", url.as_str(), "chat", "--max-tokens", "5"];
        let no_stream: &[&str] = if stream { &[] } else { &["--no-stream"] };
        for extra in [
            &["--format", "json"][..],
            &["--schema", schema],
            &["--format", "json", "--json"],
        ] {
            let argv: Vec<&str> = base
                .iter()
                .chain(no_stream)
                .chain(extra)
                .copied()
                .chain(["Where?"])
                .collect();
            let run = llmport(&argv, &[], None).await;
            assert_eq!(run.code, Some(8), "{argv:?}: {run:?}");
            // What came is printed, then one line saying it is incomplete.
            assert!(run.stdout.contains("Par"), "{argv:?}: {run:?}");
            let line = run.error_line();
            assert!(line.contains("cut off"), "{line}");
            assert!(line.contains("--max-tokens 5"), "{line}");
        }
        // Plain text cut off by the limit is a normal answer.
        let argv: Vec<&str> = base
            .iter()
            .chain(no_stream)
            .copied()
            .chain(["Where?"])
            .collect();
        let run = llmport(&argv, &[], None).await;
        assert_eq!(run.code, Some(0), "{argv:?}: {run:?}");
        assert_eq!(run.stderr, "");
    }
}
