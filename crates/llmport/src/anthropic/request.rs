//! Our [`Message`]s and [`Options`] → a Messages API request body.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::options::AnthropicOptions;
use super::reasoning::{Kept, ThinkingBlocks};
use super::wire::{Block, ImageSource, MessagesRequest, WireMessage, WireTool};
use super::{DEFAULT_MAX_TOKENS, PROVIDER};
use crate::error::{Error, Result};
use crate::json_body::{encode_json, encode_with_extra};
use crate::media::{is_text_mime, normalize_mime, read_image_uri};
use crate::message::{Message, Part, Role};
use crate::options::{Options, ReasoningEffort, ResponseFormat, Tool, ToolChoice};

/// Encodes a Messages request as JSON bytes.
pub(crate) fn messages_request_body(
    model: &str,
    messages: &[Message],
    options: &Options,
    stream: bool,
) -> Result<Vec<u8>> {
    if model.is_empty() {
        return Err(Error::config_for(
            "model",
            "no model given: name the model to use",
        ));
    }
    options.validate()?;
    refuse_unsupported(options)?;
    let own = options.extension::<AnthropicOptions>();
    if let Some(o) = own {
        o.validate()?;
    }

    // The Messages API has no system role: system text goes in the top-level `system`.
    let mut system: Vec<&str> = options.system.iter().map(String::as_str).collect();
    let mut wire: Vec<WireMessage<'_>> = Vec::with_capacity(messages.len());
    for m in messages {
        if m.role == Role::System {
            for p in &m.parts {
                match p {
                    Part::Text { text } => system.push(text),
                    other => {
                        return Err(Error::unsupported(
                            PROVIDER,
                            format!("a {} part in a system message", other.kind()),
                            "the Messages API's system prompt is text only",
                        ));
                    }
                }
            }
            continue;
        }
        let (role, blocks) = encode_message(m)?;
        if blocks.is_empty() {
            continue;
        }
        // Consecutive messages of one role are one turn (several tool results answer one
        // assistant turn): merged, as the API wants user and assistant turns to alternate.
        match wire.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => wire.push(WireMessage {
                role,
                content: blocks,
            }),
        }
    }
    if wire.is_empty() {
        return Err(Error::config(
            "no messages to send: a chat needs at least one user message",
        ));
    }
    let thinking = match (
        own.and_then(|o| o.thinking_budget),
        options.reasoning_effort,
    ) {
        (Some(budget), _) => Some(json!({"type": "enabled", "budget_tokens": budget})),
        (None, Some(ReasoningEffort::None)) => Some(json!({"type": "disabled"})),
        (None, Some(other)) => {
            return Err(Error::unsupported(
                PROVIDER,
                format!("Options::reasoning_effort({})", other.as_str()),
                "the Messages API takes a thinking budget in tokens, not a level: set \
                 AnthropicOptions::thinking_budget (and a max_tokens above it)",
            ));
        }
        (None, None) => None,
    };
    let req = MessagesRequest {
        model,
        max_tokens: options.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        system: match system.len() {
            0 => None,
            1 => system.first().map(|s| Cow::Borrowed(*s)),
            _ => Some(Cow::Owned(system.join("\n\n"))),
        },
        messages: wire,
        stream,
        temperature: options.temperature,
        top_p: options.top_p,
        top_k: own.and_then(|o| o.top_k),
        stop_sequences: &options.stop,
        tools: options.tools.iter().map(encode_tool).collect(),
        tool_choice: options.tool_choice.as_ref().map(encode_tool_choice),
        thinking,
        output_config: options
            .response_format
            .as_ref()
            .and_then(encode_output_format),
    };
    let body = encode_with_extra(&req, &options.extra)?;
    if !own.is_some_and(|o| o.cache_prompt) {
        return Ok(body);
    }
    // Through the encoded text (not `serde_json::to_value`, which widens f32 values: see
    // `json_body`); only when caching is asked for.
    let mut value: Value = serde_json::from_slice(&body).map_err(|e| Error::Config {
        setting: None,
        message: "the request could not be encoded as JSON".into(),
        source: Some(Box::new(e)),
    })?;
    mark_cache_breakpoints(&mut value);
    encode_json(&value)
}

