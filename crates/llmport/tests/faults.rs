//! The fault matrix: a raw-TCP server misbehaves in every way listed in docs/reliability.md,
//! and each call must come back within a bound with exactly the expected `Error` variant — no
//! panic, no hang, and no partial answer presented as complete.

use llmport_test_support as support;

use std::io::Write;
use std::time::{Duration, Instant};

use futures::StreamExt;
use llmport::{
    Auth, ClientOptions, Error, GenResponse, Message, OllamaProvider, OpenAiProvider, Options,
    Provider, RetryConfig, TimeoutKind,
};
use support::faults::{
    After, Conn, FaultServer, answers_in_turn, chunk, replies, response, sse_event, sse_head,
    writes,
};

const CONNECT: Duration = Duration::from_millis(300);
const FIRST_BYTE: Duration = Duration::from_millis(500);
const IDLE: Duration = Duration::from_millis(300);
/// Slack added to a configured limit for the bound a call must return within.
const SLACK: Duration = Duration::from_secs(2);

const HELLO: &str = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}"#;
const WORLD: &str = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":" world"},"finish_reason":null}]}"#;
const STOP: &str = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
const COMPLETION: &str = r#"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"},"finish_reason":"stop"}]}"#;

fn options() -> ClientOptions {
    ClientOptions::builder()
        .connect_timeout(CONNECT)
        .first_byte_timeout(FIRST_BYTE)
        .idle_timeout(IDLE)
        .build()
}

fn builder(base: &str) -> llmport::openai::OpenAiProviderBuilder {
    OpenAiProvider::builder()
        .base_url(base)
        .client_options(options())
        .retry(RetryConfig::none())
}

fn provider(base: &str) -> OpenAiProvider {
    builder(base).build().expect("provider builds")
}

/// Quick retries, so that retry cases stay fast.
fn retrying() -> RetryConfig {
    RetryConfig::builder()
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .build()
}

fn user() -> [Message; 1] {
    [Message::user("hi")]
}

/// Runs `fut`, failing the test if it takes longer than `bound`.
async fn within<T>(bound: Duration, fut: impl std::future::Future<Output = T>) -> T {
    let start = Instant::now();
    let out = tokio::time::timeout(bound, fut)
        .await
        .unwrap_or_else(|_| panic!("the call did not return within {bound:?}"));
    assert!(start.elapsed() <= bound);
    out
}

async fn generate(p: &impl Provider, bound: Duration) -> llmport::Result<GenResponse> {
    within(bound, p.generate("m", &user(), &Options::default())).await
}

/// What a stream yielded: its good items, and the error that ended it (if any). Checks that an
/// error is the last item.
async fn stream(p: &impl Provider, bound: Duration) -> (Vec<GenResponse>, Option<Error>) {
    stream_with(p, &Options::default(), bound).await
}

/// [`stream`] with these options (an `OllamaOptions` extension sends it to `/api/chat`).
async fn stream_with(
    p: &impl Provider,
    options: &Options,
    bound: Duration,
) -> (Vec<GenResponse>, Option<Error>) {
    within(bound, async {
        let mut s = match p.generate_stream("m", &user(), options).await {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut items = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(r) => items.push(r),
                Err(e) => {
                    assert!(s.next().await.is_none(), "an item came after the error");
                    return (items, Some(e));
                }
            }
        }
        (items, None)
    })
    .await
}

fn text(items: &[GenResponse]) -> String {
    items.iter().map(GenResponse::text).collect()
}

/// A chunked event stream of these events, properly ended.
fn sse_body(events: &[&str]) -> Vec<u8> {
    let mut out = sse_head(&[]);
    for e in events {
        out.extend(chunk(sse_event(e).as_bytes()));
    }
    out.extend(b"0\r\n\r\n");
    out
}

// --- Before the status line ----------------------------------------------------------------

#[tokio::test]
async fn connection_refused_is_connect() {
    let port = support::dead_port();
    let p = provider(&format!("http://127.0.0.1:{port}/v1"));
    let e = generate(&p, SLACK).await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(e.is_retryable());
    let (_, e) = stream(&p, SLACK).await;
    assert!(matches!(e, Some(Error::Connect { .. })), "{e:?}");
}

#[tokio::test]
async fn connect_that_never_completes_is_a_connect_timeout() {
    // A listener with a backlog of 0 whose queue is already full: the kernel drops further
    // SYNs, so a connection attempt neither succeeds nor fails.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        // Some of these connect (and sit in the queue), the rest stall; either way they fill it.
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_millis(100), s.connect(addr)).await {
            fillers.push(c);
        }
    }
    let p = provider(&format!("http://{addr}/v1"));
    let e = generate(&p, CONNECT + SLACK).await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout { kind: TimeoutKind::Connect, after } if after == CONNECT),
        "{e:?}"
    );
    assert!(e.is_retryable());
    drop(listener);
}

#[tokio::test]
async fn reset_before_the_status_line_is_connect() {
    let server = FaultServer::start(|mut c: Conn| async move {
        c.read_request().await;
        c.reset();
    })
    .await;
    let p = provider(&server.v1_url());
    let e = generate(&p, SLACK).await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    let (_, e) = stream(&p, SLACK).await;
    assert!(matches!(e, Some(Error::Connect { .. })), "{e:?}");
}

#[tokio::test]
async fn close_before_the_status_line_is_connect() {
    let server = FaultServer::start(|mut c: Conn| async move {
        c.read_request().await;
        c.close().await;
    })
    .await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
}

#[tokio::test]
async fn garbage_instead_of_http_is_a_decode_error() {
    // Something answered (an SSH server on that port): it is reachable, its answer is wrong.
    let server = FaultServer::start(replies(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec())).await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("invalid HTTP head"), "{e}");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn accepts_and_never_answers_is_a_first_byte_timeout() {
    let server = FaultServer::start(|mut c: Conn| async move {
        c.read_request().await;
        c.hold().await;
    })
    .await;
    let p = provider(&server.v1_url());
    let e = generate(&p, FIRST_BYTE + SLACK).await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout { kind: TimeoutKind::FirstByte, after } if after == FIRST_BYTE),
        "{e:?}"
    );
    let (_, e) = stream(&p, FIRST_BYTE + SLACK).await;
    assert!(
        matches!(
            e,
            Some(Error::Timeout {
                kind: TimeoutKind::FirstByte,
                ..
            })
        ),
        "{e:?}"
    );
    // The client gave up on both connections.
    assert!(server.client_closed(0, SLACK).await.is_some());
    assert!(server.client_closed(1, SLACK).await.is_some());
}

#[tokio::test]
async fn accepts_and_never_reads_is_a_first_byte_timeout() {
    let server = FaultServer::start(|c: Conn| c.hold()).await;
    let e = generate(&provider(&server.v1_url()), FIRST_BYTE + SLACK)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                kind: TimeoutKind::FirstByte,
                ..
            }
        ),
        "{e:?}"
    );
}

// --- In the middle of a stream --------------------------------------------------------------

async fn head_and_events(c: &mut Conn, events: &[&str]) {
    c.read_request().await;
    c.write(sse_head(&[])).await;
    for e in events {
        c.chunk(sse_event(e)).await;
    }
}

