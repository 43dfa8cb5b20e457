//! [`ResponsesOptions`]: settings only the Responses API understands.

/// How much of the model's reasoning the server should summarise (`reasoning.summary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReasoningSummary {
    /// The most detailed summary the model offers (`auto`).
    Auto,
    /// A short summary (`concise`).
    Concise,
    /// A longer summary (`detailed`).
    Detailed,
}

impl ReasoningSummary {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningSummary::Auto => "auto",
            ReasoningSummary::Concise => "concise",
            ReasoningSummary::Detailed => "detailed",
        }
    }
}

/// How long the server keeps a prompt's cached prefix (`prompt_cache_retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromptCacheRetention {
    /// While it stays in the server's memory, minutes at most (`in_memory`, the default).
    InMemory,
    /// Up to a day (`24h`), on the models that offer it.
    Day,
}

impl PromptCacheRetention {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptCacheRetention::InMemory => "in_memory",
            PromptCacheRetention::Day => "24h",
        }
    }
}

/// Settings only the Responses API understands, carried in [`Options`](crate::Options) as an
/// extension (the reasoning effort itself is [`Options::reasoning_effort`](crate::Options)):
///
/// ```
/// use llmport::Options;
/// use llmport::responses::{ReasoningSummary, ResponsesOptions};
/// let options = Options::builder()
///     .extension(
///         ResponsesOptions::builder()
///             .reasoning_summary(ReasoningSummary::Auto)
///             .parallel_tool_calls(false)
///             .build(),
///     )
///     .build();
/// assert!(!options.extension::<ResponsesOptions>().unwrap().store);
/// ```
///
/// Any other provider refuses them ([`Error::Unsupported`](crate::Error::Unsupported))
/// rather than dropping them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponsesOptions {
    /// Let the server keep the response (`store: true`). Off by default: this client sends
    /// the whole conversation every time, so nothing needs to be stored, and reasoning comes
    /// back encrypted (`include: ["reasoning.encrypted_content"]`) to be passed back.
    pub store: bool,
    /// Ask for a summary of the reasoning (`reasoning.summary`); it streams as
    /// [`Part::Reasoning`](crate::Part::Reasoning) text.
    pub reasoning_summary: Option<ReasoningSummary>,
    /// Whether the model may call several tools in one turn (`parallel_tool_calls`); the
    /// server's default (yes) when unset.
    pub parallel_tool_calls: Option<bool>,
    /// Requests that share a long prefix (the same instructions, tools and opening turns) and
    /// this key are routed to the same prompt cache (`prompt_cache_key`); the tokens served
    /// from it come back as [`Usage::cached_input_tokens`](crate::Usage::cached_input_tokens).
    pub prompt_cache_key: Option<String>,
    /// How long the cached prefix is kept (`prompt_cache_retention`); the server's default
    /// when unset.
    pub prompt_cache_retention: Option<PromptCacheRetention>,
}

impl ResponsesOptions {
    /// A builder.
    pub fn builder() -> ResponsesOptionsBuilder {
        ResponsesOptionsBuilder::default()
    }
}

/// Builds [`ResponsesOptions`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ResponsesOptionsBuilder {
    opts: ResponsesOptions,
}

impl ResponsesOptionsBuilder {
    /// Let the server store the response (see [`ResponsesOptions::store`]).
    pub fn store(mut self, yes: bool) -> Self {
        self.opts.store = yes;
        self
    }

    /// Ask for a reasoning summary.
    pub fn reasoning_summary(mut self, summary: ReasoningSummary) -> Self {
        self.opts.reasoning_summary = Some(summary);
        self
    }

    /// Allow or forbid several tool calls in one turn.
    pub fn parallel_tool_calls(mut self, yes: bool) -> Self {
        self.opts.parallel_tool_calls = Some(yes);
        self
    }

    /// Route requests with this key to the same prompt cache (see
    /// [`ResponsesOptions::prompt_cache_key`]).
    pub fn prompt_cache_key(mut self, key: impl Into<String>) -> Self {
        self.opts.prompt_cache_key = Some(key.into());
        self
    }

    /// How long the cached prefix is kept.
    pub fn prompt_cache_retention(mut self, retention: PromptCacheRetention) -> Self {
        self.opts.prompt_cache_retention = Some(retention);
        self
    }

    /// The options.
    pub fn build(self) -> ResponsesOptions {
        self.opts
    }
}
