//! Tool declarations as JSON: the `{"type":"function","function":{name, description,
//! parameters}}` object that Chat Completions and Ollama's native chat both take, and the
//! Chat Completions `tool_choice` value.

use serde::Serialize;
use serde_json::{Value, json};

use crate::options::{Tool, ToolChoice};

/// A tool declaration on the wire.
#[derive(Debug, Serialize)]
pub(crate) struct WireTool<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: WireFunctionDecl<'a>,
}

/// The function of a [`WireTool`].
#[derive(Debug, Serialize)]
pub(crate) struct WireFunctionDecl<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub parameters: &'a Value,
}

/// A tool declaration as both wire formats take it.
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

/// A tool choice as Chat Completions' `tool_choice` value.
pub(crate) fn encode_tool_choice(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
    }
}
