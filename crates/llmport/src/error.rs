//! The one error type of the crate, classified by what the caller can do about it.

use std::fmt;
use std::time::Duration;

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way a call can fail.
///
/// Errors are classified by meaning, not by the layer that noticed them, so that a caller can
/// decide what to do with one `match`. `Display` reads like a sentence a user can act on; the
/// underlying cause, where there is one, is available through [`std::error::Error::source`].
///
/// No variant ever carries a secret (password, token, API key): messages are built from URLs,
/// statuses and server messages only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid (a bad URL, header, certificate, option value, …).
    #[error("invalid configuration{}: {message}", .setting.as_deref().map(|s| format!(" of {s}")).unwrap_or_default())]
    Config {
        /// The setting that is wrong, as the user wrote it: an environment variable
        /// (`LLMPORT_IDLE_TIMEOUT`), a builder method (`Options::temperature`) or a request
        /// option; `None` when the problem is not one setting's.
        setting: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
        /// The underlying cause, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The server could not be reached (connection refused, DNS failure, TLS handshake failure).
    ///
    /// A server that answered, even with a malformed answer, is never this: that is an
    /// [`Error::Decode`].
    #[error("{}", connect_message(.url, .server, .hint, .source.as_deref()))]
    Connect {
        /// The URL that could not be reached (without credentials).
        url: String,
        /// What was to be reached, as the provider words it (`Ollama`, `the server`).
        server: &'static str,
        /// What to check, as the provider words it (`is \`ollama serve\` running?`).
        hint: &'static str,
        /// The underlying cause.
        #[source]
        source: Option<BoxError>,
    },

    /// A time limit ran out.
    #[error("timed out: no {kind} within {}", fmt_duration(*.after))]
    Timeout {
        /// Which limit ran out.
        kind: TimeoutKind,
        /// The limit that was exceeded.
        after: Duration,
    },

    /// The server refused the credentials (HTTP 401 or 403), or credentials could not be
    /// obtained (e.g. an OAuth2 token endpoint failed).
    #[error("authentication failed{}: {message}", .status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Auth {
        /// The HTTP status, if the failure came from an HTTP response.
        status: Option<u16>,
        /// What failed, e.g. the server's message or the token URL that failed.
        message: String,
        /// The underlying cause, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The server answered with an HTTP error.
    #[error(transparent)]
    Api(Box<ApiError>),

    /// The account's usage allowance is used up: Ollama's cloud (ollama.com directly, or a
    /// `:cloud` model through a local Ollama) answers HTTP 429 "you have reached your
    /// hourly / session / weekly usage limit", with no `Retry-After`.
    ///
    /// A variant of its own, apart from a rate limit (an [`Error::Api`] 429, retried after
    /// `Retry-After` or the backoff), because what helps differs: such a limit resets after
    /// hours, so it is never retried ([`Error::is_retryable`] is `false`), and code that
    /// retries every `Error::Api` with status 429 does not spin on it. Wait for the limit to
    /// reset or raise the plan's limits.
    #[error("usage limit reached: {0}")]
    QuotaExceeded(Box<ApiError>),

    /// The input does not fit the model's context window and the server would not cut it:
    /// Ollama's 400 "the prompt is longer than the context length …" (a chat or generate
    /// request with `shift: false`) or "the input length exceeds the context length" (an
    /// embedding request with `truncate: false`). Shorten the input, raise the context
    /// (`OllamaOptions::num_ctx`), or let the server cut it (the default). Never retried.
    #[error("the input does not fit the model's context window: {0}")]
    ContextLength(Box<ApiError>),

    /// The server's answer could not be decoded (malformed JSON, invalid UTF-8, unexpected shape).
    #[error("could not decode the server's answer: {message}")]
    Decode {
        /// What could not be decoded, with a short excerpt of the offending text.
        message: String,
        /// The underlying cause, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A stream failed after it had started: the server reported an error in the middle of the
    /// stream, the connection broke, or the stream ended without its end marker.
    #[error("the stream failed: {message}")]
    Stream {
        /// What happened.
        message: String,
        /// The underlying cause, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The target cannot honour an option or input; it was refused rather than silently dropped.
    #[error("{option} is not supported by {provider}: {reason}")]
    Unsupported {
        /// The provider that refused it.
        provider: &'static str,
        /// The option or input that was refused.
        option: String,
        /// Why, and what to do instead.
        reason: String,
    },

    /// The model cannot do what the request needs — tools, thinking, images (`vision`),
    /// fill-in-the-middle (`insert`), embeddings, chat (`completion`) — as the server said in
    /// its answer, or as the capabilities it reports for the model show before sending.
    #[error(
        "model {model} does not support {capability} — pick a model with {capability} \
         (`llmport show {model}` lists what it supports)"
    )]
    ModelCapability {
        /// The model, as the request named it.
        model: String,
        /// What it lacks, in the server's word (`tools`, `thinking`, `vision`, `insert`,
        /// `embedding`, `completion`); several are joined with `, ` when the server named
        /// several at once.
        capability: String,
    },

    /// A configured resource limit was exceeded (line length, body size, …).
    #[error("limit exceeded: {what} is larger than {limit} bytes")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// The configured limit in bytes.
        limit: usize,
    },
}

