//! The benchmark harness's command line and result line.
//!
//! Copied, trimmed to what a library client needs, from the harness's `bench-common` crate
//! (`crates/bench-common/src/lib.rs` and the `COMPLETION_CONTENT` constant of its `wire.rs`, in
//! the harness folder that `bench/run.sh` takes; see `bench/README.md`), so that this client
//! builds without it. The flags, the base-URL encoding of the per-request knobs and the result
//! line must stay byte-for-byte what the harness's `scripts/bench.py` and `sse-server` expect.

use std::fmt::Write as _;
use std::time::Instant;

/// Default server address (override with `--server` or `BENCH_SERVER`).
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8787";
/// Default token text for every content chunk.
pub const DEFAULT_TOK: &str = "lorem ";
/// Model name clients send (the server ignores it).
pub const MODEL: &str = "llama3";
/// The user prompt clients send (the server ignores it).
pub const PROMPT: &str = "Say something.";
/// `message.content` of every non-streaming completion the server sends.
pub const COMPLETION_CONTENT: &str = "Hello! How can I help you today?";

/// Which endpoint a client speaks (`--api`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Api {
    /// Ollama's OpenAI-compatible `POST /v1/chat/completions` (SSE when streaming).
    #[default]
    OpenAi,
    /// Ollama's native `POST /api/chat` (NDJSON when streaming).
    Native,
}

impl Api {
    /// Parses `openai` or `native`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "openai" => Ok(Api::OpenAi),
            "native" => Ok(Api::Native),
            other => Err(format!("bad api {other:?} (openai|native)")),
        }
    }

    /// The name `--api` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::OpenAi => "openai",
            Api::Native => "native",
        }
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the server cuts the SSE (or NDJSON) body into HTTP body frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Fixed-size frames of this many bytes, cutting events at arbitrary points.
    Bytes(usize),
    /// One frame per SSE event (NDJSON line), as Ollama does.
    Event,
}

impl WriteMode {
    /// Parses `event` or a byte count.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "event" {
            return Ok(WriteMode::Event);
        }
        let v: usize = s.parse().map_err(|_| format!("bad write size {s:?}"))?;
        if v == 0 {
            return Err("write size must be > 0".into());
        }
        Ok(WriteMode::Bytes(v))
    }
}

impl std::fmt::Display for WriteMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteMode::Bytes(n) => write!(f, "{n}"),
            WriteMode::Event => f.write_str("event"),
        }
    }
}

/// Knobs of one streamed response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamParams {
    /// Number of content chunks (each carries `tok`).
    pub n: usize,
    /// Token text carried by every content chunk.
    pub tok: String,
    /// Frame size.
    pub write: WriteMode,
    /// The server writes every frame with its own syscall.
    pub flush_each: bool,
}

impl Default for StreamParams {
    fn default() -> Self {
        StreamParams {
            n: 1_000_000,
            tok: DEFAULT_TOK.into(),
            write: WriteMode::Bytes(65536),
            flush_each: false,
        }
    }
}

impl StreamParams {
    /// Exact number of content bytes the client must count.
    pub fn expected_content_bytes(&self) -> u64 {
        self.n as u64 * self.tok.len() as u64
    }

