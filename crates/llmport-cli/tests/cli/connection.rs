//! The connection flags and variables of the CLI: headers, credentials from the environment,
//! retries and timeouts, against the in-process wire server.

use llmport_test_support::cli as support;

use std::time::{Duration, Instant};

use llmport::testing::{Reply, TestServer};
use serde_json::json;
use support::{fixture, llmport};

#[tokio::test(flavor = "multi_thread")]
async fn extra_headers_and_a_bearer_token_from_the_environment_are_sent() {
    let server = TestServer::start([fixture("openai_chat_plain")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "--header",
            "X-Team: blue",
            "--header",
            "X-Trace:  abc ",
            "chat",
            "--no-stream",
            "Say hello in five words.",
        ],
        &[("LLMPORT_BEARER_TOKEN", "tok-123")],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "Hello there, how are you?\n");
    let req = server.last_request().expect("a request");
    assert_eq!(req.header("x-team"), Some("blue"));
    assert_eq!(req.header("x-trace"), Some("abc"));
    assert_eq!(req.header("authorization"), Some("Bearer tok-123"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_header_flag_is_a_usage_error() {
    let run = llmport(&["--header", "no-colon", "chat", "hi"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("Name: value"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_flag_controls_retrying_a_503() {
    let unavailable = Reply::json(503, &json!({"error": "server busy, please try again."}));
    let plain = fixture("openai_chat_plain").reply();
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", unavailable.clone())
        .route("POST", "/v1/chat/completions", plain)
        .start()
        .await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "--retries",
            "1",
            "chat",
            "--no-stream",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(server.requests().len(), 2);

    let server = chat_server(unavailable).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "--retries",
            "0",
            "chat",
            "--no-stream",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.error_line().contains("503"), "{run:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn first_token_timeout_gives_exit_status_5_naming_the_limit() {
    let slow = fixture("openai_chat_plain")
        .reply()
        .delay_before_headers(Duration::from_secs(5));
    let server = chat_server(slow).await;
    let started = Instant::now();
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "--first-token-timeout",
            "300ms",
            "--retries",
            "0",
            "chat",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(5), "{run:?}");
    assert!(run.error_line().contains("first byte"), "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_timeout_ends_a_stalled_stream_with_status_5() {
    let first = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}"#;
    let stalled = Reply::sse([first]).hang_after_body();
    let server = chat_server(stalled).await;
    let started = Instant::now();
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "--idle-timeout",
            "300ms",
            "chat",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(5), "{run:?}");
    assert_eq!(run.stdout, "Hello\n");
    assert!(
        run.error_line().contains("between two stream chunks"),
        "{run:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A stream that sends only what is no progress: SSE keep-alive comments, a role-only delta,
/// empty content, `event:`-only lines — for 20 s, every 100 ms.
fn no_progress_stream() -> Reply {
    let empty = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
    let blank = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}"#;
    let mut reply = Reply::sse(Vec::<String>::new()).chunk_delay(Duration::from_millis(100));
    reply.chunks = (0..200)
        .map(|i| match i % 4 {
            0 => ": keep-alive\n\n".to_owned().into(),
            1 => format!("data: {empty}\n\n").into(),
            2 => format!("data: {blank}\n\n").into(),
            _ => "event: ping\n\n".to_owned().into(),
        })
        .collect();
    reply
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_of_keep_alives_and_empty_deltas_ends_with_an_idle_timeout() {
    let server = chat_server(no_progress_stream()).await;
    let started = Instant::now();
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "--idle-timeout",
            "1s",
            "chat",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(5), "{run:?}");
    assert!(run.error_line().contains("timed out"), "{run:?}");
    // Within the idle limit (plus start-up), long before the server stops sending.
    assert!(started.elapsed() < Duration::from_secs(6), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_timeout_ends_a_steady_stream_with_status_5() {
    // Progress every 100 ms for 20 s: never idle, but longer than the whole-stream limit.
    let token = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}"#;
    let steady = Reply::sse(vec![token; 200]).chunk_delay(Duration::from_millis(100));
    let server = chat_server(steady).await;
    let started = Instant::now();
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "--stream-timeout",
            "1s",
            "chat",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(5), "{run:?}");
    assert!(
        run.error_line().contains("end of the streamed answer"),
        "{run:?}"
    );
    assert!(run.stdout.starts_with('a'), "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(6), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_ca_certificate_file_is_a_configuration_error() {
    let run = llmport(
        &["--ca-cert", "/nonexistent/ca.pem", "chat", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.error_line().contains("/nonexistent/ca.pem"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_cert_needs_its_key() {
    let run = llmport(&["--client-cert", "c.pem", "chat", "hi"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--client-key"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_for_a_retry_is_announced_on_stderr() {
    let unavailable = Reply::json(503, &json!({"error": "server busy"})).header("Retry-After", "1");
    let plain = fixture("openai_chat_plain").reply();
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", unavailable)
        .route("POST", "/v1/chat/completions", plain)
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat", "--no-stream", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(server.requests().len(), 2);
    let notice = run
        .stderr
        .lines()
        .find(|l| l.contains("retrying"))
        .unwrap_or_else(|| panic!("no retry notice: {run:?}"));
    assert!(notice.contains("503"), "{notice}");
    assert!(notice.contains("server busy"), "{notice}");
    assert!(
        notice.contains("retrying (1 of 2) in 1.0 s, as the server asked"),
        "{notice}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_framing_header_flag_is_a_usage_error() {
    let server = TestServer::start([fixture("openai_chat_plain")]).await;
    for header in [
        "Content-Length: 3",
        "Transfer-Encoding: gzip",
        "Connection: close",
    ] {
        let run = llmport(
            &[
                "--host",
                &server.url(),
                "--header",
                header,
                "chat",
                "--no-stream",
                "hi",
            ],
            &[],
            None,
        )
        .await;
        assert_eq!(run.code, Some(2), "{header}: {run:?}");
        let name = header.split(':').next().unwrap().to_ascii_lowercase();
        assert!(run.error_line().contains(&name), "{header}: {run:?}");
    }
    assert!(server.requests().is_empty());
}

/// Issue 13 #1: a `429` whose wait does not fit a `Duration` once made the binary panic (exit
/// 101, backtrace). Whatever the number, through the `/v1` path (streamed or not) and the
/// native one, the answer is the one-line error for a 429 (exit 1) naming the server's wait.
#[tokio::test(flavor = "multi_thread")]
async fn retry_after_numbers_too_large_for_a_duration_are_one_error_line_not_a_panic() {
    let headers = [
        ("retry-after-ms", "1e300"),
        ("retry-after-ms", "18446744073709551616000"),
        ("retry-after-ms", "inf"),
        ("Retry-After", "18446744073709551616000"),
        ("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT"),
    ];
    for (name, value) in headers {
        let busy = || Reply::json(429, &json!({"error": "slow down"})).header(name, value);
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", busy())
            .route("POST", "/v1/chat/completions", busy())
            .route("GET", "/api/tags", busy())
            .start()
            .await;
        let url = server.url();
        for args in [
            &["--host", &url, "chat", "--no-stream", "hi"][..],
            &["--host", &url, "chat", "hi"][..],
            &["--host", &url, "models"][..],
        ] {
            let run = llmport(args, &[], None).await;
            assert_eq!(run.code, Some(1), "{name}: {value}, {args:?}: {run:?}");
            let line = run.error_line();
            assert!(line.contains("429"), "{name}: {value}: {line}");
            assert!(line.contains("asked to wait"), "{name}: {value}: {line}");
        }
        // No retry was made: the wait is beyond any cap.
        assert_eq!(server.requests().len(), 3, "{name}: {value}");
    }
}

/// A test server whose one route is the `/v1` chat, answering with `reply`.
async fn chat_server(reply: Reply) -> TestServer {
    TestServer::builder()
        .route("POST", "/v1/chat/completions", reply)
        .start()
        .await
}
