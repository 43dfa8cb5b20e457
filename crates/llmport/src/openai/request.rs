//! Our [`Message`]s and [`Options`] → a Chat Completions request body. The only place that
//! knows the request's JSON field names.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::wire::{
    ChatRequest, ImageUrl, StreamOptions, WireContent, WireFunctionCall, WireFunctionDecl,
    WireMessage, WirePart, WireTool, WireToolCall,
};
use crate::error::{Error, Result};
use crate::message::{Message, Part, Role};
use crate::options::{Options, ResponseFormat, Tool, ToolChoice};

/// Encodes a chat request as JSON bytes.
pub(crate) fn chat_request_body(
    provider: &'static str,
    model: &str,
    messages: &[Message],
    options: &Options,
    stream: bool,
) -> Result<Vec<u8>> {
    if model.is_empty() {
        return Err(Error::config("no model given: name the model to use"));
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
    };
    check_numbers(options)?;
    encode_with_extra(&req, &options.extra)
}

/// A request body as JSON, with the caller's extra keys merged in: they override typed
/// fields of the same name.
pub(crate) fn encode_with_extra<T: serde::Serialize>(
    req: &T,
    extra: &serde_json::Map<String, Value>,
) -> Result<Vec<u8>> {
    if extra.is_empty() {
        // serde_json::to_vec starts at 128 bytes; a typical request is larger, so start
        // where most end instead of growing twice.
        let mut out = Vec::with_capacity(512);
        serde_json::to_writer(&mut out, req).map_err(encode_error)?;
        return Ok(out);
    }
    let mut value = serde_json::to_value(req).map_err(encode_error)?;
    if let Value::Object(map) = &mut value {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&value).map_err(encode_error)
}

fn encode_error(e: serde_json::Error) -> Error {
    Error::Config {
        message: "the request could not be encoded as JSON".into(),
        source: Some(Box::new(e)),
    }
}

/// JSON has no NaN or infinity: refuse them up front with the option's name.
fn check_numbers(o: &Options) -> Result<()> {
    for (name, v) in [
        ("temperature", o.temperature),
        ("top_p", o.top_p),
        ("frequency_penalty", o.frequency_penalty),
        ("presence_penalty", o.presence_penalty),
    ] {
        if let Some(v) = v
            && !v.is_finite()
        {
            return Err(Error::config(format!("{name} must be a finite number")));
        }
    }
    Ok(())
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
                        format!("a {} part in a tool message", part_kind(other)),
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

pub(crate) fn part_kind(p: &Part) -> &'static str {
    match p {
        Part::Text { .. } => "text",
        Part::File { .. } => "file",
        Part::Binary { .. } => "binary",
        Part::ToolCall(_) => "tool call",
        Part::ToolResult(_) => "tool result",
        Part::Reasoning { .. } => "reasoning",
    }
}

/// MIME types that are sent as text.
pub(crate) fn is_text_mime(mime: &str) -> bool {
    let base = mime.split(';').next().unwrap_or("").trim();
    base.starts_with("text/") || base == "application/json" || base.ends_with("+json")
}

/// A MIME type as it is sent: trimmed and lower-case (MIME types are case-insensitive, but
/// Ollama matches `data:image/png;base64,` byte for byte).
pub(crate) fn normalize_mime(mime: &str) -> String {
    mime.trim().to_ascii_lowercase()
}

/// `data:<mime>;base64,<standard padded base64>` — the only image form every
/// OpenAI-compatible server (Ollama included) accepts.
pub(crate) fn data_uri(mime: &str, data: &[u8]) -> String {
    let prefix = format!("data:{};base64,", normalize_mime(mime));
    let mut s = String::with_capacity(prefix.len() + data.len().div_ceil(3) * 4);
    s.push_str(&prefix);
    STANDARD.encode_string(data, &mut s);
    s
}

/// A file part as an `image_url`: `data:` URIs as they are, `file://` read and inlined,
/// `http(s)://` passed as a URL for the server to fetch.
fn file_url(provider: &'static str, uri: &str, mime: &str) -> Result<String> {
    if uri.starts_with("data:") || uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(uri.to_owned());
    }
    if uri.starts_with("file:") {
        return Ok(data_uri(mime, &read_file_uri(uri)?));
    }
    Err(Error::unsupported(
        provider,
        format!("the file URI {uri:?}"),
        "use an http(s)://, file:// or data: URI",
    ))
}

/// The bytes of the local file a `file://` URI names.
pub(crate) fn read_file_uri(uri: &str) -> Result<Vec<u8>> {
    let url = url::Url::parse(uri)
        .map_err(|e| Error::config(format!("invalid file URI {uri:?}: {e}")))?;
    let path = url
        .to_file_path()
        .map_err(|()| Error::config(format!("the file URI {uri:?} is not a local path")))?;
    std::fs::read(&path).map_err(|e| Error::Config {
        message: format!("cannot read {}", path.display()),
        source: Some(Box::new(e)),
    })
}

/// A tool declaration as Chat Completions (and Ollama's native chat) take it.
pub(crate) fn encode_tool(t: &Tool) -> WireTool<'_> {
    match t {
        Tool::Function(f) => WireTool {
            kind: "function",
            function: WireFunctionDecl {
                name: &f.name,
                description: f.description.as_deref(),
                parameters: &f.parameters,
            },
        },
    }
}

pub(crate) fn encode_tool_choice(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
    }
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
