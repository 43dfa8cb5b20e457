//! Tool calls read back from a model's text, in the formats chat templates teach: Hermes/Qwen
//! (`<tool_call>{"name": …, "arguments": …}</tool_call>`), Mistral (`[TOOL_CALLS][{…}]`) and
//! Llama 3 (the whole answer is `{"name": …, "parameters": …}`, maybe after `<|python_tag|>`),
//! and [`CallWatch`], which streams the text before a call and holds the call back.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::message::ToolCall;

use super::stop::longest_suffix_prefix;

/// How a model writes a tool call: what its chat template teaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallFormat {
    /// `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>` (Hermes, Qwen; and what the
    /// engine describes in the system prompt when the template has no place for tools).
    Hermes,
    /// The whole answer is `{"name": …, "parameters": …}` (Llama 3.1 to 3.3).
    Llama3,
    /// `[TOOL_CALLS][{"name": …, "arguments": …}]` (Mistral).
    Mistral,
}

impl CallFormat {
    /// The format a chat template teaches. `knows_tools` says whether the template renders
    /// the tools itself; if not, the engine describes them in Hermes form, so that is the
    /// format. A template that renders tools but shows none of the known markers gets Hermes
    /// too: it is what [`parse`] reads first.
    pub(crate) fn of_template(source: &str, knows_tools: bool) -> CallFormat {
        if !knows_tools || source.contains("<tool_call>") {
            CallFormat::Hermes
        } else if source.contains("[TOOL_CALLS]") {
            CallFormat::Mistral
        } else if source.contains("<|python_tag|>") || source.contains("<|start_header_id|>") {
            CallFormat::Llama3
        } else {
            CallFormat::Hermes
        }
    }

    /// The text that opens a call, when the format has one (Llama 3's bare JSON has none).
    pub(crate) fn opening(self) -> Option<&'static str> {
        match self {
            CallFormat::Hermes => Some("<tool_call>"),
            CallFormat::Mistral => Some("[TOOL_CALLS]"),
            CallFormat::Llama3 => None,
        }
    }

    /// The key the call's arguments go under.
    pub(crate) fn arguments_key(self) -> &'static str {
        match self {
            CallFormat::Llama3 => "parameters",
            CallFormat::Hermes | CallFormat::Mistral => "arguments",
        }
    }
}

/// Watches an answer that may hold tool calls as it is sampled: text before the format's
/// opening is streamed as it comes (minus a tail that may begin the opening), everything
/// from the opening on is held and read as calls at the end. Llama 3's bare-JSON calls have
/// no opening, and a forced call is all call: then the whole answer is held.
#[derive(Debug)]
pub(crate) struct CallWatch {
    names: Vec<String>,
    opening: Option<&'static str>,
    calling: bool,
    held: String,
}

impl CallWatch {
    /// A watch for calls of the tools named `names`, in `format`; `forced` when the grammar
    /// makes the whole answer a call.
    pub(crate) fn new(names: Vec<String>, format: CallFormat, forced: bool) -> CallWatch {
        let opening = format.opening();
        CallWatch {
            names,
            calling: forced || opening.is_none(),
            opening,
            held: String::new(),
        }
    }

    /// Takes the next piece of text; returns what may be emitted now.
    pub(crate) fn push(&mut self, text: &str) -> String {
        self.held.push_str(text);
        let Some(opening) = self.opening.filter(|_| !self.calling) else {
            return String::new();
        };
        if let Some(at) = self.held.find(opening) {
            self.calling = true;
            let rest = self.held.split_off(at);
            return std::mem::replace(&mut self.held, rest);
        }
        let keep = longest_suffix_prefix(&self.held, opening);
        let rest = self.held.split_off(self.held.len() - keep);
        std::mem::replace(&mut self.held, rest)
    }

    /// The end of the answer: the text not yet emitted (what was held but turned out not to
    /// be a call) and the calls.
    pub(crate) fn finish(self) -> (String, Vec<ToolCall>) {
        let known: Vec<&str> = self.names.iter().map(String::as_str).collect();
        parse(&self.held, &known)
    }
}

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
            match call_from(body) {
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
                if let Some(call) = call_from_value(&item) {
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
                if let Some(call) = call_from_value(&value) {
                    return (String::new(), vec![call]);
                }
            }
        }
    }
    (text.to_owned(), calls)
}

fn call_from(body: &str) -> Option<ToolCall> {
    call_from_value(&serde_json::from_str::<Value>(body.trim()).ok()?)
}

/// The next call id: unique in the process (not only in one answer), so that the calls of
/// several turns of a conversation, whose results are matched to them by id, never share one.
fn next_call_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("call_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn call_from_value(value: &Value) -> Option<ToolCall> {
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
    Some(ToolCall::new(next_call_id(), name, arguments))
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
        assert!(calls[0].id.starts_with("call_"), "{:?}", calls[0].id);
        let (_, again) = parse(
            "<tool_call>\n{\"name\": \"weather\", \"arguments\": {}}\n</tool_call>",
            &["weather"],
        );
        assert_ne!(again[0].id, calls[0].id, "ids are unique across answers");
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

    fn watch(format: CallFormat, forced: bool, pieces: &[&str]) -> (String, String, usize) {
        let mut w = CallWatch::new(vec!["f".into()], format, forced);
        let streamed: String = pieces.iter().map(|p| w.push(p)).collect();
        let (rest, calls) = w.finish();
        (streamed, rest, calls.len())
    }

    #[test]
    fn the_text_before_a_call_streams_and_the_call_is_held() {
        let call = [
            "OK. <to",
            "ol_c",
            "all>\n{\"name\": \"f\", ",
            "\"arguments\": {}}\n</tool_call>",
        ];
        assert_eq!(
            watch(CallFormat::Hermes, false, &call),
            ("OK. ".into(), String::new(), 1)
        );
        // A tail that only looked like an opening is emitted once it is known not to be one.
        assert_eq!(
            watch(CallFormat::Hermes, false, &["a <to", "y> b"]),
            ("a <toy> b".into(), String::new(), 0)
        );
        assert_eq!(
            watch(CallFormat::Hermes, false, &["a <to"]),
            ("a ".into(), "<to".into(), 0)
        );
        // Forced, and Llama 3's bare JSON: all held, read at the end.
        assert_eq!(watch(CallFormat::Hermes, true, &call[2..]).0, "");
        let bare = ["{\"name\": \"f\", ", "\"parameters\": {\"x\": 1}}"];
        assert_eq!(
            watch(CallFormat::Llama3, false, &bare),
            (String::new(), String::new(), 1)
        );
        let mistral = [
            "Sure",
            "[TOOL_",
            "CALLS][{\"name\": \"f\", \"arguments\": {}}]",
        ];
        assert_eq!(
            watch(CallFormat::Mistral, false, &mistral),
            ("Sure".into(), String::new(), 1)
        );
    }

    #[test]
    fn the_format_is_read_from_the_template() {
        let of = CallFormat::of_template;
        assert_eq!(of("{{ messages }}", false), CallFormat::Hermes);
        assert_eq!(
            of("{% if tools %}<tool_call>{% endif %}", true),
            CallFormat::Hermes
        );
        assert_eq!(
            of("{% if tools %}[TOOL_CALLS]{% endif %}", true),
            CallFormat::Mistral
        );
        assert_eq!(
            of("{% if tools %}<|start_header_id|>{% endif %}", true),
            CallFormat::Llama3
        );
        assert_eq!(of("{% if tools %}x{% endif %}", true), CallFormat::Hermes);
    }
}
