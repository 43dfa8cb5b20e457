//! Conversation messages: [`Role`], [`Message`] and its [`Part`]s.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that steer the model.
    System,
    /// The person (or program) asking.
    User,
    /// The model.
    Assistant,
    /// The result of a tool the model asked to call.
    Tool,
}

impl Role {
    /// The role's name on the wire: `system`, `user`, `assistant` or `tool`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of a conversation: a role and one or more parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What it holds, in order.
    pub parts: Vec<Part>,
}

/// One piece of a [`Message`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Part {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A file referred to by URI (`https://…`, `file:///…`), with its MIME type.
    File {
        /// Where the file is.
        uri: String,
        /// Its MIME type, e.g. `image/png`.
        mime_type: String,
    },
    /// Inline binary data (an image, a JSON document, …) with its MIME type.
    Binary {
        /// A name for the data (a file name, or a label); informational.
        name: String,
        /// The bytes.
        #[serde(with = "base64_bytes")]
        data: Bytes,
        /// Its MIME type, e.g. `image/jpeg`.
        mime_type: String,
    },
    /// A call of a tool, made by the model.
    ToolCall(ToolCall),
    /// The result of a tool call, sent back to the model.
    ToolResult(ToolResult),
    /// The model's reasoning ("thinking") text, kept apart from its answer.
    Reasoning {
        /// The reasoning text.
        text: String,
        /// The server's opaque signature of the reasoning, when it gives one (Anthropic's
        /// `thinking` blocks): a provider that verifies reasoning sent back in the history
        /// (Anthropic, with tools) needs it unchanged, so it is kept and replayed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, to be quoted in the [`ToolResult`]. Opaque; may be empty on some servers.
    pub id: String,
    /// The name of the function to call.
    pub name: String,
    /// The arguments, parsed as JSON. When the model produced text that is not valid JSON,
    /// this is `Value::Null` and [`ToolCall::raw_arguments`] holds the text.
    pub arguments: serde_json::Value,
    /// The arguments exactly as the model produced them, when they were not valid JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_arguments: Option<String>,
}

impl ToolCall {
    /// A tool call with JSON arguments.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: serde_json::Value,
    ) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
            raw_arguments: None,
        }
    }

    /// A tool call from the argument text the model produced: parsed as JSON when it is
    /// valid, otherwise kept verbatim in [`ToolCall::raw_arguments`].
    pub fn from_raw(id: impl Into<String>, name: impl Into<String>, raw: &str) -> Self {
        let (arguments, raw_arguments) = if raw.trim().is_empty() {
            (serde_json::Value::Object(Default::default()), None)
        } else {
            match serde_json::from_str(raw) {
                Ok(v) => (v, None),
                Err(_) => (serde_json::Value::Null, Some(raw.to_owned())),
            }
        };
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
            raw_arguments,
        }
    }

    /// The arguments deserialized into `T` (typically the type the tool was declared with,
    /// [`Tool::for_type`](crate::Tool::for_type)). When they do not fit, the
    /// [`Error::Decode`](crate::Error::Decode) names the tool and shows the arguments.
    pub fn parse_arguments<T: serde::de::DeserializeOwned>(&self) -> crate::Result<T> {
        let what = format!("the argument text of the call of {:?}", self.name);
        match &self.raw_arguments {
            Some(raw) => serde_json::from_str(raw)
                .map_err(|e| crate::Error::json_mismatch::<T>(&what, raw, e)),
            None => T::deserialize(&self.arguments).map_err(|e| {
                crate::Error::json_mismatch::<T>(&what, &self.arguments.to_string(), e)
            }),
        }
    }

    /// The arguments as JSON text, as they go on the wire.
    pub fn arguments_json(&self) -> String {
        match &self.raw_arguments {
            Some(raw) => raw.clone(),
            None => self.arguments.to_string(),
        }
    }
}

/// The result of a tool call, sent back to the model in a [`Role::Tool`] message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the [`ToolCall`] this answers.
    pub call_id: String,
    /// The name of the tool, if known (some servers use it to match the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The result as text (often JSON).
    pub content: String,
}

impl Part {
    /// What kind of part this is, in words for messages: `text`, `file`, `binary`,
    /// `tool call`, `tool result` or `reasoning`.
    pub fn kind(&self) -> &'static str {
        match self {
            Part::Text { .. } => "text",
            Part::File { .. } => "file",
            Part::Binary { .. } => "binary",
            Part::ToolCall(_) => "tool call",
            Part::ToolResult(_) => "tool result",
            Part::Reasoning { .. } => "reasoning",
        }
    }

    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text { text: text.into() }
    }

    /// The text of a `Text` part, if this is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Part::Text { text } => Some(text),
            _ => None,
        }
    }
}

