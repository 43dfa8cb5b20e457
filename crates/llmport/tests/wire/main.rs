//! The library against the in-process `llmport::testing::TestServer`: requests and answers
//! of every endpoint, streaming, retries, timeouts, secrets, and the test server's own
//! routing. One test binary (one link) for all of them; each module is one concern.
//!
//! Run one module with `cargo test -p llmport --test wire stream::`.

mod accumulate;
mod anthropic;
mod builders;
mod chat;
mod cloud;
mod embeddings;
mod generate;
mod logprobs;
mod ollama_models;
mod ollama_native;
mod ollama_options;
mod props;
mod protocol_replies;
mod reasoning;
mod responses;
mod retry;
mod secrets;
mod stream;
mod stream_task;
mod structured;
mod test_server;
mod timeouts;
mod tools;
mod unsupported;
mod vision;
mod web;
