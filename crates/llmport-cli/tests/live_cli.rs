//! The CLI against a real OpenAI-compatible server (the live tier; see the library's
//! `tests/live.rs`). Runs when `LLMPORT_LIVE_BASE_URL` is set; otherwise the tests pass
//! without doing anything, after one `SKIPPED …` line on stderr that `cargo test` shows.

use llmport_test_support::cli as support;

use serde_json::Value;
use support::llmport;

/// Where the live server is and how to reach it.
struct Live {
    /// `--host`: the server root.
    host: String,
    model: String,
    /// Extra environment (the bearer token, when the server wants one).
    env: Vec<(&'static str, String)>,
}

/// The live server, if configured.
fn live() -> Option<Live> {
    let base = match std::env::var("LLMPORT_LIVE_BASE_URL") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => {
            // Once, on the process's stderr: `eprintln!` would be captured by the test
            // harness, and a skipped test must not pass unnoticed.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED the CLI's live tier (every test of tests/live_cli.rs): \
                     LLMPORT_LIVE_BASE_URL is not set; it needs a real server (see the README)"
                );
            });
            return None;
        }
    };
    let host = base
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_owned();
    let model = std::env::var("LLMPORT_LIVE_MODEL").unwrap_or_else(|_| "tiny-random-llama".into());
    let mut env = Vec::new();
    if let Ok(key) = std::env::var("LLMPORT_LIVE_API_KEY")
        && !key.is_empty()
    {
        env.push(("LLMPORT_BEARER_TOKEN", key));
    }
    Some(Live { host, model, env })
}

async fn run(extra: &[&str]) -> Option<support::Run> {
    let Live { host, model, env } = live()?;
    let mut args = vec![
        "chat",
        "--host",
        &host,
        "-m",
        &model,
        "--max-tokens",
        "12",
        "--seed",
        "7",
    ];
    args.extend_from_slice(extra);
    args.push("hi");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Some(llmport(&args, &env, None).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_chat_against_the_real_server() {
    let Some(r) = run(&[]).await else { return };
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.stdout.trim().len() > 2, "{r:?}");
    assert!(r.stderr.is_empty(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn non_streaming_chat_gives_the_same_text() {
    let Some(streamed) = run(&[]).await else {
        return;
    };
    let Some(whole) = run(&["--no-stream"]).await else {
        return;
    };
    assert_eq!(whole.code, Some(0), "{whole:?}");
    assert_eq!(whole.stdout, streamed.stdout, "same seed, same text");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_shows_usage_and_timings() {
    for mode in [&[][..], &["--no-stream"][..]] {
        let mut extra = vec!["--json"];
        extra.extend_from_slice(mode);
        let Some(r) = run(&extra).await else { return };
        assert_eq!(r.code, Some(0), "{r:?}");
        let v: Value = serde_json::from_str(&r.stdout).expect("JSON output");
        let usage = &v["meta"]["usage"];
        assert!(usage["output_tokens"].as_u64().unwrap_or(0) > 0, "{v}");
        assert!(usage["input_tokens"].as_u64().unwrap_or(0) > 0, "{v}");
        assert!(v["meta"]["total_time"].as_f64().unwrap_or(0.0) > 0.0, "{v}");
        assert!(
            v["meta"]["time_to_first_token"].as_f64().unwrap_or(0.0) > 0.0,
            "{v}"
        );
    }
}

#[test]
fn without_a_server_the_skip_is_printed_where_cargo_test_shows_it() {
    // This binary's first live test alone, as `cargo test` runs it (the output of passing
    // tests captured).
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", "streaming_chat_against_the_real_server"])
        .env_remove("LLMPORT_LIVE_BASE_URL")
        .output()
        .expect("run the test binary");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SKIPPED the CLI's live tier") && stderr.contains("LLMPORT_LIVE_BASE_URL"),
        "{stderr}"
    );
}
