//! What a model can do, checked before a request is sent: the capabilities and `think`
//! values `/api/show` reports, looked up once per model and kept for the provider's lifetime
//! (a provider talks to one server, so the cache is per model and server).
//!
//! Two checks, with different defaults:
//! - a `think` **level** (a string) is checked against the model's `thinking.values`
//!   automatically (unless
//!   [`check_think_levels`](super::OllamaProviderBuilder::check_think_levels) is off): newer servers silently replace a value outside the list with the default,
//!   so without the check the caller never learns that the level was ignored. Booleans and
//!   requests without `think` cost nothing: no lookup.
//! - the capabilities a request needs (`tools`, `vision`, `thinking`, `embedding`; `insert`
//!   for a suffix) are checked up front only when
//!   [`check_capabilities`](super::OllamaProviderBuilder::check_capabilities) is on: the
//!   server refuses most of them itself with a 400, which
//!   [`Error::ModelCapability`] already reports, so the default spends no round trip on them.
//!
//! When `/api/show` fails (an old server, a proxy without it, a model the server lacks), the
//! checks are skipped and the request itself reports what is wrong.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::OllamaProvider;
use super::models::ThinkingLevels;
use super::options::{OllamaOptions, Think};
use crate::error::{Error, Result};
use crate::message::{Message, Part};
use crate::options::{Options, ReasoningEffort, ToolChoice};

/// What the server reported about one model.
#[derive(Debug)]
pub(super) struct ModelFacts {
    capabilities: Vec<String>,
    thinking: Option<ThinkingLevels>,
}

/// The facts of each model looked up so far. Shared by clones of the provider.
#[derive(Debug, Clone, Default)]
pub(super) struct FactsCache(Arc<Mutex<HashMap<String, Arc<ModelFacts>>>>);

impl FactsCache {
    fn get(&self, model: &str) -> Option<Arc<ModelFacts>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(model).cloned()
    }

    fn put(&self, model: &str, facts: Arc<ModelFacts>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(model.to_owned(), facts);
    }
}

/// The `think` value a chat sends: the extension's, else the one `reasoning_effort` maps to.
fn requested_think(options: &Options) -> Option<Think> {
    let think = options
        .extension::<OllamaOptions>()
        .and_then(|o| o.think.clone());
    think.or_else(|| options.reasoning_effort.map(super::chat::think_for))
}

/// The capabilities a chat needs.
fn chat_needs(messages: &[Message], options: &Options, think: Option<&Think>) -> Vec<&'static str> {
    let mut needs = Vec::new();
    if !options.tools.is_empty() && options.tool_choice != Some(ToolChoice::None) {
        needs.push("tools");
    }
    let image = |p: &Part| match p {
        Part::Binary { mime_type, .. } => mime_type.starts_with("image/"),
        Part::File { .. } => true,
        _ => false,
    };
    if messages.iter().any(|m| m.parts.iter().any(image)) {
        needs.push("vision");
    }
    if matches!(think, Some(Think::Level(_) | Think::Enabled(true))) {
        needs.push("thinking");
    }
    needs
}

impl OllamaProvider {
    /// Checks a chat against what the model can do (see the module's documentation); costs
    /// nothing unless a check applies.
    pub(super) async fn check_chat(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<()> {
        let level_in_extension = matches!(
            options
                .extension::<OllamaOptions>()
                .and_then(|o| o.think.as_ref()),
            Some(Think::Level(_))
        );
        let level_from_effort = matches!(
            options.reasoning_effort,
            Some(effort) if effort != ReasoningEffort::None
        );
        let level = self.check_think_levels && (level_in_extension || level_from_effort);
        if !self.check_capabilities && !level {
            return Ok(());
        }
        // Boxed: only checked requests carry the lookup's state.
        Box::pin(self.check_chat_with_facts(model, messages, options)).await
    }

    async fn check_chat_with_facts(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<()> {
        let Some(facts) = self.model_facts(model).await else {
            return Ok(());
        };
        let think = requested_think(options);
        if self.check_capabilities {
            check_needs(
                model,
                &facts,
                &chat_needs(messages, options, think.as_ref()),
            )?;
        }
        if let (Some(think @ Think::Level(_)), Some(levels)) = (&think, &facts.thinking)
            && self.check_think_levels
            && !levels.accepts(think)
        {
            return Err(Error::unsupported(
                "ollama",
                format!(
                    "think {think:?} for model {model}",
                    think = think.to_string()
                ),
                format!(
                    "the model accepts think values {}{}; the server would silently use its \
                     default instead",
                    levels.list(),
                    levels
                        .default
                        .as_ref()
                        .map(|d| format!(" (default {d})"))
                        .unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// Checks that the model has each capability in `needs` (`insert`, `embedding`, …)
    /// when [`check_capabilities`](super::OllamaProviderBuilder::check_capabilities) is on;
    /// the error is an [`Error::ModelCapability`]. For the endpoints that are not chats.
    pub(crate) async fn require_capabilities(&self, model: &str, needs: &[&str]) -> Result<()> {
        if !self.check_capabilities || needs.is_empty() {
            return Ok(());
        }
        match Box::pin(self.model_facts(model)).await {
            Some(facts) => check_needs(model, &facts, needs),
            None => Ok(()),
        }
    }

    /// What the server reports about `model`, looked up once; `None` when it cannot say.
    async fn model_facts(&self, model: &str) -> Option<Arc<ModelFacts>> {
        if let Some(facts) = self.facts.get(model) {
            return Some(facts);
        }
        match self.show(model).await {
            Ok(info) => {
                let facts = Arc::new(ModelFacts {
                    capabilities: info.capabilities,
                    thinking: info.thinking,
                });
                self.facts.put(model, Arc::clone(&facts));
                Some(facts)
            }
            Err(e) => {
                tracing::debug!(model, error = %e, "no model facts: the checks are skipped");
                // A server that answered (a proxy without /api/show, llama.cpp, a model it
                // lacks) will answer the same next time: no facts, remembered, so that it is
                // not asked again on every request. A failure to reach it is not remembered.
                if matches!(e, Error::Api(_)) {
                    self.facts.put(
                        model,
                        Arc::new(ModelFacts {
                            capabilities: Vec::new(),
                            thinking: None,
                        }),
                    );
                }
                None
            }
        }
    }
}

/// The first capability of `needs` the model lacks, as an [`Error::ModelCapability`]. A
/// server that lists no capabilities (before Ollama 0.30) is not judged.
fn check_needs(model: &str, facts: &ModelFacts, needs: &[&str]) -> Result<()> {
    if facts.capabilities.is_empty() {
        return Ok(());
    }
    match needs
        .iter()
        .find(|need| !facts.capabilities.iter().any(|c| c == *need))
    {
        Some(missing) => Err(Error::ModelCapability {
            model: model.to_owned(),
            capability: (*missing).to_owned(),
        }),
        None => Ok(()),
    }
}
