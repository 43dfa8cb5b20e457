//! `llmport::testing::TestServer` routes as Ollama's gin router does, checked on the wire
//! with raw HTTP/1.1 (so that nothing between the test and the server fixes up an answer).

use llmport::testing::{Reply, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one request (`Connection: close`) and returns the whole answer as text.
async fn exchange(server: &TestServer, method: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(server.addr()).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.addr()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    String::from_utf8(answer).expect("UTF-8 answer")
}

/// The status line, the lower-cased header lines and the body of an answer.
fn parts(answer: &str) -> (&str, Vec<String>, &str) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("a status line");
    (status, lines.map(str::to_ascii_lowercase).collect(), body)
}

async fn ollama_like() -> TestServer {
    let version = Reply::json(200, &json!({"version": "0.12.0"}));
    let tags = Reply::json(200, &json!({"models": []}));
    let root = Reply::text(200, "text/plain; charset=utf-8", "Ollama is running");
    TestServer::builder()
        .route("GET", "/", root)
        .route("GET", "/api/version", version)
        .route("GET", "/api/tags", tags)
        .route("GET", "/api/ps", Reply::json(200, &json!({"models": []})))
        .route(
            "POST",
            "/api/chat",
            Reply::json(200, &json!({"done": true})),
        )
        .start()
        .await
}

#[tokio::test]
async fn head_on_ollamas_head_routes_answers_like_get_without_a_body() {
    let server = ollama_like().await;
    for path in ["/", "/api/version", "/api/tags"] {
        let get = exchange(&server, "GET", path).await;
        let head = exchange(&server, "HEAD", path).await;
        let (get_status, get_headers, get_body) = parts(&get);
        let (head_status, head_headers, head_body) = parts(&head);
        assert!(head_status.starts_with("HTTP/1.1 200"), "{path}: {head:?}");
        assert_eq!(head_status, get_status, "{path}");
        assert_eq!(head_body, "", "{path}: HEAD has no body: {head:?}");
        assert!(!get_body.is_empty(), "{path}: {get:?}");
        let content_type =
            |h: &[String]| h.iter().find(|l| l.starts_with("content-type:")).cloned();
        assert_eq!(
            content_type(&head_headers),
            content_type(&get_headers),
            "{path}"
        );
        assert!(content_type(&head_headers).is_some(), "{path}: {head:?}");
    }
    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(
        methods.iter().filter(|m| *m == "HEAD").count(),
        3,
        "{methods:?}"
    );
}

#[tokio::test]
async fn head_elsewhere_is_not_served_by_the_get_route() {
    // Ollama registers HEAD only on `/`, `/api/version` and `/api/tags`: elsewhere a HEAD is
    // a known path with the wrong method.
    let server = ollama_like().await;
    let head = exchange(&server, "HEAD", "/api/ps").await;
    assert!(head.starts_with("HTTP/1.1 405"), "{head:?}");
}

#[tokio::test]
async fn a_known_path_with_the_wrong_method_answers_405_as_gin_does() {
    let server = ollama_like().await;
    for (method, path) in [("GET", "/api/chat"), ("POST", "/api/tags"), ("DELETE", "/")] {
        let answer = exchange(&server, method, path).await;
        let (status, headers, body) = parts(&answer);
        assert!(
            status.starts_with("HTTP/1.1 405"),
            "{method} {path}: {answer:?}"
        );
        assert!(
            headers.iter().any(|h| h == "content-type: text/plain"),
            "{method} {path}: {answer:?}"
        );
        assert_eq!(body, "405 method not allowed", "{method} {path}");
    }
}

#[tokio::test]
async fn an_unknown_path_still_answers_404() {
    let server = ollama_like().await;
    for method in ["GET", "POST", "HEAD"] {
        let answer = exchange(&server, method, "/api/nothing").await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{method}: {answer:?}");
    }
    let answer = exchange(&server, "GET", "/api/nothing").await;
    assert_eq!(parts(&answer).2, "404 page not found");
}

#[tokio::test]
async fn a_registered_head_route_wins_over_the_get_route() {
    let server = TestServer::builder()
        .route(
            "GET",
            "/",
            Reply::text(200, "text/plain", "Ollama is running"),
        )
        .route("HEAD", "/", Reply::empty(204))
        .start()
        .await;
    let head = exchange(&server, "HEAD", "/").await;
    assert!(head.starts_with("HTTP/1.1 204"), "{head:?}");
}
