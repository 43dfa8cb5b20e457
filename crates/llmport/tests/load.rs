//! Load: many concurrent streams against an in-process server. Every stream gets its own
//! content (derived from its prompt), is held open until all of them are open, then checked
//! byte for byte; the memory per open stream is reported.
//!
//! The default test run holds 500 streams. The full run holds 10,000:
//!
//! ```text
//! cargo test -p llmport --release --test load -- --ignored --nocapture
//! ```
//!
//! Both ends of every stream live in this process when the open-file limit allows it (two
//! descriptors per stream; the test raises the soft limit, and the hard one if it may). Where
//! the hard limit is too low for that (a sandbox without `CAP_SYS_RESOURCE` capped at 20,000,
//! say, for 10,000 streams), the server runs in a child process (this test binary again, in
//! `load_server_child_process`) and the memory of each side is reported apart.

use llmport_test_support as support;

use std::io::{BufRead, Write};
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

/// The resident set size of this process.
fn rss_bytes() -> u64 {
    rss_of("/proc/self/status")
}

/// `VmRSS` from a /proc status file, in bytes.
fn rss_of(status_file: &str) -> u64 {
    let status = std::fs::read_to_string(status_file).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Raises the open-file limit towards `want` (the hard limit too, if allowed); returns the
/// limit in force.
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

/// The environment variable that makes `load_server_child_process` serve that many streams.
const CHILD_VAR: &str = "LLMPORT_LOAD_SERVER_STREAMS";

/// Where the server runs.
enum Server {
    InProcess {
        server: FaultServer,
        release: watch::Sender<bool>,
    },
    Child {
        child: std::process::Child,
        stdin: std::process::ChildStdin,
        port: u16,
    },
}

impl Server {
    async fn start(n: usize) -> Server {
        let in_process = 2 * n as u64 + 512;
        if raise_fd_limit(in_process) >= in_process {
            let (release, rx) = watch::channel(false);
            let server = FaultServer::start(move |c: Conn| serve_stream(c, rx.clone())).await;
            return Server::InProcess { server, release };
        }
        let needed = n as u64 + 512;
        let limit = raise_fd_limit(needed);
        assert!(
            limit >= needed,
            "need {needed} file descriptors, the limit is {limit}"
        );
        Self::start_child(n)
    }

    fn start_child(n: usize) -> Server {
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().expect("test binary path");
        let mut child = Command::new(exe)
            .args([
                "load_server_child_process",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_VAR, n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("child server starts");
        let stdin = child.stdin.take().expect("child stdin");
        let stdout = child.stdout.take().expect("child stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the child server printed its port")
                .expect("child stdout readable");
            if let Some(port) = line.strip_prefix("LOADPORT ") {
                break port.trim().parse().expect("a port number");
            }
        };
        // Keep the pipe drained so that the child never blocks on its output.
        std::thread::spawn(move || lines.for_each(drop));
        Server::Child { child, stdin, port }
    }

    fn v1_url(&self) -> String {
        match self {
            Server::InProcess { server, .. } => server.v1_url(),
            Server::Child { port, .. } => format!("http://127.0.0.1:{port}/v1"),
        }
    }

    /// Lets every stream finish.
    fn release(&mut self) {
        match self {
            Server::InProcess { release, .. } => {
                release.send(true).expect("server listening");
            }
            Server::Child { stdin, .. } => {
                writeln!(stdin, "release").expect("child listening");
                stdin.flush().expect("child listening");
            }
        }
    }

    /// The child's resident set size, when the server runs apart.
    fn child_rss(&self) -> Option<u64> {
        match self {
            Server::InProcess { .. } => None,
            Server::Child { child, .. } => Some(rss_of(&format!("/proc/{}/status", child.id()))),
        }
    }

    fn stop(self) {
        if let Server::Child {
            mut child, stdin, ..
        } = self
        {
            drop(stdin); // the child ends at the end of its input
            let status = child.wait().expect("child ends");
            assert!(status.success(), "the child server failed: {status}");
        }
    }
}

/// The server half as a process of its own: serves the streams, prints `LOADPORT <port>`,
/// releases them on a `release` line, and ends at the end of its input. Does nothing unless
/// started by `Server::start_child`.
#[test]
#[ignore = "the server half of the 10,000-stream run, started by it"]
fn load_server_child_process() {
    let Some(n) = std::env::var(CHILD_VAR)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    raise_fd_limit(n + 512);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (release, rx) = watch::channel(false);
        let server = FaultServer::start(move |c: Conn| serve_stream(c, rx.clone())).await;
        println!("LOADPORT {}", server.addr().port());
        std::io::stdout().flush().expect("stdout");
        let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                if line.map_or(true, |l| tx.send(l).is_err()) {
                    return;
                }
            }
        });
        while let Some(line) = lines.recv().await {
            if line.trim() == "release" {
                let _ = release.send(true);
            }
        }
        drop(server);
    });
}

struct Report {
    streams: usize,
    open_after: Duration,
    done_after: Duration,
    /// RSS growth per open stream of this process: both ends when the server runs in
    /// process, the client alone otherwise.
    rss_per_stream: u64,
    /// RSS growth per open stream of the server, when it runs in a child process.
    server_rss_per_stream: Option<u64>,
    errors: Vec<String>,
}

async fn hold_streams(n: usize) -> Report {
    let mut server = Server::start(n).await;
    let provider = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .client_options(
            ClientOptions::builder()
                .connect_timeout(Duration::from_secs(30))
                .first_byte_timeout(Duration::from_secs(60))
                .idle_timeout(None)
                .build(),
        )
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds");
    let opened = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let opening = Arc::new(Semaphore::new(OPENING));
    let rss_before = rss_bytes();
    let server_rss_before = server.child_rss();
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
    let server_rss_open = server.child_rss();
    server.release();
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
    let done_after = start.elapsed();
    drop(provider);
    server.stop();
    Report {
        streams: n,
        open_after,
        done_after,
        rss_per_stream: rss_open.saturating_sub(rss_before) / n as u64,
        server_rss_per_stream: server_rss_open
            .zip(server_rss_before)
            .map(|(open, before)| open.saturating_sub(before) / n as u64),
        errors,
    }
}

fn print(r: &Report) {
    let memory = match r.server_rss_per_stream {
        None => format!(
            "{} bytes of RSS per open stream (client and server in this process)",
            r.rss_per_stream
        ),
        Some(server) => format!(
            "{} bytes of RSS per open stream in the client process, {server} in the server process",
            r.rss_per_stream
        ),
    };
    eprintln!(
        "{} concurrent streams: all open after {:.2?}, all checked after {:.2?}, {} errors, {memory}",
        r.streams,
        r.open_after,
        r.done_after,
        r.errors.len(),
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