/// Puts `cache_control: {"type": "ephemeral"}` on the last tool, the system prompt (as a
/// text block) and the last cacheable block of the last message: three of the four
/// breakpoints the API allows.
fn mark_cache_breakpoints(request: &mut Value) {
    let ephemeral = || json!({"type": "ephemeral"});
    let Some(req) = request.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(tool)) = req
        .get_mut("tools")
        .and_then(Value::as_array_mut)
        .and_then(|t| t.last_mut())
    {
        tool.insert("cache_control".into(), ephemeral());
    }
    if let Some(system) = req.get_mut("system")
        && let Value::String(text) = system
    {
        let text = std::mem::take(text);
        *system = json!([{"type": "text", "text": text, "cache_control": ephemeral()}]);
    }
    if let Some(Value::Object(block)) = req
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .and_then(|m| m.last_mut())
        .and_then(|m| m.get_mut("content"))
        .and_then(Value::as_array_mut)
        .and_then(|blocks| {
            // Thinking blocks cannot be marked.
            blocks
                .iter_mut()
                .rev()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("thinking"))
        })
    {
        block.insert("cache_control".into(), ephemeral());
    }
}

/// Options the Messages API has no field for: refused, never dropped.
fn refuse_unsupported(options: &Options) -> Result<()> {
    let refuse = |option: &str, reason: &str| Err(Error::unsupported(PROVIDER, option, reason));
    if options.seed.is_some() {
        return refuse("Options::seed", "the Messages API has no seed");
    }
    if options.frequency_penalty.is_some() || options.presence_penalty.is_some() {
        return refuse(
            "frequency/presence penalties",
            "the Messages API has no penalties",
        );
    }
    if options.candidate_count.is_some_and(|n| n > 1) {
        return refuse(
            "Options::candidate_count above 1",
            "the Messages API answers with one candidate",
        );
    }
    if options.logprobs || options.top_logprobs.is_some() {
        return refuse(
            "Options::logprobs",
            "the Messages API returns no token log probabilities",
        );
    }
    if matches!(options.response_format, Some(ResponseFormat::Json)) {
        return refuse(
            "ResponseFormat::Json",
            "the Messages API's structured output takes a JSON Schema only (no JSON-object \
             mode): use ResponseFormat::json_schema or ResponseFormat::for_type",
        );
    }
    if let Some(name) = options
        .extensions
        .type_names()
        .find(|n| *n != std::any::type_name::<AnthropicOptions>())
    {
        return refuse(
            &format!("{name} (an Options extension)"),
            "the Messages API reads only AnthropicOptions: send other providers' settings \
             through the provider they belong to",
        );
    }
    Ok(())
}

/// One message's role and content blocks.
fn encode_message(m: &Message) -> Result<(&'static str, Vec<Block<'_>>)> {
    let role = match m.role {
        Role::Assistant => "assistant",
        // Tool results travel in a user turn.
        Role::User | Role::Tool | Role::System => "user",
    };
    let mut blocks = Vec::with_capacity(m.parts.len());
    for p in &m.parts {
        match p {
            Part::Text { text } => {
                // The API refuses empty text blocks.
                if !text.is_empty() {
                    blocks.push(Block::Text {
                        text: Cow::Borrowed(text),
                    });
                }
            }
            Part::Binary {
                data, mime_type, ..
            } => {
                if is_text_mime(mime_type) {
                    let text = std::str::from_utf8(data).map_err(|_| {
                        Error::config(format!(
                            "a binary part of type {mime_type} is not valid UTF-8 text"
                        ))
                    })?;
                    blocks.push(Block::Text {
                        text: Cow::Borrowed(text),
                    });
                } else if normalize_mime(mime_type).starts_with("image/") {
                    blocks.push(Block::Image {
                        source: ImageSource::Base64 {
                            media_type: normalize_mime(mime_type),
                            data: STANDARD.encode(data),
                        },
                    });
                } else {
                    return Err(Error::unsupported(
                        PROVIDER,
                        format!("a binary part of type {mime_type}"),
                        "this client sends text and images to the Messages API",
                    ));
                }
            }
            Part::File { uri, mime_type } => blocks.push(Block::Image {
                source: image_source(uri, mime_type)?,
            }),
            Part::ToolCall(call) => {
                if m.role != Role::Assistant {
                    return Err(Error::config(
                        "tool calls can only appear in assistant messages",
                    ));
                }
                if !call.arguments.is_object() {
                    return Err(Error::config(format!(
                        "the call of {:?} has arguments that are not a JSON object; the \
                         Messages API takes tool input as an object only",
                        call.name
                    )));
                }
                blocks.push(Block::ToolUse {
                    id: &call.id,
                    name: &call.name,
                    input: &call.arguments,
                });
            }
            Part::ToolResult(r) => blocks.push(Block::ToolResult {
                tool_use_id: &r.call_id,
                content: &r.content,
            }),
            Part::Reasoning { text, signature } => {
                // Signed thinking is sent back as it came (the API verifies it, and wants it
                // before the tool calls of the same turn); unsigned reasoning (from another
                // provider) cannot be verified and is left out, as other providers do.
                // Redacted thinking (`reasoning.rs`) goes back as its blocks, in order, the
                // text with the signed one.
                if let (Role::Assistant, Some(sig)) = (m.role, signature.as_deref()) {
                    let kept = ThinkingBlocks::from_signature(sig);
                    let mut text = Some(text.as_str());
                    for block in kept.blocks {
                        blocks.push(match block {
                            Kept::Signature(signature) => Block::Thinking {
                                thinking: Cow::Borrowed(text.take().unwrap_or_default()),
                                signature: Cow::Owned(signature),
                            },
                            Kept::RedactedThinking(data) => Block::RedactedThinking {
                                data: Cow::Owned(data),
                            },
                        });
                    }
                }
            }
        }
    }
    Ok((role, blocks))
}