#[tokio::test]
async fn reset_mid_stream_is_a_stream_error_after_the_first_chunks() {
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[HELLO]).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.reset();
    })
    .await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(matches!(e, Some(Error::Stream { .. })), "{e:?}");
    assert!(!e.unwrap().is_retryable());
}

#[tokio::test]
async fn stall_between_two_chunks_is_an_idle_timeout() {
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[HELLO]).await;
        c.hold().await;
    })
    .await;
    let (items, e) = stream(&provider(&server.v1_url()), IDLE + SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(
        matches!(e, Some(Error::Timeout { kind: TimeoutKind::Idle, after }) if after == IDLE),
        "{e:?}"
    );
    // Giving up closed the connection.
    assert!(server.client_closed(0, SLACK).await.is_some());
}

#[tokio::test]
async fn slow_but_steady_stream_is_not_an_idle_timeout() {
    // Chunks every 100 ms for longer than the idle limit in total: only silence counts.
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[]).await;
        for e in [HELLO, WORLD, WORLD, WORLD, WORLD, WORLD, STOP, "[DONE]"] {
            tokio::time::sleep(Duration::from_millis(100)).await;
            c.chunk(sse_event(e)).await;
        }
        c.last_chunk().await;
        c.wait_for_client_close(Duration::from_secs(5)).await;
    })
    .await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK * 2).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Hello world world world world world");
}

#[tokio::test]
async fn stream_ending_without_done_is_a_stream_error() {
    let server = FaultServer::start(replies(sse_body(&[HELLO, STOP]))).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert_eq!(text(&items), "Hello");
    let e = e.expect("a stream without [DONE] must end with an error");
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
    assert!(e.to_string().contains("no `data: [DONE]`"), "{e}");
    // And `collect_response` does not hand back the half answer.
    let p = provider(&server.v1_url());
    let r = within(SLACK, async {
        p.generate_stream("m", &user(), &Options::default())
            .await?
            .collect_response()
            .await
    })
    .await;
    assert!(matches!(r, Err(Error::Stream { .. })), "{r:?}");
}

#[tokio::test]
async fn stream_with_content_length_ending_without_done_is_a_stream_error() {
    let body = format!("{}{}", sse_event(HELLO), sse_event(STOP));
    let bytes = response(
        "200 OK",
        &["Content-Type: text/event-stream"],
        body.as_bytes(),
    );
    let server = FaultServer::start(replies(bytes)).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(matches!(e, Some(Error::Stream { .. })), "{e:?}");
}

#[tokio::test]
async fn ollama_swallowed_mid_stream_error_is_a_stream_error() {
    // Ollama's /v1 reports a failure during generation as a chunk with an empty model, then
    // ends the body (openai_chat_midstream_error.json is the recorded form).
    const SWALLOWED: &str = r#"{"id":"c1","object":"chat.completion.chunk","created":0,"model":"","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}"#;
    let server = FaultServer::start(replies(sse_body(&[HELLO, SWALLOWED]))).await;
    let p = OllamaProvider::builder()
        .host(server.url())
        .client_options(options())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let (items, e) = stream(&p, SLACK).await;
    assert_eq!(text(&items), "Hello");
    let e = e.expect("must end with an error");
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
    assert!(e.to_string().contains("did not describe"), "{e}");
}

#[tokio::test]
async fn malformed_json_in_one_chunk_is_a_decode_error() {
    let server = FaultServer::start(replies(sse_body(&[
        HELLO,
        r#"{"choices":[{"delta":"#,
        "[DONE]",
    ])))
    .await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert_eq!(text(&items), "Hello");
    let e = e.unwrap();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("stream chunk 2"), "{e}");
}

#[tokio::test]
async fn invalid_utf8_is_a_decode_error() {
    let mut bytes = sse_head(&[]);
    bytes.extend(chunk(sse_event(HELLO).as_bytes()));
    bytes.extend(chunk(
        b"data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\n",
    ));
    bytes.extend(chunk(sse_event("[DONE]").as_bytes()));
    bytes.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(bytes)).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(matches!(e, Some(Error::Decode { .. })), "{e:?}");
}

#[tokio::test]
async fn garbage_after_done_in_the_same_read_is_ignored() {
    // Found by the chat_stream fuzz target: bytes after `[DONE]` that arrived in the same read
    // used to fail the (complete) answer, and bytes in a later read did not.
    let mut body = format!(
        "{}{}{}",
        sse_event(HELLO),
        sse_event(STOP),
        sse_event("[DONE]")
    )
    .into_bytes();
    body.extend(b"data: \xff\xfe\n\n");
    let mut bytes = sse_head(&[]);
    bytes.extend(chunk(&body));
    bytes.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(bytes)).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Hello");
}

#[tokio::test]
async fn a_line_larger_than_the_cap_is_limit_exceeded() {
    // 16 MiB and one byte with no line end, against the default 16 MiB cap.
    const CAP: usize = llmport::codec::DEFAULT_MAX_LINE;
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[HELLO]).await;
        c.chunk(b"data: ").await;
        let block = vec![b'x'; 256 * 1024];
        let mut sent = 0;
        while sent <= CAP && c.chunk(&block).await {
            sent += block.len();
        }
        c.wait_for_client_close(Duration::from_secs(10)).await;
    })
    .await;
    let p = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .client_options(
            options()
                .to_builder()
                .idle_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let (items, e) = stream(&p, Duration::from_secs(20)).await;
    assert_eq!(text(&items), "Hello");
    assert!(
        matches!(
            e,
            Some(Error::LimitExceeded {
                what: "stream line",
                limit: CAP
            })
        ),
        "{e:?}"
    );
    assert!(server.client_closed(0, SLACK).await.is_some());
}

#[tokio::test]
async fn an_event_larger_than_the_cap_is_limit_exceeded() {
    // Many short `data:` lines that add up to one event past the cap.
    let line = format!("data: {}\n", "y".repeat(1000));
    let event: String = line.repeat(20);
    let mut bytes = sse_head(&[]);
    bytes.extend(chunk(sse_event(HELLO).as_bytes()));
    bytes.extend(chunk(event.as_bytes()));
    bytes.extend(chunk(b"\n"));
    bytes.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(bytes)).await;
    let p = builder(&server.v1_url())
        .max_stream_line(16 * 1024)
        .build()
        .unwrap();
    let (items, e) = stream(&p, SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(
        matches!(e, Some(Error::LimitExceeded { limit: 16384, .. })),
        "{e:?}"
    );
}

