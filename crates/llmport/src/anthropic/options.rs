//! [`AnthropicOptions`]: settings only the Messages API understands.

use crate::error::{Error, Result};

/// Settings only the Messages API understands, carried in [`Options`](crate::Options) as an
/// extension:
///
/// ```
/// use llmport::Options;
/// use llmport::anthropic::AnthropicOptions;
/// let options = Options::builder()
///     .max_tokens(8192)
///     .extension(AnthropicOptions::builder().top_k(40).thinking_budget(2048).build())
///     .build();
/// assert_eq!(options.extension::<AnthropicOptions>().unwrap().top_k, Some(40));
/// ```
///
/// Any other provider refuses them ([`Error::Unsupported`]) rather than dropping them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnthropicOptions {
    /// Sample only from the `top_k` most likely tokens (`top_k`), at least 1.
    pub top_k: Option<u32>,
    /// Extended thinking: `thinking: {"type": "enabled", "budget_tokens": n}`. Anthropic
    /// wants at least 1024 and less than `max_tokens`; the server checks.
    pub thinking_budget: Option<u32>,
    /// Prompt caching: marks the tools, the system prompt and the conversation so far as
    /// cache breakpoints (`cache_control: {"type": "ephemeral"}` on the last tool, on the
    /// system text and on the last block of the last message), so that the next call with
    /// the same prefix reads it from the cache ([`Usage`](crate::Usage) then reports
    /// `cached_input_tokens` / `cache_creation_input_tokens`). Off by default.
    pub cache_prompt: bool,
}

impl AnthropicOptions {
    /// A builder.
    pub fn builder() -> AnthropicOptionsBuilder {
        AnthropicOptionsBuilder::default()
    }

    /// Checks the values before anything is sent.
    pub fn validate(&self) -> Result<()> {
        if self.top_k == Some(0) {
            return Err(Error::config_for(
                "AnthropicOptions::top_k",
                "must be at least 1",
            ));
        }
        if self.thinking_budget == Some(0) {
            return Err(Error::config_for(
                "AnthropicOptions::thinking_budget",
                "must be at least 1 (Anthropic wants at least 1024); to turn thinking off, \
                 use Options::reasoning_effort(ReasoningEffort::None)",
            ));
        }
        Ok(())
    }
}

/// Builds [`AnthropicOptions`]; setters never fail, [`AnthropicOptions::validate`] checks.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct AnthropicOptionsBuilder {
    opts: AnthropicOptions,
}

impl AnthropicOptionsBuilder {
    /// Sample only from the `k` most likely tokens.
    pub fn top_k(mut self, k: u32) -> Self {
        self.opts.top_k = Some(k);
        self
    }

    /// Turns extended thinking on with this budget of tokens.
    pub fn thinking_budget(mut self, tokens: u32) -> Self {
        self.opts.thinking_budget = Some(tokens);
        self
    }

    /// Prompt caching on or off (see [`AnthropicOptions::cache_prompt`]).
    pub fn cache_prompt(mut self, yes: bool) -> Self {
        self.opts.cache_prompt = yes;
        self
    }

    /// The options.
    pub fn build(self) -> AnthropicOptions {
        self.opts
    }
}
