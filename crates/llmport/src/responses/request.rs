//! Our [`Message`]s and [`Options`] → a Responses API request body.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::PROVIDER;
use super::options::{PromptCacheRetention, ResponsesOptions};
use super::reasoning::ReasoningItem;
use super::wire::{
    ContentPart, InputItem, MessageContent, ReasoningText, ResponsesRequest, WireTool,
};
use crate::error::{Error, Result};
use crate::json_body::encode_with_extra;
use crate::media::{data_uri, is_text_mime, normalize_mime, read_image_uri};
use crate::message::{Message, Part, Role};
use crate::options::{Options, ReasoningEffort, ResponseFormat, Tool, ToolChoice};

/// What `include` asks for when reasoning is not stored on the server.
const ENCRYPTED_REASONING: &[&str] = &["reasoning.encrypted_content"];

/// Encodes a Responses request as JSON bytes.
pub(crate) fn responses_request_body(
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
    let own = options.extension::<ResponsesOptions>();
    let store = own.is_some_and(|o| o.store);

    // System text goes in `instructions`, which applies to this turn only: the API keeps it
    // apart from the conversation.
    let mut instructions: Vec<&str> = options.system.iter().map(String::as_str).collect();
    let mut input: Vec<InputItem<'_>> = Vec::with_capacity(messages.len());
    for m in messages {
        if m.role == Role::System {
            for p in &m.parts {
                match p {
                    Part::Text { text } => instructions.push(text),
                    other => {
                        return Err(Error::unsupported(
                            PROVIDER,
                            format!("a {} part in a system message", other.kind()),
                            "the Responses API's instructions are text only",
                        ));
                    }
                }
            }
            continue;
        }
        encode_message(m, &mut input)?;
    }
    if input.is_empty() {
        return Err(Error::config(
            "no messages to send: a chat needs at least one user message",
        ));
    }

    let effort = options.reasoning_effort.map(effort_name);
    let summary = own.and_then(|o| o.reasoning_summary).map(|s| s.as_str());
    let reasoning = match (effort, summary) {
        (None, None) => None,
        (e, s) => {
            let mut r = serde_json::Map::new();
            if let Some(e) = e {
                r.insert("effort".into(), json!(e));
            }
            if let Some(s) = s {
                r.insert("summary".into(), json!(s));
            }
            Some(Value::Object(r))
        }
    };
    // Without storage, reasoning can only be passed back encrypted: asked for whenever
    // reasoning is asked for (a model that does not reason sends none).
    let thinks = options
        .reasoning_effort
        .is_some_and(|e| e != ReasoningEffort::None)
        || summary.is_some();
    let req = ResponsesRequest {
        model,
        instructions: match instructions.len() {
            0 => None,
            1 => instructions.first().map(|s| Cow::Borrowed(*s)),
            _ => Some(Cow::Owned(instructions.join("\n\n"))),
        },
        input,
        stream,
        store,
        temperature: options.temperature,
        top_p: options.top_p,
        max_output_tokens: options.max_tokens,
        tools: options.tools.iter().map(encode_tool).collect(),
        tool_choice: options.tool_choice.as_ref().map(encode_tool_choice),
        parallel_tool_calls: own.and_then(|o| o.parallel_tool_calls),
        text: options
            .response_format
            .as_ref()
            .map(|f| json!({"format": encode_format(f)})),
        reasoning,
        include: if thinks && !store {
            ENCRYPTED_REASONING
        } else {
            &[]
        },
        prompt_cache_key: own.and_then(|o| o.prompt_cache_key.as_deref()),
        prompt_cache_retention: own
            .and_then(|o| o.prompt_cache_retention)
            .map(PromptCacheRetention::as_str),
    };
    encode_with_extra(&req, &options.extra)
}