#[tokio::test]
async fn tool_call_arguments_past_the_cap_are_limit_exceeded() {
    let frag = |args: &str| {
        format!(
            r#"{{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":0,"id":"call_1","type":"function","function":{{"name":"f","arguments":{}}}}}]}},"finish_reason":null}}]}}"#,
            serde_json::Value::from(args)
        )
    };
    let piece = "a".repeat(600);
    let events: Vec<String> = (0..4).map(|_| frag(&piece)).collect();
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    let server = FaultServer::start(replies(sse_body(&refs))).await;
    let p = builder(&server.v1_url())
        .max_tool_arguments(2048)
        .build()
        .unwrap();
    let (_, e) = stream(&p, SLACK).await;
    assert!(
        matches!(
            e,
            Some(Error::LimitExceeded {
                what: "tool-call arguments",
                limit: 2048
            })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn error_event_mid_stream_is_a_stream_error() {
    let mut bytes = sse_head(&[]);
    bytes.extend(chunk(sse_event(HELLO).as_bytes()));
    bytes.extend(chunk(
        b"event: error\ndata: {\"error\":{\"message\":\"out of memory\"}}\n\n",
    ));
    bytes.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(bytes)).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert_eq!(text(&items), "Hello");
    let e = e.unwrap();
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
    assert!(e.to_string().contains("out of memory"), "{e}");
}

#[tokio::test]
async fn chunked_encoding_cut_mid_chunk_is_a_stream_error() {
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[HELLO]).await;
        // Announce 0x400 bytes, send a few, close.
        c.write(b"400\r\ndata: {\"choi").await;
        c.close().await;
    })
    .await;
    let p = provider(&server.v1_url());
    let (items, e) = stream(&p, SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(matches!(e, Some(Error::Stream { .. })), "{e:?}");
    // The same cut in a non-streaming answer.
    let server = FaultServer::start(writes(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n{\"id\":", After::Close)).await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
}

#[tokio::test]
async fn body_shorter_than_its_content_length_is_a_stream_error() {
    let server = FaultServer::start(writes(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":",
        After::Close,
    ))
    .await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
}

// --- HTTP answers that are not the expected one ----------------------------------------------

#[tokio::test]
async fn non_json_502_page_from_a_proxy_is_an_api_error() {
    let page = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>";
    let server = FaultServer::start(replies(response(
        "502 Bad Gateway",
        &["Content-Type: text/html", "Server: nginx"],
        page,
    )))
    .await;
    let p = provider(&server.v1_url());
    for e in [
        generate(&p, SLACK).await.unwrap_err(),
        stream(&p, SLACK).await.1.unwrap(),
    ] {
        let Error::Api(api) = &e else {
            panic!("expected Api, got {e:?}")
        };
        assert_eq!(api.status, 502);
        assert!(api.message.contains("HTML page"), "{}", api.message);
        assert!(api.message.contains("502 Bad Gateway"), "{}", api.message);
        assert!(e.is_retryable());
    }
}

#[tokio::test]
async fn html_page_with_status_200_is_a_decode_error() {
    // A captive portal or login page answering for the API.
    let page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>";
    let server = FaultServer::start(replies(response(
        "200 OK",
        &["Content-Type: text/html; charset=utf-8"],
        page,
    )))
    .await;
    let p = provider(&server.v1_url());
    let e = generate(&p, SLACK).await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("Sign in"), "{e}");
    let (items, e) = stream(&p, SLACK).await;
    assert!(items.is_empty());
    let e = e.unwrap();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("text/html"), "{e}");
    assert!(e.to_string().contains("Sign in"), "{e}");
}

fn ok_completion() -> Vec<u8> {
    response(
        "200 OK",
        &["Content-Type: application/json"],
        COMPLETION.as_bytes(),
    )
}

fn too_many_requests(retry_after: &str) -> Vec<u8> {
    response(
        "429 Too Many Requests",
        &[
            "Content-Type: application/json",
            &format!("Retry-After: {retry_after}"),
        ],
        br#"{"error":{"message":"rate limited","type":"rate_limit_error"}}"#,
    )
}

/// Serves `first`, then a good completion, to a provider that retries; returns how long
/// the call took until the good answer, which it checks, and how many requests were made.
async fn retried_to_success(first: Vec<u8>, bound: Duration) -> (Duration, usize) {
    let server = FaultServer::start(answers_in_turn(vec![first, ok_completion()])).await;
    let p = builder(&server.v1_url())
        .retry(retrying())
        .build()
        .expect("provider builds");
    let start = Instant::now();
    let r = generate(&p, bound).await.expect("the retry succeeds");
    assert_eq!(r.text(), "Hello world");
    (start.elapsed(), server.requests().len())
}

#[tokio::test]
async fn http_429_with_retry_after_seconds() {
    // Without retries: the error says how long to wait.
    let server = FaultServer::start(answers_in_turn(vec![too_many_requests("1")])).await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.status, 429);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    // With retries: the wait is honoured, then the answer comes.
    let (took, requests) =
        retried_to_success(too_many_requests("1"), Duration::from_secs(1) + SLACK).await;
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert_eq!(requests, 2);
}

#[tokio::test]
async fn http_429_with_retry_after_as_a_date() {
    let in_two_seconds =
        || httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let server =
        FaultServer::start(answers_in_turn(vec![too_many_requests(&in_two_seconds())])).await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(429));
    let wait = e.retry_after().expect("Retry-After date understood");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
    // With retries the date is waited for (HTTP dates have whole seconds: 1 to 2 s).
    let (took, requests) = retried_to_success(
        too_many_requests(&in_two_seconds()),
        Duration::from_secs(2) + SLACK,
    )
    .await;
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(requests, 2);
}

#[tokio::test]
async fn http_429_asking_for_too_long_a_wait_is_returned_at_once() {
    let server = FaultServer::start(answers_in_turn(vec![too_many_requests("3600")])).await;
    let p = builder(&server.v1_url()).retry(retrying()).build().unwrap();
    let e = generate(&p, SLACK).await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.requests().len(), 1);
    // The error says what the server asked for.
    assert!(
        e.to_string()
            .contains("the server asked to wait an hour before trying again"),
        "{e}"
    );
}

#[tokio::test]
async fn http_500_then_200_is_retried_to_success() {
    let error = response(
        "500 Internal Server Error",
        &["Content-Type: application/json"],
        br#"{"error":{"message":"llama runner process has terminated"}}"#,
    );
    let (_, requests) = retried_to_success(error.clone(), SLACK).await;
    assert_eq!(requests, 2);
    // A stream is retried too, as long as nothing of it reached the caller.
    let server = FaultServer::start(answers_in_turn(vec![
        error,
        sse_body(&[HELLO, STOP, "[DONE]"]),
    ]))
    .await;
    let p = builder(&server.v1_url()).retry(retrying()).build().unwrap();
    let (items, e) = stream(&p, SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Hello");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn http_401_is_an_auth_error_and_is_not_retried() {
    // llmport's `Auth` on this branch holds static credentials (bearer, basic, API key): a 401
    // is final. (A refreshing credential provider, OAuth2, is being built separately; this
    // case then becomes "401, refresh, 200".)
    let server = FaultServer::start(answers_in_turn(vec![response(
        "401 Unauthorized",
        &["Content-Type: application/json", "WWW-Authenticate: Bearer"],
        br#"{"error":{"message":"token expired","type":"authentication_error"}}"#,
    )]))
    .await;
    let p = builder(&server.v1_url())
        .auth(Auth::bearer("expired-token-1234"))
        .retry(retrying())
        .build()
        .unwrap();
    let e = generate(&p, SLACK).await.unwrap_err();
    assert!(
        matches!(&e, Error::Auth { status: Some(401), message, .. } if message == "token expired"),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert!(!format!("{e} {e:?}").contains("expired-token-1234"));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer expired-token-1234")
    );
}

#[tokio::test]
async fn gzip_encoded_bodies_are_decoded() {
    let body = support::gzip(COMPLETION.as_bytes());
    let server = FaultServer::start(answers_in_turn(vec![response(
        "200 OK",
        &["Content-Type: application/json", "Content-Encoding: gzip"],
        &body,
    )]))
    .await;
    let r = generate(&provider(&server.v1_url()), SLACK).await.unwrap();
    assert_eq!(r.text(), "Hello world");
    let accept = server.requests()[0]
        .header("accept-encoding")
        .map(str::to_owned);
    assert!(accept.is_some_and(|a| a.contains("gzip")));
    // A gzip-encoded event stream, sent in small chunks.
    let sse: String = [HELLO, WORLD, STOP, "[DONE]"].map(sse_event).concat();
    let compressed = support::gzip(sse.as_bytes());
    let mut bytes = sse_head(&["Content-Encoding: gzip"]);
    for piece in compressed.chunks(7) {
        bytes.extend(chunk(piece));
    }
    bytes.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(bytes)).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Hello world");
}

