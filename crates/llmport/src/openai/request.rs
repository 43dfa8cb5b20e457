//! Our [`Message`]s and [`Options`] → a Chat Completions request body. The only place that
//! knows the request's JSON field names.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::wire::{
    ChatRequest, ImageUrl, StreamOptions, WireContent, WireFunctionCall, WireMessage, WirePart,
    WireToolCall,
};
use crate::error::{Error, Result};
use crate::json_body::encode_with_extra;
use crate::media::{data_uri, is_text_mime, normalize_mime, read_image_uri};
use crate::message::{Message, Part, Role};
use crate::options::{Options, ResponseFormat};
use crate::tool_schema::{encode_tool, encode_tool_choice};

/// Encodes a chat request as JSON bytes.
pub(crate) fn chat_request_body(
    provider: &'static str,
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
    // Settings meant for another provider would be dropped here without a word.
    if let Some(name) = options.extensions.type_names().next() {
        return Err(Error::unsupported(
            provider,
            format!("{name} (an Options extension)"),
            "the Chat Completions API reads no provider-specific settings: send them through \
             the provider they belong to (e.g. OllamaProvider for OllamaOptions)",
        ));
    }
    let mut wire = Vec::with_capacity(messages.len() + 1);
    if let Some(system) = &options.system {
        wire.push(WireMessage {
            role: "system",
            content: Some(WireContent::Text(Cow::Borrowed(system))),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        });
    }
    for m in messages {
        encode_message(provider, m, &mut wire)?;
    }
    if wire.is_empty() {
        return Err(Error::config(
            "no messages to send: a chat needs at least one message",
        ));
    }
    let req = ChatRequest {
        model,
        messages: wire,
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
        max_tokens: options.max_tokens,
        temperature: options.temperature,
        top_p: options.top_p,
        seed: options.seed,
        stop: &options.stop,
        frequency_penalty: options.frequency_penalty,
        presence_penalty: options.presence_penalty,
        n: options.candidate_count,
        tools: options.tools.iter().map(encode_tool).collect(),
        tool_choice: options.tool_choice.as_ref().map(encode_tool_choice),
        response_format: options.response_format.as_ref().map(encode_response_format),
        reasoning_effort: options.reasoning_effort.map(|e| e.as_str()),
        logprobs: options.logprobs,
        top_logprobs: options.top_logprobs.filter(|_| options.logprobs),
    };
    encode_with_extra(&req, &options.extra)
}

fn encode_message<'a>(
    provider: &'static str,
    m: &'a Message,
    out: &mut Vec<WireMessage<'a>>,
) -> Result<()> {
    if m.role == Role::Tool {
        let mut plain: Vec<&str> = Vec::new();
        for p in &m.parts {
            match p {
                // Tool results go as string content: Ollama drops `tool_call_id` when the
                // content is an array of parts.
                Part::ToolResult(r) => out.push(WireMessage {
                    role: "tool",
                    content: Some(WireContent::Text(Cow::Borrowed(&r.content))),
                    tool_calls: Vec::new(),
                    tool_call_id: Some(&r.call_id),
                    name: r.name.as_deref(),
                }),
                Part::Text { text } => plain.push(text),
                other => {
                    return Err(Error::unsupported(
                        provider,
                        format!("a {} part in a tool message", other.kind()),
                        "tool messages carry tool results or text",
                    ));
                }
            }
        }
        if !plain.is_empty() {
            out.push(WireMessage {
                role: "tool",
                content: Some(WireContent::Text(Cow::Owned(plain.join("\n")))),
                tool_calls: Vec::new(),
                tool_call_id: None,
                name: None,
            });
        }
        return Ok(());
    }

    let mut texts: Vec<Cow<'a, str>> = Vec::new();
    let mut parts: Vec<WirePart<'a>> = Vec::new();
    let mut has_image = false;
    let mut tool_calls = Vec::new();
    let mut tool_results = Vec::new();
    for p in &m.parts {
        match p {
            Part::Text { text } => {
                texts.push(Cow::Borrowed(text));
                parts.push(WirePart::Text {
                    text: Cow::Borrowed(text),
                });
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
                    texts.push(Cow::Borrowed(text));
                    parts.push(WirePart::Text {
                        text: Cow::Borrowed(text),
                    });
                } else if normalize_mime(mime_type).starts_with("image/") {
                    has_image = true;
                    parts.push(WirePart::ImageUrl {
                        image_url: ImageUrl {
                            url: data_uri(mime_type, data),
                        },
                    });
                } else {
                    return Err(Error::unsupported(
                        provider,
                        format!("a binary part of type {mime_type}"),
                        "Chat Completions accepts text and images only",
                    ));
                }
            }
            Part::File { uri, mime_type } => {
                has_image = true;
                parts.push(WirePart::ImageUrl {
                    image_url: ImageUrl {
                        url: file_url(provider, uri, mime_type)?,
                    },
                });
            }
            Part::ToolCall(call) => tool_calls.push(WireToolCall {
                id: &call.id,
                kind: "function",
                function: WireFunctionCall {
                    name: call.name.clone(),
                    arguments: call.arguments_json(),
                },
            }),
            Part::ToolResult(r) => tool_results.push(r),
            // Reasoning is the model's own scratch work; it is not sent back.
            Part::Reasoning { .. } => {}
        }
    }
    if !tool_calls.is_empty() && m.role != Role::Assistant {
        return Err(Error::config(
            "tool calls can only appear in assistant messages",
        ));
    }
    let content = if has_image {
        Some(WireContent::Parts(parts))
    } else if texts.is_empty() {
        // An assistant turn that only called tools has no content key at all: Ollama and
        // OpenAI accept that, llama-cpp-python rejects `null`.
        if tool_calls.is_empty() {
            Some(WireContent::Text(Cow::Borrowed("")))
        } else {
            None
        }
    } else if texts.len() == 1 {
        texts.pop().map(WireContent::Text)
    } else {
        Some(WireContent::Text(Cow::Owned(texts.join("\n"))))
    };
    if content.is_some() || !tool_calls.is_empty() {
        out.push(WireMessage {
            role: m.role.as_str(),
            content,
            tool_calls,
            tool_call_id: None,
            name: None,
        });
    }
    for r in tool_results {
        out.push(WireMessage {
            role: "tool",
            content: Some(WireContent::Text(Cow::Borrowed(&r.content))),
            tool_calls: Vec::new(),
            tool_call_id: Some(&r.call_id),
            name: r.name.as_deref(),
        });
    }
    Ok(())
}

/// A file part as an `image_url`: `data:` URIs as they are, `file://` read and inlined,
/// `http(s)://` passed as a URL for the server to fetch.
fn file_url(provider: &'static str, uri: &str, mime: &str) -> Result<String> {
    if uri.starts_with("data:") || uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(uri.to_owned());
    }
    if uri.starts_with("file:") {
        let (bytes, mime) = read_image_uri(uri, mime)?;
        return Ok(data_uri(mime, &bytes));
    }
    Err(Error::unsupported(
        provider,
        format!("the file URI {uri:?}"),
        "use an http(s)://, file:// or data: URI",
    ))
}

fn encode_response_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Json => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => json!({
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": strict},
        }),
    }
}
