//! End-to-end tests of `create`, `cp`, `push`, `stop`, `run` (the alias of `chat`), `show`'s
//! thinking levels, `chat --think=LEVEL` and the warning when thinking used up the tokens,
//! against the in-process server replaying the library's transcripts.

use llmport_test_support::cli as support;

use std::io::Write;
use std::time::Duration;

use llmport::testing::{RecordedRequest, Reply, TestServer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use support::{fixture, llmport};

fn fixture_request(name: &str) -> Value {
    fixture(name).raw()["request"]["body"].clone()
}

fn requests(server: &TestServer, method: &str, path_start: &str) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with(path_start))
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// A file of `len` bytes that starts like a GGUF file.
fn gguf(dir: &tempfile::TempDir, name: &str, len: usize) -> (std::path::PathBuf, String) {
    let path = dir.path().join(name);
    let mut f = std::fs::File::create(&path).expect("create the file");
    let mut hasher = Sha256::new();
    let mut piece = b"GGUF".to_vec();
    piece.resize(1 << 20, 7);
    let mut left = len;
    while left > 0 {
        let n = left.min(piece.len());
        f.write_all(&piece[..n]).expect("write the file");
        hasher.update(&piece[..n]);
        piece[0] = piece[0].wrapping_add(1);
        left -= n;
    }
    (path, format!("sha256:{:x}", hasher.finalize()))
}

