//! [`CliError`], the one error type of the command line, and the exit status each kind of
//! error maps to.

use std::fmt;
use std::io;

use crate::sanitize;

/// The exit statuses of `llmport`. Every command uses the same mapping; it is also shown at
/// the end of `llmport --help`.
///
/// | status | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | the server answered with an error, or its answer could not be read (or any other failure), including an answer that is not valid HTTP (`Error::Decode`: a server that answered is never "cannot be reached") |
/// | 2 | usage or configuration error: a bad or out-of-range flag (clap's own status), no prompt, an unreadable `--image`, an invalid `--host` |
/// | 3 | the server cannot be reached |
/// | 4 | authentication failed |
/// | 5 | a time limit ran out |
/// | 6 | a streamed answer broke off after it had started (what was printed is incomplete) |
/// | 7 | the server or the model cannot do what was asked (an unsupported option or input, a capability the model lacks, a command that needs Ollama's native API against a server without it) |
/// | 8 | a JSON answer (`--format json`, `--schema`) was cut off by the token limit: what was printed is not a complete document |
/// | 130 | interrupted with Ctrl-C (a pull that was cancelled) |
pub(crate) mod exit {
    /// Success.
    pub(crate) const SUCCESS: u8 = 0;
    /// An error answer from the server, an undecodable answer, or any other failure.
    pub(crate) const GENERIC: u8 = 1;
    /// A usage or configuration error (clap uses the same status for bad flags).
    pub(crate) const USAGE: u8 = 2;
    /// The server cannot be reached.
    pub(crate) const CONNECT: u8 = 3;
    /// Authentication failed.
    pub(crate) const AUTH: u8 = 4;
    /// A time limit ran out.
    pub(crate) const TIMEOUT: u8 = 5;
    /// A stream broke off after it had started.
    pub(crate) const STREAM: u8 = 6;
    /// Something asked for is not supported.
    pub(crate) const UNSUPPORTED: u8 = 7;
    /// A JSON answer was cut off by the token limit (finish reason `length`). Apart from
    /// 6 (a broken stream: trying again may help) because the remedy differs: a higher
    /// `--max-tokens`.
    pub(crate) const CUT_OFF: u8 = 8;
    /// Interrupted by Ctrl-C (SIGINT): 128 + 2, as shells report it.
    pub(crate) const INTERRUPTED: u8 = 130;
}

/// The exit-status table as it appears at the end of `llmport --help`.
pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status:
    0  success
    1  the server answered with an error, or its answer could not be read
    2  usage or configuration error (bad or out-of-range flag, no prompt, unreadable
       --image, invalid --host)
    3  the server cannot be reached
    4  authentication failed
    5  a time limit ran out
    6  a streamed answer broke off after it had started (the printed text is incomplete)
    7  the server or model cannot do what was asked (unsupported option or input, or
       a command that needs Ollama's native API against a server without it)
    8  a JSON answer (--format json, --schema) was cut off by --max-tokens
  130  interrupted with Ctrl-C (a cancelled pull)";

/// What each subcommand's help says about exit statuses: the table is at the top level only.
pub(crate) const EXIT_STATUS_SEE_HELP: &str =
    "Exit status: 0 on success; see `llmport --help` for what the others mean.";

/// Everything that can make a command fail.
#[derive(Debug)]
pub enum CliError {
    /// The command was used wrongly (no prompt, an image that cannot be read, …).
    Usage(String),
    /// The user stopped the command with Ctrl-C; the message says what was stopped
    /// (`pull cancelled`).
    Interrupted(String),
    /// The library failed: the server could not be reached, answered with an error, …
    Llm(llmport::Error),
    /// The server cannot do what the command needs (exit status 7), e.g. `show` against an
    /// OpenAI-compatible server without Ollama's native API; the message says what to do.
    Unsupported(String),
    /// An answer that had to be JSON was cut off by the token limit (exit status 8); it
    /// was printed, and the message says it is incomplete.
    Incomplete(String),
    /// Reading input or writing output failed.
    Io {
        /// What was being done, e.g. "cannot write to stdout".
        context: String,
        /// The I/O error.
        source: io::Error,
    },
}

impl CliError {
    /// A usage error with a message.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        CliError::Io {
            context: context.into(),
            source,
        }
    }

    /// The exit status for this error; see [`exit`].
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::Interrupted(_) => exit::INTERRUPTED,
            CliError::Unsupported(_) => exit::UNSUPPORTED,
            CliError::Incomplete(_) => exit::CUT_OFF,
            CliError::Io { .. } => exit::GENERIC,
            CliError::Llm(e) => match e {
                llmport::Error::Config { .. } => exit::USAGE,
                llmport::Error::Connect { .. } => exit::CONNECT,
                llmport::Error::Auth { .. } => exit::AUTH,
                llmport::Error::Timeout { .. } => exit::TIMEOUT,
                llmport::Error::Stream { .. } => exit::STREAM,
                llmport::Error::Unsupported { .. } | llmport::Error::ModelCapability { .. } => {
                    exit::UNSUPPORTED
                }
                _ => exit::GENERIC,
            },
        }
    }

    /// Whether this is a write to a pipe whose reader has gone (`llmport chat … | head -1`):
    /// not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The error as the one line `llmport` prints: `llmport: <message>`, with any line
    /// breaks of the message (a server's multi-line error text) turned into spaces and
    /// escape sequences and other control characters (which a server may have put in its
    /// error text) removed; see [`crate::sanitize`].
    pub fn line(&self) -> String {
        let message = self.to_string();
        format!("llmport: {}", sanitize::line(message.trim()).trim())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(message)
            | CliError::Interrupted(message)
            | CliError::Unsupported(message)
            | CliError::Incomplete(message) => f.write_str(message),
            CliError::Llm(e) => fmt::Display::fmt(e, f),
            CliError::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Usage(_)
            | CliError::Interrupted(_)
            | CliError::Unsupported(_)
            | CliError::Incomplete(_) => None,
            CliError::Llm(e) => Some(e),
            CliError::Io { source, .. } => Some(source),
        }
    }
}