/// Options the Responses API has no field for: refused, never dropped.
fn refuse_unsupported(options: &Options) -> Result<()> {
    let refuse = |option: &str, reason: &str| Err(Error::unsupported(PROVIDER, option, reason));
    if !options.stop.is_empty() {
        return refuse(
            "Options::stop",
            "the Responses API has no stop sequences: use the Chat Completions API \
             (OpenAiProvider) for them",
        );
    }
    if options.seed.is_some() {
        return refuse("Options::seed", "the Responses API has no seed");
    }
    if options.frequency_penalty.is_some() || options.presence_penalty.is_some() {
        return refuse(
            "frequency/presence penalties",
            "the Responses API has no penalties",
        );
    }
    if options.candidate_count.is_some_and(|n| n > 1) {
        return refuse(
            "Options::candidate_count above 1",
            "the Responses API answers with one candidate",
        );
    }
    if options.logprobs || options.top_logprobs.is_some() {
        return refuse(
            "Options::logprobs",
            "this client does not read the Responses API's log probabilities: use the Chat \
             Completions API (OpenAiProvider) for them",
        );
    }
    if let Some(name) = options
        .extensions
        .type_names()
        .find(|n| *n != std::any::type_name::<ResponsesOptions>())
    {
        return refuse(
            &format!("{name} (an Options extension)"),
            "the Responses API reads only ResponsesOptions: send other providers' settings \
             through the provider they belong to",
        );
    }
    Ok(())
}

/// `Options::reasoning_effort` as `reasoning.effort`; [`ReasoningEffort::Max`] is OpenAI's
/// `xhigh`.
fn effort_name(e: ReasoningEffort) -> &'static str {
    match e {
        ReasoningEffort::Max => "xhigh",
        other => other.as_str(),
    }
}