#[tokio::test]
async fn corrupt_gzip_body_is_an_error_not_an_answer() {
    let mut body = support::gzip(COMPLETION.as_bytes());
    let mid = body.len() / 2;
    body[mid] ^= 0xff;
    body[mid + 1] ^= 0xff;
    let server = FaultServer::start(answers_in_turn(vec![response(
        "200 OK",
        &["Content-Type: application/json", "Content-Encoding: gzip"],
        &body,
    )]))
    .await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}

// --- Bodies too large for memory -------------------------------------------------------------

const MAX_BODY: usize = 1024 * 1024;

/// A non-streaming call to `server` with `max_body_size` 1 MiB must fail with
/// `LimitExceeded`.
async fn expect_body_limit(server: &FaultServer) {
    let p = builder(&server.v1_url())
        .client_options(options().to_builder().max_body_size(MAX_BODY).build())
        .build()
        .expect("provider builds");
    let e = generate(&p, SLACK)
        .await
        .expect_err("the body is too large");
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                what: "response body",
                limit: MAX_BODY
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn announced_huge_body_is_refused_before_reading() {
    let server = FaultServer::start(writes(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{\"id\":", After::Hold)).await;
    expect_body_limit(&server).await;
    assert!(server.client_closed(0, SLACK).await.is_some());
}

#[tokio::test]
async fn endless_chunked_body_stops_at_the_max_body_size() {
    let server = FaultServer::start(|mut c: Conn| async move {
        c.read_request().await;
        c.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").await;
        let block = vec![b' '; 64 * 1024];
        // At most 1 GiB, far more than the client may hold; stops when the client hangs up.
        for _ in 0..16 * 1024 {
            if !c.chunk(&block).await {
                break;
            }
        }
        c.wait_for_client_close(Duration::from_secs(5)).await;
    })
    .await;
    expect_body_limit(&server).await;
    assert!(server.client_closed(0, SLACK).await.is_some());
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_max_body_size() {
    // 256 MiB of spaces compress to about 250 KiB; the limit applies to the decoded bytes.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 1024 * 1024];
    for _ in 0..256 {
        enc.write_all(&block).unwrap();
    }
    let bomb = enc.finish().unwrap();
    let server = FaultServer::start(answers_in_turn(vec![response(
        "200 OK",
        &["Content-Type: application/json", "Content-Encoding: gzip"],
        &bomb,
    )]))
    .await;
    expect_body_limit(&server).await;
}

#[tokio::test]
async fn non_streaming_body_that_stalls_is_an_idle_timeout() {
    let server = FaultServer::start(writes(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":",
        After::Hold,
    ))
    .await;
    let e = generate(&provider(&server.v1_url()), IDLE + SLACK)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Timeout { kind: TimeoutKind::Idle, after } if after == IDLE),
        "{e:?}"
    );
}

#[tokio::test]
async fn non_streaming_body_that_drips_is_a_total_timeout() {
    let server = FaultServer::start(|mut c: Conn| async move {
        c.read_request().await;
        c.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n",
        )
        .await;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if !c.write(b" ").await {
                return;
            }
        }
    })
    .await;
    let total = Duration::from_millis(600);
    let p = builder(&server.v1_url())
        .client_options(options().to_builder().total_timeout(total).build())
        .build()
        .unwrap();
    let e = generate(&p, total + SLACK).await.unwrap_err();
    assert!(
        matches!(e, Error::Timeout { kind: TimeoutKind::Total, after } if after == total),
        "{e:?}"
    );
}

// --- Redirects -------------------------------------------------------------------------------

/// Host A redirects every request to `target` with `307` (which keeps the method and body).
fn redirects_to(target: String) -> impl Fn(Conn) -> futures::future::BoxFuture<'static, ()> {
    move |mut c: Conn| {
        let target = target.clone();
        Box::pin(async move {
            while c.read_request().await.is_some() {
                let head = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
                );
                if !c.write(head).await {
                    return;
                }
            }
        })
    }
}

/// Answers `POST /v1/chat/completions` with `status` and `Location: location`, and any other
/// request with a completion.
fn redirects_chat(
    status: &'static str,
    location: &'static str,
) -> impl Fn(Conn) -> futures::future::BoxFuture<'static, ()> {
    move |mut c: Conn| {
        Box::pin(async move {
            while let Some(req) = c.read_request().await {
                let answer = if req.path == "/v1/chat/completions" {
                    format!(
                        "HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                    )
                    .into_bytes()
                } else {
                    ok_completion()
                };
                if !c.write(answer).await {
                    return;
                }
            }
        })
    }
}

#[tokio::test]
async fn redirect_to_another_host_is_not_followed() {
    // Host B is another loopback address: a different host, not just a different port.
    let other = FaultServer::start_on("127.0.0.2", answers_in_turn(vec![ok_completion()])).await;
    let target = format!("{}/chat/completions", other.v1_url());
    let server = FaultServer::start(redirects_to(target.clone())).await;
    // reqwest alone would drop `Authorization` on the way but forward the API-key header of
    // the gateway's choosing, and the prompt, to host B.
    for auth in [
        Auth::bearer("secret-token-1"),
        Auth::api_key("X-Api-Key", "secret-key-2"),
        Auth::basic("user", "secret-password-3"),
    ] {
        let p = builder(&server.v1_url()).auth(auth).build().unwrap();
        let e = generate(&p, SLACK).await.unwrap_err();
        let Error::Api(api) = &e else { panic!("{e:?}") };
        assert_eq!(api.status, 307);
        assert_eq!(api.message, format!("redirected to {target}"));
        assert!(api.hint.as_deref().unwrap().contains("base URL"), "{e}");
        assert!(!e.is_retryable());
        let (_, e) = stream(&p, SLACK).await;
        assert_eq!(e.unwrap().status(), Some(307));
    }
    // On the wire: host A saw each credential, host B saw nothing at all.
    let seen: Vec<String> = server
        .requests()
        .iter()
        .flat_map(|r| r.headers.iter().map(|(n, v)| format!("{n}: {v}")))
        .collect();
    assert!(
        seen.iter()
            .any(|h| h == "authorization: Bearer secret-token-1")
    );
    assert!(seen.iter().any(|h| h == "x-api-key: secret-key-2"));
    assert_eq!(other.connections(), 0);
    assert!(other.requests().is_empty());
}

