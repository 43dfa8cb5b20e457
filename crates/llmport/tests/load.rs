//! Load: many concurrent streams against an in-process server, in one process. Every stream
//! gets its own content (derived from its prompt), held open until all of them are open, then
//! checked byte for byte; the memory per open stream is reported.
//!
//! The default test run holds 500 streams. The full run holds 10,000 (about 20,000 file
//! descriptors: the test raises the limit, which needs root or a high hard limit):
//!
//! ```text
//! cargo test -p llmport --release --test load -- --ignored --nocapture
//! ```

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use llmport::{ClientOptions, Message, OpenAiProvider, Options, Provider, RetryConfig};
use support::faults::{Conn, FaultServer, sse_event, sse_head};
use tokio::sync::{Semaphore, watch};

/// Text chunks after the first one, per stream.
const CHUNKS: usize = 8;
/// How many streams may be setting up their connection at the same time (all stay open).
const OPENING: usize = 256;
/// The longest the whole run may take.
const BOUND: Duration = Duration::from_secs(600);

/// The text chunks of stream `i`: unique per stream, with multi-byte characters.
fn chunks_of(i: usize) -> Vec<String> {
    let mut v = vec![format!("[{i}] ")];
    for k in 0..CHUNKS {
        v.push(format!("chunk {k} of stream {i} — ünïcödé ✓; "));
    }
    v
}

fn delta(text: &str) -> String {
    serde_json::json!({
        "id": "c", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
    })
    .to_string()
}

const STOP: &str = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;

/// The server side of one stream: the first chunk at once, the rest once released.
async fn serve_stream(mut c: Conn, mut release: watch::Receiver<bool>) {
    let Some(req) = c.read_request().await else {
        return;
    };
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
    let Some(i) = body["messages"][0]["content"]
        .as_str()
        .and_then(|p| p.strip_prefix("stream "))
        .and_then(|n| n.parse::<usize>().ok())
    else {
        c.write(support::faults::response(
            "400 Bad Request",
            &[],
            b"bad prompt",
        ))
        .await;
        return;
    };
    let chunks = chunks_of(i);
    c.write(sse_head(&[])).await;
    c.chunk(sse_event(&delta(&chunks[0]))).await;
    if tokio::time::timeout(BOUND, release.wait_for(|r| *r))
        .await
        .is_err()
    {
        return;
    }
    for text in &chunks[1..] {
        if !c.chunk(sse_event(&delta(text))).await {
            return;
        }
    }
    c.chunk(sse_event(STOP)).await;
    c.chunk(sse_event("[DONE]")).await;
    c.last_chunk().await;
    c.hold().await;
}

/// The resident set size of this process, from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Raises the open-file limit to at least `want`, the hard limit too if allowed.
fn raise_fd_limit(want: u64) -> u64 {
    use rlimit::Resource;
    let (soft, hard) = Resource::NOFILE.get().unwrap_or((0, 0));
    if soft >= want {
        return soft;
    }
    if hard < want && Resource::NOFILE.set(want, want).is_ok() {
        return want;
    }
    rlimit::increase_nofile_limit(want).unwrap_or(soft)
}

struct Report {
    streams: usize,
    open_after: Duration,
    done_after: Duration,
    rss_per_stream: u64,
    errors: Vec<String>,
}

async fn hold_streams(n: usize) -> Report {
    let needed = 2 * n as u64 + 512;
    let limit = raise_fd_limit(needed);
    assert!(
        limit >= needed,
        "need {needed} file descriptors, the limit is {limit}"
    );
    let (release_tx, release_rx) = watch::channel(false);
    let server = FaultServer::start(move |c: Conn| serve_stream(c, release_rx.clone())).await;
    let provider = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(30))
                .with_first_byte_timeout(Duration::from_secs(60))
                .with_idle_timeout(None),
        )
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds");
    let opened = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let opening = Arc::new(Semaphore::new(OPENING));
    let rss_before = rss_bytes();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (p, opened, failed, opening) = (
            provider.clone(),
            Arc::clone(&opened),
            Arc::clone(&failed),
            Arc::clone(&opening),
        );
        tasks.spawn(async move {
            let result = async {
                let permit = opening.acquire().await.map_err(|e| e.to_string())?;
                let prompt = [Message::user(format!("stream {i}"))];
                let mut s = p
                    .generate_stream("m", &prompt, &Options::default())
                    .await
                    .map_err(|e| e.to_string())?;
                let mut text = String::new();
                let first = s.next().await.ok_or("the stream ended at once")?;
                text.push_str(&first.map_err(|e| e.to_string())?.text());
                drop(permit);
                opened.fetch_add(1, Ordering::SeqCst);
                while let Some(item) = s.next().await {
                    text.push_str(&item.map_err(|e| e.to_string())?.text());
                }
                Ok::<_, String>(text)
            }
            .await;
            if result.is_err() {
                failed.fetch_add(1, Ordering::SeqCst);
            }
            (i, result)
        });
    }
    // Every stream open (its first chunk received) and none finished: measure.
    while opened.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < n {
        assert!(start.elapsed() < BOUND, "streams did not open in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_after = start.elapsed();
    let rss_open = rss_bytes();
    release_tx.send(true).expect("server listening");
    let mut errors = Vec::new();
    let mut checked = 0;
    while let Some(joined) = tokio::time::timeout(BOUND, tasks.join_next())
        .await
        .expect("streams finished in time")
    {
        let (i, result) = joined.expect("stream task did not panic");
        match result {
            Ok(text) if text == chunks_of(i).concat() => checked += 1,
            Ok(text) => errors.push(format!("stream {i}: wrong content {text:?}")),
            Err(e) => errors.push(format!("stream {i}: {e}")),
        }
    }
    assert_eq!(checked + errors.len(), n);
    Report {
        streams: n,
        open_after,
        done_after: start.elapsed(),
        rss_per_stream: rss_open.saturating_sub(rss_before) / n as u64,
        errors,
    }
}

fn print(r: &Report) {
    eprintln!(
        "{} concurrent streams: all open after {:.2?}, all checked after {:.2?}, {} errors, \
         {} bytes of RSS per open stream (client and server in this process)",
        r.streams,
        r.open_after,
        r.done_after,
        r.errors.len(),
        r.rss_per_stream
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_streams_all_complete_byte_for_byte() {
    let r = hold_streams(500).await;
    print(&r);
    assert!(
        r.errors.is_empty(),
        "{:?}",
        &r.errors[..r.errors.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10,000 streams: run with --release --ignored (see the file's documentation)"]
async fn ten_thousand_concurrent_streams_all_complete_byte_for_byte() {
    let r = hold_streams(10_000).await;
    print(&r);
    assert!(
        r.errors.is_empty(),
        "{:?}",
        &r.errors[..r.errors.len().min(5)]
    );
}
