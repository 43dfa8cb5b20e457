//! The seam between the transport and a provider for failures: the transport hands an HTTP
//! error answer to the provider's [`ErrorMapping`], which decodes its body (each API words
//! errors its own way), words the hints and decides whether the answer is worth a retry. The
//! transport knows no provider: it never compares a provider's name, never parses an error
//! body.

use std::fmt;
use std::time::Duration;

use crate::error::Error;

/// An HTTP error answer (not a redirect: the transport words those), with what the request
/// was about.
#[derive(Debug)]
pub(crate) struct ErrorAnswer<'a> {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The answer's `Content-Type` (`""` when absent).
    pub(crate) content_type: &'a str,
    /// The start of the body (bounded).
    pub(crate) body: &'a [u8],
    /// The URL the request went to (the base URL never carries credentials).
    pub(crate) url: &'a url::Url,
    /// The request's path relative to the base URL (`chat/completions`, `api/tags`).
    pub(crate) path: &'a str,
    /// The model the request was about, if any.
    pub(crate) model: Option<&'a str>,
    /// Whether the request carried credentials ([`crate::Auth`] other than `None`, or an
    /// `Authorization` extra header): a 401 or 403 then means they were refused.
    pub(crate) credentials_sent: bool,
    /// How long the server asked to wait before a retry, already parsed (never a panic,
    /// whatever it sent: see [`super::retry`]).
    pub(crate) retry_after: Option<Duration>,
}

/// How a provider names a server it cannot reach: `cannot reach {server} at {url} — {hint}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unreachable {
    /// What was to be reached (`Ollama`, `the server`).
    pub(crate) server: &'static str,
    /// What to check.
    pub(crate) hint: &'static str,
}

/// A provider's mapping from HTTP failures to [`Error`]s, given to the transport when the
/// provider is built.
pub(crate) trait ErrorMapping: fmt::Debug + Send + Sync {
    /// The error for an HTTP error answer. Decides the wording, the hints, and (through
    /// [`crate::ApiError::retryable`]) whether a retry may help.
    fn status_error(&self, answer: &ErrorAnswer<'_>) -> Error;

    /// How a server that cannot be reached is named.
    fn unreachable(&self) -> Unreachable;
}