#[tokio::test]
async fn redirect_within_the_same_server_is_followed_with_its_credentials() {
    let server = FaultServer::start(redirects_chat(
        "308 Permanent Redirect",
        "/v2/chat/completions",
    ))
    .await;
    let p = builder(&server.v1_url())
        .auth(Auth::api_key("X-Api-Key", "key-4"))
        .build()
        .unwrap();
    let r = generate(&p, SLACK).await.unwrap();
    assert_eq!(r.text(), "Hello world");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].path, "/v2/chat/completions");
    assert_eq!(requests[1].header("x-api-key"), Some("key-4"));
    assert_eq!(requests[1].body, requests[0].body);
}

#[tokio::test]
async fn see_other_and_found_after_a_post_are_followed_as_a_get_without_the_body() {
    for status in ["303 See Other", "302 Found", "301 Moved Permanently"] {
        let server = FaultServer::start(redirects_chat(status, "/v2/answer")).await;
        let p = builder(&server.v1_url())
            .auth(Auth::bearer("token-5"))
            .build()
            .unwrap();
        let r = generate(&p, SLACK).await.unwrap();
        assert_eq!(r.text(), "Hello world", "{status}");
        let requests = server.requests();
        assert_eq!(requests.len(), 2, "{status}");
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[1].method, "GET", "{status}");
        assert_eq!(requests[1].path, "/v2/answer");
        assert!(requests[1].body.is_empty(), "{status}");
        assert_eq!(requests[1].header("content-type"), None, "{status}");
        assert_eq!(requests[1].header("authorization"), Some("Bearer token-5"));
    }
}

#[tokio::test]
async fn redirect_loop_ends_with_an_error() {
    let server = FaultServer::start(|mut c: Conn| async move {
        while let Some(req) = c.read_request().await {
            let head = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: /loop/{}\r\nContent-Length: 0\r\n\r\n",
                req.seq
            );
            if !c.write(head).await {
                return;
            }
        }
    })
    .await;
    let e = generate(&provider(&server.v1_url()), SLACK)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(307), "{e:?}");
    assert_eq!(server.requests().len(), 11);
}

// --- Cancellation ----------------------------------------------------------------------------

/// The tasks alive on the test's runtime (the fault server runs on a runtime of its own).
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits up to `bound` for the runtime's alive tasks to drop to `count`.
async fn tasks_settle_to(count: usize, bound: Duration) -> usize {
    let deadline = Instant::now() + bound;
    loop {
        let alive = alive_tasks();
        if alive <= count || Instant::now() >= deadline {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn dropping_a_stream_mid_way_closes_the_connection_and_leaves_no_task() {
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[HELLO]).await;
        // The server would go on; it waits to see the client hang up.
        c.hold().await;
    })
    .await;
    let before = alive_tasks();
    let p = builder(&server.v1_url())
        .client_options(options().to_builder().idle_timeout(None).build())
        .build()
        .unwrap();
    let mut s = within(SLACK, p.generate_stream("m", &user(), &Options::default()))
        .await
        .unwrap();
    let first = within(SLACK, s.next()).await.unwrap().unwrap();
    assert_eq!(first.text(), "Hello");
    assert!(alive_tasks() > before, "the connection is driven by a task");
    let dropped = Instant::now();
    drop(s);
    let closed = server
        .client_closed(0, SLACK)
        .await
        .expect("the server saw the connection close");
    assert!(closed.duration_since(dropped) < SLACK);
    assert_eq!(
        tasks_settle_to(before, SLACK).await,
        before,
        "a task outlived the stream"
    );
    drop(p);
}

#[tokio::test]
async fn dropping_a_generate_future_closes_the_connection_and_leaves_no_task() {
    let server = FaultServer::start(|mut c: Conn| async move {
        c.read_request().await;
        c.hold().await;
    })
    .await;
    let before = alive_tasks();
    // No first-byte limit: only the caller's own deadline ends the wait.
    let p = builder(&server.v1_url())
        .client_options(options().to_builder().first_byte_timeout(None).build())
        .build()
        .unwrap();
    let deadline = Duration::from_millis(200);
    let r = tokio::time::timeout(deadline, p.generate("m", &user(), &Options::default())).await;
    assert!(r.is_err(), "the call should still be waiting: {r:?}");
    let r = tokio::time::timeout(
        deadline,
        p.generate_stream("m", &user(), &Options::default()),
    )
    .await;
    assert!(
        r.is_err(),
        "the stream should still be waiting for its head"
    );
    for conn in 0..2 {
        assert!(
            server.client_closed(conn, SLACK).await.is_some(),
            "connection {conn} was left open"
        );
    }
    assert_eq!(
        tasks_settle_to(before, SLACK).await,
        before,
        "a task outlived the call"
    );
}

// --- Issue 13: what a hostile or unusual server sends ----------------------------------------

/// A `429` with one `Retry-After`-like header line.
fn too_many_requests_with(header: &str) -> Vec<u8> {
    response(
        "429 Too Many Requests",
        &["Content-Type: application/json", header],
        br#"{"error":{"message":"rate limited","type":"rate_limit_error"}}"#,
    )
}

#[tokio::test]
async fn retry_after_numbers_too_large_for_a_duration_fail_at_once_without_a_panic() {
    for header in [
        "retry-after-ms: 1e300",
        "retry-after-ms: 18446744073709551616000",
        "retry-after-ms: inf",
        "Retry-After: 18446744073709551616000",
        "Retry-After: 99999999999999999999999999999999999999",
        "Retry-After: Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let server = FaultServer::start(replies(too_many_requests_with(header))).await;
        let p = builder(&server.v1_url()).retry(retrying()).build().unwrap();
        let e = generate(&p, SLACK).await.unwrap_err();
        assert_eq!(e.status(), Some(429), "{header}: {e:?}");
        assert!(
            e.to_string().contains("the server asked to wait"),
            "{header}: {e}"
        );
        assert_eq!(server.requests().len(), 1, "{header}: waited anyway");
        let (_, e) = stream(&p, SLACK).await;
        assert_eq!(e.and_then(|e| e.status()), Some(429), "{header}");
    }
}

#[tokio::test]
async fn retry_after_numbers_that_mean_nothing_are_ignored() {
    for header in [
        "retry-after-ms: -1",
        "retry-after-ms: NaN",
        "retry-after-ms: -inf",
        "Retry-After: -5",
        "Retry-After: soon",
        "Retry-After: Sat, 99 Foo 2024 99:99:99 GMT",
    ] {
        let server = FaultServer::start(answers_in_turn(vec![
            too_many_requests_with(header),
            ok_completion(),
        ]))
        .await;
        let p = builder(&server.v1_url()).retry(retrying()).build().unwrap();
        let r = generate(&p, SLACK).await;
        assert_eq!(
            r.map(|r| r.text()).ok().as_deref(),
            Some("Hello world"),
            "{header}"
        );
        assert_eq!(server.requests().len(), 2, "{header}");
    }
}

#[tokio::test]
async fn every_wait_for_a_retry_is_told_to_the_observer() {
    let server = FaultServer::start(answers_in_turn(vec![
        response(
            "503 Service Unavailable",
            &["Content-Type: application/json", "Retry-After: 1"],
            br#"{"error":"server busy"}"#,
        ),
        ok_completion(),
    ]))
    .await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let retry = RetryConfig::builder()
        .on_retry(move |e| {
            log.lock().unwrap().push((
                e.retry,
                e.max_retries,
                e.wait,
                e.server_asked,
                e.error.status(),
            ));
        })
        .build();
    let p = builder(&server.v1_url()).retry(retry).build().unwrap();
    let r = generate(&p, Duration::from_secs(1) + SLACK).await.unwrap();
    assert_eq!(r.text(), "Hello world");
    assert_eq!(
        *seen.lock().unwrap(),
        [(1, 2, Duration::from_secs(1), true, Some(503))]
    );
}

