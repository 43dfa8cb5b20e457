//! Running the `llmport` binary in tests.
#![allow(dead_code)]

use std::time::Duration;

use assert_cmd::Command;
use llmport::testing::Transcript;

/// A recorded Ollama exchange from the library's fixtures.
pub fn fixture(name: &str) -> Transcript {
    let path = format!(
        "{}/../llmport/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Transcript::load(&path).unwrap_or_else(|e| panic!("cannot load {path}: {e}"))
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit status.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts that stderr is exactly one line, an `llmport:` error without panic text, and
    /// returns it.
    pub fn error_line(&self) -> &str {
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr is not one line: {self:?}");
        assert!(lines[0].starts_with("llmport: "), "{self:?}");
        lines[0]
    }
}

/// Variables that would change where the client connects, how, or with which model.
const CLEARED: &[&str] = &[
    "OLLAMA_HOST",
    "LLMPORT_BASE_URL",
    "LLMPORT_MODEL",
    "LLMPORT_BEARER_TOKEN",
    "LLMPORT_API_KEY",
    "LLMPORT_API_KEY_HEADER",
    "LLMPORT_BASIC_USER",
    "LLMPORT_BASIC_PASSWORD",
    "LLMPORT_RETRIES",
    "LLMPORT_CONNECT_TIMEOUT",
    "LLMPORT_FIRST_BYTE_TIMEOUT",
    "LLMPORT_IDLE_TIMEOUT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// Runs `llmport` with `args` and extra environment variables on a blocking thread (the test
/// server lives on the test's runtime).
pub async fn llmport(args: &[&str], envs: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("llmport").expect("the llmport binary");
        for var in CLEARED {
            cmd.env_remove(var);
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.args(args).timeout(Duration::from_secs(60));
        let out = cmd.output().expect("run llmport");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
        }
    })
    .await
    .expect("the blocking task")
}
