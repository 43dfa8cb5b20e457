//! Running the `llmport` binary (the CLI's end-to-end tests), with a clean environment.

use std::time::Duration;

use assert_cmd::Command;
use llmport::testing::Transcript;

pub use crate::env::cleared_vars;

/// A recorded Ollama exchange from the library's fixtures.
pub fn fixture(name: &str) -> Transcript {
    let path = crate::fixture_path(name);
    Transcript::load(&path).unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()))
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit status, `None` when killed by a signal.
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Run {
    /// Asserts that stderr is exactly one line, an `llmport:` error without panic text, and
    /// returns it.
    pub fn error_line(&self) -> &str {
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        assert!(!self.stderr.contains("RUST_BACKTRACE"), "{self:?}");
        assert!(self.stderr.ends_with('\n'), "{self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr is not one line: {self:?}");
        assert!(lines[0].starts_with("llmport: "), "{self:?}");
        lines[0]
    }
}

/// Runs `llmport` with `args`, extra environment variables and optional stdin, on a blocking
/// thread (the test server lives on the test's runtime). The variables of
/// [`crate::env::cleared_vars`] are removed first.
pub async fn llmport(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::cargo_bin("llmport").expect("the llmport binary");
        for var in crate::env::cleared_vars() {
            cmd.env_remove(var);
        }
        cmd.env("RUST_BACKTRACE", "1");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.args(args).timeout(Duration::from_secs(60));
        if let Some(input) = stdin {
            cmd.write_stdin(input);
        }
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

/// An address where nothing listens.
///
/// A low port that refuses connections now: the system never hands those out for port 0,
/// so no test server started meanwhile can take it (a port just freed could be, while the
/// client is still retrying). Failing that, a port that was just free.
pub fn dead_host() -> String {
    for port in [1, 9, 47, 97, 107, 111, 113] {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return format!("127.0.0.1:{port}");
            }
            _ => {}
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    format!(
        "127.0.0.1:{}",
        listener.local_addr().expect("its address").port()
    )
}
