//! `llmport chat --api chat|anthropic|responses` and `LLMPORT_API`: the same chat over the
//! Messages and Responses APIs, and the vendors' keys (`ANTHROPIC_API_KEY`,
//! `OPENAI_API_KEY`) sent only for their API, to the host named for them; Ollama's
//! (`OLLAMA_API_KEY`) only to Ollama's cloud.

use llmport_test_support::cli as support;

use llmport::testing::{Reply, TestServer};
use support::llmport;

async fn server() -> TestServer {
    TestServer::builder()
        .route(
            "POST",
            "/v1/messages",
            Reply::messages("m", "Hello from Messages"),
        )
        .route(
            "POST",
            "/v1/responses",
            Reply::responses_stream("m", ["Hello", " from Responses"]),
        )
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::chat_completion("m", "Hello from Chat"),
        )
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_api_is_reached_by_flag_or_variable() {
    let server = server().await;
    let host = server.url();
    for (args, envs, answer, path) in [
        (
            vec!["--api", "anthropic", "--no-stream"],
            vec![],
            "Hello from Messages",
            "/v1/messages",
        ),
        (
            vec!["--api", "responses"],
            vec![],
            "Hello from Responses",
            "/v1/responses",
        ),
        (
            vec!["--no-stream"],
            vec![("LLMPORT_API", "anthropic")],
            "Hello from Messages",
            "/v1/messages",
        ),
        (
            vec![],
            vec![("LLMPORT_API", "responses")],
            "Hello from Responses",
            "/v1/responses",
        ),
        // The flag wins over the variable; `chat` is the default.
        (
            vec!["--api", "chat", "--no-stream"],
            vec![("LLMPORT_API", "responses")],
            "Hello from Chat",
            "/v1/chat/completions",
        ),
        (
            vec!["--no-stream"],
            vec![],
            "Hello from Chat",
            "/v1/chat/completions",
        ),
    ] {
        let mut argv = vec!["--host", &host, "chat", "-m", "m"];
        argv.extend(args.iter().copied());
        argv.push("Hi");
        let run = llmport(&argv, &envs, None).await;
        assert_eq!(run.code, Some(0), "{argv:?} {envs:?}: {run:?}");
        assert_eq!(run.stdout, format!("{answer}\n"), "{argv:?} {envs:?}");
        assert_eq!(
            server.last_request().unwrap().path,
            path,
            "{argv:?} {envs:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_api_is_a_usage_error() {
    let run = llmport(&["chat", "--api", "grpc", "Hi"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("anthropic"), "{run:?}");
    let run = llmport(&["chat", "Hi"], &[("LLMPORT_API", "grpc")], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.error_line().contains("LLMPORT_API"), "{run:?}");
}

/// A vendor key goes to the base URL its own variable names (as that vendor's SDK sends
/// it), never to a host named otherwise (`--host`, `OLLAMA_HOST`), nor with another API.
#[tokio::test(flavor = "multi_thread")]
async fn vendor_keys_reach_only_the_host_named_for_them() {
    let server = server().await;
    let keys = [
        ("ANTHROPIC_API_KEY", "sk-ant-secret"),
        ("OPENAI_API_KEY", "sk-oai-secret"),
    ];
    let with = |extra: &[(&'static str, String)]| {
        let mut v: Vec<(&str, String)> = keys.iter().map(|(k, v)| (*k, v.to_string())).collect();
        v.extend(extra.iter().cloned());
        v
    };
    // (arguments, environment, the header that must carry a key).
    type Case<'a> = (
        Vec<&'a str>,
        Vec<(&'a str, String)>,
        Option<(&'a str, &'a str)>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            vec!["--api", "anthropic", "--no-stream"],
            with(&[("ANTHROPIC_BASE_URL", server.url())]),
            Some(("x-api-key", "sk-ant-secret")),
        ),
        (
            vec!["--api", "responses"],
            with(&[("OPENAI_BASE_URL", server.v1_url())]),
            Some(("authorization", "Bearer sk-oai-secret")),
        ),
        // Named by OLLAMA_HOST, not for the key: no key.
        (
            vec!["--api", "responses"],
            with(&[("OLLAMA_HOST", server.url())]),
            None,
        ),
        (
            vec!["--api", "anthropic", "--no-stream"],
            with(&[("OLLAMA_HOST", server.url())]),
            None,
        ),
        // The Chat Completions API never takes a vendor key.
        (
            vec!["--no-stream"],
            with(&[("OLLAMA_HOST", server.url())]),
            None,
        ),
    ];
    for (args, envs, expected) in cases {
        let mut argv = vec!["chat", "-m", "m"];
        argv.extend(args.iter().copied());
        argv.push("Hi");
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = llmport(&argv, &envs, None).await;
        assert_eq!(run.code, Some(0), "{argv:?}: {run:?}");
        let req = server.last_request().unwrap();
        for header in ["x-api-key", "authorization"] {
            let want = expected.filter(|(h, _)| *h == header).map(|(_, v)| v);
            assert_eq!(req.header(header), want, "{argv:?} {header}");
        }
    }
    // With --host naming the server, the vendor's base URL is not where the chat goes, and
    // the key stays home.
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "-m",
            "m",
            "--api",
            "responses",
            "Hi",
        ],
        &[
            ("OPENAI_API_KEY", "sk-oai-secret"),
            ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(server.last_request().unwrap().header("authorization"), None);
}

/// Ollama's cloud serves the Messages and Responses APIs too: `OLLAMA_API_KEY` goes there
/// as a Bearer token, and nowhere else. The cloud here is the test server, named by
/// `LLMPORT_OLLAMA_CLOUD_URL` (the cloud's address for staging and tests).
#[tokio::test(flavor = "multi_thread")]
async fn ollama_s_key_reaches_ollama_s_cloud_over_every_api() {
    let server = server().await;
    let host = server.url();
    let elsewhere = "http://127.0.0.1:1".to_owned();
    for (api, cloud, expected) in [
        ("anthropic", Some(&host), Some("Bearer ok-secret")),
        ("responses", Some(&host), Some("Bearer ok-secret")),
        // The server is a local Ollama, not the cloud: the key stays home.
        ("anthropic", None, None),
        ("responses", None, None),
        ("responses", Some(&elsewhere), None),
    ] {
        let mut envs = vec![("OLLAMA_API_KEY", "ok-secret")];
        if let Some(url) = cloud {
            envs.push(("LLMPORT_OLLAMA_CLOUD_URL", url.as_str()));
        }
        // The test server answers Messages whole and Responses as a stream.
        let mut argv = vec!["--host", &host, "chat", "-m", "m", "--api", api];
        if api == "anthropic" {
            argv.push("--no-stream");
        }
        argv.push("Hi");
        let run = llmport(&argv, &envs, None).await;
        assert_eq!(run.code, Some(0), "{argv:?} {envs:?}: {run:?}");
        let req = server.last_request().unwrap();
        assert_eq!(req.header("authorization"), expected, "{api} {cloud:?}");
        assert_eq!(req.header("x-api-key"), None, "{api} {cloud:?}");
    }
}

/// Ollama's own options cannot travel over the other APIs: refused, naming them.
#[tokio::test(flavor = "multi_thread")]
async fn ollama_options_over_another_api_are_refused() {
    let server = server().await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "-m",
            "m",
            "--api",
            "responses",
            "--ctx",
            "4096",
            "Hi",
        ],
        &[],
        None,
    )
    .await;
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.error_line().contains("OllamaOptions"), "{run:?}");
    assert!(server.requests().is_empty());
}