/// A boxed error used as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

fn connect_message(
    url: &str,
    server: &str,
    hint: &str,
    source: Option<&(dyn std::error::Error + Send + Sync + 'static)>,
) -> String {
    // rustls words a refused server certificate "invalid peer certificate: <reason>".
    let mut cause = source.map(|e| e as &(dyn std::error::Error + 'static));
    while let Some(e) = cause {
        if e.to_string().contains("invalid peer certificate") {
            return format!(
                "TLS connection to {url} failed: the server's certificate is not trusted ({e}) — \
                 if it comes from a private CA, add the CA with ClientOptionsBuilder::ca_cert_file \
                 (LLMPORT_CA_CERT)"
            );
        }
        cause = e.source();
    }
    format!("cannot reach {server} at {url} — {hint}")
}

fn fmt_duration(d: Duration) -> String {
    if d.as_millis() % 1000 == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Which time limit ran out, in [`Error::Timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the TCP (and TLS) connection took too long.
    Connect,
    /// The server accepted the request but sent no response (status line and headers, or the
    /// first byte of a streamed body) in time. Ollama sends nothing while it loads a model.
    FirstByte,
    /// A stream made no progress for too long: no token, reasoning delta, tool-call fragment
    /// or finish (keep-alive comments and empty deltas do not count), or a non-streaming body
    /// went silent between two pieces.
    Idle,
    /// The whole call (request and complete body) took too long.
    Total,
    /// A streamed answer did not end within the whole-stream deadline
    /// ([`ClientOptions::stream_timeout`](crate::ClientOptions::stream_timeout)).
    Stream,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connection",
            TimeoutKind::FirstByte => "first byte of the response",
            TimeoutKind::Idle => "data between two stream chunks",
            TimeoutKind::Total => "complete response",
            TimeoutKind::Stream => "end of the streamed answer",
        })
    }
}

/// An HTTP error answer from the server, decoded from its error body where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// The error type the server gave (`invalid_request_error`, `not_found_error`, …), if any.
    pub kind: Option<String>,
    /// The server's message, or the start of the body when it was not a JSON error.
    pub message: String,
    /// The error code the server gave, if any.
    pub code: Option<String>,
    /// The request parameter the server blamed, if any.
    pub param: Option<String>,
    /// How long the server asked the client to wait before trying again (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// A hint for the user on what to do next, e.g. "run `ollama pull llama3.2`".
    pub hint: Option<String>,
    /// Whether the same request may succeed later, as the provider judges this answer
    /// (see [`Error::is_retryable`]). [`ApiError::new`] sets the common rule: 408, 409, 429,
    /// 500, 502, 503 and 504.
    pub retryable: bool,
}

impl ApiError {
    /// An error with a status and message and nothing else.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind: None,
            message: message.into(),
            code: None,
            param: None,
            retry_after: None,
            hint: None,
            retryable: is_retryable_status(status),
        }
    }
}

/// Where the user can sign in to make a refused request work: the
/// [`source`](std::error::Error::source) of an [`Error::Auth`] when the server named a page
/// for it (Ollama's `signin_url`: a local Ollama that is not signed in to ollama.com, asked
/// for a cloud model or web search). Read it with [`Error::signin_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignInRequired {
    /// The page to open in a browser: an `https` URL, checked and normalised (no control
    /// characters, no spaces).
    pub url: String,
}

impl fmt::Display for SignInRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sign in at {}", self.url)
    }
}

impl std::error::Error for SignInRequired {}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the server answered HTTP {}", self.status)?;
        if let Some(kind) = &self.kind {
            write!(f, " ({kind})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " — {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl Error {
    /// A configuration error with a message.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            setting: None,
            message: message.into(),
            source: None,
        }
    }

    /// A configuration error about one setting: `setting` names it as the user wrote it
    /// (an environment variable such as `LLMPORT_IDLE_TIMEOUT`, or a builder method such as
    /// `Options::temperature`), `message` says what is wrong with it and how to fix it.
    pub fn config_for(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            setting: Some(setting.into()),
            message: message.into(),
            source: None,
        }
    }

    /// The setting a [`Error::Config`] names, if any.
    pub fn setting(&self) -> Option<&str> {
        match self {
            Error::Config { setting, .. } => setting.as_deref(),
            _ => None,
        }
    }

    /// An authentication error with a message and no HTTP status, e.g. for a
    /// [`CredentialProvider`](crate::auth::CredentialProvider) that has no credentials to
    /// give. Never put a secret in the message.
    pub fn auth(message: impl Into<String>) -> Self {
        Error::Auth {
            status: None,
            message: message.into(),
            source: None,
        }
    }

    /// A decoding error with a message.
    pub fn decode(message: impl Into<String>) -> Self {
        Error::Decode {
            message: message.into(),
            source: None,
        }
    }

    /// A decoding error for JSON text that does not parse as `T`: says what the text is
    /// (`what`) and shows the text around the spot where parsing failed.
    pub(crate) fn json_mismatch<T>(what: &str, text: &str, e: serde_json::Error) -> Self {
        let target = std::any::type_name::<T>();
        let message = if text.trim().is_empty() {
            format!("{what} is empty, expected JSON for {target}")
        } else {
            format!(
                "{what} is not the JSON expected for {target}: {e}; the text: {}",
                text_around(text, e.line(), e.column())
            )
        };
        Error::Decode {
            message,
            source: Some(Box::new(e)),
        }
    }

    /// A stream error with a message.
    pub fn stream(message: impl Into<String>) -> Self {
        Error::Stream {
            message: message.into(),
            source: None,
        }
    }

    /// An `Unsupported` error.
    pub fn unsupported(
        provider: &'static str,
        option: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Unsupported {
            provider,
            option: option.into(),
            reason: reason.into(),
        }
    }

    /// Whether trying the same call again later may succeed: connection failures, timeouts
    /// before the first byte, and the HTTP answers the provider judged retryable
    /// ([`ApiError::retryable`]; by default 408, 409, 429, 500, 502, 503 and 504).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::Timeout { kind, .. } => {
                matches!(kind, TimeoutKind::Connect | TimeoutKind::FirstByte)
            }
            Error::Api(api) => api.retryable,
            _ => false,
        }
    }

    /// Where to sign in for this request to work, when the server said so (see
    /// [`SignInRequired`]).
    pub fn signin_url(&self) -> Option<&str> {
        match self {
            Error::Auth {
                source: Some(source),
                ..
            } => source
                .downcast_ref::<SignInRequired>()
                .map(|s| s.url.as_str()),
            _ => None,
        }
    }

    /// The HTTP status of the answer that caused this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) | Error::QuotaExceeded(api) | Error::ContextLength(api) => {
                Some(api.status)
            }
            Error::Auth { status, .. } => *status,
            _ => None,
        }
    }

    /// How long the server asked to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// Whether this is a timeout of any kind.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

