//! `llmport`: chat with Ollama and manage its models from the command line.
//!
//! Every command shares the global `--host` flag. On failure `llmport` prints exactly one line,
//! `llmport: <what went wrong>`, to stderr and exits with a status chosen by the kind of error;
//! see [`error::exit`] for the table (also printed at the end of `llmport --help`). It never
//! panics on bad input and never prints a backtrace.

// No panic reachable from a server's bytes or a user's input (issue 13): outside `cfg(test)`
// nothing unwraps, panics, indexes or slices unchecked, or casts a number into a type it may
// not fit. Where an index or a cast is provably in range (a position memchr just returned
// within the same slice, a constant), a narrow `#[allow(…, reason = "…")]` on the smallest
// item says why; docs/reliability.md lists them. Tests, benches, examples and the
// test-support crate are free to unwrap.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_possible_wrap,
        clippy::string_slice,
        clippy::unreachable,
        clippy::unimplemented,
        clippy::allow_attributes_without_reason
    )
)]
// Nothing is `pub` that the public API does not reach: what is not exported is `pub(crate)`.
#![warn(unreachable_pub)]

mod commands;
mod error;
mod format;
mod local;
mod native_api;
mod output;
mod provider;
mod sanitize;
mod values;

use std::io::Write;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser};

use crate::commands::Command;
use crate::error::{CliError, EXIT_STATUS_HELP, exit};

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "llmport",
    version,
    about = "Chat with local models through Ollama, and manage them.",
    long_about = "Chat with local models through Ollama, and manage them.\n\n\
                  llmport chats through Ollama's OpenAI-compatible API (its native API for \
                  Ollama-only settings, model management and embeddings). Where the server is comes \
                  from --host, else LLMPORT_BASE_URL (the full base URL, with /v1), else \
                  OLLAMA_HOST, else http://localhost:11434.",
    after_help = EXIT_STATUS_HELP,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Flags every command understands.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command understands: where the server is and how to connect to it. They
/// are listed under their own heading in every command's help. Each says which environment
/// variable it overrides as `[env: NAME]`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection options")]
pub struct GlobalArgs {
    /// The Ollama server to talk to [default: http://localhost:11434].
    ///
    /// Only a value given on the command line is kept here; a value from the `OLLAMA_HOST`
    /// environment variable is left to the library, so that `LLMPORT_BASE_URL` keeps
    /// precedence over it.
    #[arg(
        long,
        global = true,
        env = "OLLAMA_HOST",
        // `[env: OLLAMA_HOST]` like the other flags, not `[env: OLLAMA_HOST=<value>]`.
        hide_env_values = true,
        value_name = "HOST",
        long_help = "The Ollama server to talk to [default: http://localhost:11434].\n\n\
                     Follows Ollama's OLLAMA_HOST rules: `host` or `host:port` means http and \
                     port 11434; `http://host` means port 80 and `https://host` port 443 \
                     unless a port is given; a trailing /path is kept; 0.0.0.0 means this \
                     machine. Without --host, LLMPORT_BASE_URL (a full base URL with /v1) \
                     wins over OLLAMA_HOST."
    )]
    pub host: Option<String>,

    /// Longest time to connect, e.g. `10s` (`off`: no limit) [env: LLMPORT_CONNECT_TIMEOUT].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_limit)]
    pub connect_timeout: Option<Limit>,

    /// Longest wait for the first byte of an answer, e.g. `5m`; Ollama sends nothing while it
    /// loads a model [env: LLMPORT_FIRST_BYTE_TIMEOUT].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_limit)]
    pub first_token_timeout: Option<Limit>,

    /// Longest time a streamed answer may go without progress (a token, a tool call, the
    /// end; keep-alives do not count), e.g. `2m` [env: LLMPORT_IDLE_TIMEOUT].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_limit)]
    pub idle_timeout: Option<Limit>,

    /// Longest time a whole streamed answer may take, e.g. `30m` (default: no limit)
    /// [env: LLMPORT_STREAM_TIMEOUT].
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_limit)]
    pub stream_timeout: Option<Limit>,

    /// How many times to retry a request that failed before any answer arrived
    /// (connection errors, 408/409/429/5xx) [env: LLMPORT_RETRIES].
    #[arg(long, global = true, value_name = "N")]
    pub retries: Option<u32>,

    /// Trust this CA certificate (PEM) for HTTPS, e.g. a private CA of a reverse proxy
    /// [env: LLMPORT_CA_CERT].
    #[arg(long, global = true, value_name = "PATH")]
    pub ca_cert: Option<std::path::PathBuf>,

    /// Present this client certificate (PEM) for mutual TLS; needs --client-key
    /// [env: LLMPORT_CLIENT_CERT].
    #[arg(long, global = true, value_name = "PATH", requires = "client_key")]
    pub client_cert: Option<std::path::PathBuf>,

    /// The private key (PEM) of --client-cert [env: LLMPORT_CLIENT_KEY].
    #[arg(long, global = true, value_name = "PATH", requires = "client_cert")]
    pub client_key: Option<std::path::PathBuf>,

    /// Send this header with every request, as `Name: value` (repeatable). Credentials
    /// belong in the environment (LLMPORT_BEARER_TOKEN, LLMPORT_API_KEY, …), not here,
    /// where they would land in shell history.
    #[arg(long = "header", global = true, value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
}

