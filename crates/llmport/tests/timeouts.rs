//! Each time limit gives `Error::Timeout` naming which one ran out: connect (a listener whose
//! accept queue is full, so the handshake never completes), first byte (a server that waits
//! before its headers), idle (a stream that goes silent) and total (a non-streaming call);
//! and the total limit never cuts off a stream that keeps producing.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use llmport::testing::TestServer;
use llmport::{
    ClientOptions, Error, Message, OpenAiProvider, Options, Provider, RetryConfig, TimeoutKind,
};
use support::transcript;

const CHAT: &str = "/v1/chat/completions";

fn provider(base: &str, options: ClientOptions) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(base)
        .client_options(options)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

async fn chat(p: &OpenAiProvider) -> llmport::Result<String> {
    p.generate("llama3.2", &[Message::user("hi")], &Options::default())
        .await
        .map(|r| r.text())
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
        ClientOptions::new().with_connect_timeout(limit),
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
    let server = TestServer::builder()
        .route(
            "POST",
            CHAT,
            transcript("openai_chat_plain")
                .reply()
                .with_delay_before_headers(Duration::from_secs(3)),
        )
        .start()
        .await;
    let limit = Duration::from_millis(200);
    let p = provider(
        &server.v1_url(),
        ClientOptions::new().with_first_byte_timeout(limit),
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
        .client_options(ClientOptions::new().with_first_byte_timeout(limit))
        .retry(
            RetryConfig::default()
                .with_max_retries(1)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    chat(&p).await.unwrap_err();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn idle_timeout_between_stream_chunks() {
    let server = TestServer::builder()
        .route(
            "POST",
            CHAT,
            transcript("openai_chat_stream_with_usage")
                .reply()
                .with_chunk_delay(Duration::from_secs(2)),
        )
        .start()
        .await;
    let limit = Duration::from_millis(250);
    let p = provider(
        &server.v1_url(),
        ClientOptions::new().with_idle_timeout(limit),
    );
    let mut stream = p
        .generate_stream("llama3.2", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    let first = stream.next().await.unwrap();
    assert!(first.is_ok(), "{first:?}");
    let started = Instant::now();
    let e = loop {
        match stream.next().await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break e,
            None => panic!("the stream ended instead of timing out"),
        }
    };
    assert_timeout(
        &e,
        TimeoutKind::Idle,
        limit,
        "no data between two stream chunks within 250ms",
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(!e.is_retryable(), "after the first byte nothing is retried");
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn total_timeout_of_a_non_streaming_call() {
    let server = TestServer::builder()
        .route(
            "POST",
            CHAT,
            transcript("openai_chat_plain")
                .reply()
                .with_delay_before_headers(Duration::from_secs(3)),
        )
        .start()
        .await;
    let limit = Duration::from_millis(300);
    let p = provider(
        &server.v1_url(),
        ClientOptions::new().with_total_timeout(limit),
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
    let server = TestServer::builder()
        .route(
            "POST",
            CHAT,
            transcript("openai_chat_stream_with_usage")
                .reply()
                .with_chunk_delay(Duration::from_millis(150)),
        )
        .start()
        .await;
    let p = provider(
        &server.v1_url(),
        ClientOptions::new()
            .with_total_timeout(Duration::from_millis(300))
            .with_idle_timeout(Duration::from_secs(2)),
    );
    let started = Instant::now();
    let mut stream = p
        .generate_stream("llama3.2", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    while let Some(item) = stream.next().await {
        item.unwrap();
    }
    assert!(started.elapsed() > Duration::from_millis(600));
}

#[test]
fn timeouts_from_environment_variables() {
    let o = ClientOptions::new()
        .with_vars([
            ("LLMPORT_CONNECT_TIMEOUT", "300ms"),
            ("LLMPORT_FIRST_BYTE_TIMEOUT", "2m"),
            ("LLMPORT_IDLE_TIMEOUT", "45"),
        ])
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
