//! Finding the real programs the auth tests run (nginx, node, openssl, htpasswd), and the
//! rule for when one is missing: skip with a clear message on a developer's machine, fail
//! when `LLMPORT_REQUIRE_REAL_SERVERS` is set (as `.ci/run` does).

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The path of program `name` on `PATH` (or in `/usr/sbin`, where Debian puts nginx).
/// `LLMPORT_TEST_HIDE_PROGRAMS=nginx,node` pretends the listed programs are missing, to try
/// the skip path.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let hidden = std::env::var("LLMPORT_TEST_HIDE_PROGRAMS").unwrap_or_default();
    if hidden.split(',').any(|h| h.trim() == name) {
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The program, or `None` after printing why the calling test is skipped. Panics instead
/// when `LLMPORT_REQUIRE_REAL_SERVERS` is set, so CI never skips silently.
pub fn require_program(name: &str, install: &str) -> Option<PathBuf> {
    match find_program(name) {
        Some(p) => Some(p),
        None => unavailable(&format!("`{name}` is not installed"), install),
    }
}

/// Skips the calling test (printing why) or, under `LLMPORT_REQUIRE_REAL_SERVERS`, fails it.
pub fn unavailable<T>(problem: &str, fix: &str) -> Option<T> {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if std::env::var_os("LLMPORT_REQUIRE_REAL_SERVERS").is_some() {
        panic!("{test}: {problem} but LLMPORT_REQUIRE_REAL_SERVERS is set; fix: {fix}");
    }
    // Straight to the process's stderr, past the test harness's output capture, so that a
    // skip is visible in a normal `cargo test` run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {problem} (fix: {fix}); this test runs against the real program"
    );
    None
}

/// Prints why the calling test is skipped (for a limitation of the machine, not a missing
/// program), visible in a normal `cargo test` run.
pub fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// Runs a command to completion, panicking with its output if it fails.
pub fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Free ports on 127.0.0.1 (bound and released; the caller binds them again at once).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

/// Waits until something accepts connections on `port`, or `limit` passes.
pub fn wait_for_port(port: u16, limit: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A random string for a credential, unique to the test run.
pub fn random_secret(prefix: &str) -> String {
    let tail: String = (0..20).map(|_| fastrand::alphanumeric()).collect();
    format!("{prefix}-{tail}")
}