/// A time limit from the command line: a duration, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<std::time::Duration>);

/// Parses `30s`, `2m`, `1h30m`, `500ms`, bare seconds, or `0`/`off`/`none` for no limit.
fn parse_limit(s: &str) -> Result<Limit, String> {
    llmport::env::parse_duration(s)
        .map(Limit)
        .map_err(|e| e.to_string())
}

/// Parses `Name: value`.
fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("expected `Name: value`, got {s:?}")),
    }
}

fn main() -> ExitCode {
    // Usage errors, --help and --version exit here, with clap's own status (2 or 0).
    let cli = match Cli::from_matches(&Cli::command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&CliError::io("cannot start the async runtime", e)),
    };
    let result = runtime.block_on(cli.command.run(&cli.global));
    // Do not wait for blocking work that cannot be cancelled (a pending DNS lookup).
    runtime.shutdown_background();

    match result {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit::SUCCESS),
        Err(e) => fail(&e),
    }
}

impl Cli {
    /// The command line from parsed matches, with `global.host` set only when `--host` was
    /// given on the command line: a value from `OLLAMA_HOST` is left to the library, which
    /// reads it after `LLMPORT_BASE_URL`.
    fn from_matches(matches: &clap::ArgMatches) -> Result<Cli, clap::Error> {
        let mut cli = Cli::from_arg_matches(matches)?;
        if !matches!(matches.value_source("host"), Some(ValueSource::CommandLine)) {
            cli.global.host = None;
        }
        Ok(cli)
    }
}

/// Prints the error's one line to stderr and returns its exit status.
fn fail(e: &CliError) -> ExitCode {
    // If stderr itself is gone there is nobody to tell.
    let _ = writeln!(std::io::stderr().lock(), "{}", e.line());
    ExitCode::from(e.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::from_matches(&Cli::command().try_get_matches_from(args).unwrap()).unwrap()
    }

    #[test]
    fn host_is_global_and_kept_when_given() {
        let cli = parse(&["llmport", "chat", "--host", "h:1", "hi"]);
        assert_eq!(cli.global.host.as_deref(), Some("h:1"));
        let cli = parse(&["llmport", "--host", "h:2", "chat", "hi"]);
        assert_eq!(cli.global.host.as_deref(), Some("h:2"));
    }

    #[test]
    fn text_options_take_values_that_start_with_a_hyphen() {
        let cli = parse(&[
            "llmport",
            "chat",
            "-s",
            "- be brief",
            "--stop",
            "---",
            "--seed",
            "-1",
            "hi",
        ]);
        let args = match cli.command {
            Command::Chat(args) => args,
            other => panic!("not chat: {other:?}"),
        };
        assert_eq!(args.system.as_deref(), Some("- be brief"));
        assert_eq!(args.generation.stop, vec!["---"]);
        assert_eq!(args.generation.seed, Some(-1));
        assert_eq!(args.prompt.as_deref(), Some("hi"));
    }

    #[test]
    fn run_takes_the_model_first_as_ollama_run_does() {
        let cli = parse(&["llmport", "run", "qwen3", "Why?", "--seed", "1"]);
        let args = match cli.command {
            Command::Run(args) => args.into_chat(),
            other => panic!("not run: {other:?}"),
        };
        assert_eq!(args.model, "qwen3");
        assert_eq!(args.prompt.as_deref(), Some("Why?"));
        assert_eq!(args.generation.seed, Some(1));
        let cli = parse(&["llmport", "run", "qwen3"]);
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!((args.model.as_str(), args.chat.prompt), ("qwen3", None));
        assert!(
            Cli::command()
                .try_get_matches_from(["llmport", "run"])
                .is_err(),
            "run needs a MODEL"
        );
    }
}
