//! End-to-end tests of the commands on Ollama's native API — `models`, `show`, `pull`, `rm`,
//! `ps`, `version`, `embed` and `chat` with Ollama-only flags — against the in-process
//! server replaying the library's `native_*` transcripts.

use llmport_test_support::cli as support;

use std::time::Duration;

use llmport::testing::{RecordedRequest, Reply, TestServer};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use support::{Run, dead_host, fixture, llmport};

/// The body the transcript `name` answers with.
fn fixture_body(name: &str) -> Value {
    fixture(name).raw()["response"]["body"].clone()
}

/// The last request the server received, after asserting its method and path.
fn last_request(server: &TestServer, method: &str, path: &str) -> RecordedRequest {
    let req = server.last_request().expect("a request");
    assert_eq!((req.method.as_str(), req.path.as_str()), (method, path));
    req
}

/// The cells of a table line: the text between runs of two or more spaces.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// `now` moved by `seconds`, as RFC 3339 (the way Ollama sends timestamps).
fn rfc3339_from_now(seconds: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(seconds))
        .format(&Rfc3339)
        .expect("an RFC 3339 timestamp")
}

/// Asserts that nothing a run printed contains an escape code.
fn assert_no_escape_codes(run: &Run) {
    assert!(!run.stdout.contains('\x1b'), "{run:?}");
    assert!(!run.stderr.contains('\x1b'), "{run:?}");
}

// ---- models ----