/// `text` when it is short, else about 160 characters of it around `line`:`column`
/// (1-based, as `serde_json` reports them), with `…` where it was cut.
fn text_around(text: &str, line: usize, column: usize) -> String {
    const RADIUS: usize = 80;
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 2 * RADIUS {
        return text.to_owned();
    }
    // The error's character offset: past `line - 1` newlines, then `column` characters.
    let mut at = 0;
    let mut lines_left = line.saturating_sub(1);
    while lines_left > 0
        && let Some(&c) = chars.get(at)
    {
        if c == '\n' {
            lines_left -= 1;
        }
        at += 1;
    }
    let at = at.saturating_add(column).min(chars.len());
    let start = at.saturating_sub(RADIUS);
    let end = at.saturating_add(RADIUS).min(chars.len());
    let window: String = chars.get(start..end).unwrap_or_default().iter().collect();
    format!(
        "{}{window}{}",
        if start > 0 { "…" } else { "" },
        if end < chars.len() { "…" } else { "" }
    )
}

/// The start of a body as text, whitespace collapsed, for error messages: at most 200
/// characters, from at most the first 800 bytes.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body.get(..MAX * 4).unwrap_or(body));
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > MAX {
        let cut: String = collapsed.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        collapsed
    }
}

/// The HTTP statuses that are worth retrying, unless the provider knows better.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504)
}

