//! End-to-end tests of the `llmport` binary against a real in-process HTTP server
//! (`llmport::testing::TestServer`) replaying recorded Ollama transcripts.

use llmport_test_support::cli as support;

use llmport::testing::{Reply, TestServer};
use serde_json::{Value, json};

use support::{Run, dead_host, fixture, llmport};

/// A 1×1 red PNG (the one in `openai_chat_image_input.json`).
pub(crate) const PIXEL_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];
/// [`PIXEL_PNG`] in standard base64.
const PIXEL_PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/// The JSON body of the only request the server received.
fn only_request(server: &TestServer) -> Value {
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v1/chat/completions");
    requests[0].json().expect("a JSON request body")
}

#[tokio::test(flavor = "multi_thread")]
async fn one_shot_chat_streams_the_answer() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "Why is the sky blue? One sentence.",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "Rayleigh scattering favors blue light.\n");
    assert_eq!(run.stderr, "");
    assert_eq!(
        only_request(&server),
        json!({
            "model": "llama3.2",
            "messages": [{"role": "user", "content": "Why is the sky blue? One sentence."}],
            "stream": true,
            "stream_options": {"include_usage": true}
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_flag_lands_in_the_request() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("pixel.png");
    std::fs::write(&image, PIXEL_PNG).unwrap();
    let run = llmport(
        &[
            "chat",
            "--host",
            &server.url(),
            "-m",
            "gemma3:4b",
            "-s",
            "Answer in one sentence.",
            "--max-tokens",
            "42",
            "--temperature",
            "0.25",
            "--top-p",
            "0.5",
            "--seed",
            "-7",
            "--stop",
            "END",
            "--stop",
            "###",
            "--image",
            image.to_str().unwrap(),
            "What is in this image?",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "Rayleigh scattering favors blue light.\n");
    assert_eq!(
        only_request(&server),
        json!({
            "model": "gemma3:4b",
            "messages": [
                {"role": "system", "content": "Answer in one sentence."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this image?"},
                    {"type": "image_url", "image_url": {
                        "url": format!("data:image/png;base64,{PIXEL_PNG_BASE64}")
                    }}
                ]}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 42,
            "temperature": 0.25,
            "top_p": 0.5,
            "seed": -7,
            "stop": ["END", "###"]
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_stream_sends_a_plain_request_and_prints_the_text() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_plain"))
        .start()
        .await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--no-stream",
            "Say hello in five words.",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "Hello there, how are you?\n");
    assert_eq!(run.stderr, "");
    assert_eq!(
        only_request(&server),
        json!({
            "model": "llama3.2",
            "messages": [{"role": "user", "content": "Say hello in five words."}]
        })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_prints_the_collected_stream_with_usage_and_timings() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat", "--json", "Why?"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.starts_with("{\n  "),
        "not pretty: {}",
        run.stdout
    );
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let candidate = &v["candidates"][0];
    assert_eq!(candidate["message"]["role"], "assistant");
    assert_eq!(
        candidate["message"]["parts"][0]["text"],
        "Rayleigh scattering favors blue light."
    );
    assert_eq!(candidate["finish_reason"], "stop");
    assert_eq!(v["meta"]["usage"]["input_tokens"], 33);
    assert_eq!(v["meta"]["usage"]["output_tokens"], 6);
    assert!(v["meta"]["total_time"].is_number(), "{v}");
    assert_eq!(only_request(&server)["stream"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_with_no_stream_prints_the_response() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_plain"))
        .start()
        .await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--json",
            "--no-stream",
            "Hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(
        v["candidates"][0]["message"]["parts"][0]["text"],
        "Hello there, how are you?"
    );
    assert_eq!(v["meta"]["usage"]["input_tokens"], 31);
    assert!(v["meta"]["total_time"].is_number(), "{v}");
    assert!(only_request(&server).get("stream").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prompt_can_come_from_stdin() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat"],
        &[],
        Some("Why is the sky blue?\nOne sentence.\n"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "Rayleigh scattering favors blue light.\n");
    assert_eq!(
        only_request(&server)["messages"],
        json!([{"role": "user", "content": "Why is the sky blue?\nOne sentence."}])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_stdin_is_a_usage_error() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let run = llmport(&["--host", &server.url(), "chat"], &[], Some(" \n")).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(
        run.error_line(),
        "llmport: no prompt: give one as an argument or on stdin"
    );
    assert_eq!(run.stdout, "");
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_one_line_and_exit_3() {
    let host = dead_host();
    let run = llmport(&["--host", &host, "chat", "hi"], &[], None).await;
    assert_eq!(run.code, Some(3), "{run:?}");
    let line = run.error_line();
    assert!(
        line.starts_with(&format!("llmport: cannot reach Ollama at http://{host}")),
        "{line}"
    );
    assert!(line.contains("ollama serve"), "{line}");
    assert_eq!(run.stdout, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_model_names_it_and_suggests_a_pull() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_model_not_found"))
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat", "-m", "no-such-model", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("no-such-model"), "{line}");
    assert!(line.contains("ollama pull no-such-model"), "{line}");
    assert!(line.contains("404"), "{line}");
    assert_eq!(run.stdout, "");
    assert_eq!(only_request(&server)["model"], "no-such-model");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_cut_short_prints_the_partial_text_then_fails() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_midstream_error"))
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat", "Tell me a long story."],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(6), "{run:?}");
    assert_eq!(run.stdout, "Once upon a\n");
    let line = run.error_line();
    assert!(line.starts_with("llmport: the stream failed"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_cut_short_with_json_prints_no_json() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_midstream_error"))
        .start()
        .await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--json",
            "Tell me a long story.",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(6), "{run:?}");
    assert_eq!(run.stdout, "");
    run.error_line();
}

/// `llmport chat --image <image> "What is this?"` against a test server; `image` is a file
/// name in a fresh folder, written with `content` unless `None`. Returns the run and the
/// server.
async fn chat_with_image(name: &str, content: Option<&[u8]>) -> (Run, TestServer) {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let dir = tempfile::tempdir().expect("temporary folder");
    let image = dir.path().join(name);
    if let Some(content) = content {
        std::fs::write(&image, content).expect("image written");
    }
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--image",
            image.to_str().expect("UTF-8 path"),
            "What is this?",
        ],
        &[],
        None,
    )
    .await;
    (run, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_is_a_usage_error_and_sends_nothing() {
    let (run, server) = chat_with_image("nope.png", None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    let line = run.error_line();
    assert!(line.starts_with("llmport: cannot read image "), "{line}");
    assert!(line.contains("nope.png"), "{line}");
    assert_eq!(run.stdout, "");
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_of_unknown_type_is_a_usage_error() {
    let (run, server) = chat_with_image("pixel.bmp", Some(&PIXEL_PNG)).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.error_line().contains("pixel.bmp"), "{run:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_comes_from_the_environment_without_host() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let dead = dead_host();

    // OLLAMA_HOST alone.
    let run = llmport(&["chat", "hi"], &[("OLLAMA_HOST", &server.url())], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");

    // LLMPORT_BASE_URL wins over OLLAMA_HOST.
    let run = llmport(
        &["chat", "hi"],
        &[
            ("OLLAMA_HOST", &dead),
            ("LLMPORT_BASE_URL", &server.v1_url()),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");

    // --host wins over both.
    let run = llmport(
        &["--host", &server.url(), "chat", "hi"],
        &[
            ("OLLAMA_HOST", &dead),
            ("LLMPORT_BASE_URL", &format!("http://{dead}/v1")),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_model_comes_from_llmport_model() {
    let server = TestServer::builder()
        .transcript(fixture("openai_chat_stream_with_usage"))
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat", "hi"],
        &[("LLMPORT_MODEL", "qwen3:0.6b")],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(only_request(&server)["model"], "qwen3:0.6b");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_error_body_that_is_not_json_is_still_one_line() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::text(500, "text/plain", "internal failure\nsecond line\n\tthird"),
        )
        .start()
        .await;
    let run = llmport(
        &["--host", &server.url(), "chat", "--no-stream", "hi"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("500"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_flags_are_clap_usage_errors() {
    let run = llmport(&["chat", "--max-tokens", "lots", "hi"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--max-tokens"), "{run:?}");
    let run = llmport(&["chat", "--temperature", "nan", "hi"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    let run = llmport(&["chat", "--json"], &[], Some("")).await;
    assert_eq!(run.code, Some(2), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn help_documents_host_and_exit_status() {
    let run = llmport(&["--help"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("--host"), "{}", run.stdout);
    assert!(
        run.stdout.contains("http://localhost:11434"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("OLLAMA_HOST"), "{}", run.stdout);
    assert!(run.stdout.contains("Exit status:"), "{}", run.stdout);
    let run = llmport(&["chat", "--help"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    for flag in [
        "--model",
        "--system",
        "--max-tokens",
        "--temperature",
        "--top-p",
        "--seed",
        "--stop",
        "--image",
        "--no-stream",
        "--json",
        "LLMPORT_MODEL",
        "Exit status:",
    ] {
        assert!(
            run.stdout.contains(flag),
            "{flag} missing from:\n{}",
            run.stdout
        );
    }
}

// ---- flag ranges (issue 13, item 11) ----

#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_flags_are_usage_errors_naming_the_range_and_send_nothing() {
    let server = TestServer::start([fixture("openai_chat_plain")]).await;
    let url = server.url();
    for (args, range) in [
        (&["chat", "--stop", "", "hi"][..], "cannot be empty"),
        (
            &["chat", "--stop", "a", "--stop", "", "hi"],
            "cannot be empty",
        ),
        (&["chat", "--max-tokens", "0", "hi"], "at least 1"),
        (&["chat", "--temperature", "-1", "hi"], "0 to 2"),
        (&["chat", "--temperature", "2.5", "hi"], "0 to 2"),
        (&["chat", "--top-p", "7", "hi"], "above 0 and at most 1"),
        (&["chat", "--top-p", "0", "hi"], "above 0 and at most 1"),
        (&["chat", "--ctx", "0", "hi"], "at least 1"),
        (
            &["embed", "-m", "e", "--dimensions", "0", "hi"],
            "at least 1",
        ),
    ] {
        let argv: Vec<&str> = ["--host", url.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let run = llmport(&argv, &[], None).await;
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains(range), "{args:?}: {run:?}");
        assert_eq!(run.stdout, "");
    }
    assert!(server.requests().is_empty());
    // The ends of each range are valid.
    let run = llmport(
        &[
            "--host",
            &url,
            "chat",
            "--no-stream",
            "--temperature",
            "0",
            "--top-p",
            "1",
            "--max-tokens",
            "1",
            "hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
}

// ---- invalid hosts (issue 13, item 13) ----

#[tokio::test(flavor = "multi_thread")]
async fn invalid_hosts_are_usage_errors_with_the_reason() {
    for (host, reason) in [
        ("http://[bad", "not closed"),
        ("localhost:99999", "99999 is not within 1-65535"),
        ("http://host:notaport", "\"notaport\" is not a number"),
        ("ftp://host", "http:// or https://"),
    ] {
        let run = llmport(&["--host", host, "models"], &[], None).await;
        assert_eq!(run.code, Some(2), "{host}: {run:?}");
        let line = run.error_line();
        assert!(line.contains(reason), "{host}: {line}");
        assert!(line.contains(host), "the value is named: {line}");
        // The same from the environment.
        let run = llmport(&["models"], &[("OLLAMA_HOST", host)], None).await;
        assert_eq!(run.code, Some(2), "{host}: {run:?}");
        assert!(run.error_line().contains(reason), "{host}: {run:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_the_host_are_refused_and_the_variables_named() {
    let server = TestServer::start([fixture("native_tags")]).await;
    let host = format!("http://ann:s3cret@{}", server.addr());
    let run = llmport(&["--host", &host, "models"], &[], None).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("LLMPORT_BASIC_USER"), "{line}");
    assert!(line.contains("LLMPORT_BASIC_PASSWORD"), "{line}");
    assert!(!line.contains("s3cret") && !line.contains(']'), "{line}");
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_host_names_the_port_ollamas_rules_chose() {
    // Port 80 must refuse connections for this test to mean anything.
    if std::net::TcpStream::connect(("127.0.0.1", 80)).is_ok() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED an_unreachable_host_names_the_port_ollamas_rules_chose: something listens on 127.0.0.1:80"
        );
        return;
    }
    let run = llmport(
        &["--retries", "0", "models"],
        &[("OLLAMA_HOST", "http://127.0.0.1")],
        None,
    )
    .await;
    assert_eq!(run.code, Some(3), "{run:?}");
    let line = run.error_line();
    assert!(
        line.starts_with("llmport: cannot reach Ollama at http://127.0.0.1:80 "),
        "{line}"
    );
}

// ---- help (issue 13, item 22) ----

/// The connection flags every command takes.
const CONNECTION_FLAGS: [&str; 9] = [
    "--host",
    "--connect-timeout",
    "--first-token-timeout",
    "--idle-timeout",
    "--retries",
    "--ca-cert",
    "--client-cert",
    "--client-key",
    "--header",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_commands_help_lists_the_connection_flags_under_their_own_heading() {
    for command in [
        "chat", "models", "show", "pull", "rm", "ps", "version", "embed",
    ] {
        for help in ["-h", "--help"] {
            let run = llmport(&[command, help], &[], None).await;
            assert_eq!(run.code, Some(0), "{command} {help}: {run:?}");
            let (own, connection) = run
                .stdout
                .split_once("\nConnection options:\n")
                .unwrap_or_else(|| panic!("no heading in {command} {help}:\n{}", run.stdout));
            for flag in CONNECTION_FLAGS {
                assert!(
                    !own.contains(&format!("{flag} <")),
                    "{flag} among the own flags of {command} {help}:\n{}",
                    run.stdout
                );
                assert!(
                    connection.contains(&format!("{flag} <")),
                    "{flag} not under the heading in {command} {help}:\n{}",
                    run.stdout
                );
            }
            // The exit-status table is at the top level only.
            assert!(
                !run.stdout.contains("cannot be reached"),
                "{command} {help}:\n{}",
                run.stdout
            );
            assert!(
                run.stdout.contains("llmport --help"),
                "{command} {help}:\n{}",
                run.stdout
            );
            // Every variable is shown the same way: `[env: NAME]`, without its value.
            for (i, _) in run.stdout.match_indices("[env: ") {
                let shown = &run.stdout[i..];
                let shown = &shown[..=shown.find(']').expect("closed")];
                let name = &shown["[env: ".len()..shown.len() - 1];
                assert!(
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                    "{shown:?} in {command} {help}"
                );
            }
        }
    }
    let run = llmport(&["--help"], &[], None).await;
    for line in ["3  the server cannot be reached", "8  a JSON answer"] {
        assert!(run.stdout.contains(line), "{line} in:\n{}", run.stdout);
    }
    // With a value set, the help still shows only the name.
    let run = llmport(
        &["chat", "--help"],
        &[("LLMPORT_MODEL", "m1"), ("OLLAMA_HOST", "h:1")],
        None,
    )
    .await;
    assert!(run.stdout.contains("[env: OLLAMA_HOST]"), "{}", run.stdout);
    assert!(
        run.stdout.contains("[env: LLMPORT_MODEL]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[env: LLMPORT_CONNECT_TIMEOUT]"),
        "{}",
        run.stdout
    );
}

// ---- the library's examples (issue 13, item 19) ----

/// Builds the library's examples `names` (a no-op when they are up to date) with the cargo
/// and target directory running this test, and returns their paths, as cargo reports them.
fn build_examples(names: &[&str]) -> Vec<std::path::PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "--message-format=json", "-p", "llmport"])
        .args(["--manifest-path", manifest]);
    for name in names {
        cmd.args(["--example", name]);
    }
    let out = cmd.output().expect("run cargo build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let paths: Vec<std::path::PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["kind"][0] == "example")
        .filter_map(|m| m["executable"].as_str().map(std::path::PathBuf::from))
        .collect();
    assert_eq!(paths.len(), names.len(), "{paths:?}");
    names
        .iter()
        .map(|n| {
            paths
                .iter()
                .find(|p| p.file_stem().is_some_and(|s| s == *n))
                .unwrap_or_else(|| panic!("no example {n} in {paths:?}"))
                .clone()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_examples_print_the_friendly_message_and_exit_non_zero_when_ollama_is_down() {
    let names = ["quickstart", "errors", "streaming", "tools"];
    let examples = tokio::task::spawn_blocking(move || build_examples(&names))
        .await
        .unwrap();
    let host = dead_host();
    for (name, example) in names.iter().zip(examples) {
        let mut cmd = std::process::Command::new(&example);
        for var in support::cleared_vars() {
            cmd.env_remove(var);
        }
        let out = cmd
            .env("OLLAMA_HOST", &host)
            .env("LLMPORT_RETRIES", "0")
            .output()
            .expect("run the example");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{name}: {stderr}");
        assert_eq!(
            out.status.code(),
            Some(if *name == "errors" { 3 } else { 1 }),
            "{name}: {stderr}"
        );
        let first = stderr.lines().next().unwrap_or_default();
        let expected = if *name == "errors" {
            format!("Ollama is not running at http://{host}: start it with `ollama serve`")
        } else {
            format!("Error: cannot reach Ollama at http://{host} — is `ollama serve` running?")
        };
        assert_eq!(first, expected, "{name}: {stderr}");
        assert!(!stderr.contains("Connect {"), "no Debug output: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