#[tokio::test(flavor = "multi_thread")]
async fn models_prints_a_table_of_the_servers_models() {
    let server = TestServer::start([fixture("native_tags")]).await;
    let run = llmport(&["--host", &server.url(), "models"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert_eq!(
        cells(lines[0]),
        ["NAME", "SIZE", "MODIFIED", "PARAMETERS", "QUANTIZATION"]
    );
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| cells(l)).collect();
    let expected = [
        ("qwen3:8b", "5.2 GB", "8.2B", "Q4_K_M"),
        ("llama3.2:latest", "2.0 GB", "3.2B", "Q4_K_M"),
        ("nomic-embed-text:latest", "274 MB", "137M", "F16"),
    ];
    for (row, (name, size, params, quant)) in rows.iter().zip(expected) {
        assert_eq!(row.len(), 5, "{row:?}");
        assert_eq!(
            (row[0], row[1], row[3], row[4]),
            (name, size, params, quant)
        );
        // The fixture's dates are in 2026: relative to whenever the test runs.
        assert!(
            row[2].ends_with(" ago") || row[2].ends_with(" from now"),
            "{row:?}"
        );
    }
    // Every column starts at the same place on every line.
    for title in ["SIZE", "MODIFIED", "PARAMETERS", "QUANTIZATION"] {
        let at = lines[0].find(title).unwrap();
        for line in &lines[1..] {
            assert_eq!(&line[at - 4..at], "    ", "{title} in {line:?}");
            assert_ne!(&line[at..=at], " ", "{title} in {line:?}");
        }
    }
    last_request(&server, "GET", "/api/tags");
}

#[tokio::test(flavor = "multi_thread")]
async fn models_says_how_long_ago_a_model_changed() {
    let body = json!({"models": [{
        "name": "tiny:latest", "model": "tiny:latest", "size": 1_429,
        "modified_at": rfc3339_from_now(-3 * 86_400 - 60), "digest": "ab",
        "details": {"parameter_size": "1M", "quantization_level": "Q8_0"}
    }]});
    let server = TestServer::builder()
        .route("GET", "/api/tags", Reply::json(200, &body))
        .start()
        .await;
    // `list` is an alias, as in ollama.
    let run = llmport(&["--host", &server.url(), "list"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "NAME           SIZE      MODIFIED      PARAMETERS    QUANTIZATION\n\
         tiny:latest    1.4 KB    3 days ago    1M            Q8_0\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn models_json_is_the_servers_list() {
    let server = TestServer::start([fixture("native_tags")]).await;
    let run = llmport(&["--host", &server.url(), "models", "--json"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(printed, fixture_body("native_tags"));
}

// ---- show ----

#[tokio::test(flavor = "multi_thread")]
async fn show_lays_out_the_model_like_ollama() {
    let server = TestServer::start([fixture("native_show")]).await;
    let run = llmport(&["--host", &server.url(), "show", "llama3.2"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "  Model\n\
        \x20   architecture        llama\n\
        \x20   parameters          3.2B\n\
        \x20   context length      131072\n\
        \x20   embedding length    3072\n\
        \x20   quantization        Q4_K_M\n\
        \n  Capabilities\n\
        \x20   completion\n\
        \x20   tools\n\
        \n  Parameters\n\
        \x20   stop    \"<|start_header_id|>\"\n\
        \x20   stop    \"<|end_header_id|>\"\n\
        \x20   stop    \"<|eot_id|>\"\n\
        \n  License\n\
        \x20   LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n\
        \x20   (abbreviated for the fixture)\n"
    );
    let req = last_request(&server, "POST", "/api/show");
    assert_eq!(req.json().unwrap(), json!({"model": "llama3.2"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn show_json_and_show_template_print_what_the_server_said() {
    let server = TestServer::start([fixture("native_show")]).await;
    let body = fixture_body("native_show");

    let run = llmport(
        &["--host", &server.url(), "show", "llama3.2", "--json"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(printed, body);

    let run = llmport(
        &["--host", &server.url(), "show", "llama3.2", "--template"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let template = body["template"].as_str().unwrap();
    assert!(template.ends_with('\n'));
    assert_eq!(run.stdout, template);

    let run = llmport(
        &["--host", &server.url(), "show", "llama3.2", "--parameters"],
        &[],
        None,
    )
    .await;
    assert_eq!(
        run.stdout,
        format!("{}\n", body["parameters"].as_str().unwrap())
    );

    // One part at a time.
    let run = llmport(&["show", "llama3.2", "--template", "--json"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn show_of_a_missing_model_is_one_line_naming_it() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/show",
            Reply::json(404, &json!({"error": "model 'nope' not found"})),
        )
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "show", "nope"], &[], None).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("'nope'") && line.contains("404"), "{line}");
    assert_eq!(run.stdout, "");
}

// ---- pull ----

/// Asserts that `line` is a plain status line of a pull: a status, or a layer's
/// `pulling <12 hex>: N% (done/total)`.
fn assert_plain_pull_line(line: &str) {
    if let Some((label, rest)) = line.split_once(": ") {
        let hex = label.strip_prefix("pulling ").expect(line);
        assert!(
            hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{line}"
        );
        let (percent, sizes) = rest.split_once("% (").expect(line);
        assert!(percent.parse::<u8>().expect(line) <= 100, "{line}");
        assert!(sizes.ends_with(')') && sizes.contains('/'), "{line}");
    } else {
        assert!(
            line.chars().all(|c| c.is_ascii_alphanumeric() || c == ' '),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_without_a_terminal_prints_plain_status_lines() {
    let server = TestServer::start([fixture("native_pull_progress")]).await;
    let run = llmport(&["--host", &server.url(), "pull", "llama3.2"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_no_escape_codes(&run);
    assert_eq!(run.stdout, "");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.first(), Some(&"pulling manifest"), "{}", run.stderr);
    assert_eq!(lines.last(), Some(&"success"), "{}", run.stderr);
    for line in &lines {
        assert_plain_pull_line(line);
    }
    for expected in [
        "pulling ae75413e5438: 0% (0 B/2.0 GB)",
        "pulling ae75413e5438: 100% (2.0 GB/2.0 GB)",
        "pulling 9d92c9f59e5a: 100% (1.4 KB/1.4 KB)",
        "pulling 8fe2bb857828: 100% (561 B/561 B)",
        "verifying sha256 digest",
        "writing manifest",
        "removing unused layers",
    ] {
        assert_eq!(
            lines.iter().filter(|l| **l == expected).count(),
            1,
            "{expected:?} in:\n{}",
            run.stderr
        );
    }
    // Fourteen reports replayed at once: the big layer's two middle reports come within a
    // second of its first, so they are not printed (the unit tests pin the timing down;
    // here a stalled machine could let one through).
    assert!((12..=14).contains(&lines.len()), "{}", run.stderr);
    let req = last_request(&server, "POST", "/api/pull");
    assert_eq!(req.json().unwrap(), json!({"model": "llama3.2"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_insecure_is_sent() {
    let server = TestServer::start([fixture("native_pull_progress")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "pull",
            "--insecure",
            "my.registry/m",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({"model": "my.registry/m", "insecure": true})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_that_fails_midway_ends_with_one_error_line() {
    let reply = Reply::ndjson([
        json!({"status": "pulling manifest"}),
        json!({"status": "pulling ae75413e5438",
               "digest": "sha256:ae75413e54385dfb26aa5efdcea55e0b7c05892c5fa17e24e352da5812b0f920",
               "total": 2_019_377_376_u64, "completed": 1_007_943_680_u64}),
        json!({"error": "max retries exceeded: unexpected EOF"}),
    ]);
    let server = TestServer::builder()
        .route("POST", "/api/pull", reply)
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "pull", "llama3.2"], &[], None).await;
    assert_eq!(run.code, Some(6), "{run:?}");
    assert_no_escape_codes(&run);
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert_eq!(
        run.stderr,
        "pulling manifest\n\
         pulling ae75413e5438: 49% (1.0 GB/2.0 GB)\n\
         llmport: the stream failed: the pull failed: max retries exceeded: unexpected EOF\n"
    );
    assert_eq!(run.stdout, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_of_an_unknown_model_fails_after_the_manifest() {
    let reply = Reply::ndjson([
        json!({"status": "pulling manifest"}),
        json!({"error": "pull model manifest: file does not exist"}),
    ]);
    let server = TestServer::builder()
        .route("POST", "/api/pull", reply)
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "pull", "no-such"], &[], None).await;
    assert_ne!(run.code, Some(0), "{run:?}");
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("llmport: ") && last.contains("file does not exist"),
        "{run:?}"
    );
}

/// Ctrl-C during a pull: the binary is sent SIGINT while the server holds the pull open.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_cancels_a_pull_cleanly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;

    let reply = Reply::ndjson([
        json!({"status": "pulling manifest"}),
        json!({"status": "pulling ae75413e5438", "digest": "sha256:ae75413e5438",
               "total": 100, "completed": 1}),
    ])
    .hang_after_body();
    let server = TestServer::builder()
        .route("POST", "/api/pull", reply)
        .start()
        .await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmport"));
    for var in support::cleared_vars() {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .args(["--host", &server.url(), "pull", "llama3.2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start llmport");
    let pid = child.id();

    // Read stderr on a thread; its lines come over a channel.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The first layer line means the pull is under way (and Ctrl-C is listened for).
    while !seen
        .iter()
        .any(|l: &String| l.starts_with("pulling ae75413e5438"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        seen.push(rx.recv_timeout(left).expect("progress before the deadline"));
    }
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());

    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "llmport did not stop after Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        seen.push(line);
    }
    assert_eq!(status.code(), Some(130), "{seen:?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("llmport: pull cancelled")
    );
    assert_eq!(seen[0], "pulling manifest");
    // The pull's connection is closed, which cancels it on the server.
    while server.active_connections() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pull's connection is still open"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- rm ----

#[tokio::test(flavor = "multi_thread")]
async fn rm_deletes_each_model_and_says_so() {
    let server = TestServer::start([fixture("native_delete_ok")]).await;
    let run = llmport(
        &["--host", &server.url(), "rm", "llama3.2", "qwen3:8b"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "deleted 'llama3.2'\ndeleted 'qwen3:8b'\n");
    assert_eq!(run.stderr, "");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for (req, model) in requests.iter().zip(["llama3.2", "qwen3:8b"]) {
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("DELETE", "/api/delete")
        );
        assert_eq!(req.json().unwrap(), json!({"model": model}));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rm_of_a_missing_model_is_one_line_naming_it_and_stops_there() {
    let server = TestServer::builder()
        .transcript(fixture("native_delete_ok"))
        .transcript(fixture("native_delete_not_found"))
        .start()
        .await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "rm",
            "llama3.2",
            "nope",
            "never-asked",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stdout, "deleted 'llama3.2'\n");
    let line = run.error_line();
    assert!(line.contains("model 'nope' not found"), "{line}");
    assert!(line.contains("404"), "{line}");
    assert_eq!(server.requests().len(), 2);

    let run = llmport(&["rm"], &[], None).await;
    assert_eq!(run.code, Some(2), "a model is required: {run:?}");
}

// ---- ps ----

#[tokio::test(flavor = "multi_thread")]
async fn ps_shows_where_each_loaded_model_runs() {
    let server = TestServer::start([fixture("native_ps")]).await;
    let run = llmport(&["--host", &server.url(), "ps"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert_eq!(
        cells(lines[0]),
        ["NAME", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    );
    let row = cells(lines[1]);
    assert_eq!(row[..4], ["llama3.2:latest", "3.4 GB", "100% GPU", "8192"]);
    // 2026-08-21: relative to whenever the test runs.
    assert!(
        row[4] == "Stopping..." || row[4].ends_with(" from now"),
        "{row:?}"
    );
    last_request(&server, "GET", "/api/ps");

    let run = llmport(&["--host", &server.url(), "ps", "--json"], &[], None).await;
    let printed: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(printed, fixture_body("native_ps"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ps_splits_cpu_and_gpu_and_counts_down_to_unloading() {
    let body = json!({"models": [{
        "name": "qwen3:8b", "model": "qwen3:8b", "size": 6_000_000_000_u64,
        "size_vram": 3_120_000_000_u64, "digest": "c4",
        "expires_at": rfc3339_from_now(4 * 60 + 30), "context_length": 4096,
        "details": {}
    }]});
    let server = TestServer::builder()
        .route("GET", "/api/ps", Reply::json(200, &body))
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "ps"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "NAME        SIZE    PROCESSOR          CONTEXT    UNTIL\n\
         qwen3:8b    6 GB    48%/52% CPU/GPU    4096       4 minutes from now\n"
    );
}

// ---- version ----

#[tokio::test(flavor = "multi_thread")]
async fn version_prints_the_client_and_the_server_version() {
    let server = TestServer::start([fixture("native_version")]).await;
    let run = llmport(&["--host", &server.url(), "version"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "llmport version {}\nollama version 0.33.0 ({})\n",
            env!("CARGO_PKG_VERSION"),
            server.url()
        )
    );
    assert_eq!(run.stderr, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn version_without_a_server_prints_the_client_version_and_fails() {
    let host = dead_host();
    let run = llmport(&["--host", &host, "version"], &[], None).await;
    assert_eq!(run.code, Some(3), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("llmport version {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert!(run.error_line().contains("cannot reach Ollama"), "{run:?}");
}

// ---- embed ----

#[tokio::test(flavor = "multi_thread")]
async fn embed_prints_the_vectors_as_json() {
    let server = TestServer::start([fixture("native_embed")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "embed",
            "-m",
            "nomic-embed-text",
            "--dimensions",
            "4",
            "--keep-alive",
            "5m",
            "hello world",
            "goodbye",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(run.stdout.lines().count(), 1, "one line: {}", run.stdout);
    let printed: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let body = fixture_body("native_embed");
    assert_eq!(
        printed,
        json!({"model": "nomic-embed-text", "embeddings": body["embeddings"]})
    );
    let req = last_request(&server, "POST", "/api/embed");
    assert_eq!(
        req.json().unwrap(),
        json!({"model": "nomic-embed-text", "input": ["hello world", "goodbye"],
               "dimensions": 4, "keep_alive": "5m"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn embed_reads_texts_from_stdin_lines() {
    let server = TestServer::start([fixture("native_embed")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "embed",
            "-m",
            "nomic-embed-text",
            "--no-truncate",
        ],
        &[],
        Some("hello world\n\ngoodbye\n"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(printed["embeddings"].as_array().unwrap().len(), 2);
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({"model": "nomic-embed-text", "input": ["hello world", "goodbye"],
               "truncate": false})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn embed_usage_errors_send_nothing() {
    let server = TestServer::start([fixture("native_embed")]).await;
    let url = server.url();
    let run = llmport(&["--host", &url, "embed", "-m", "m"], &[], Some("\n \n")).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.error_line(),
        "llmport: no text to embed: give TEXT arguments or lines on stdin"
    );
    let run = llmport(
        &[
            "--host",
            &url,
            "embed",
            "-m",
            "m",
            "--keep-alive",
            "5 minutes",
            "x",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    // The flag, the value, and the forms that are accepted.
    assert!(run.stderr.contains("--keep-alive"), "{run:?}");
    assert!(
        run.stderr.contains(
            "invalid keep-alive \"5 minutes\": use seconds (300) or a duration such as 5m"
        ),
        "{run:?}"
    );
    let run = llmport(&["--host", &url, "embed", "x"], &[], None).await;
    assert_eq!(run.code, Some(2), "the model is required: {run:?}");
    assert!(server.requests().is_empty());
}

// ---- chat with Ollama-only flags ----

#[tokio::test(flavor = "multi_thread")]
async fn chat_with_ollama_flags_goes_to_the_native_api() {
    let server = TestServer::start([fixture("native_chat_stream")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--ctx",
            "8192",
            "--keep-alive",
            "5m",
            "--think",
            "Why is the sky blue?",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "Rayleigh scattering favors blue light.\n");
    assert_eq!(run.stderr, "");
    assert_eq!(server.requests().len(), 1);
    let body = last_request(&server, "POST", "/api/chat").json().unwrap();
    assert_eq!(body["options"]["num_ctx"], 8192);
    assert_eq!(body["keep_alive"], "5m");
    assert_eq!(body["think"], true);
    assert_eq!(body["model"], "llama3.2");
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "Why is the sky blue?"}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_keep_alive_takes_seconds_and_rejects_nonsense() {
    let server = TestServer::start([fixture("native_chat_stream")]).await;
    let run = llmport(
        &["--host", &server.url(), "chat", "--keep-alive", "-1", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let body = server.last_request().unwrap().json().unwrap();
    assert_eq!(body["keep_alive"].as_f64(), Some(-1.0));
    assert!(
        body.get("options")
            .is_none_or(|o| o.get("num_ctx").is_none()),
        "{body}"
    );

    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--keep-alive",
            "soon",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("invalid keep-alive"), "{run:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_native_chat_cut_short_prints_the_partial_text_then_fails() {
    let server = TestServer::start([fixture("native_chat_midstream_error")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--ctx",
            "2048",
            "Tell me a long story.",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(6), "{run:?}");
    assert_eq!(run.stdout, "Once upon a\n");
    assert!(run.error_line().contains("unexpected EOF"), "{run:?}");
}

// ---- every command: where the server is, and when it is not there ----

/// Each command, with the arguments it needs, and the route it asks the server.
const COMMANDS: [(&[&str], &str); 7] = [
    (&["models"], "native_tags"),
    (&["show", "llama3.2"], "native_show"),
    (&["pull", "llama3.2"], "native_pull_progress"),
    (&["rm", "llama3.2"], "native_delete_ok"),
    (&["ps"], "native_ps"),
    (&["version"], "native_version"),
    (
        &["embed", "-m", "nomic-embed-text", "hello world", "goodbye"],
        "native_embed",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_command_finds_the_server_through_flag_and_environment() {
    for (args, transcript) in COMMANDS {
        let server = TestServer::start([fixture(transcript)]).await;
        let (url, v1, dead) = (server.url(), server.v1_url(), dead_host());
        let mut with_host = vec!["--host", url.as_str()];
        with_host.extend_from_slice(args);
        for (argv, envs) in [
            (with_host.as_slice(), vec![("OLLAMA_HOST", dead.as_str())]),
            (args, vec![("OLLAMA_HOST", url.as_str())]),
            (
                args,
                vec![
                    ("OLLAMA_HOST", dead.as_str()),
                    ("LLMPORT_BASE_URL", v1.as_str()),
                ],
            ),
        ] {
            let run = llmport(argv, &envs, None).await;
            assert_eq!(run.code, Some(0), "{argv:?} {envs:?}: {run:?}");
        }
        assert_eq!(server.requests().len(), 3, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_without_a_server_fails_with_one_line() {
    let host = dead_host();
    for (args, _) in COMMANDS {
        let argv: Vec<&str> = ["--host", host.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let run = llmport(&argv, &[], None).await;
        assert_eq!(run.code, Some(3), "{args:?}: {run:?}");
        let line = run.error_line();
        assert!(
            line.starts_with(&format!("llmport: cannot reach Ollama at http://{host}")),
            "{args:?}: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn help_lists_every_command_and_the_new_chat_flags() {
    let run = llmport(&["--help"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    for command in [
        "chat", "models", "show", "pull", "rm", "ps", "version", "embed",
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "{command} missing from:\n{}",
            run.stdout
        );
    }
    let run = llmport(&["chat", "--help"], &[], None).await;
    for flag in ["--ctx", "--keep-alive", "--think", "/api/chat"] {
        assert!(
            run.stdout.contains(flag),
            "{flag} missing from:\n{}",
            run.stdout
        );
    }
    let run = llmport(&["pull", "--help"], &[], None).await;
    assert!(run.stdout.contains("130"), "{}", run.stdout);
}

// ---- text from a hostile server (issue 13, item 6) ----

/// Server text that would write the clipboard (OSC 52), clear the screen (CSI 2J, also in
/// its C1 form) and hide what came before it (`\r`).
const HOSTILE: &str = "evil\x1b]52;c;aGk=\x07\x1b[2J\r\u{9b}31m!";

/// What [`HOSTILE`] is printed as.
const HOSTILE_SHOWN: &str = "evil!";

/// Asserts that nothing the run printed can drive a terminal.
fn assert_nothing_drives_the_terminal(run: &Run) {
    for printed in [&run.stdout, &run.stderr] {
        assert!(
            !printed.contains(['\x1b', '\x07', '\r', '\u{9b}']),
            "{run:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn models_ps_show_and_version_print_server_text_without_escapes() {
    let tags = json!({"models": [{"name": format!("m{HOSTILE}:latest"), "size": 1,
        "modified_at": HOSTILE,
        "details": {"parameter_size": HOSTILE, "quantization_level": HOSTILE}}]});
    let ps = json!({"models": [{"name": HOSTILE, "size": 1, "size_vram": 1,
        "expires_at": HOSTILE}]});
    let show = json!({"license": HOSTILE, "template": HOSTILE, "system": HOSTILE,
        "parameters": format!("stop {HOSTILE}"), "capabilities": [HOSTILE],
        "details": {"parameter_size": HOSTILE},
        "model_info": {"general.architecture": HOSTILE}});
    let server = TestServer::builder()
        .route("GET", "/api/tags", Reply::json(200, &tags))
        .route("GET", "/api/ps", Reply::json(200, &ps))
        .route("POST", "/api/show", Reply::json(200, &show))
        .route(
            "GET",
            "/api/version",
            Reply::json(200, &json!({"version": HOSTILE})),
        )
        .start()
        .await;
    let url = server.url();
    for (args, shown) in [
        (&["models"][..], format!("m{HOSTILE_SHOWN}:latest")),
        (&["ps"][..], HOSTILE_SHOWN.to_owned()),
        (
            &["show", "m"][..],
            format!("architecture    {HOSTILE_SHOWN}"),
        ),
        (&["show", "m", "--template"][..], HOSTILE_SHOWN.to_owned()),
        (&["show", "m", "--license"][..], HOSTILE_SHOWN.to_owned()),
        (
            &["version"][..],
            format!("ollama version {HOSTILE_SHOWN} ("),
        ),
    ] {
        let argv: Vec<&str> = ["--host", url.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let run = llmport(&argv, &[], None).await;
        assert_eq!(run.code, Some(0), "{args:?}: {run:?}");
        assert_nothing_drives_the_terminal(&run);
        assert!(
            run.stdout.contains(&shown),
            "{args:?}: {shown:?} in {run:?}"
        );
    }
    // JSON output keeps the server's text, escaped (C1 included, which serde_json leaves raw).
    for args in [
        &["models", "--json"][..],
        &["ps", "--json"],
        &["show", "m", "--json"],
    ] {
        let argv: Vec<&str> = ["--host", url.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let run = llmport(&argv, &[], None).await;
        assert_eq!(run.code, Some(0), "{args:?}: {run:?}");
        assert_nothing_drives_the_terminal(&run);
        assert!(run.stdout.contains(r"\u009b31m"), "{args:?}: {run:?}");
        let printed: Value = serde_json::from_str(&run.stdout).expect("still JSON");
        assert!(
            printed.to_string().contains('\u{9b}'),
            "the value is unchanged"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_status_lines_and_errors_print_server_text_without_escapes() {
    let reply = Reply::ndjson([
        json!({"status": HOSTILE}),
        json!({"status": format!("pulling {HOSTILE}"), "digest": "sha256:ae75413e5438",
               "total": 10, "completed": 10}),
        json!({"error": format!("bad {HOSTILE}")}),
    ]);
    let server = TestServer::builder()
        .route("POST", "/api/pull", reply)
        .route(
            "POST",
            "/api/show",
            Reply::json(
                404,
                &json!({"error": format!("model 'm' {HOSTILE} not found")}),
            ),
        )
        .route(
            "GET",
            "/api/version",
            Reply::json(200, &json!({"version": "0.33.0"})),
        )
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "pull", "m"], &[], None).await;
    assert_eq!(run.code, Some(6), "{run:?}");
    assert_nothing_drives_the_terminal(&run);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines[0], HOSTILE_SHOWN, "{run:?}");
    assert_eq!(
        lines[1],
        format!("pulling {HOSTILE_SHOWN}: 100% (10 B/10 B)")
    );
    assert!(
        lines[2].starts_with("llmport: ") && lines[2].contains(&format!("bad {HOSTILE_SHOWN}")),
        "{run:?}"
    );

    let run = llmport(&["--host", &server.url(), "show", "m"], &[], None).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_nothing_drives_the_terminal(&run);
    assert!(
        run.error_line()
            .contains(&format!("model 'm' {HOSTILE_SHOWN} not found")),
        "{run:?}"
    );
}

// ---- a server without Ollama's native API (issue 13, item 10) ----

/// What llama.cpp's server answers for a path it does not have.
fn llama_cpp_not_found() -> Reply {
    Reply::json(
        404,
        &json!({"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}),
    )
}

/// A server that speaks only `/v1`, answering every native path as llama.cpp does.
async fn openai_only_server(routes: Vec<(&str, &str, Reply)>) -> TestServer {
    let mut builder = TestServer::builder();
    for (method, path) in [
        ("GET", "/api/tags"),
        ("GET", "/api/ps"),
        ("GET", "/api/version"),
        ("POST", "/api/show"),
        ("POST", "/api/embed"),
        ("POST", "/api/chat"),
        ("POST", "/api/pull"),
        ("DELETE", "/api/delete"),
    ] {
        builder = builder.route(method, path, llama_cpp_not_found());
    }
    for (method, path, reply) in routes {
        builder = builder.route(method, path, reply);
    }
    builder.start().await
}

#[tokio::test(flavor = "multi_thread")]
async fn models_falls_back_to_v1_models_without_the_native_api() {
    let list = json!({"object": "list", "data": [
        {"id": "qwen2.5-0.5b-instruct", "object": "model", "created": 1_700_000_000,
         "owned_by": "llamacpp"},
        {"id": "other", "object": "model"}]});
    let server = openai_only_server(vec![("GET", "/v1/models", Reply::json(200, &list))]).await;
    let run = llmport(&["--host", &server.url(), "models"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(cells(lines[0]), ["NAME", "CREATED", "OWNED BY"], "{run:?}");
    assert_eq!(cells(lines[1])[0], "qwen2.5-0.5b-instruct");
    assert!(cells(lines[1])[1].ends_with("ago"), "{run:?}");
    assert_eq!(cells(lines[1])[2], "llamacpp");
    assert_eq!(cells(lines[2]), ["other"]);
    let run = llmport(&["--host", &server.url(), "models", "--json"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let printed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["models"][0]["id"], "qwen2.5-0.5b-instruct");
    assert_eq!(printed["models"][1], json!({"id": "other"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn embed_falls_back_to_v1_embeddings_without_the_native_api() {
    let list = json!({"object": "list", "model": "e", "data": [
        {"object": "embedding", "index": 0, "embedding": [0.5, -0.25]}],
        "usage": {"prompt_tokens": 2, "total_tokens": 2}});
    let server =
        openai_only_server(vec![("POST", "/v1/embeddings", Reply::json(200, &list))]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "embed",
            "-m",
            "e",
            "--dimensions",
            "2",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "{\"model\":\"e\",\"embeddings\":[[0.5,-0.25]]}\n"
    );
    let req = last_request(&server, "POST", "/v1/embeddings");
    assert_eq!(
        req.json().unwrap(),
        json!({"model": "e", "input": ["hi"], "dimensions": 2})
    );
    // Ollama's own settings cannot go to /v1/embeddings: said, not dropped.
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "embed",
            "-m",
            "e",
            "--keep-alive",
            "5m",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(7), "{run:?}");
    assert!(run.error_line().contains("--keep-alive"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn native_only_commands_say_the_server_lacks_the_native_api_and_name_it() {
    let server = openai_only_server(vec![]).await;
    let url = server.url();
    for args in [
        &["show", "m"][..],
        &["ps"],
        &["pull", "m"],
        &["rm", "m"],
        &["chat", "--keep-alive", "5m", "hi"],
        &["chat", "--ctx", "4096", "--no-stream", "hi"],
        &["version"],
    ] {
        let argv: Vec<&str> = ["--host", url.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let run = llmport(&argv, &[], None).await;
        assert_eq!(run.code, Some(7), "{args:?}: {run:?}");
        let line = run.error_line();
        assert!(
            line.contains(&format!("the server at {url} has no Ollama native API")),
            "{line}"
        );
        assert!(line.contains(&format!("{url}/api/")), "{line}");
        assert!(line.contains(args[0]), "{line}");
    }
    // Gin's 404 for an unknown route, from a server that has no native API either.
    let server = TestServer::builder()
        .route("GET", "/api/ps", Reply::not_found())
        .route("GET", "/api/version", Reply::not_found())
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "ps"], &[], None).await;
    assert_eq!(run.code, Some(7), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_model_on_ollama_is_still_a_missing_model() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/show",
            Reply::json(404, &json!({"error": "model 'nope' not found"})),
        )
        .route(
            "GET",
            "/api/version",
            Reply::json(200, &json!({"version": "0.33.0"})),
        )
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "show", "nope"], &[], None).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("model 'nope' not found"), "{line}");
    assert!(!line.contains("native API"), "{line}");
}

// ---- embed answers that are not Ollama's (issue 13, item 14) ----

#[tokio::test(flavor = "multi_thread")]
async fn an_openai_shaped_answer_from_api_embed_says_what_it_is() {
    let list = json!({"object": "list", "data": [{"object": "embedding", "index": 0,
        "embedding": [0.5]}]});
    let server = TestServer::builder()
        .route("POST", "/api/embed", Reply::json(200, &list))
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "embed", "-m", "e", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    let line = run.error_line();
    assert!(!line.contains("0 vectors"), "{line}");
    assert!(line.contains("OpenAI-style embeddings list"), "{line}");
    assert!(line.contains("/api/embed"), "{line}");

    let server = TestServer::builder()
        .route(
            "POST",
            "/api/embed",
            Reply::json(200, &json!({"vectors": []})),
        )
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "embed", "-m", "e", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.error_line().contains("has no `embeddings`"), "{run:?}");
}
