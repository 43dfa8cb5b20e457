//! The HTTP server ([`TestServer`]): routes, recording, and answering with [`Reply`]s.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::BytesMut;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::lifecycle::ServerThread;
use super::reply::{Reply, ReplyBody, build_response, plain_response};
use super::request::{RecordedRequest, strip_query};
use super::transcript::Transcript;

type RouteKey = (String, String);

fn route_key(method: &str, path: &str) -> RouteKey {
    (method.to_ascii_uppercase(), strip_query(path).to_owned())
}

struct Route {
    replies: Vec<Reply>,
    next: usize,
}

struct Shared {
    routes: Mutex<HashMap<RouteKey, Route>>,
    requests: Mutex<Vec<RecordedRequest>>,
    split_writes: Option<usize>,
    active: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The paths where Ollama registers `HEAD` beside `GET` (its Go client's `Heartbeat()` is
/// `HEAD /`); a `HEAD` there is answered by the `GET` route.
const HEAD_LIKE_GET: [&str; 3] = ["/", "/api/version", "/api/tags"];

impl Shared {
    /// The reply for a request, routed as Ollama's gin router does: the registered route; for
    /// `HEAD` on [`HEAD_LIKE_GET`] the `GET` route (hyper leaves the body out of an answer
    /// to `HEAD`); `405` when the path is known under another method; `404` otherwise.
    fn reply_for(&self, method: &str, path: &str) -> Reply {
        let mut routes = lock(&self.routes);
        let key = route_key(method, path);
        let head_as_get = key.0 == "HEAD" && HEAD_LIKE_GET.contains(&key.1.as_str());
        let route = if routes.contains_key(&key) {
            routes.get_mut(&key)
        } else if head_as_get {
            routes.get_mut(&("GET".to_owned(), key.1.clone()))
        } else {
            None
        };
        if let Some(reply) = route.and_then(Route::next_reply) {
            return reply;
        }
        if routes.keys().any(|(_, known)| *known == key.1) {
            Reply::method_not_allowed()
        } else {
            Reply::not_found()
        }
    }
}

impl Route {
    /// The reply in turn: registration order, the last one repeating.
    fn next_reply(&mut self) -> Option<Reply> {
        let last = self.replies.len().checked_sub(1)?;
        let index = self.next.min(last);
        if self.next < last {
            self.next += 1;
        }
        self.replies.get(index).cloned()
    }
}

/// Counts a connection as open for as long as it lives.
struct ConnectionGuard(Arc<Shared>);

impl ConnectionGuard {
    fn new(shared: Arc<Shared>) -> Self {
        shared.active.fetch_add(1, Ordering::SeqCst);
        ConnectionGuard(shared)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Configures a [`TestServer`]: its routes and write splitting.
#[derive(Debug, Default)]
pub struct TestServerBuilder {
    routes: Vec<(String, String, Reply)>,
    split_writes: Option<usize>,
}

impl TestServerBuilder {
    /// Serves the transcript's reply on its route (its request method and
    /// path, without query).
    pub fn transcript(self, transcript: Transcript) -> Self {
        let Transcript {
            request, response, ..
        } = transcript;
        self.route(&request.method, &request.path, response)
    }

    /// Serves each transcript on its route (see
    /// [`TestServerBuilder::transcript`]).
    pub fn transcripts(self, transcripts: impl IntoIterator<Item = Transcript>) -> Self {
        transcripts.into_iter().fold(self, Self::transcript)
    }

    /// Serves `reply` for `method` (case-insensitive) and `path` (a query
    /// string in it is ignored). Several replies on one route are served in
    /// registration order, one per request; the last one repeats.
    pub fn route(mut self, method: &str, path: &str, reply: Reply) -> Self {
        self.routes
            .push((method.to_owned(), path.to_owned(), reply));
        self
    }

    /// Split every body into writes of at most `n` bytes, each flushed as its
    /// own HTTP chunk (tests decoders at every split). `0` turns splitting
    /// off. Splits never join bytes of different [`Reply::chunks`] entries,
    /// and a [`Reply::chunk_delay`] also applies between the pieces.
    pub fn split_writes(mut self, n: usize) -> Self {
        self.split_writes = (n > 0).then_some(n);
        self
    }

    /// Binds `127.0.0.1` on an ephemeral port and starts serving.
    ///
    /// # Panics
    ///
    /// When the socket cannot be bound or the server thread cannot start.
    pub async fn start(self) -> TestServer {
        let mut routes: HashMap<RouteKey, Route> = HashMap::new();
        for (method, path, reply) in self.routes {
            routes
                .entry(route_key(&method, &path))
                .or_insert_with(|| Route {
                    replies: Vec::new(),
                    next: 0,
                })
                .replies
                .push(reply);
        }
        let shared = Arc::new(Shared {
            routes: Mutex::new(routes),
            requests: Mutex::new(Vec::new()),
            split_writes: self.split_writes,
            active: AtomicUsize::new(0),
        });

        let accept_shared = Arc::clone(&shared);
        #[allow(
            clippy::panic,
            reason = "test-util: a test server that cannot bind fails the test that started it"
        )]
        let thread = ServerThread::start([127, 0, 0, 1].into(), move |stream| {
            serve_connection(stream, ConnectionGuard::new(Arc::clone(&accept_shared)))
        })
        .unwrap_or_else(|e| panic!("llmport test server: cannot start on 127.0.0.1: {e}"));
        TestServer { thread, shared }
    }
}

async fn serve_connection(stream: TcpStream, guard: ConnectionGuard) {
    let shared = Arc::clone(&guard.0);
    let service = service_fn(move |request| handle(Arc::clone(&shared), request));
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
    drop(guard);
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<ReplyBody>, Infallible> {
    let (parts, mut body) = request.into_parts();
    let mut bytes = BytesMut::new();
    let mut complete = true;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let method = parts.method.as_str().to_owned();
    let reply = complete.then(|| shared.reply_for(&method, &path));
    lock(&shared.requests).push(RecordedRequest {
        method,
        path,
        headers,
        body: bytes.freeze(),
    });
    let Some(reply) = reply else {
        // The client broke off the upload; it will hardly read this.
        return Ok(plain_response(
            StatusCode::BAD_REQUEST,
            "llmport test server: the request body broke off".to_owned(),
        ));
    };
    if let Some(delay) = reply.delay_before_headers {
        tokio::time::sleep(delay).await;
    }
    Ok(build_response(&reply, shared.split_writes))
}

/// An in-process HTTP/1.1 server on `127.0.0.1` that replays [`Reply`]s.
///
/// Dropping it shuts it down: the listening socket and all connections are
/// closed before `drop` returns.
pub struct TestServer {
    // Dropped first: the server stops before its state goes.
    thread: ServerThread,
    shared: Arc<Shared>,
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.thread.addr())
            .field("requests", &lock(&self.shared.requests).len())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts configuring a server.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// Starts a server that serves each transcript on its route.
    ///
    /// # Panics
    ///
    /// See [`TestServerBuilder::start`].
    pub async fn start(transcripts: impl IntoIterator<Item = Transcript>) -> TestServer {
        Self::builder().transcripts(transcripts).start().await
    }

    /// The server root, `http://127.0.0.1:PORT` (where Ollama's native API
    /// lives).
    pub fn url(&self) -> String {
        self.thread.url()
    }

    /// The OpenAI-compatible API base, `http://127.0.0.1:PORT/v1`.
    pub fn v1_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.thread.addr()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The most recent request, if any.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        lock(&self.shared.requests).last().cloned()
    }

    /// How many client connections are open right now.
    pub fn active_connections(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Stops the server; same as dropping it.
    pub async fn shutdown(self) {
        drop(self);
    }
}
