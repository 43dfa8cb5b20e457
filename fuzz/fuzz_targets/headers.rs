//! Response headers from a hostile server, through the production path: the input is served
//! as the head of a real HTTP answer on loopback, to a real provider (the direct HTTP path,
//! the transport's redirects, gzip, `Retry-After` parsing and retries, the provider's error
//! mapping). Never panics, whatever the status, the header names and values, the numbers in
//! `Retry-After` / `retry-after-ms` / `Content-Length`, or bytes that are not HTTP at all.
//!
//! Input: byte 0 picks the status line (200, 301, 307, 401, 403, 404, 429, 503, or a raw
//! status line taken from the input), byte 1 the call (non-streaming chat, streamed chat,
//! Ollama's model list), the rest is the header block as sent (a body follows it).
#![no_main]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use libfuzzer_sys::fuzz_target;
use llmport::{ClientOptions, Message, OllamaProvider, Options, Provider, RetryConfig};

const STATUSES: [&str; 8] = [
    "200 OK",
    "301 Moved Permanently",
    "307 Temporary Redirect",
    "401 Unauthorized",
    "403 Forbidden",
    "404 Not Found",
    "429 Too Many Requests",
    "503 Service Unavailable",
];

const BODY: &[u8] = br#"{"error":{"message":"m","type":"t"}}"#;

/// A loopback server answering every connection with the current answer, then closing it.
struct Server {
    answer: Arc<Mutex<Vec<u8>>>,
    base: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let answer = Arc::new(Mutex::new(Vec::new()));
        let current = answer.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                // Read the request head (enough of it), then answer and close.
                let mut buf = [0u8; 8192];
                let _ = conn.read(&mut buf);
                let bytes = current.lock().map(|a| a.clone()).unwrap_or_default();
                let _ = conn.write_all(&bytes);
            }
        });
        Server { answer, base }
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn provider() -> &'static OllamaProvider {
    static P: OnceLock<OllamaProvider> = OnceLock::new();
    P.get_or_init(|| {
        OllamaProvider::builder()
            .host(server().base.clone())
            .client_options(
                ClientOptions::builder()
                    .connect_timeout(Duration::from_millis(500))
                    .first_byte_timeout(Duration::from_millis(500))
                    .idle_timeout(Duration::from_millis(500))
                    .total_timeout(Duration::from_secs(1))
                    .max_body_size(64 * 1024)
                    .build(),
            )
            // One retry, and no server-requested wait honoured: the parsing and the decision
            // run, the fuzzer never sleeps.
            .retry(
                RetryConfig::builder()
                    .max_retries(1)
                    .backoff(Duration::ZERO, Duration::ZERO)
                    .max_retry_after(Duration::ZERO)
                    .build(),
            )
            .build()
            .expect("provider")
    })
}

fuzz_target!(|data: &[u8]| {
    let [status, call, head @ ..] = data else { return };
    let mut answer = match STATUSES.get(usize::from(*status)) {
        Some(s) => format!("HTTP/1.1 {s}\r\n").into_bytes(),
        None => Vec::new(), // the input's own status line, if any
    };
    answer.extend_from_slice(head);
    answer.extend_from_slice(b"\r\n\r\n");
    answer.extend_from_slice(BODY);
    let s = server();
    if let Ok(mut a) = s.answer.lock() {
        *a = answer;
    }
    let p = provider();
    let messages = [Message::user("hi")];
    runtime().block_on(async {
        let work = async {
            match call % 3 {
                0 => {
                    let _ = p.generate("m", &messages, &Options::default()).await;
                }
                1 => {
                    if let Ok(mut stream) =
                        p.generate_stream("m", &messages, &Options::default()).await
                    {
                        while stream.next().await.is_some() {}
                    }
                }
                _ => {
                    let _ = p.list_models().await;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(3), work).await;
    });
});
