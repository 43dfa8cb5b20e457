//! The `llmport` binary end to end against the in-process test server: commands, output,
//! exit statuses, connection settings, native commands and structured output.

mod apis;
mod cli;
mod connection;
mod generate;
mod manage;
mod native;
mod structured;
mod web;