    /// Path prefix carrying these parameters: `/b/n=..,w=..,f=..,t=<hex>`.
    pub fn path_prefix(&self) -> String {
        let mut s = format!(
            "/b/n={},w={},f={},t=",
            self.n, self.write, self.flush_each as u8
        );
        for b in self.tok.as_bytes() {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

/// What a client binary was asked to do.
#[derive(Clone, Debug)]
pub enum Mode {
    /// One streamed completion of `params.n` chunks.
    Stream(StreamParams),
    /// `requests` non-streaming completions, `concurrency` in flight.
    Batch {
        /// How many requests in all.
        requests: usize,
        /// How many in flight at once.
        concurrency: usize,
    },
}

/// The common command line:
///
/// ```text
/// CLIENT stream [--api openai|native] [--server URL] [--n N] [--tok TEXT] [--write BYTES|event] [--flush-each] [--consume-us X]
/// CLIENT batch  [--api openai|native] [--server URL] [--requests N] [--concurrency C]
/// ```
#[derive(Clone, Debug)]
pub struct Cli {
    /// Server root, e.g. `http://127.0.0.1:8787` (no trailing slash).
    pub server: String,
    /// What to do.
    pub mode: Mode,
    /// `--consume-us X`: CPU microseconds the caller spends on every stream item.
    pub consume_us: u64,
    /// The endpoint spoken (`--api`).
    pub api: Api,
}

impl Cli {
    /// Parses the process arguments of a client that speaks `apis` (the first is the default
    /// when `--api` is not given; any other is refused), or prints usage and exits with
    /// status 2.
    pub fn parse_for(apis: &[Api]) -> Cli {
        let default = apis.first().copied().unwrap_or_default();
        let parsed =
            Self::try_parse_with(std::env::args().skip(1).collect(), default).and_then(|c| {
                match apis.contains(&c.api) {
                    true => Ok(c),
                    false => Err(format!("this client does not speak --api {}", c.api)),
                }
            });
        match parsed {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "error: {e}\nusage: CLIENT stream [--api openai|native] [--server URL] [--n N] [--tok TEXT] [--write BYTES|event] [--flush-each] [--consume-us X]\n       CLIENT batch [--api openai|native] [--server URL] [--requests N] [--concurrency C]"
                );
                std::process::exit(2);
            }
        }
    }

    /// Parses arguments (without the program name), `--api` defaulting to `openai`.
    pub fn try_parse(args: Vec<String>) -> Result<Cli, String> {
        Self::try_parse_with(args, Api::OpenAi)
    }

    /// Parses arguments (without the program name), `--api` defaulting to `default_api`.
    pub fn try_parse_with(args: Vec<String>, default_api: Api) -> Result<Cli, String> {
        let mut it = args.into_iter();
        let sub = it.next().ok_or("missing mode (stream|batch)")?;
        let mut server =
            std::env::var("BENCH_SERVER").unwrap_or_else(|_| DEFAULT_SERVER.to_string());
        let mut sp = StreamParams::default();
        let (mut requests, mut concurrency) = (20_000usize, 64usize);
        let mut consume_us = 0u64;
        let mut api = default_api;
        while let Some(a) = it.next() {
            let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match a.as_str() {
                "--server" => server = val("--server")?,
                "--api" => api = Api::parse(&val("--api")?)?,
                "--n" => sp.n = val("--n")?.parse().map_err(|_| "bad --n")?,
                "--tok" => sp.tok = val("--tok")?,
                "--write" => sp.write = WriteMode::parse(&val("--write")?)?,
                "--flush-each" => sp.flush_each = true,
                "--requests" => {
                    requests = val("--requests")?.parse().map_err(|_| "bad --requests")?
                }
                "--concurrency" => {
                    concurrency = val("--concurrency")?
                        .parse()
                        .map_err(|_| "bad --concurrency")?
                }
                "--consume-us" => {
                    consume_us = val("--consume-us")?
                        .parse()
                        .map_err(|_| "bad --consume-us")?
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let server = server.trim_end_matches('/').to_string();
        let mode = match sub.as_str() {
            "stream" => Mode::Stream(sp),
            "batch" => Mode::Batch {
                requests,
                concurrency: concurrency.max(1),
            },
            other => return Err(format!("unknown mode {other:?}")),
        };
        Ok(Cli {
            server,
            mode,
            consume_us,
            api,
        })
    }

    /// OpenAI-style base URL (ending in `/v1`) that makes the server produce what this command
    /// line asks for.
    pub fn base_url(&self) -> String {
        match &self.mode {
            Mode::Stream(p) => format!("{}{}/v1", self.server, p.path_prefix()),
            Mode::Batch { .. } => format!("{}/v1", self.server),
        }
    }

    /// Base URL of Ollama's native API (no trailing slash; `/api/chat` goes after it) that
    /// makes the server produce what this command line asks for.
    pub fn native_base_url(&self) -> String {
        match &self.mode {
            Mode::Stream(p) => format!("{}{}", self.server, p.path_prefix()),
            Mode::Batch { .. } => self.server.clone(),
        }
    }

    /// Burns `--consume-us` µs of CPU (call once per stream item received).
    #[inline]
    pub fn consume(&self) {
        consume(self.consume_us)
    }

    /// A fresh report for this command line.
    pub fn report(&self, client: &str) -> Report {
        Report::new(client, self)
    }
}

/// Spins for `us` microseconds (0: returns at once).
#[inline]
pub fn consume(us: u64) {
    if us > 0 {
        let t = Instant::now();
        let d = std::time::Duration::from_micros(us);
        while t.elapsed() < d {
            std::hint::spin_loop();
        }
    }
}

/// The result line every client prints, and its verification.
#[derive(Debug)]
pub struct Report {
    /// The client's name.
    pub client: String,
    started: Instant,
    mode: Mode,
    api: Api,
    /// Content bytes counted.
    pub content_bytes: Option<u64>,
    /// Stream items the library handed to the caller.
    pub items: Option<u64>,
    /// `usage.completion_tokens` (native: `eval_count`) seen at the end of a stream.
    pub usage_completion_tokens: Option<u64>,
    /// `finish_reason == "stop"` seen.
    pub finish_stop: Option<bool>,
    /// Batch: responses received.
    pub responses: u64,
    /// Free text appended to the line.
    pub note: String,
}

impl Report {
    /// A report for `cli`, its clock started now.
    pub fn new(client: &str, cli: &Cli) -> Report {
        Report {
            client: client.into(),
            started: Instant::now(),
            mode: cli.mode.clone(),
            api: cli.api,
            content_bytes: None,
            items: None,
            usage_completion_tokens: None,
            finish_stop: None,
            responses: 0,
            note: String::new(),
        }
    }

    /// Content bytes a correct client must count.
    pub fn expected_content_bytes(&self) -> u64 {
        match &self.mode {
            Mode::Stream(p) => p.expected_content_bytes(),
            Mode::Batch { requests, .. } => *requests as u64 * COMPLETION_CONTENT.len() as u64,
        }
    }

    /// The result line, and whether everything verified.
    pub fn line(&self) -> (String, bool) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let expected = self.expected_content_bytes();
        let mut ok = true;
        let mut line = format!("client={} ", self.client);
        if self.api != Api::OpenAi {
            let _ = write!(line, "api={} ", self.api);
        }
        match &self.mode {
            Mode::Stream(p) => {
                let _ = write!(
                    line,
                    "mode=stream n={} write={} flush_each={} tok_len={} ",
                    p.n,
                    p.write,
                    p.flush_each as u8,
                    p.tok.len()
                );
                if let Some(u) = self.usage_completion_tokens {
                    ok &= u == p.n as u64;
                }
                if let Some(f) = self.finish_stop {
                    ok &= f;
                }
            }
            Mode::Batch {
                requests,
                concurrency,
            } => {
                let _ = write!(
                    line,
                    "mode=batch requests={requests} concurrency={concurrency} responses={} ",
                    self.responses
                );
                ok &= self.responses == *requests as u64;
            }
        }
        let content = self.content_bytes.unwrap_or(0);
        ok &= self.content_bytes == Some(expected);
        let _ = write!(line, "content_bytes={content} expected={expected} ");
        if let Some(i) = self.items {
            let _ = write!(line, "items={i} ");
        }
        if let Some(u) = self.usage_completion_tokens {
            match self.api {
                Api::OpenAi => {
                    let _ = write!(line, "usage_completion_tokens={u} ");
                }
                Api::Native => {
                    let _ = write!(line, "eval_count={u} ");
                }
            }
        }
        let _ = write!(line, "ok={ok} elapsed_s={elapsed:.3}");
        if !self.note.is_empty() {
            let _ = write!(line, " note={}", self.note);
        }
        (line, ok)
    }

    /// Prints the result line to stdout and exits: 0 if verified, 3 if not.
    pub fn finish(self) -> ! {
        let (line, ok) = self.line();
        println!("{line}");
        std::process::exit(if ok { 0 } else { 3 });
    }
}

/// Runs a client's `main` future on the runtime every client uses: what `#[tokio::main]`
/// builds (multi-thread, the future itself polled on the main thread), or with
/// `BENCH_RT=current` a current-thread runtime.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let rt = match std::env::var("BENCH_RT").as_deref() {
        Ok("current") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Ok("multi") | Err(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        Ok(other) => panic!("BENCH_RT={other}: use current or multi"),
    };
    rt.expect("tokio runtime").block_on(fut)
}

/// A shared counter handing out the batch's request slots to workers.
#[derive(Clone)]
pub struct Claim {
    next: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    total: usize,
}

impl Claim {
    /// True if the caller got one more request to send.
    pub fn take(&self) -> bool {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < self.total
    }
}

/// What one batch worker did: (responses, content bytes).
pub type WorkerTotals = (u64, u64);

/// The batch driver: `concurrency` spawned tasks, each looping `while claim.take() { one
/// request }`, so exactly `requests` requests are sent, `concurrency` at a time.
pub async fn run_workers<F, Fut>(
    requests: usize,
    concurrency: usize,
    make_worker: F,
) -> Result<WorkerTotals, String>
where
    F: Fn(Claim) -> Fut,
    Fut: std::future::Future<Output = Result<WorkerTotals, String>> + Send + 'static,
{
    let claim = Claim {
        next: Default::default(),
        total: requests,
    };
    let handles: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(make_worker(claim.clone())))
        .collect();
    let (mut responses, mut bytes) = (0u64, 0u64);
    for h in handles {
        let (r, b) = h.await.map_err(|e| e.to_string())??;
        responses += r;
        bytes += b;
    }
    Ok((responses, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn base_url_carries_the_stream_knobs_as_the_server_reads_them() {
        let c = Cli::try_parse(args(&[
            "stream",
            "--n",
            "5",
            "--write",
            "event",
            "--tok",
            "é\"",
            "--server",
            "http://127.0.0.1:9/",
        ]))
        .unwrap();
        assert_eq!(
            c.base_url(),
            "http://127.0.0.1:9/b/n=5,w=event,f=0,t=c3a922/v1"
        );
        let c = Cli::try_parse(args(&["stream", "--write", "7", "--flush-each"])).unwrap();
        assert!(
            c.base_url()
                .ends_with("/b/n=1000000,w=7,f=1,t=6c6f72656d20/v1")
        );
        let c = Cli::try_parse(args(&["batch", "--concurrency", "0"])).unwrap();
        assert!(matches!(c.mode, Mode::Batch { concurrency: 1, .. }));
        assert!(Cli::try_parse(args(&["stream", "--bogus"])).is_err());
    }

    #[test]
    fn native_base_url_and_result_line_as_the_harness_writes_them() {
        let c = Cli::try_parse(args(&[
            "stream",
            "--api",
            "native",
            "--n",
            "5",
            "--server",
            "http://127.0.0.1:9",
        ]))
        .unwrap();
        assert_eq!(c.api, Api::Native);
        assert_eq!(
            c.native_base_url(),
            "http://127.0.0.1:9/b/n=5,w=65536,f=0,t=6c6f72656d20"
        );
        let mut r = c.report("x");
        r.content_bytes = Some(30);
        r.usage_completion_tokens = Some(5);
        r.finish_stop = Some(true);
        r.items = Some(6);
        let (line, ok) = r.line();
        assert!(ok, "{line}");
        assert!(line.starts_with("client=x api=native mode=stream n=5 write=65536 flush_each=0 tok_len=6 content_bytes=30 expected=30 items=6 eval_count=5 ok=true "), "{line}");
        let c =
            Cli::try_parse_with(args(&["batch", "--server", "http://h:1/"]), Api::Native).unwrap();
        assert_eq!(
            (c.api, c.native_base_url().as_str()),
            (Api::Native, "http://h:1")
        );
        assert!(Cli::try_parse(args(&["batch", "--api", "x"])).is_err());
    }

    #[test]
    fn report_verifies_content_usage_and_stop() {
        let cli = Cli::try_parse(args(&["stream", "--n", "3"])).unwrap();
        let mut r = cli.report("x");
        r.content_bytes = Some(18);
        r.usage_completion_tokens = Some(3);
        r.finish_stop = Some(true);
        let (line, ok) = r.line();
        assert!(ok, "{line}");
        assert!(line.starts_with("client=x mode=stream n=3 write=65536 flush_each=0 tok_len=6 content_bytes=18 expected=18 "));
        r.usage_completion_tokens = Some(2);
        assert!(!r.line().1);
    }
}
