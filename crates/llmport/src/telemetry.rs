//! Tracing of generation calls with OpenTelemetry GenAI attribute names: the `gen_ai.chat`,
//! `gen_ai.text_completion` and `gen_ai.embeddings` spans, the token usage recorded on them, and the opt-in content
//! events. Provider-neutral: every endpoint (Chat Completions, Ollama's native chat, the
//! Messages and Responses APIs) reports the same way, told only which
//! `gen_ai.provider.name` it is. Nothing here records a secret, and message content only when
//! the caller opted in.
//!
//! `gen_ai.provider.name` (which replaced `gen_ai.system` in the GenAI conventions) names
//! the protocol's owner, as the conventions' well-known values do: `openai` for Chat
//! Completions and Responses (whoever serves them: the attribute says which telemetry flavour
//! applies, `server.address` says who answered), `anthropic` for the Messages API, and
//! `ollama` (not a well-known value; lower case, as the conventions ask of others) for
//! Ollama's own paths.

use crate::message::Message;
use crate::options::Options;
use crate::response::GenResponse;

/// A generation span named `$name` for the GenAI operation `$operation`, with the request's
/// attributes and empty usage fields (recorded by [`record_usage`]). A macro, as a span's
/// name must be a literal.
macro_rules! generation_span {
    ($name:literal, $operation:literal, $provider:expr, $model:expr, $options:expr, $stream:expr) => {
        tracing::info_span!(
            $name,
            gen_ai.provider.name = $provider,
            gen_ai.operation.name = $operation,
            gen_ai.request.model = $model,
            gen_ai.request.max_tokens = $options.max_tokens,
            gen_ai.request.temperature = $options.temperature,
            gen_ai.request.top_p = $options.top_p,
            gen_ai.request.stream = $stream,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
        )
    };
}

/// A chat span with OpenTelemetry GenAI attribute names. No message content, no secrets.
pub(crate) fn chat_span(
    provider: &str,
    model: &str,
    options: &Options,
    stream: bool,
) -> tracing::Span {
    generation_span!("gen_ai.chat", "chat", provider, model, options, stream)
}

/// A prompt-completion span (`/api/generate`, `/v1/completions`): the conventions'
/// `text_completion` operation, otherwise as [`chat_span`].
pub(crate) fn completion_span(
    provider: &str,
    model: &str,
    options: &Options,
    stream: bool,
) -> tracing::Span {
    generation_span!(
        "gen_ai.text_completion",
        "text_completion",
        provider,
        model,
        options,
        stream
    )
}

/// An embeddings span with OpenTelemetry GenAI attribute names.
pub(crate) fn embeddings_span(provider: &str, model: &str) -> tracing::Span {
    tracing::info_span!(
        "gen_ai.embeddings",
        gen_ai.provider.name = provider,
        gen_ai.operation.name = "embeddings",
        gen_ai.request.model = model,
        gen_ai.usage.input_tokens = tracing::field::Empty,
    )
}

/// The conversation, as the opt-in `gen_ai.input.messages` attribute (JSON).
pub(crate) fn trace_input(messages: &[Message]) {
    let json = serde_json::to_string(messages).unwrap_or_default();
    tracing::info!(gen_ai.input.messages = %json, "gen_ai.input");
}

/// The answer, as the opt-in `gen_ai.output.messages` attribute (JSON).
pub(crate) fn trace_output(response: &GenResponse) {
    let json = serde_json::to_string(&response.candidates).unwrap_or_default();
    tracing::info!(gen_ai.output.messages = %json, "gen_ai.output");
}

/// Records the answer's token usage on the current `gen_ai.chat` (or `text_completion`) span.
pub(crate) fn record_usage(r: &GenResponse) {
    if let Some(u) = r.meta.usage {
        let span = tracing::Span::current();
        span.record("gen_ai.usage.input_tokens", u.input_tokens);
        span.record("gen_ai.usage.output_tokens", u.output_tokens);
    }
}
