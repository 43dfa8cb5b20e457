//! Tool calls read back from a model's text, in the formats chat templates teach: Hermes/Qwen
//! (`<tool_call>{"name": …, "arguments": …}</tool_call>`), Mistral (`[TOOL_CALLS][{…}]`) and
//! Llama 3 (the whole answer is `{"name": …, "parameters": …}`, maybe after `<|python_tag|>`).

use serde_json::Value;

use crate::message::ToolCall;

/// Splits `text` into the text meant for the user and the tool calls it holds. `known` are the
/// declared tools' names: a bare JSON object (Llama 3's form) is a call only if it names one.
pub(crate) fn parse(text: &str, known: &[&str]) -> (String, Vec<ToolCall>) {
    let mut calls = Vec::new();
    if text.contains("<tool_call>") {
        let mut rest = text;
        let mut kept = String::new();
        while let Some(start) = rest.find("<tool_call>") {
            kept.push_str(rest.get(..start).unwrap_or_default());
            let after = rest.get(start + "<tool_call>".len()..).unwrap_or_default();
            let (body, next) = match after.find("</tool_call>") {
                Some(end) => (
                    after.get(..end).unwrap_or_default(),
                    after.get(end + "</tool_call>".len()..).unwrap_or_default(),
                ),
                None => (after, ""),
            };
            match call_from(body, calls.len()) {
                Some(call) => calls.push(call),
                None => {
                    kept.push_str("<tool_call>");
                    kept.push_str(body);
                }
            }
            rest = next;
        }
        kept.push_str(rest);
        return (kept.trim().to_owned(), calls);
    }
    if let Some(at) = text.find("[TOOL_CALLS]") {
        let body = text.get(at + "[TOOL_CALLS]".len()..).unwrap_or_default();
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(body.trim()) {
            for item in items {
                if let Some(call) = call_from_value(&item, calls.len()) {
                    calls.push(call);
                }
            }
            if !calls.is_empty() {
                return (text.get(..at).unwrap_or_default().trim().to_owned(), calls);
            }
        }
        return (text.to_owned(), calls);
    }
    let bare = text.trim();
    let bare = bare.strip_prefix("<|python_tag|>").unwrap_or(bare);
    if bare.starts_with('{') {
        if let Ok(value) = serde_json::from_str::<Value>(bare) {
            let named = value.get("name").and_then(Value::as_str);
            if named.is_some_and(|n| known.contains(&n)) {
                if let Some(call) = call_from_value(&value, 0) {
                    return (String::new(), vec![call]);
                }
            }
        }
    }
    (text.to_owned(), calls)
}

fn call_from(body: &str, index: usize) -> Option<ToolCall> {
    call_from_value(&serde_json::from_str::<Value>(body.trim()).ok()?, index)
}

fn call_from_value(value: &Value, index: usize) -> Option<ToolCall> {
    let name = value.get("name")?.as_str()?;
    let arguments = value
        .get("arguments")
        .or_else(|| value.get("parameters"))
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    // Some models write the arguments as a JSON string.
    let arguments = match arguments {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other,
    };
    Some(ToolCall::new(format!("call_{index}"), name, arguments))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hermes_calls_are_read_and_removed_from_the_text() {
        let (text, calls) = parse(
            "Let me check.\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
            &["weather"],
        );
        assert_eq!(text, "Let me check.");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].name, "weather");
        assert_eq!(calls[0].arguments, json!({"city": "Paris"}));
        assert_eq!(calls[0].id, "call_0");
    }

    #[test]
    fn mistral_and_llama3_forms() {
        let (text, calls) = parse(
            "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {}}, {\"name\": \"b\", \"arguments\": {\"x\": 1}}]",
            &["a", "b"],
        );
        assert_eq!(text, "");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].arguments, json!({"x": 1}));
        let (text, calls) = parse(
            "<|python_tag|>{\"name\": \"a\", \"parameters\": {\"q\": \"s\"}}",
            &["a"],
        );
        assert_eq!(
            (text.as_str(), calls[0].arguments.clone()),
            ("", json!({"q": "s"}))
        );
        // A JSON answer that names no declared tool is just text.
        let (text, calls) = parse("{\"name\": \"Bob\"}", &["a"]);
        assert_eq!((text.as_str(), calls.len()), ("{\"name\": \"Bob\"}", 0));
    }
}