#[tokio::test]
async fn framing_and_hop_by_hop_extra_headers_are_refused_before_sending() {
    let server = FaultServer::start(replies(ok_completion())).await;
    for (name, value) in [
        ("Content-Length", "3"),
        ("Transfer-Encoding", "gzip"),
        ("Connection", "close"),
        ("Host", "elsewhere.example"),
        ("Upgrade", "h2c"),
        ("TE", "trailers"),
        ("Trailer", "x"),
        ("Keep-Alive", "timeout=5"),
        ("Proxy-Authorization", "Basic eA=="),
    ] {
        let e = builder(&server.v1_url())
            .header(name, value)
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{name}: {e:?}");
        assert!(
            e.to_string().contains(&name.to_ascii_lowercase()),
            "{name}: {e}"
        );
        let e = OllamaProvider::builder()
            .base_url(server.v1_url())
            .header(name, value)
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{name}: {e:?}");
    }
    // An ordinary extra header still goes out.
    let p = builder(&server.v1_url())
        .header("X-Request-Source", "ci")
        .build()
        .unwrap();
    generate(&p, SLACK).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("x-request-source"), Some("ci"));
}

/// A gzip body of two members, as RFC 1952 §2.2 allows.
fn two_members(text: &str) -> Vec<u8> {
    let (a, b) = text.split_at(text.len() / 2);
    let mut out = support::gzip(a.as_bytes());
    out.extend(support::gzip(b.as_bytes()));
    out
}

#[tokio::test]
async fn every_gzip_member_is_decoded() {
    let server = FaultServer::start(replies(response(
        "200 OK",
        &["Content-Type: application/json", "Content-Encoding: gzip"],
        &two_members(COMPLETION),
    )))
    .await;
    let r = generate(&provider(&server.v1_url()), SLACK).await.unwrap();
    assert_eq!(r.text(), "Hello world");
    // And a stream, its members cut into small chunks.
    let sse: String = [HELLO, WORLD, STOP, "[DONE]"].map(sse_event).concat();
    let mut bytes = sse_head(&["Content-Encoding: gzip"]);
    for piece in two_members(&sse).chunks(5) {
        bytes.extend(chunk(piece));
    }
    bytes.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(bytes)).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Hello world");
}

/// A `200` whose head is not valid HTTP in the way `head` makes it.
fn malformed_head(head: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{head}");
    out.push_str(&format!(
        "Content-Length: {}\r\n\r\n{COMPLETION}",
        COMPLETION.len()
    ));
    out.into_bytes()
}

#[tokio::test]
async fn a_server_that_answered_with_a_malformed_head_is_not_unreachable() {
    let many: String = (0..150).map(|i| format!("X-Filler-{i}: {i}\r\n")).collect();
    for (what, head) in [
        ("150 headers", many),
        (
            "an obs-fold line",
            "X-Folded: first\r\n second\r\n".to_owned(),
        ),
        ("a header without a colon", "NoColonHere\r\n".to_owned()),
    ] {
        let server = FaultServer::start(replies(malformed_head(&head))).await;
        let ollama = OllamaProvider::builder()
            .base_url(server.v1_url())
            .retry(RetryConfig::none())
            .build()
            .unwrap();
        for e in [
            generate(&ollama, SLACK).await.unwrap_err(),
            ollama.list_models().await.unwrap_err(),
            stream(&ollama, SLACK).await.1.unwrap(),
        ] {
            assert!(matches!(e, Error::Decode { .. }), "{what}: {e:?}");
            let text = e.to_string();
            assert!(!text.contains("cannot reach"), "{what}: {text}");
            assert!(!text.contains("ollama serve"), "{what}: {text}");
            assert!(text.contains("invalid HTTP head"), "{what}: {text}");
        }
    }
}

#[tokio::test]
async fn an_empty_403_without_credentials_names_ollamas_host_and_origin_check() {
    let server = FaultServer::start(replies(response("403 Forbidden", &[], b""))).await;
    let ollama = OllamaProvider::builder()
        .base_url(server.v1_url())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    for e in [
        generate(&ollama, SLACK).await.unwrap_err(),
        ollama.list_models().await.unwrap_err(),
    ] {
        assert_eq!(e.status(), Some(403), "{e:?}");
        let text = e.to_string();
        assert!(!text.contains("refused the credentials"), "{text}");
        assert!(text.contains("Host or Origin"), "{text}");
        assert!(text.contains("OLLAMA_ORIGINS"), "{text}");
    }
    // With credentials configured, the same answer is a refusal of them.
    let with_key = OllamaProvider::builder()
        .base_url(server.v1_url())
        .auth(Auth::bearer("k-123"))
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let e = generate(&with_key, SLACK).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                status: Some(403),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("refused the credentials"), "{e}");
    // A server that wants credentials and got none says so.
    let server = FaultServer::start(replies(response("401 Unauthorized", &[], b""))).await;
    let e = generate(&provider(&server.v1_url()), SLACK)
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
    let text = e.to_string();
    assert!(text.contains("none were configured"), "{text}");
    assert!(!text.contains("refused the credentials"), "{text}");
}

#[tokio::test]
async fn a_native_endpoint_missing_on_an_openai_compatible_server_names_the_url() {
    // llama.cpp's server answers an unknown route like this.
    let server = FaultServer::start(replies(response(
        "404 Not Found",
        &["Content-Type: application/json; charset=utf-8"],
        br#"{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}"#,
    )))
    .await;
    let ollama = OllamaProvider::builder()
        .host(server.url())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let tags = format!("{}/api/tags", server.url());
    let e = ollama.list_models().await.unwrap_err();
    let text = e.to_string();
    assert_eq!(e.status(), Some(404), "{e:?}");
    assert!(text.contains(&tags), "{text}");
    assert!(text.contains("lacks Ollama's native /api"), "{text}");
    assert!(!text.contains("ollama pull"), "{text}");
    let e = ollama.show("m").await.unwrap_err();
    assert!(e.to_string().contains("/api/show"), "{e}");
    assert!(e.to_string().contains("lacks Ollama's native /api"), "{e}");
    let e = ollama.running().await.unwrap_err();
    assert!(e.to_string().contains("/api/ps"), "{e}");
    // Ollama's own 404 for a missing model keeps its advice.
    let server = FaultServer::start(replies(response(
        "404 Not Found",
        &["Content-Type: application/json; charset=utf-8"],
        br#"{"error":"model 'm' not found"}"#,
    )))
    .await;
    let ollama = OllamaProvider::builder()
        .host(server.url())
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let e = ollama.show("m").await.unwrap_err();
    assert!(e.to_string().contains("ollama pull m"), "{e}");
    let e = ollama
        .pull_without_progress("m", &Default::default())
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("ollama pull"), "{e}");
}

/// A stand-in proxy: answers every request (in absolute form when proxied) with a completion.
async fn recording_proxy() -> FaultServer {
    FaultServer::start(replies(ok_completion())).await
}