/// One message as input items: a user turn is one message item; an assistant turn is its
/// reasoning items, its text as a message item and its tool calls as `function_call` items, in
/// the order they came; tool results are `function_call_output` items.
fn encode_message<'a>(m: &'a Message, input: &mut Vec<InputItem<'a>>) -> Result<()> {
    match m.role {
        Role::User | Role::System => {
            let mut parts = Vec::with_capacity(m.parts.len());
            for p in &m.parts {
                match p {
                    Part::ToolResult(r) => input.push(InputItem::FunctionCallOutput {
                        call_id: &r.call_id,
                        output: &r.content,
                    }),
                    Part::ToolCall(_) => {
                        return Err(Error::config(
                            "tool calls can only appear in assistant messages",
                        ));
                    }
                    // Reasoning in a user turn has no place in the API: left out.
                    Part::Reasoning { .. } => {}
                    other => {
                        if let Some(part) = content_part(other)? {
                            parts.push(part);
                        }
                    }
                }
            }
            if !parts.is_empty() {
                input.push(InputItem::Message {
                    role: "user",
                    content: MessageContent::Parts(parts),
                });
            }
        }
        Role::Tool => {
            for p in &m.parts {
                match p {
                    Part::ToolResult(r) => input.push(InputItem::FunctionCallOutput {
                        call_id: &r.call_id,
                        output: &r.content,
                    }),
                    // A tool message's plain text answers the call it names nowhere: the
                    // API needs a call id, so the text cannot be placed.
                    other => {
                        return Err(Error::config(format!(
                            "a tool message holds a {} part: the Responses API takes tool \
                             results (Part::ToolResult, with the call's id) only",
                            other.kind()
                        )));
                    }
                }
            }
        }
        Role::Assistant => {
            // Texts of one turn go out as one message item, where the first one was.
            let mut text_at: Option<usize> = None;
            for p in &m.parts {
                match p {
                    Part::Text { text } => {
                        if text.is_empty() {
                            continue;
                        }
                        match text_at.and_then(|i| input.get_mut(i)) {
                            Some(InputItem::Message {
                                content: MessageContent::Text(t),
                                ..
                            }) => t.to_mut().push_str(text),
                            _ => {
                                text_at = Some(input.len());
                                input.push(InputItem::Message {
                                    role: "assistant",
                                    content: MessageContent::Text(Cow::Borrowed(text)),
                                });
                            }
                        }
                    }
                    Part::ToolCall(call) => input.push(InputItem::FunctionCall {
                        call_id: &call.id,
                        name: &call.name,
                        arguments: match &call.raw_arguments {
                            Some(raw) => Cow::Borrowed(raw),
                            None if call.arguments.is_null() => Cow::Borrowed("{}"),
                            None => Cow::Owned(call.arguments.to_string()),
                        },
                    }),
                    Part::Reasoning { text, signature } => {
                        // Only reasoning that came from a Responses server can be passed
                        // back (see `reasoning.rs`); other reasoning is left out, as every
                        // provider leaves out what it cannot verify.
                        if let Some(item) =
                            signature.as_deref().and_then(ReasoningItem::from_signature)
                        {
                            input.push(reasoning_item(text, item));
                        }
                    }
                    other => {
                        return Err(Error::unsupported(
                            PROVIDER,
                            format!("a {} part in an assistant message", other.kind()),
                            "the Responses API takes text, tool calls and reasoning from the \
                             assistant",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn reasoning_item(text: &str, item: ReasoningItem) -> InputItem<'_> {
    let texts = |kind| {
        if text.is_empty() {
            Vec::new()
        } else {
            vec![ReasoningText { kind, text }]
        }
    };
    let (summary, content) = if item.summary {
        (texts("summary_text"), Vec::new())
    } else {
        (Vec::new(), texts("reasoning_text"))
    };
    InputItem::Reasoning {
        id: item.id,
        summary,
        content,
        encrypted_content: item.encrypted_content,
    }
}

/// A user content part: text, or an image (as a URL, or inline as a `data:` URI).
fn content_part(p: &Part) -> Result<Option<ContentPart<'_>>> {
    Ok(match p {
        Part::Text { text } => (!text.is_empty()).then(|| ContentPart::InputText {
            text: Cow::Borrowed(text),
        }),
        Part::Binary {
            data, mime_type, ..
        } => {
            if is_text_mime(mime_type) {
                let text = std::str::from_utf8(data).map_err(|_| {
                    Error::config(format!(
                        "a binary part of type {mime_type} is not valid UTF-8 text"
                    ))
                })?;
                Some(ContentPart::InputText {
                    text: Cow::Borrowed(text),
                })
            } else if normalize_mime(mime_type).starts_with("image/") {
                Some(ContentPart::InputImage {
                    image_url: Cow::Owned(data_uri(&normalize_mime(mime_type), data)),
                    detail: "auto",
                })
            } else {
                return Err(Error::unsupported(
                    PROVIDER,
                    format!("a binary part of type {mime_type}"),
                    "this client sends text and images to the Responses API",
                ));
            }
        }
        Part::File { uri, mime_type } => Some(ContentPart::InputImage {
            image_url: image_url(uri, mime_type)?,
            detail: "auto",
        }),
        _ => None,
    })
}

/// A file part's image URL: `http(s)://` and `data:` as they are, `file://` inlined.
fn image_url<'a>(uri: &'a str, mime: &str) -> Result<Cow<'a, str>> {
    if uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("data:") {
        return Ok(Cow::Borrowed(uri));
    }
    if uri.starts_with("file:") {
        let (bytes, mime) = read_image_uri(uri, mime)?;
        return Ok(Cow::Owned(data_uri(mime, &bytes)));
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
            kind: "function",
            name: &f.name,
            description: f.description.as_deref(),
            parameters: &f.parameters,
            // The API's default is strict, which refuses most hand-written schemas (it wants
            // every property required and `additionalProperties: false`); Chat Completions'
            // default is not strict, and so is this client's.
            strict: false,
        },
    }
}

fn encode_tool_choice(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Function(name) => json!({"type": "function", "name": name}),
    }
}

/// `text.format`.
fn encode_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Json => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => json!({"type": "json_schema", "name": name, "schema": schema, "strict": strict}),
    }
}
