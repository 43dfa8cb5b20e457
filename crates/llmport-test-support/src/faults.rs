//! A fault-injection server: raw TCP on 127.0.0.1, so it can misbehave in ways a well-behaved
//! HTTP server cannot (resets, cut chunks, silence, bytes that are not HTTP at all).
//!
//! Every accepted connection runs a script, an async closure given a [`Conn`]. The script
//! reads requests, writes exactly the bytes it wants, pauses, resets the connection, or waits
//! for the client to close it; the server records the requests and when each client closed
//! its socket. The server's life (its own thread and runtime, so that it keeps serving while
//! the test's runtime is blocked and its tasks never count among the test runtime's tasks;
//! closing the listener and every connection on drop) is [`llmport::testing::ServerThread`]'s,
//! the same as `TestServer`'s.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use llmport::testing::ServerThread;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest a script waits for a request or for the client to close, so that no script
/// outlives a test by much even if the client misbehaves.
pub const SCRIPT_BOUND: Duration = Duration::from_secs(20);

/// A request as the fault server read it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The connection it came on (0-based, in accept order).
    pub conn: usize,
    /// Its number among all requests (0-based, in arrival order).
    pub seq: usize,
    /// The method, as sent.
    pub method: String,
    /// The request target, as sent (with its query).
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    accepted: AtomicUsize,
    requests: Mutex<Vec<RawRequest>>,
    /// (connection, when the server saw the client close it).
    closed: Mutex<Vec<(usize, Instant)>>,
}

/// One accepted connection, handed to the script.
pub struct Conn {
    /// 0-based, in accept order.
    pub id: usize,
    stream: TcpStream,
    buf: Vec<u8>,
    state: Arc<State>,
}

impl Conn {
    /// Reads one request (head and `Content-Length` body). `None` when the client closed the
    /// connection, sent garbage, or sent nothing within [`SCRIPT_BOUND`].
    pub async fn read_request(&mut self) -> Option<RawRequest> {
        tokio::time::timeout(SCRIPT_BOUND, self.read_request_inner())
            .await
            .ok()
            .flatten()
    }

