//! Retries against the wire test server: what is retried (connection failures, 408/409/429/
//! 5xx) and what is not (other 4xx, anything after the first byte of a stream), and how long
//! the client waits (`Retry-After` as seconds or an HTTP date, `retry-after-ms`), measured.

use llmport_test_support as support;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use llmport::testing::{Reply, TestServer};
use llmport::{ClientOptions, Error, OpenAiProvider, RetryConfig};
use support::{PLAIN_ANSWER, chat, fast_retries as retrying, stream_items, transcript};

const CHAT: &str = "/v1/chat/completions";

fn provider(base: &str, retry: RetryConfig) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(base)
        .retry(retry)
        .build()
        .expect("provider builds")
}

/// A server that answers `first` once, then the plain chat transcript.
async fn then_ok(first: Reply) -> TestServer {
    TestServer::builder()
        .route("POST", CHAT, first)
        .transcript(transcript("openai_chat_plain"))
        .start()
        .await
}

/// Sends one chat and returns how long it took.
async fn timed_chat(server: &TestServer) -> Duration {
    let p = provider(&server.v1_url(), retrying(2));
    let started = Instant::now();
    assert_eq!(
        chat(&p).await.expect("the retried chat succeeds"),
        PLAIN_ANSWER
    );
    started.elapsed()
}

#[tokio::test]
async fn every_retryable_status_is_retried_then_succeeds() {
    for status in [408, 409, 429, 500, 502, 503, 504] {
        let server = then_ok(Reply::empty(status)).await;
        timed_chat(&server).await;
        assert_eq!(server.requests().len(), 2, "HTTP {status}");
    }
}

#[tokio::test]
async fn other_client_errors_are_final() {
    for status in [400, 404, 413, 422] {
        let server = then_ok(Reply::json(
            status,
            &serde_json::json!({"error": {"message": "nope", "type": "invalid_request_error"}}),
        ))
        .await;
        let e = chat(&provider(&server.v1_url(), retrying(3)))
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(status), "{e:?}");
        assert!(matches!(e, Error::Api(_)), "{e:?}");
        assert_eq!(server.requests().len(), 1, "HTTP {status} not retried");
    }
}

#[tokio::test]
async fn retries_stop_after_max_retries_with_the_last_error() {
    let server = TestServer::builder()
        .route("POST", CHAT, Reply::empty(503))
        .start()
        .await;
    let e = chat(&provider(&server.v1_url(), retrying(2)))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(server.requests().len(), 3, "1 attempt + 2 retries");
    let e = chat(&provider(&server.v1_url(), RetryConfig::none()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn retry_after_seconds_is_waited_for() {
    let server = then_ok(Reply::empty(429).header("Retry-After", "1")).await;
    let took = timed_chat(&server).await;
    eprintln!("Retry-After: 1 → waited {took:?}");
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(1800),
        "waited {took:?} for Retry-After: 1"
    );
}

#[tokio::test]
async fn retry_after_http_date_is_waited_for() {
    let at = SystemTime::now() + Duration::from_secs(2);
    let server =
        then_ok(Reply::empty(503).header("Retry-After", httpdate::fmt_http_date(at))).await;
    let took = timed_chat(&server).await;
    eprintln!("Retry-After: <date 2 s ahead> → waited {took:?}");
    // An HTTP date has whole seconds: the wait is between 1 and 2 s from now.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2600),
        "waited {took:?} for a Retry-After date 2 s ahead"
    );
}

#[tokio::test]
async fn retry_after_ms_wins_and_is_waited_for() {
    let server = then_ok(
        Reply::empty(429)
            .header("retry-after-ms", "300")
            .header("Retry-After", "5"),
    )
    .await;
    let took = timed_chat(&server).await;
    eprintln!("retry-after-ms: 300 → waited {took:?}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(900),
        "waited {took:?} for retry-after-ms: 300"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_returns_the_error_at_once() {
    let server = then_ok(Reply::empty(503).header("Retry-After", "120")).await;
    let p = provider(
        &server.v1_url(),
        retrying(3)
            .to_builder()
            .max_retry_after(Duration::from_secs(10))
            .build(),
    );
    let started = Instant::now();
    let e = chat(&p).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(server.requests().len(), 1);
}

/// A listener that accepts connections and closes them without a word.
fn slamming_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/v1",
        listener.local_addr().expect("local address")
    );
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn connection_failures_are_retried() {
    let (url, accepted) = slamming_listener();
    let e = chat(&provider(&url, retrying(2))).await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(accepted.load(Ordering::SeqCst), 3, "1 attempt + 2 retries");

    let dead = format!("http://127.0.0.1:{}/v1", support::dead_port());
    let e = chat(&provider(&dead, retrying(2))).await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
}

fn stream_reply() -> Reply {
    transcript("openai_chat_stream_with_usage").reply()
}

#[tokio::test]
async fn a_stream_is_retried_before_its_first_byte() {
    let server = TestServer::builder()
        .route("POST", CHAT, Reply::empty(503))
        .route("POST", CHAT, stream_reply())
        .start()
        .await;
    let p = provider(&server.v1_url(), retrying(2));
    for item in stream_items(&p).await {
        item.unwrap();
    }
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_stream_is_never_retried_after_its_first_byte() {
    // The first event arrives, then the server goes silent for good.
    let mut reply = stream_reply();
    reply.chunks.truncate(1);
    let server = TestServer::builder()
        .route("POST", CHAT, reply.hang_after_body())
        .route("POST", CHAT, stream_reply())
        .start()
        .await;
    let p = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .retry(retrying(5))
        .client_options(
            ClientOptions::builder()
                .idle_timeout(Duration::from_millis(300))
                .build(),
        )
        .build()
        .unwrap();
    let items = stream_items(&p).await;
    assert!(items[0].is_ok(), "{:?}", items[0]);
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(
            last,
            Error::Timeout {
                kind: llmport::TimeoutKind::Idle,
                ..
            }
        ),
        "{last:?}"
    );
    assert_eq!(server.requests().len(), 1, "the stream was not replayed");
}