/// A file part's image source: `http(s)://` as a URL the server fetches, `data:` and
/// `file://` inlined as base64.
fn image_source<'a>(uri: &'a str, mime: &str) -> Result<ImageSource<'a>> {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(ImageSource::Url { url: uri });
    }
    if let Some(rest) = uri.strip_prefix("data:") {
        if let Some((media_type, data)) = rest.split_once(";base64,") {
            return Ok(ImageSource::Base64 {
                media_type: normalize_mime(media_type),
                data: data.to_owned(),
            });
        }
        return Err(Error::unsupported(
            PROVIDER,
            "a data: URI that is not base64",
            "encode the image as data:<type>;base64,<data>",
        ));
    }
    if uri.starts_with("file:") {
        let (bytes, mime) = read_image_uri(uri, mime)?;
        return Ok(ImageSource::Base64 {
            media_type: mime.to_owned(),
            data: STANDARD.encode(bytes),
        });
    }
    Err(Error::unsupported(
        PROVIDER,
        format!("the file URI {uri:?}"),
        "use an http(s)://, file:// or data: URI",
    ))
}

fn encode_tool(t: &Tool) -> WireTool<'_> {
    match t {
        Tool::Function(f) => WireTool {
            name: &f.name,
            description: f.description.as_deref(),
            input_schema: &f.parameters,
        },
    }
}

fn encode_tool_choice(c: &ToolChoice) -> serde_json::Value {
    match c {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Function(name) => json!({"type": "tool", "name": name}),
    }
}

/// Structured output as the Messages API takes it, generally available since early 2026:
/// `output_config: {"format": {"type": "json_schema", "schema": …}}`, no beta header
/// (Anthropic's "Structured outputs" guide,
/// <https://platform.claude.com/docs/en/build-with-claude/structured-outputs>, which says the
/// beta's `output_format` + `anthropic-beta: structured-outputs-2025-11-13` moved there; the
/// SDK's `OutputConfigParam` / `JSONOutputFormatParam`, anthropic-sdk-python
/// `src/anthropic/types/output_config_param.py`). There is no schema name and no `strict`
/// switch: the schema is always enforced. Ollama's and llama-server's `/v1/messages` accept the
/// field and ignore its `format` (measured with llama-server b1-0c1e570; Ollama's
/// `anthropic.OutputConfig` reads only `effort`).
fn encode_output_format(f: &ResponseFormat) -> Option<Value> {
    match f {
        ResponseFormat::JsonSchema { schema, .. } => {
            Some(json!({"format": {"type": "json_schema", "schema": schema}}))
        }
        // Refused in `refuse_unsupported` before this is reached.
        ResponseFormat::Json => None,
    }
}
