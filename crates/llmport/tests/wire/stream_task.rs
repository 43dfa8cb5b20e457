//! A streamed answer is read by a task on the runtime (see `transport/prefetch.rs`): the task
//! must end with the stream, close the connection when the caller drops it, and keep the
//! answer exact, on both kinds of tokio runtime.

use llmport_test_support as support;

use std::time::Duration;

use futures::StreamExt;
use llmport::testing::{Reply, TestServer};
use llmport::{Message, Options, Provider, ResponseStream};
use support::*;

fn chunk(text: &str) -> String {
    format!(
        r#"{{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{{"index":0,"delta":{{"content":"{text}"}},"finish_reason":null}}]}}"#
    )
}

/// A server answering chat completions with `reply`, and a stream from it.
async fn stream_from(reply: Reply) -> (TestServer, ResponseStream) {
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", reply)
        .start()
        .await;
    let stream = openai(&server.v1_url())
        .generate_stream("m", &[Message::user("x")], &Options::default())
        .await
        .expect("the stream starts");
    (server, stream)
}

/// Waits (bounded) until the server has no open connection.
async fn connections_close(server: &TestServer) -> bool {
    for _ in 0..200 {
        if server.active_connections() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

async fn dropping_mid_stream_closes_the_connection() {
    // The server sends one chunk, then keeps the response open and silent, as a generation
    // that is still thinking would: the reading task waits on the body, not on the channel,
    // so only the stream's drop can end it.
    let (server, mut s) = stream_from(Reply::sse([chunk("Hello")]).hang_after_body()).await;
    let first = s.next().await.expect("a first chunk").expect("no error");
    assert_eq!(first.text(), "Hello");
    assert_eq!(server.active_connections(), 1);
    drop(s);
    assert!(
        connections_close(&server).await,
        "the connection outlived the dropped stream"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_a_stream_closes_its_connection_on_a_current_thread_runtime() {
    dropping_mid_stream_closes_the_connection().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_closes_its_connection_on_a_multi_thread_runtime() {
    dropping_mid_stream_closes_the_connection().await;
}

/// Many small events, more than the read-ahead holds, with a consumer slower than the server:
/// every chunk arrives, in order, once.
async fn slow_consumer_gets_every_chunk_in_order() {
    let n = 2_000;
    let mut events: Vec<String> = (0..n).map(|i| chunk(&format!("{i} "))).collect();
    events.push(
        r#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#
            .to_owned(),
    );
    events.push("[DONE]".to_owned());
    let (_server, mut s) = stream_from(Reply::sse(events)).await;
    let mut text = String::new();
    let mut items = 0;
    while let Some(chunk) = s.next().await {
        let chunk = chunk.expect("no error");
        text.push_str(&chunk.text());
        items += 1;
        if items % 200 == 0 {
            // Let the reading task run ahead and fill its bounded channel.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let want: String = (0..n).map(|i| format!("{i} ")).collect();
    assert_eq!(text, want);
    assert_eq!(
        items,
        n + 2,
        "n content chunks, the stop chunk, the final chunk"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn slow_consumer_gets_every_chunk_in_order_on_a_current_thread_runtime() {
    slow_consumer_gets_every_chunk_in_order().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_gets_every_chunk_in_order_on_a_multi_thread_runtime() {
    slow_consumer_gets_every_chunk_in_order().await;
}

/// The idle timer runs in the reading task: a server that goes silent mid-stream still ends
/// the stream with a typed idle timeout, and the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_ends_the_stream_with_an_idle_timeout() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::sse([chunk("Hello")]).hang_after_body(),
        )
        .start()
        .await;
    let p = llmport::OpenAiProvider::builder()
        .base_url(server.v1_url())
        .retry(llmport::RetryConfig::none())
        .client_options(
            llmport::ClientOptions::builder()
                .idle_timeout(Duration::from_millis(200))
                .build(),
        )
        .build()
        .expect("provider builds");
    let mut s = p
        .generate_stream("m", &[Message::user("x")], &Options::default())
        .await
        .expect("the stream starts");
    assert_eq!(
        s.next().await.expect("a chunk").expect("no error").text(),
        "Hello"
    );
    let next = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("the idle timeout fires, the stream does not hang");
    match next {
        Some(Err(llmport::Error::Timeout {
            kind: llmport::TimeoutKind::Idle,
            after,
        })) => assert_eq!(after, Duration::from_millis(200)),
        other => panic!("expected an idle timeout, got {other:?}"),
    }
    drop(s);
    assert!(connections_close(&server).await);
}