/// An [`Error`] for `main` to return, so that a failed program prints what a user can act on.
///
/// When `main` returns `Err(e)`, Rust prints `Error: {e:?}` and exits with status 1. An
/// [`Error`]'s `Debug` shows its fields (meant for programmers); a `Report`'s `Debug` is the
/// error's message followed by its causes, one per line:
///
/// ```text
/// Error: cannot reach Ollama at http://localhost:11434 — is `ollama serve` running?
///   caused by: client error (Connect)
///   caused by: tcp connect error: Connection refused (os error 111)
/// ```
///
/// `?` turns an [`Error`] into a `Report`:
///
/// ```no_run
/// use llmport::{Message, OllamaProvider, Options, Provider};
///
/// #[tokio::main]
/// async fn main() -> Result<(), llmport::Report> {
///     let ollama = OllamaProvider::from_env()?;
///     let answer = ollama
///         .generate("llama3.2", &[Message::user("Hi!")], &Options::default())
///         .await?;
///     println!("{}", answer.text());
///     Ok(())
/// }
/// ```
pub struct Report(Error);

impl Report {
    /// The error reported.
    pub fn error(&self) -> &Error {
        &self.0
    }

    /// The error reported, by value.
    pub fn into_error(self) -> Error {
        self.0
    }
}

impl From<Error> for Report {
    fn from(e: Error) -> Self {
        Report(e)
    }
}

impl fmt::Display for Report {
    /// The message and its causes, as `Debug` writes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(&self.0);
        while let Some(c) = cause {
            write!(f, "\n  caused by: {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_error_reads_like_a_sentence() {
        let e = Error::Connect {
            url: "http://localhost:11434".into(),
            server: "Ollama",
            hint: "is `ollama serve` running?",
            source: None,
        };
        assert_eq!(
            e.to_string(),
            "cannot reach Ollama at http://localhost:11434 — is `ollama serve` running?"
        );
        assert!(e.is_retryable());
    }

    #[test]
    fn api_error_display_includes_kind_message_and_hint() {
        let mut api = ApiError::new(404, "model 'nope' not found");
        api.kind = Some("not_found_error".into());
        api.hint = Some("run `ollama pull nope`".into());
        let e = Error::from(api);
        assert_eq!(
            e.to_string(),
            "the server answered HTTP 404 (not_found_error): model 'nope' not found — run `ollama pull nope`"
        );
        assert_eq!(e.status(), Some(404));
        assert!(!e.is_retryable());
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(Error::from(ApiError::new(s, "")).is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 422, 501] {
            assert!(!Error::from(ApiError::new(s, "")).is_retryable(), "{s}");
        }
    }

    #[test]
    fn json_mismatch_shows_the_text_near_the_error() {
        let e = serde_json::from_str::<u32>("\"x\"").unwrap_err();
        let msg = Error::json_mismatch::<u32>("the answer", "\"x\"", e).to_string();
        assert!(
            msg.contains("the answer is not the JSON expected for u32"),
            "{msg}"
        );
        assert!(msg.ends_with(r#"the text: "x""#), "{msg}");

        let long = format!("{{\"a\": [{}1], \"b\": oops}}", "1,".repeat(200));
        let e = serde_json::from_str::<serde_json::Value>(&long).unwrap_err();
        let msg = Error::json_mismatch::<serde_json::Value>("it", &long, e).to_string();
        assert!(msg.contains("oops"), "{msg}");
        assert!(msg.contains('…'), "{msg}");
        assert!(msg.len() < 400, "{msg}");

        let e = serde_json::from_str::<u32>(" ").unwrap_err();
        let msg = Error::json_mismatch::<u32>("the answer", " ", e).to_string();
        assert!(msg.contains("the answer is empty"), "{msg}");
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = "x".repeat(10_000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 201);
        assert_eq!(excerpt(b" a \n b "), "a b");
    }

    #[test]
    fn timeout_names_the_limit() {
        let e = Error::Timeout {
            kind: TimeoutKind::Idle,
            after: Duration::from_secs(30),
        };
        assert_eq!(
            e.to_string(),
            "timed out: no data between two stream chunks within 30s"
        );
    }

    #[test]
    fn a_report_is_the_message_then_each_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::Decode {
            message: "the answer is not JSON".into(),
            source: Some(Box::new(io)),
        };
        let report = Report::from(e);
        assert_eq!(
            format!("{report:?}"),
            "could not decode the server's answer: the answer is not JSON\n  caused by: refused"
        );
        assert_eq!(report.to_string(), format!("{report:?}"));
        assert!(matches!(report.into_error(), Error::Decode { .. }));
    }
}
