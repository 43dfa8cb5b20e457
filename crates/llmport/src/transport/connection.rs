//! [`Connection`]: the settings every HTTP provider's builder holds to reach its server (base
//! URL, credentials, extra headers, client options, retries), turned into an [`HttpClient`]
//! in one place; and [`provider_setters!`], the builders' shared public setters.
//!
//! Stream limits, the trace-content flag and the informational `models` list are not part of
//! [`Connection`]: the client never reads them (the stream decoder and the telemetry do, on
//! every call, from the built provider), so they stay fields of each builder. Their setters are
//! the same everywhere, though, so the macro writes them too.

use std::sync::Arc;

use http::{HeaderName, HeaderValue};

use super::headers::header_map;
use super::{ClientOptions, ErrorMapping, HttpClient, RetryConfig};
use crate::auth::Auth;
use crate::error::Result;

/// Where a provider's server is and how to talk to it: what [`HttpClient::new`] needs, as a
/// builder collects it (headers still as the user typed them, checked by
/// [`into_client`](Self::into_client)).
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The base URL, as given (each provider normalises its own shape before `into_client`).
    pub(crate) base_url: String,
    /// How requests authenticate.
    pub(crate) auth: Auth,
    /// Extra headers for every request, in the order given.
    pub(crate) headers: Vec<(String, String)>,
    /// Timeouts, proxy, TLS, user agent, ….
    pub(crate) client: ClientOptions,
    /// Retry settings.
    pub(crate) retry: RetryConfig,
}

impl Connection {
    /// Settings for the server at `base_url` (a provider's default), no credentials, no extra
    /// headers, default client and retry settings.
    pub(crate) fn new(base_url: &str) -> Self {
        Connection {
            base_url: base_url.to_owned(),
            auth: Auth::None,
            headers: Vec::new(),
            client: ClientOptions::default(),
            retry: RetryConfig::default(),
        }
    }

    /// The client: the extra headers checked (names, values, then the framing ones
    /// `HttpClient::new` refuses), `defaults` added where the user did not give a header of
    /// that name (e.g. Anthropic's `anthropic-version`), and `errors`, the provider's mapping
    /// of error answers.
    pub(crate) fn into_client(
        self,
        defaults: &[(HeaderName, HeaderValue)],
        errors: Arc<dyn ErrorMapping>,
    ) -> Result<HttpClient> {
        let mut headers = header_map(&self.headers)?;
        for (name, value) in defaults {
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        HttpClient::new(
            &self.base_url,
            headers,
            self.auth,
            self.retry,
            self.client,
            errors,
        )
    }
}

/// Writes the public setters the HTTP providers' builders share, with their doc comments.
///
/// A macro because Rust has no method inheritance: each builder must have its own inherent
/// methods for `OpenAiProvider::builder().retry(r)` to keep working, and the alternatives are
/// worse for users (a `connection(|c| c.retry(r))` closure on every call) or for readers (a
/// `Deref` to a shared builder, which would hide which setters a builder has and return the
/// wrong type from them).
///
/// The invocation sits inside the builder's `impl` block. It starts with the field, in
/// brackets, that holds the fields the setters write (`[]`: the builder itself; `[inner]`:
/// its `inner` field), then names the setters to write, each optionally followed by
/// its doc comment in braces (one string literal a line) where the provider's differs from
/// the shared one; `base_url` has no shared doc, so its doc is required.
/// The fields it writes: `conn` ([`Connection`]), `limits` (`StreamLimits`), `trace_content`,
/// `models`, `description` and `version` (`Option<String>`).
///
/// ```text
/// impl MyProviderBuilder {
///     crate::transport::provider_setters! {
///         []
///         base_url { "The server's root URL." },
///         header { "A header sent with every request (e.g. `x-my-beta`)." },
///         auth, models, client_options, retry, max_stream_line, max_tool_arguments,
///         trace_content,
///     }
/// }
/// ```
macro_rules! provider_setters {
    // One setter: the provider's doc if it gave one, else the shared one; then the method.
    (@doc [] [$($shared:literal)*] $($method:tt)+) => {
        $(#[doc = $shared])* $($method)+
    };
    (@doc [$($doc:literal)+] [$($shared:literal)*] $($method:tt)+) => {
        $(#[doc = $doc])+ $($method)+
    };

    // No shared doc: each provider's URL has its own shape, so the doc is required.
    (@base_url [$($at:ident)?] [$($doc:literal)+]) => {
        $(#[doc = $doc])+
        pub fn base_url(mut self, url: impl Into<String>) -> Self {
            self$(.$at)?.conn.base_url = url.into();
            self
        }
    };
    (@auth [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "How requests authenticate: any [`Auth`](crate::Auth) scheme."
        ]
        pub fn auth(mut self, auth: $crate::Auth) -> Self {
            self$(.$at)?.conn.auth = auth;
            self
        });
    };
    (@header [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc ["A header sent with every request."]
        pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self$(.$at)?.conn.headers.push((name.into(), value.into()));
            self
        });
    };
    (@client_options [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "HTTP client settings (timeouts, proxy, TLS, …)."
        ]
        pub fn client_options(mut self, options: $crate::ClientOptions) -> Self {
            self$(.$at)?.conn.client = options;
            self
        });
    };
    (@retry [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc ["Retry settings."]
        pub fn retry(mut self, retry: $crate::RetryConfig) -> Self {
            self$(.$at)?.conn.retry = retry;
            self
        });
    };
    (@models [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "The models this provider offers (informational: \
             [`Provider::models`](crate::Provider::models))."
        ]
        pub fn models<I, S>(mut self, models: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self$(.$at)?.models = models.into_iter().map(Into::into).collect();
            self
        });
    };
    (@description [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "The description returned by \
             [`Provider::description`](crate::Provider::description)."
        ]
        pub fn description(mut self, d: impl Into<String>) -> Self {
            self$(.$at)?.description = Some(d.into());
            self
        });
    };
    (@version [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "The version returned by [`Provider::version`](crate::Provider::version)."
        ]
        pub fn version(mut self, v: impl Into<String>) -> Self {
            self$(.$at)?.version = Some(v.into());
            self
        });
    };
    (@max_stream_line [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "The longest line of a streamed answer (default 16 MiB)."
        ]
        pub fn max_stream_line(mut self, bytes: usize) -> Self {
            self$(.$at)?.limits.max_line = bytes;
            self
        });
    };
    (@max_tool_arguments [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "The largest tool-call arguments assembled from a stream (default 16 MiB)."
        ]
        pub fn max_tool_arguments(mut self, bytes: usize) -> Self {
            self$(.$at)?.limits.max_tool_arguments = bytes;
            self
        });
    };
    (@trace_content [$($at:ident)?] $doc:tt) => {
        $crate::transport::provider_setters!(@doc $doc [
            "Also put message content into the traces (off by default): the conversation as an"
            "info event with the `gen_ai.input.messages` attribute and, for"
            "[`Provider::generate`](crate::Provider::generate), the answer as"
            "`gen_ai.output.messages` (JSON). Content is often personal or confidential: turn"
            "this on only where the traces may hold it."
        ]
        pub fn trace_content(mut self, yes: bool) -> Self {
            self$(.$at)?.trace_content = yes;
            self
        });
    };

    // The entry point, last: the `@` rules above are tried first for the internal calls.
    // `$at` is the bracketed field (`[]` or `[inner]`), one token tree, passed on whole.
    ($at:tt $($setter:ident $({ $($doc:literal)+ })?),+ $(,)?) => {
        $( $crate::transport::provider_setters!(@$setter $at [$($($doc)+)?]); )+
    };
}
pub(crate) use provider_setters;
