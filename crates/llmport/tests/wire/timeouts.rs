//! Each time limit gives `Error::Timeout` naming which one ran out: connect (a listener whose
//! accept queue is full, so the handshake never completes), first byte (a server that waits
//! before its headers), idle (a stream that goes silent) and total (a non-streaming call);
//! and the total limit never cuts off a stream that keeps producing.

use llmport_test_support as support;

use std::time::{Duration, Instant};

use llmport::testing::TestServer;
use llmport::{ClientOptions, Error, OpenAiProvider, RetryConfig, TimeoutKind};
use support::{chat, stream_items, transcript};

const CHAT: &str = "/v1/chat/completions";

fn provider(base: &str, options: ClientOptions) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(base)
        .client_options(options)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

/// A server that answers chat requests with `reply`.
async fn serve(reply: llmport::testing::Reply) -> TestServer {
    TestServer::builder()
        .route("POST", CHAT, reply)
        .start()
        .await
}

/// The plain chat answer, its headers `delay` late.
fn slow_headers(delay: Duration) -> llmport::testing::Reply {
    transcript("openai_chat_plain")
        .reply()
        .delay_before_headers(delay)
}

/// A streamed answer, its events `delay` apart.
fn slow_stream(delay: Duration) -> llmport::testing::Reply {
    transcript("openai_chat_stream_with_usage")
        .reply()
        .chunk_delay(delay)
}

fn assert_timeout(e: &Error, kind: TimeoutKind, after: Duration, words: &str) {
    assert!(
        matches!(e, Error::Timeout { kind: k, after: a } if *k == kind && *a == after),
        "expected a {kind:?} timeout after {after:?}, got {e:?}"
    );
    assert!(e.to_string().contains(words), "{e}");
    assert!(e.is_timeout());
}

/// A listening socket whose accept queue is full (backlog 0, one connection already
/// waiting), so that the kernel drops further SYNs: a connect hangs until it times out.
/// `None` if this kernel still completes the handshake.
fn full_backlog() -> Option<(tokio::net::TcpListener, Vec<std::net::TcpStream>, u16)> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind("127.0.0.1:0".parse().ok()?).ok()?;
    let listener = socket.listen(0).ok()?;
    let addr = listener.local_addr().ok()?;
    let mut held = Vec::new();
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(_) => return Some((listener, held, addr.port())),
        }
    }
    None
}

#[tokio::test]
async fn connect_timeout() {
    let Some((_listener, _held, port)) = full_backlog() else {
        support::real::skip("this kernel completes handshakes on a full accept queue");
        return;
    };
    let limit = Duration::from_millis(300);
    let p = provider(
        &format!("http://127.0.0.1:{port}/v1"),
        ClientOptions::builder().connect_timeout(limit).build(),
    );
    let started = Instant::now();
    let e = chat(&p).await.unwrap_err();
    assert_timeout(
        &e,
        TimeoutKind::Connect,
        limit,
        "no connection within 300ms",
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn first_byte_timeout() {
    let server = serve(slow_headers(Duration::from_secs(3))).await;
    let limit = Duration::from_millis(200);
    let p = provider(
        &server.v1_url(),
        ClientOptions::builder().first_byte_timeout(limit).build(),
    );
    let started = Instant::now();
    let e = chat(&p).await.unwrap_err();
    assert_timeout(
        &e,
        TimeoutKind::FirstByte,
        limit,
        "no first byte of the response within 200ms",
    );
    assert!(started.elapsed() < Duration::from_secs(1));

    // Before the first byte nothing reached the caller: it is retried.
    let p = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .client_options(ClientOptions::builder().first_byte_timeout(limit).build())
        .retry(
            RetryConfig::builder()
                .max_retries(1)
                .backoff(Duration::from_millis(1), Duration::from_millis(1))
                .build(),
        )
        .build()
        .unwrap();
    chat(&p).await.unwrap_err();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn idle_timeout_between_stream_chunks() {
    let server = serve(slow_stream(Duration::from_secs(2))).await;
    let limit = Duration::from_millis(250);
    let p = provider(
        &server.v1_url(),
        ClientOptions::builder().idle_timeout(limit).build(),
    );
    let started = Instant::now();
    let items = stream_items(&p).await;
    // The first event arrives at once; the second would come 2 s later.
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items[0].is_ok(), "{:?}", items[0]);
    let e = items[1].as_ref().unwrap_err();
    assert_timeout(
        e,
        TimeoutKind::Idle,
        limit,
        "no data between two stream chunks within 250ms",
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!e.is_retryable(), "after the first byte nothing is retried");
}

#[tokio::test]
async fn total_timeout_of_a_non_streaming_call() {
    let server = serve(slow_headers(Duration::from_secs(3))).await;
    let limit = Duration::from_millis(300);
    let p = provider(
        &server.v1_url(),
        ClientOptions::builder().total_timeout(limit).build(),
    );
    let e = chat(&p).await.unwrap_err();
    assert_timeout(
        &e,
        TimeoutKind::Total,
        limit,
        "no complete response within 300ms",
    );
}

#[tokio::test]
async fn the_total_timeout_never_cuts_off_a_stream_that_keeps_producing() {
    // Six events 150 ms apart: about 750 ms in all, longer than the 300 ms total limit.
    let server = serve(slow_stream(Duration::from_millis(150))).await;
    let p = provider(
        &server.v1_url(),
        ClientOptions::builder()
            .total_timeout(Duration::from_millis(300))
            .idle_timeout(Duration::from_secs(2))
            .build(),
    );
    let started = Instant::now();
    for item in stream_items(&p).await {
        item.unwrap();
    }
    assert!(started.elapsed() > Duration::from_millis(600));
}

#[test]
fn timeouts_from_environment_variables() {
    let o = llmport::env::client_options(
        ClientOptions::default(),
        [
            ("LLMPORT_CONNECT_TIMEOUT", "300ms"),
            ("LLMPORT_FIRST_BYTE_TIMEOUT", "2m"),
            ("LLMPORT_IDLE_TIMEOUT", "45"),
        ],
    )
    .unwrap();
    assert_eq!(o.connect_timeout, Some(Duration::from_millis(300)));
    assert_eq!(o.first_byte_timeout, Some(Duration::from_secs(120)));
    assert_eq!(o.idle_timeout, Some(Duration::from_secs(45)));
    let e = OpenAiProvider::builder()
        .from_vars([("LLMPORT_CONNECT_TIMEOUT", "fast")])
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("LLMPORT_CONNECT_TIMEOUT"), "{e}");
}