/// The server of a create from a file: HEAD answers `head`, an upload 201, the create as
/// the transcript (after `create_delay`).
async fn blob_server(digest: &str, head: &str, create_delay: Duration) -> TestServer {
    let blob = format!("/api/blobs/{digest}");
    TestServer::builder()
        .route("HEAD", &blob, fixture(head).reply())
        .route("POST", &blob, fixture("native_blob_push_created").reply())
        .route(
            "POST",
            "/api/create",
            fixture("native_create_from_model")
                .reply()
                .delay_before_headers(create_delay),
        )
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn create_from_a_model_sends_the_flags_and_shows_the_progress() {
    let server = TestServer::start([fixture("native_create_from_model")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "create",
            "mario",
            "--from",
            "llama3.2",
            "--system",
            "You are Mario from Super Mario Bros.",
            "--parameter",
            "temperature=0.7",
            "--parameter",
            "num_ctx=8192",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.last(), Some(&"success"), "{run:?}");
    assert!(lines.contains(&"writing manifest"), "{run:?}");
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fixture_request("native_create_from_model")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_needs_a_source_and_reads_template_and_license_files() {
    let run = llmport(&["--host", "127.0.0.1:1", "create", "x"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");

    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("t.tmpl");
    std::fs::write(&template, "{{ .Prompt }}").unwrap();
    let license = dir.path().join("LICENSE");
    std::fs::write(&license, "MIT").unwrap();
    let server = TestServer::start([fixture("native_create_from_model")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "create",
            "m",
            "--from",
            "llama3.2",
            "--template",
            template.to_str().unwrap(),
            "--license",
            license.to_str().unwrap(),
            "--quantize",
            "q4_K_M",
            "--parameter",
            "stop=<|eot_id|>",
            "--parameter",
            "stop=User:",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({"model": "m", "from": "llama3.2", "template": "{{ .Prompt }}", "license": "MIT",
               "parameters": {"stop": ["<|eot_id|>", "User:"]}, "quantize": "q4_K_M"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_from_a_file_uploads_it_unless_the_server_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, digest) = gguf(&dir, "tiny.gguf", 3 << 20);
    for (head, uploads) in [
        ("native_blob_head_missing", 1),
        ("native_blob_head_exists", 0),
    ] {
        let server = blob_server(&digest, head, Duration::ZERO).await;
        let run = llmport(
            &[
                "--host",
                &server.url(),
                "create",
                "tiny",
                "--file",
                path.to_str().unwrap(),
                "--system",
                "Be brief.",
            ],
            &[],
            None,
        )
        .await;
        assert_eq!(run.code, Some(0), "{run:?}");
        assert!(run.stderr.starts_with("hashing "), "{run:?}");
        assert_eq!(run.stderr.lines().last(), Some("success"), "{run:?}");
        let posted = requests(&server, "POST", "/api/blobs/");
        assert_eq!(posted.len(), uploads, "{head}");
        for p in posted {
            assert_eq!(sha256(&p.body), digest);
        }
        assert_eq!(
            server.last_request().unwrap().json().unwrap(),
            json!({"model": "tiny", "files": {"tiny.gguf": digest}, "system": "Be brief."})
        );
    }
}

/// The largest memory the process `pid` has used so far (`VmHWM`), in bytes.
#[cfg(target_os = "linux")]
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A model file is streamed from disk: uploading 96 MiB, the binary's peak memory stays far
/// below the file's size (it would exceed it if the file were read whole to hash or send it).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn a_big_file_is_hashed_and_uploaded_without_holding_it_in_memory() {
    const SIZE: usize = 96 << 20;
    let dir = tempfile::tempdir().unwrap();
    let (path, digest) = gguf(&dir, "big.gguf", SIZE);
    // The create answer waits: the process is still alive, its peak measurable, after the
    // upload.
    let server = blob_server(&digest, "native_blob_head_missing", Duration::from_secs(3)).await;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("llmport"))
        .args(["--host", &server.url(), "create", "big", "--file"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(rss) = peak_rss(pid) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "llmport create did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    let uploaded = requests(&server, "POST", "/api/blobs/");
    assert_eq!(uploaded.len(), 1);
    assert_eq!(uploaded[0].body.len(), SIZE);
    assert!(peak > 0, "the peak was measured");
    assert!(
        peak < (SIZE as u64) / 2,
        "peak memory {} MiB for a {} MiB file",
        peak >> 20,
        SIZE >> 20
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cp_copies_and_a_missing_source_is_one_error_line() {
    let server = TestServer::start([fixture("native_copy_ok")]).await;
    let run = llmport(
        &["--host", &server.url(), "cp", "llama3.2", "llama3-backup"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "copied 'llama3.2' to 'llama3-backup'\n");
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fixture_request("native_copy_ok")
    );

    let server = TestServer::builder()
        .route(
            "POST",
            "/api/copy",
            Reply::json(404, &json!({"error": "model \"x\" not found"})),
        )
        .route(
            "GET",
            "/api/version",
            Reply::json(200, &json!({"version": "0.33.0"})),
        )
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "cp", "x", "y"], &[], None).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.error_line().contains("model \"x\" not found"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn push_shows_progress_and_an_unauthorized_push_says_what_to_do() {
    let server = TestServer::start([fixture("native_push_progress")]).await;
    let run = llmport(&["--host", &server.url(), "push", "alice/mario"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.first(), Some(&"retrieving manifest"), "{run:?}");
    assert!(
        lines.contains(&"pushing b4a1f5c9e0d3: 100% (986 MB/986 MB)"),
        "{run:?}"
    );
    assert!(lines.contains(&"pushing manifest"), "{run:?}");
    assert_eq!(lines.last(), Some(&"success"), "{run:?}");

    let server = TestServer::builder()
        .route(
            "POST",
            "/api/push",
            Reply::ndjson([
                json!({"status": "retrieving manifest"}),
                json!({"error": "unauthorized: access denied"}),
            ]),
        )
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "push", "bob/mario"], &[], None).await;
    assert_eq!(run.code, Some(4), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert_eq!(lines[0], "retrieving manifest");
    assert!(
        lines[1].starts_with("llmport: authentication failed: the registry refused the push"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_unloads_the_model_silently() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/generate",
            Reply::json(
                200,
                &json!({"model": "m", "created_at": "2026-08-21T10:00:00Z", "response": "",
                        "done": true, "done_reason": "unload"}),
            ),
        )
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "stop", "m"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({"model": "m", "prompt": "", "keep_alive": 0})
    );
}

fn chat_reply(lines: &[Value]) -> Reply {
    Reply::ndjson(lines.iter().cloned())
}

#[tokio::test(flavor = "multi_thread")]
async fn run_is_chat_and_think_takes_a_level() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/chat",
            chat_reply(&[
                json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "", "thinking": "hmm"}, "done": false}),
                json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "4"}, "done": true, "done_reason": "stop"}),
            ]),
        )
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "run", "--think=low", "m", "2+2?"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "4\n");
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["think"],
        "low"
    );
    // `--think` alone is `true`; a PROMPT after it stays the prompt.
    let run = llmport(
        &["--host", &server.url(), "run", "m", "--think", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        (&sent["think"], &sent["messages"][0]["content"]),
        (&json!(true), &json!("hi"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_says_in_one_line_when_thinking_used_up_the_tokens() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/chat",
            chat_reply(&[
                json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": "", "thinking": "Let me"}, "done": false}),
                json!({"model": "m", "created_at": "t", "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "length"}),
            ]),
        )
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat", "--think", "-m", "m", "hi"],
        &[],
        None,
    )
    .await;
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("ran out while the model was thinking"))
        .collect();
    assert_eq!(warnings.len(), 1, "{run:?}");
    assert!(
        warnings[0].contains("raise --max-tokens or lower --think"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn show_lists_capabilities_and_thinking_levels() {
    let server = TestServer::start([fixture("native_show_thinking_metadata")]).await;
    let run = llmport(&["--host", &server.url(), "show", "qwen3.8:27b"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().map(str::trim).collect();
    let at = |s: &str| {
        lines
            .iter()
            .position(|l| *l == s)
            .unwrap_or_else(|| panic!("{s:?}: {run:?}"))
    };
    assert!(at("Capabilities") < at("thinking"));
    assert!(at("Thinking") > at("thinking"));
    assert!(
        lines.contains(&"values     false, low, medium, xhigh"),
        "{run:?}"
    );
    assert!(lines.contains(&"default    medium"), "{run:?}");
}