#[tokio::test]
async fn an_environment_proxy_is_never_used_for_loopback() {
    let proxy = recording_proxy().await;
    let server = FaultServer::start(replies(ok_completion())).await;
    let proxy_url = proxy.url().replace("http://", "http://user:pw@");
    let env = [
        ("HTTP_PROXY", proxy_url.as_str()),
        ("ALL_PROXY", proxy_url.as_str()),
    ];
    let through_env = |base: &str| {
        builder(base)
            .client_options(options().to_builder().proxy_vars(env).build())
            .build()
            .unwrap()
    };
    // 127.0.0.1 and localhost: straight to the server, the proxy sees nothing.
    for base in [
        server.v1_url(),
        server.v1_url().replace("127.0.0.1", "localhost"),
    ] {
        generate(&through_env(&base), SLACK).await.unwrap();
    }
    assert_eq!(server.requests().len(), 2);
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
    // Another host: through the proxy, with its credentials.
    generate(&through_env("http://gpu-box.invalid:11434/v1"), SLACK)
        .await
        .unwrap();
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].path,
        "http://gpu-box.invalid:11434/v1/chat/completions"
    );
    assert_eq!(
        seen[0].header("proxy-authorization"),
        Some("Basic dXNlcjpwdw==")
    );
    // A configured proxy still applies to loopback.
    let configured = builder(&server.v1_url())
        .client_options(options().to_builder().proxy(proxy.url()).build())
        .build()
        .unwrap();
    generate(&configured, SLACK).await.unwrap();
    let seen = proxy.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].path,
        format!("{}/chat/completions", server.v1_url())
    );
}

// --- Streams that send bytes but make no progress (issue 13 #2) ------------------------------

const ROLE_ONLY: &str = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
const EMPTY_CONTENT: &str = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}"#;
const EMPTY_DELTA: &str = r#"{"choices":[{"delta":{}}]}"#;
const NO_CHOICES: &str = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[]}"#;

/// A server that sends the head, then `first` events, then `filler` every 50 ms (for at most
/// 20 s, or until the client goes away).
fn filler_server(
    first: &'static [&'static str],
    filler: Vec<Vec<u8>>,
) -> impl Fn(Conn) -> futures::future::BoxFuture<'static, ()> + Send + Sync + 'static {
    move |mut c: Conn| {
        let filler = filler.clone();
        Box::pin(async move {
            head_and_events(&mut c, first).await;
            for i in 0..400 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if !c.chunk(&filler[i % filler.len()]).await {
                    c.wait_for_client_close(SLACK).await;
                    return;
                }
            }
        })
    }
}

async fn assert_idle_after_hello(server: &FaultServer, p: &impl Provider) {
    let (items, e) = stream(p, IDLE + SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(
        matches!(e, Some(Error::Timeout { kind: TimeoutKind::Idle, after }) if after == IDLE),
        "{e:?}"
    );
    assert!(server.client_closed(0, SLACK).await.is_some());
}

#[tokio::test]
async fn keep_alive_comments_do_not_keep_a_stream_alive() {
    // llama.cpp's server keeps sending these after it was told to stop; sse-starlette and
    // proxies send them as pings.
    let server = FaultServer::start(filler_server(
        &[HELLO],
        vec![b": keep-alive\n\n".to_vec(), b":\n\n".to_vec()],
    ))
    .await;
    assert_idle_after_hello(&server, &provider(&server.v1_url())).await;
}

#[tokio::test]
async fn empty_deltas_and_event_only_lines_are_no_progress() {
    let filler = [ROLE_ONLY, EMPTY_CONTENT, EMPTY_DELTA, NO_CHOICES]
        .iter()
        .map(|e| sse_event(e).into_bytes())
        .chain([
            b"event: ping\n\n".to_vec(),
            b"id: 7\nretry: 10\n\n".to_vec(),
        ])
        .collect();
    let server = FaultServer::start(filler_server(&[HELLO], filler)).await;
    assert_idle_after_hello(&server, &provider(&server.v1_url())).await;
}

#[tokio::test]
async fn a_flood_of_keep_alives_is_still_an_idle_timeout() {
    // Comments as fast as the connection takes them: the reader never waits for the body.
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[HELLO]).await;
        let ping = chunk(b": ping\n\n").repeat(512);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) && c.write(&ping).await {}
        c.wait_for_client_close(SLACK).await;
    })
    .await;
    assert_idle_after_hello(&server, &provider(&server.v1_url())).await;
}

fn native_options() -> Options {
    Options::builder()
        .extension(
            llmport::ollama::OllamaOptions::builder()
                .num_ctx(4096)
                .build(),
        )
        .build()
}