    async fn read_request_inner(&mut self) -> Option<RawRequest> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_owned();
        let path = first.next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        self.buf.drain(..head_end + 4);
        while self.buf.len() < len {
            if !self.fill().await {
                return None;
            }
        }
        let body: Vec<u8> = self.buf.drain(..len).collect();
        let mut requests = self
            .state
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let request = RawRequest {
            conn: self.id,
            seq: requests.len(),
            method,
            path,
            headers,
            body,
        };
        requests.push(request.clone());
        Some(request)
    }

    /// Reads more bytes into the buffer; false at EOF or on an error.
    async fn fill(&mut self) -> bool {
        // Straight into the heap buffer: no array in the future, so that thousands of
        // connections (the load test) stay cheap.
        self.buf.reserve(4096);
        matches!(self.stream.read_buf(&mut self.buf).await, Ok(n) if n > 0)
    }

    /// Writes bytes and flushes them. False when the client is gone.
    pub async fn write(&mut self, bytes: impl AsRef<[u8]>) -> bool {
        self.stream.write_all(bytes.as_ref()).await.is_ok() && self.stream.flush().await.is_ok()
    }

    /// Writes one HTTP/1.1 chunk (size line, data, CRLF).
    pub async fn chunk(&mut self, data: impl AsRef<[u8]>) -> bool {
        self.write(chunk(data.as_ref())).await
    }

    /// Ends a chunked body properly.
    pub async fn last_chunk(&mut self) -> bool {
        self.write(b"0\r\n\r\n").await
    }

    /// Resets the connection: SO_LINGER 0, then close, so the kernel sends RST instead of FIN.
    pub fn reset(self) {
        // Deprecated because a lingering close blocks the thread; with a zero linger time the
        // close is immediate.
        #[allow(deprecated)]
        let _ = self.stream.set_linger(Some(Duration::ZERO));
        drop(self.stream);
    }

    /// Closes the connection normally (FIN).
    pub async fn close(mut self) {
        let _ = self.stream.shutdown().await;
    }

    /// Waits (reading and discarding whatever comes) until the client closes the connection
    /// or `bound` passes. Records the close for [`FaultServer::client_closed`]; returns
    /// whether the client closed.
    pub async fn wait_for_client_close(&mut self, bound: Duration) -> bool {
        let closed = tokio::time::timeout(bound, async {
            while self.fill().await {
                self.buf.clear();
            }
        })
        .await
        .is_ok();
        if closed {
            self.state
                .closed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((self.id, Instant::now()));
        }
        closed
    }

    /// Keeps the connection open, sending nothing, until the client closes it (recorded) or
    /// [`SCRIPT_BOUND`] passes.
    pub async fn hold(mut self) {
        self.wait_for_client_close(SCRIPT_BOUND).await;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The HTTP/1.1 chunk framing of `data`.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// A whole response with a `Content-Length`; `headers` are `Name: value` lines.
pub fn response(status: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// The head of a chunked `200` event stream (plus extra header lines).
pub fn sse_head(extra: &[&str]) -> Vec<u8> {
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n",
    );
    for h in extra {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// One SSE event carrying `data`.
pub fn sse_event(data: &str) -> String {
    format!("data: {data}\n\n")
}

/// A boxed script, as the script builders below return.
pub type Script = Box<dyn Fn(Conn) -> BoxFuture<'static, ()> + Send + Sync>;

/// A script answering request number `seq` (over all connections) with `answers[seq]` (the
/// last one repeats), keeping connections alive between requests.
pub fn answers_in_turn(answers: Vec<Vec<u8>>) -> Script {
    Box::new(move |mut c: Conn| {
        let answers = answers.clone();
        Box::pin(async move {
            while let Some(req) = c.read_request().await {
                let answer = &answers[req.seq.min(answers.len() - 1)];
                if !c.write(answer).await {
                    return;
                }
            }
        })
    })
}

/// A script answering every request with `bytes`.
pub fn replies(bytes: Vec<u8>) -> Script {
    answers_in_turn(vec![bytes])
}

/// What a [`writes`] script does once it has written its bytes.
#[derive(Clone, Copy)]
pub enum After {
    /// Close the connection (FIN).
    Close,
    /// Keep the connection open and silent until the client closes it.
    Hold,
}

/// A script: read the request, write `bytes`, then close or hold the connection.
pub fn writes(bytes: impl AsRef<[u8]>, after: After) -> Script {
    let bytes = bytes.as_ref().to_vec();
    Box::new(move |mut c: Conn| {
        let bytes = bytes.clone();
        Box::pin(async move {
            c.read_request().await;
            c.write(&bytes).await;
            match after {
                After::Close => c.close().await,
                After::Hold => c.hold().await,
            }
        })
    })
}

/// A raw-TCP server whose connections run a script. See the module documentation.
pub struct FaultServer {
    // Dropped first: the server stops before its state goes.
    server: ServerThread,
    state: Arc<State>,
}

impl FaultServer {
    /// Listens on 127.0.0.1 (ephemeral port) and runs `script` for every connection.
    pub async fn start<F, Fut>(script: F) -> FaultServer
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::start_on("127.0.0.1", script).await
    }

    /// Listens on `ip` (any address of 127.0.0.0/8) and runs `script` for every connection.
    pub async fn start_on<F, Fut>(ip: &str, script: F) -> FaultServer
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let ip: IpAddr = ip.parse().expect("an IP address");
        let state = Arc::new(State::default());
        let accept_state = Arc::clone(&state);
        let server = ServerThread::start(ip, move |stream| {
            let id = accept_state.accepted.fetch_add(1, Ordering::SeqCst);
            script(Conn {
                id,
                stream,
                buf: Vec::new(),
                state: Arc::clone(&accept_state),
            })
        })
        .expect("fault server started");
        FaultServer { server, state }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// `http://ADDR/v1`.
    pub fn v1_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Every request read so far.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits up to `bound` for the server to see the client close connection `conn` (the
    /// script must be in [`Conn::wait_for_client_close`] or [`Conn::hold`]); returns when it
    /// saw it.
    pub async fn client_closed(&self, conn: usize, bound: Duration) -> Option<Instant> {
        let deadline = Instant::now() + bound;
        loop {
            let seen = self
                .state
                .closed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .find(|(c, _)| *c == conn)
                .map(|(_, at)| *at);
            if seen.is_some() || Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
