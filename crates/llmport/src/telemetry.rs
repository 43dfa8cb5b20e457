//! Tracing of generation calls with OpenTelemetry GenAI attribute names: the `gen_ai.chat`
//! span, the token usage recorded on it, and the opt-in content events. Provider-neutral:
//! every chat endpoint (Chat Completions, Ollama's native chat) reports the same way.
//! Nothing here records a secret, and message content only when the caller opted in.

use crate::message::Message;
use crate::options::Options;
use crate::response::GenResponse;

/// A span with OpenTelemetry GenAI attribute names. No message content, no secrets.
pub(crate) fn chat_span(
    system: &str,
    model: &str,
    options: &Options,
    stream: bool,
) -> tracing::Span {
    tracing::info_span!(
        "gen_ai.chat",
        gen_ai.system = system,
        gen_ai.operation.name = "chat",
        gen_ai.request.model = model,
        gen_ai.request.max_tokens = options.max_tokens,
        gen_ai.request.temperature = options.temperature,
        gen_ai.request.top_p = options.top_p,
        gen_ai.request.stream = stream,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
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

/// Records the answer's token usage on the current `gen_ai.chat` span.
pub(crate) fn record_usage(r: &GenResponse) {
    if let Some(u) = r.meta.usage {
        let span = tracing::Span::current();
        span.record("gen_ai.usage.input_tokens", u.input_tokens);
        span.record("gen_ai.usage.output_tokens", u.output_tokens);
    }
}