fn ollama(server: &FaultServer) -> OllamaProvider {
    OllamaProvider::builder()
        .host(server.url())
        .client_options(options())
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

/// A native stream's items and the error that ended it.
async fn native_stream(p: &OllamaProvider, bound: Duration) -> (Vec<GenResponse>, Option<Error>) {
    stream_with(p, &native_options(), bound).await
}

#[tokio::test]
async fn native_lines_without_content_are_no_progress() {
    let server = FaultServer::start(|mut c: Conn| async move {
        c.read_request().await;
        c.write(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await;
        c.chunk(r#"{"model":"m","message":{"role":"assistant","content":"Hello"},"done":false}"#.to_owned() + "\n").await;
        for _ in 0..400 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let line = r#"{"model":"m","message":{"role":"assistant","content":""},"done":false}"#;
            if !c.chunk(format!("{line}\n")).await {
                return;
            }
        }
    })
    .await;
    let (items, e) = native_stream(&ollama(&server), IDLE + SLACK).await;
    assert_eq!(text(&items), "Hello");
    assert!(
        matches!(
            e,
            Some(Error::Timeout {
                kind: TimeoutKind::Idle,
                ..
            })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn tokens_keep_a_stream_alive_for_longer_than_the_idle_limit() {
    // Progress every 50 ms, interleaved with keep-alives, for 3x the idle limit.
    let server = FaultServer::start(|mut c: Conn| async move {
        head_and_events(&mut c, &[]).await;
        for _ in 0..18 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            c.chunk(sse_event(WORLD)).await;
            c.chunk(b": keep-alive\n\n").await;
        }
        c.chunk(sse_event(STOP)).await;
        c.chunk(sse_event("[DONE]")).await;
        c.last_chunk().await;
        c.wait_for_client_close(Duration::from_secs(5)).await;
    })
    .await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK * 2).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), " world".repeat(18));
}

#[tokio::test]
async fn stream_timeout_ends_a_stream_that_keeps_making_progress() {
    let limit = Duration::from_millis(500);
    let server =
        FaultServer::start(filler_server(&[HELLO], vec![sse_event(WORLD).into_bytes()])).await;
    let p = builder(&server.v1_url())
        .client_options(options().to_builder().stream_timeout(limit).build())
        .build()
        .unwrap();
    let (items, e) = stream(&p, limit + SLACK).await;
    assert!(text(&items).starts_with("Hello world"), "{}", text(&items));
    assert!(
        matches!(e, Some(Error::Timeout { kind: TimeoutKind::Stream, after }) if after == limit),
        "{e:?}"
    );
    assert!(server.client_closed(0, SLACK).await.is_some());
}

// --- A JSON document answering a stream request (issue 13 #4) --------------------------------

fn json_200(body: &str) -> Vec<u8> {
    response(
        "200 OK",
        &["Content-Type: application/json; charset=utf-8"],
        body.as_bytes(),
    )
}

#[tokio::test]
async fn json_error_object_to_a_stream_request_is_an_api_error_with_its_message() {
    for body in [
        r#"{"error":"the model runner crashed"}"#,
        r#"{"error":{"message":"the model runner crashed","type":"server_error","code":"boom"}}"#,
    ] {
        let server = FaultServer::start(replies(json_200(body))).await;
        let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
        assert!(items.is_empty());
        match e {
            Some(Error::Api(api)) => {
                assert_eq!(api.status, 200);
                assert_eq!(api.message, "the model runner crashed");
            }
            other => panic!("{body}: {other:?}"),
        }
        // The native chat, likewise.
        let (_, e) = native_stream(&ollama(&server), SLACK).await;
        match e {
            Some(Error::Api(api)) => assert_eq!(api.message, "the model runner crashed"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn whole_completion_to_a_stream_request_is_a_one_chunk_answer() {
    let server = FaultServer::start(replies(json_200(COMPLETION))).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(items.len(), 1);
    assert_eq!(text(&items), "Hello world");
    assert_eq!(
        items[0].candidates[0].finish_reason,
        Some(llmport::FinishReason::Stop)
    );
    // A native non-streaming /api/chat answer to a native stream request.
    let native = r#"{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hello world"},"done":true,"done_reason":"stop","eval_count":2}"#;
    let server = FaultServer::start(replies(json_200(native))).await;
    let (items, e) = native_stream(&ollama(&server), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Hello world");
    assert_eq!(items.last().unwrap().meta.usage.unwrap().output_tokens, 2);
}

#[tokio::test]
async fn other_json_to_a_stream_request_says_an_event_stream_was_expected() {
    let server = FaultServer::start(replies(json_200(r#"{"status":"ok"}"#))).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert!(items.is_empty());
    let e = e.unwrap();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("expected an event stream"), "{e}");
    assert!(e.to_string().contains(r#"{"status":"ok"}"#), "{e}");
}

// --- Lone surrogate escapes (issue 13 #15) ----------------------------------------------------

#[tokio::test]
async fn a_lone_surrogate_escape_is_a_replacement_character_not_a_failure() {
    let half = r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"a\ud83d b"},"finish_reason":null}]}"#;
    let server = FaultServer::start(replies(sse_body(&[HELLO, half, STOP, "[DONE]"]))).await;
    let (items, e) = stream(&provider(&server.v1_url()), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Helloa\u{fffd} b");

    // Not streamed.
    let whole = r#"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"x\udc00y"},"finish_reason":"stop"}]}"#;
    let server = FaultServer::start(replies(json_200(whole))).await;
    let r = generate(&provider(&server.v1_url()), SLACK).await.unwrap();
    assert_eq!(r.text(), "x\u{fffd}y");

    // Native, streamed and not.
    let lines = [
        r#"{"model":"m","message":{"role":"assistant","content":"\ud83d!"},"done":false}"#,
        r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#,
    ];
    let mut body = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for l in lines {
        body.extend(chunk(format!("{l}\n").as_bytes()));
    }
    body.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(body)).await;
    let (items, e) = native_stream(&ollama(&server), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "\u{fffd}!");
    let server = FaultServer::start(replies(json_200(
        r#"{"model":"m","message":{"role":"assistant","content":"\ude00"},"done":true}"#,
    )))
    .await;
    let r = within(
        SLACK,
        ollama(&server).generate("m", &user(), &native_options()),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "\u{fffd}");
}

// --- A cap on streamed answers (issue 13 #17) -------------------------------------------------

#[tokio::test]
async fn a_streamed_answer_past_the_body_cap_is_limit_exceeded() {
    let cap = 64 * 1024;
    // ~150 bytes per event: 1,000 events are more than twice the cap.
    let server = FaultServer::start(filler_server(
        &[HELLO],
        vec![sse_event(WORLD).repeat(50).into_bytes()],
    ))
    .await;
    let p = builder(&server.v1_url())
        .client_options(options().to_builder().max_body_size(cap).build())
        .build()
        .unwrap();
    let (items, e) = stream(&p, SLACK * 3).await;
    assert!(!items.is_empty());
    assert!(
        matches!(e, Some(Error::LimitExceeded { limit, .. }) if limit == cap),
        "{e:?}"
    );
    assert!(server.client_closed(0, SLACK).await.is_some());
    // And collecting it does not hand back the partial answer.
    let r = within(SLACK * 3, async {
        p.generate_stream("m", &user(), &Options::default())
            .await?
            .collect_response()
            .await
    })
    .await;
    assert!(matches!(r, Err(Error::LimitExceeded { .. })), "{r:?}");
}

#[tokio::test]
async fn native_garbage_after_done_in_the_same_read_is_ignored() {
    // Found by the native_chat fuzz target: bytes after the `"done": true` line that arrived
    // in the same read failed the (complete) answer, and bytes in a later read did not.
    let mut body = concat!(
        r#"{"model":"m","message":{"role":"assistant","content":"Hello"},"done":false}"#,
        "\n",
        r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#,
        "\n"
    )
    .as_bytes()
    .to_vec();
    body.extend(b"\xff\xfe\n");
    let mut bytes =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    bytes.extend(chunk(&body));
    bytes.extend(b"0\r\n\r\n");
    let server = FaultServer::start(replies(bytes)).await;
    let (items, e) = native_stream(&ollama(&server), SLACK).await;
    assert!(e.is_none(), "{e:?}");
    assert_eq!(text(&items), "Hello");
}

// ---- uploads (a file streamed as the body) ----

/// A provider with the fault matrix's limits and no retries, against `server`'s root.
fn upload_client(server: &FaultServer) -> OllamaProvider {
    OllamaProvider::builder()
        .host(server.url())
        .client_options(options())
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

/// A file of `len` zero bytes (sparse: nothing is written).
fn zeros(dir: &tempfile::TempDir, len: u64) -> std::path::PathBuf {
    let path = dir.path().join("model.gguf");
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(len))
        .expect("a sparse file");
    path
}

const ANY_DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[tokio::test]
async fn an_upload_the_server_stops_reading_times_out_by_its_progress() {
    // Never reads: the upload stalls once the socket buffers are full.
    let server = FaultServer::start(|c: Conn| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(c);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = zeros(&dir, 64 << 20);
    let started = Instant::now();
    let e = upload_client(&server)
        .upload_blob(ANY_DIGEST, &path)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Timeout { kind: TimeoutKind::Idle, after } if after == IDLE),
        "{e:?}"
    );
    assert!(started.elapsed() < IDLE + SLACK, "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_upload_that_is_never_answered_times_out_waiting_for_the_answer() {
    let server = FaultServer::start(|mut c: Conn| async move {
        let _ = c.read_request().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(c);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = zeros(&dir, 100_000);
    let started = Instant::now();
    let e = upload_client(&server)
        .upload_blob(ANY_DIGEST, &path)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Timeout { kind: TimeoutKind::FirstByte, after } if after == FIRST_BYTE),
        "{e:?}"
    );
    assert!(
        started.elapsed() < FIRST_BYTE + SLACK,
        "{:?}",
        started.elapsed()
    );
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body.len(), 100_000, "the whole file was sent");
}