impl From<llmport::Error> for CliError {
    fn from(e: llmport::Error) -> Self {
        CliError::Llm(e)
    }
}

/// A failed write to stdout.
pub(crate) fn stdout_error(e: io::Error) -> CliError {
    CliError::io("cannot write to stdout", e)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn library_errors_map_to_their_exit_codes() {
        let cases: Vec<(llmport::Error, u8)> = vec![
            (llmport::Error::config("bad"), exit::USAGE),
            (
                llmport::Error::Connect {
                    url: "http://x".into(),
                    server: "Ollama",
                    hint: "is `ollama serve` running?",
                    source: None,
                },
                exit::CONNECT,
            ),
            (
                llmport::Error::Auth {
                    status: Some(401),
                    message: "no".into(),
                    source: None,
                },
                exit::AUTH,
            ),
            (
                llmport::Error::Timeout {
                    kind: llmport::TimeoutKind::Idle,
                    after: Duration::from_secs(1),
                },
                exit::TIMEOUT,
            ),
            (llmport::Error::stream("cut"), exit::STREAM),
            (
                llmport::Error::unsupported("ollama", "x", "y"),
                exit::UNSUPPORTED,
            ),
            (
                llmport::Error::from(llmport::ApiError::new(404, "nope")),
                exit::GENERIC,
            ),
            (llmport::Error::decode("bad json"), exit::GENERIC),
        ];
        for (e, code) in cases {
            assert_eq!(CliError::from(e).exit_code(), code);
        }
        assert_eq!(CliError::usage("x").exit_code(), exit::USAGE);
        assert_eq!(
            CliError::Interrupted("pull cancelled".into()).exit_code(),
            exit::INTERRUPTED
        );
        assert_eq!(CliError::Unsupported("x".into()).exit_code(), 7);
        assert_eq!(CliError::Incomplete("x".into()).exit_code(), 8);
    }

    #[test]
    fn the_error_line_is_one_line() {
        let e = CliError::from(llmport::Error::from(llmport::ApiError::new(
            500,
            "first line\nsecond\r\n\tthird\n",
        )));
        assert_eq!(
            e.line(),
            "llmport: the server answered HTTP 500: first line second third"
        );
    }

    #[test]
    fn the_error_line_carries_no_escape_sequence() {
        let e = CliError::from(llmport::Error::from(llmport::ApiError::new(
            500,
            "bad\x1b]52;c;aGk=\x07 model\x1b[2J\u{9b}31m\x07!",
        )));
        assert_eq!(
            e.line(),
            "llmport: the server answered HTTP 500: bad model!"
        );
    }

    #[test]
    fn broken_pipe_is_recognised() {
        assert!(stdout_error(io::Error::from(io::ErrorKind::BrokenPipe)).is_broken_pipe());
        assert!(!stdout_error(io::Error::other("x")).is_broken_pipe());
    }
}
