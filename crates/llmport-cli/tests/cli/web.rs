//! `llmport web search` and `llmport web fetch` end to end: against a test server standing in
//! for ollama.com (`LLMPORT_OLLAMA_CLOUD_URL`) with the key from `OLLAMA_API_KEY`, through a
//! local server's experimental endpoints with `--via-server`, and their errors.

use llmport_test_support::cli as support;

use llmport::testing::{Reply, TestServer};
use serde_json::{Value, json};

use support::{fixture, llmport};

const KEY: &str = "sk-cli-hunter2";

#[tokio::test(flavor = "multi_thread")]
async fn web_search_prints_the_results_and_sends_the_key_to_the_cloud_only() {
    let cloud = llmport_test_support::web_cloud().await;
    let local = TestServer::start([]).await;
    let url = cloud.url();
    let env = [
        ("OLLAMA_API_KEY", KEY),
        ("LLMPORT_OLLAMA_CLOUD_URL", url.as_str()),
    ];
    let run = llmport(
        &[
            "--host",
            &local.url(),
            "web",
            "search",
            "what is ollama?",
            "-n",
            "3",
        ],
        &env,
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "1. Ollama");
    assert_eq!(lines[1], "   https://ollama.com/");
    assert_eq!(lines[2], "   Cloud models are now available in Ollama...");
    assert!(
        run.stdout.contains("\n3. Ollama Explained"),
        "{}",
        run.stdout
    );
    let sent = cloud.last_request().unwrap();
    assert_eq!(sent.path, "/api/web_search");
    assert_eq!(
        sent.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(
        sent.json().unwrap(),
        json!({"query": "what is ollama?", "max_results": 3})
    );
    assert!(local.requests().is_empty());

    // --json: the service's answer.
    let run = llmport(&["web", "search", "what is ollama?", "--json"], &env, None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v, fixture("cloud_web_search").raw()["response"]["body"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn web_fetch_prints_the_page() {
    let cloud = llmport_test_support::web_cloud().await;
    let url = cloud.url();
    let env = [
        ("OLLAMA_API_KEY", KEY),
        ("LLMPORT_OLLAMA_CLOUD_URL", url.as_str()),
    ];
    let run = llmport(&["web", "fetch", "https://ollama.com"], &env, None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "Ollama");
    assert_eq!(lines[1], "");
    assert!(lines[2].starts_with("[Cloud models]"), "{}", run.stdout);
    assert!(run.stdout.ends_with("Links:\n  http://ollama.com/\n  http://ollama.com/models\n  https://github.com/ollama/ollama\n"), "{}", run.stdout);
    assert_eq!(
        cloud.last_request().unwrap().json().unwrap(),
        json!({"url": "https://ollama.com"})
    );
    let run = llmport(&["web", "fetch", "ollama.com", "--json"], &env, None).await;
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["links"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_page_holds_cannot_drive_the_terminal() {
    let evil = json!({
        "title": "T\u{1b}]52;c;QUFBQQ==\u{7}itle",
        "content": "a\u{1b}[2Jb\u{9b}c",
        "links": ["https://x/\u{1b}[31m"]
    });
    let cloud = TestServer::builder()
        .route("POST", "/api/web_fetch", Reply::json(200, &evil))
        .start()
        .await;
    let url = cloud.url();
    let env = [
        ("OLLAMA_API_KEY", KEY),
        ("LLMPORT_OLLAMA_CLOUD_URL", url.as_str()),
    ];
    for args in [
        &["web", "fetch", "x"][..],
        &["web", "fetch", "x", "--json"][..],
    ] {
        let run = llmport(args, &env, None).await;
        assert_eq!(run.code, Some(0), "{run:?}");
        assert!(!run.stdout.contains('\u{1b}'), "{run:?}");
        assert!(!run.stdout.contains('\u{9b}'), "{run:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_key_the_error_says_what_to_set_and_nothing_is_sent() {
    let cloud = llmport_test_support::web_cloud().await;
    let url = cloud.url();
    let run = llmport(
        &["web", "search", "q"],
        &[("LLMPORT_OLLAMA_CLOUD_URL", url.as_str())],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("OLLAMA_API_KEY"), "{line}");
    assert!(cloud.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn max_results_out_of_range_is_a_usage_error() {
    for n in ["0", "11"] {
        let run = llmport(
            &["web", "search", "q", "-n", n],
            &[("OLLAMA_API_KEY", KEY)],
            None,
        )
        .await;
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(
            run.stderr.contains("1..=10") || run.stderr.contains("not in"),
            "{run:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn via_server_uses_the_local_experimental_endpoint_without_a_key() {
    let local = TestServer::builder()
        .transcript(fixture("native_experimental_web_search"))
        .start()
        .await;
    let run = llmport(
        &[
            "--host",
            &local.url(),
            "web",
            "search",
            "what is ollama?",
            "--via-server",
        ],
        &[("OLLAMA_API_KEY", KEY)],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.starts_with("1. Ollama\n   https://ollama.com\n"),
        "{}",
        run.stdout
    );
    let sent = local.last_request().unwrap();
    assert_eq!(sent.path, "/api/experimental/web_search");
    assert_eq!(sent.header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_used_up_allowance_is_reported_in_one_line() {
    let cloud = TestServer::builder()
        .route(
            "POST",
            "/api/web_search",
            fixture("cloud_usage_limit_429").reply(),
        )
        .start()
        .await;
    let url = cloud.url();
    let run = llmport(
        &["web", "search", "q"],
        &[
            ("OLLAMA_API_KEY", KEY),
            ("LLMPORT_OLLAMA_CLOUD_URL", url.as_str()),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("usage limit reached"), "{line}");
    assert_eq!(cloud.requests().len(), 1, "not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_with_the_cloud_as_host_sends_the_key_there_only() {
    let cloud = TestServer::start([fixture("openai_chat_plain")]).await;
    let url = cloud.url();
    let env = [
        ("OLLAMA_API_KEY", KEY),
        ("LLMPORT_OLLAMA_CLOUD_URL", url.as_str()),
    ];
    let run = llmport(&["--host", &url, "chat", "hi"], &env, None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        cloud.last_request().unwrap().header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    // Another server gets no key.
    let local = TestServer::start([fixture("openai_chat_plain")]).await;
    let run = llmport(&["--host", &local.url(), "chat", "hi"], &env, None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(local.last_request().unwrap().header("authorization"), None);
}