impl Message {
    /// A message with one text part. The seed's `NewTextMessage(role, text)`.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            parts: vec![Part::text(text)],
        }
    }

    /// A user message with one text part.
    pub fn user(text: impl Into<String>) -> Self {
        Message::text(Role::User, text)
    }

    /// A system message with one text part.
    pub fn system(text: impl Into<String>) -> Self {
        Message::text(Role::System, text)
    }

    /// An assistant message with one text part.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message::text(Role::Assistant, text)
    }

    /// A message with no parts yet.
    pub fn new(role: Role) -> Self {
        Message {
            role,
            parts: Vec::new(),
        }
    }

    /// A message holding a JSON document as a binary part of type `application/json`.
    ///
    /// Providers send it to the model as text. Serializing `value` cannot fail for the types
    /// `serde_json` supports; if it does (a map with non-string keys), the error is returned.
    pub fn json<T: Serialize + ?Sized>(
        role: Role,
        name: impl Into<String>,
        value: &T,
    ) -> Result<Self, serde_json::Error> {
        let data = serde_json::to_vec(value)?;
        Ok(Message::new(role).add_binary(name, data, "application/json"))
    }

    /// A tool message carrying the result of a tool call.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(ToolResult {
                call_id: call_id.into(),
                name: None,
                content: content.into(),
            })],
        }
    }

    /// Adds a text part.
    #[must_use]
    pub fn add_text(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::text(text));
        self
    }

    /// Adds a file part: a URI (`https://…` or `file:///…`) and its MIME type.
    #[must_use]
    pub fn add_file(mut self, uri: impl Into<String>, mime_type: impl Into<String>) -> Self {
        self.parts.push(Part::File {
            uri: uri.into(),
            mime_type: mime_type.into(),
        });
        self
    }

    /// Adds inline binary data (e.g. an image) with its MIME type.
    #[must_use]
    pub fn add_binary(
        mut self,
        name: impl Into<String>,
        data: impl Into<Bytes>,
        mime_type: impl Into<String>,
    ) -> Self {
        self.parts.push(Part::Binary {
            name: name.into(),
            data: data.into(),
            mime_type: mime_type.into(),
        });
        self
    }

    /// Adds a tool call part (for replaying an assistant's tool calls in history).
    #[must_use]
    pub fn add_tool_call(mut self, call: ToolCall) -> Self {
        self.parts.push(Part::ToolCall(call));
        self
    }

    /// All text parts joined, in order. Reasoning is not included.
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let Part::Text { text } = p {
                out.push_str(text);
            }
        }
        out
    }

    /// All reasoning parts joined, in order.
    pub fn reasoning(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let Part::Reasoning { text, .. } = p {
                out.push_str(text);
            }
        }
        out
    }

    /// The tool calls in this message.
    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCall> {
        self.parts.iter().filter_map(|p| match p {
            Part::ToolCall(c) => Some(c),
            _ => None,
        })
    }
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(data: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_build_the_expected_parts() {
        let m = Message::text(Role::User, "hello")
            .add_binary("cat.jpg", vec![1u8, 2, 3], "image/jpeg")
            .add_file("https://example.com/a.png", "image/png")
            .add_text("more");
        assert_eq!(m.parts.len(), 4);
        assert_eq!(m.text_content(), "hellomore");
        match &m.parts[1] {
            Part::Binary {
                name,
                data,
                mime_type,
            } => {
                assert_eq!(name, "cat.jpg");
                assert_eq!(&data[..], &[1, 2, 3]);
                assert_eq!(mime_type, "image/jpeg");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_message_holds_serialized_value() {
        let m = Message::json(Role::User, "doc", &serde_json::json!({"a": 1})).unwrap();
        match &m.parts[0] {
            Part::Binary {
                data, mime_type, ..
            } => {
                assert_eq!(mime_type, "application/json");
                assert_eq!(&data[..], br#"{"a":1}"#);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn tool_call_keeps_invalid_json_raw() {
        let c = ToolCall::from_raw("1", "f", "{not json");
        assert_eq!(c.arguments, serde_json::Value::Null);
        assert_eq!(c.raw_arguments.as_deref(), Some("{not json"));
        assert_eq!(c.arguments_json(), "{not json");
        let c = ToolCall::from_raw("1", "f", r#"{"a":1}"#);
        assert_eq!(c.arguments, serde_json::json!({"a":1}));
        assert_eq!(c.raw_arguments, None);
    }

    #[test]
    fn message_round_trips_through_serde() {
        let m = Message::user("hi").add_binary("x", vec![0u8, 255], "image/png");
        let s = serde_json::to_string(&m).unwrap();
        let back: Message = serde_json::from_str(&s).unwrap();
        assert_eq!(m, back);
    }
}
