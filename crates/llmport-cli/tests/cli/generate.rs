//! `llmport generate` end to end against the in-process server replaying the library's
//! `native_generate_*` transcripts, and `--logprobs` on `chat` and `generate`.

use llmport_test_support::cli as support;

use llmport::testing::TestServer;
use serde_json::{Value, json};

use support::{fixture, llmport};

/// The JSON body of the last request, after asserting its path.
fn sent(server: &TestServer, path: &str) -> Value {
    let req = server.last_request().expect("a request");
    assert_eq!(req.path, path);
    req.json().expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_streams_the_completion_to_stdout() {
    let server = TestServer::start([fixture("native_generate_stream")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "generate",
            "Why is the sky blue? Answer in five words.",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "Because of Rayleigh scattering.\n");
    assert_eq!(
        sent(&server, "/api/generate"),
        json!({"model": "llama3.2", "prompt": "Why is the sky blue? Answer in five words."})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_fills_in_the_middle_and_prints_json() {
    let server = TestServer::start([fixture("native_generate_suffix_fim")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "generate",
            "-m",
            "qwen2.5-coder:7b",
            "--suffix",
            "\n    return result\n",
            "--temperature",
            "0",
            "--no-stream",
            "--json",
            "def compute_gcd(a, b):\n",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let out: Value = serde_json::from_str(&run.stdout).expect("JSON output");
    let cand = &out["candidates"][0];
    assert_eq!(
        cand["message"]["parts"][0]["text"],
        "    while b:\n        a, b = b, a % b\n    result = a"
    );
    assert_eq!(cand["finish_reason"], "stop");
    assert!(cand["context"].as_array().is_some_and(|c| c.len() == 36));
    // Sent as recorded (the temperature as the float it is).
    let mut expected = fixture("native_generate_suffix_fim").raw()["request"]["body"].clone();
    expected["options"]["temperature"] = json!(0.0);
    assert_eq!(sent(&server, "/api/generate"), expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_suffix_on_a_model_without_insert_names_model_and_capability() {
    let server = TestServer::start([fixture("native_generate_suffix_unsupported")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "generate",
            "--suffix",
            "    return c",
            "def add(",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(7), "{run:?}");
    let line = run.error_line();
    assert!(line.contains("llama3.2 does not support insert"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_raw_sends_the_prompt_verbatim_and_refuses_raw_with_system() {
    let server = TestServer::start([fixture("native_generate_raw")]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "generate",
            "-m",
            "mistral",
            "--raw",
            "--no-stream",
            "[INST] why is the sky blue? [/INST]",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.starts_with(" The sky appears blue"), "{run:?}");
    assert_eq!(sent(&server, "/api/generate")["raw"], true);
    let run = llmport(
        &["--host", &server.url(), "generate", "--raw", "-s", "x", "p"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "a usage error: {run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logprobs_appear_in_json_output_of_generate_and_chat() {
    let server = TestServer::start([
        fixture("native_generate_logprobs_stream"),
        fixture("openai_chat_logprobs_stream"),
    ])
    .await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "generate",
            "--logprobs",
            "3",
            "--json",
            "Say hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let out: Value = serde_json::from_str(&run.stdout).expect("JSON output");
    let lp = out["candidates"][0]["logprobs"]
        .as_array()
        .expect("logprobs");
    assert_eq!(lp.len(), 3);
    assert_eq!(lp[0]["token"], "Hi");
    assert_eq!(lp[0]["top_logprobs"].as_array().unwrap().len(), 3);
    let body = sent(&server, "/api/generate");
    assert_eq!(
        (body["logprobs"].clone(), body["top_logprobs"].clone()),
        (json!(true), json!(3))
    );

    let run = llmport(
        &[
            "--host",
            &server.url(),
            "chat",
            "--logprobs",
            "3",
            "--json",
            "Say hi",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let out: Value = serde_json::from_str(&run.stdout).expect("JSON output");
    assert_eq!(
        out["candidates"][0]["logprobs"].as_array().unwrap().len(),
        3
    );
    let body = sent(&server, "/v1/chat/completions");
    assert_eq!(body["top_logprobs"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_sends_images_as_raw_base64() {
    let name = "native_generate_images";
    let recorded = fixture(name).raw()["request"]["body"].clone();
    // The transcript's 1x1 PNG (its `images[0]`, decoded).
    let png: &[u8] = &[
        137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6,
        0, 0, 0, 31, 21, 196, 137, 0, 0, 0, 13, 73, 68, 65, 84, 120, 218, 99, 100, 248, 207, 80,
        15, 0, 3, 134, 1, 128, 90, 52, 125, 107, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pixel.png");
    std::fs::write(&path, png).unwrap();
    let server = TestServer::start([fixture(name)]).await;
    let run = llmport(
        &[
            "--host",
            &server.url(),
            "generate",
            "-m",
            "gemma3:4b",
            "--image",
            path.to_str().unwrap(),
            "--no-stream",
            recorded["prompt"].as_str().unwrap(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "The image is a single orange pixel on a plain background.\n"
    );
    assert_eq!(sent(&server, "/api/generate"), recorded);
}
