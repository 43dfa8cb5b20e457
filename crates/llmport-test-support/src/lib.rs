//! What the llmport library's and CLI's integration tests share (an unpublished workspace
//! member, a dev-dependency of both): the recorded transcripts, providers pointed at a test
//! server, the raw-TCP fault server, the real servers of the auth and TLS tests (nginx, an
//! OAuth2 server, a private CA), running the `llmport` binary, and the environment a test
//! clears. A library, so that each test binary links only what it uses.
//!
//! The in-process HTTP server itself, and the server lifecycle the fault server shares with
//! it, are public in `llmport::testing` (feature `test-util`), for users' tests too.

pub mod cli;
pub mod env;
pub mod faults;
mod fixtures;
pub mod nginx;
pub mod oauth;
pub mod pki;
mod providers;
pub mod real;
pub mod trace;

pub use fixtures::*;
pub use providers::*;

/// `bytes` gzip-encoded.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// A port on 127.0.0.1 with nothing listening.
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}
