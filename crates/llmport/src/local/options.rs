//! [`LocalOptions`]: the sampling and context settings of the local engine that
//! [`Options`](crate::Options) has no field for, carried as an `Options` extension.

use crate::error::{Error, Result};
use crate::options::check_range;

/// Settings only the local engine reads: add them with
/// `Options::builder().extension(LocalOptions::builder().top_k(40).build())`.
///
/// Unset fields take the model's defaults (its Ollama manifest's parameters, if it came from
/// Ollama's store), else llama.cpp's.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LocalOptions {
    /// Keep only the `k` most likely tokens (≥ 1; default 40).
    pub top_k: Option<u32>,
    /// Drop tokens less likely than `min_p` × the most likely one's probability (0–1;
    /// default 0.05).
    pub min_p: Option<f32>,
    /// Penalty for repeating a token of the last `repeat_last_n` (1.0 = none, the default).
    pub repeat_penalty: Option<f32>,
    /// How many recent tokens the penalties look at (default 64).
    pub repeat_last_n: Option<u32>,
    /// The context size in tokens, prompt and answer together (default 4096, capped at the
    /// model's training context).
    pub num_ctx: Option<u32>,
    /// Whether one answer may hold several tool calls (default `false`: one call, as
    /// llama-server). It shapes the grammar that keeps calls valid.
    pub parallel_tool_calls: Option<bool>,
}

impl LocalOptions {
    /// A builder.
    pub fn builder() -> LocalOptionsBuilder {
        LocalOptionsBuilder::default()
    }

    /// Checks the ranges; the error is an [`Error::Config`] naming the option.
    pub fn validate(&self) -> Result<()> {
        if self.top_k == Some(0) {
            return Err(Error::config_for(
                "LocalOptions::top_k",
                "must be at least 1",
            ));
        }
        if self.num_ctx.is_some_and(|n| n < 16) {
            return Err(Error::config_for(
                "LocalOptions::num_ctx",
                "must be at least 16 tokens (the context holds the prompt and the answer)",
            ));
        }
        check_range("LocalOptions::min_p", self.min_p, 0.0, 1.0, true)?;
        check_range(
            "LocalOptions::repeat_penalty",
            self.repeat_penalty,
            0.0,
            f32::MAX,
            false,
        )?;
        Ok(())
    }
}

/// Builds [`LocalOptions`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct LocalOptionsBuilder {
    opts: LocalOptions,
}

impl LocalOptionsBuilder {
    /// See [`LocalOptions::top_k`].
    pub fn top_k(mut self, k: u32) -> Self {
        self.opts.top_k = Some(k);
        self
    }
    /// See [`LocalOptions::min_p`].
    pub fn min_p(mut self, p: f32) -> Self {
        self.opts.min_p = Some(p);
        self
    }
    /// See [`LocalOptions::repeat_penalty`].
    pub fn repeat_penalty(mut self, p: f32) -> Self {
        self.opts.repeat_penalty = Some(p);
        self
    }
    /// See [`LocalOptions::repeat_last_n`].
    pub fn repeat_last_n(mut self, n: u32) -> Self {
        self.opts.repeat_last_n = Some(n);
        self
    }
    /// See [`LocalOptions::num_ctx`].
    pub fn num_ctx(mut self, n: u32) -> Self {
        self.opts.num_ctx = Some(n);
        self
    }
    /// See [`LocalOptions::parallel_tool_calls`].
    pub fn parallel_tool_calls(mut self, yes: bool) -> Self {
        self.opts.parallel_tool_calls = Some(yes);
        self
    }
    /// The options.
    pub fn build(self) -> LocalOptions {
        self.opts
    }
}
