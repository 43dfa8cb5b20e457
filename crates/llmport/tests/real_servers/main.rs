//! The library against real servers: nginx as gateway (Basic, Bearer, API key, OAuth2
//! introspection), TLS and mutual TLS with a private CA, and a real OAuth2 server. Each test
//! skips with a printed reason when a program is missing, and fails instead under
//! `LLMPORT_REQUIRE_REAL_SERVERS` (as `.ci/run` sets it).

mod auth;
mod oauth2;
mod tls;
