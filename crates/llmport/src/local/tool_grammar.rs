//! The grammar that makes a tool call valid while it is sampled, as llama-server does it: the
//! declared tools become one JSON Schema (a `oneOf` of `{"name": const NAME, "arguments":
//! that tool's parameters}`), llama.cpp's own `json_schema_to_grammar` turns it into GBNF,
//! and a start rule of our own wraps it in the format's literal markers. A forced call
//! ([`ToolChoice::Required`](crate::options::ToolChoice), `Function`) uses the grammar from the
//! first token; `Auto` uses it lazily — free text until the model writes the format's
//! opening, then the call must be valid.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::options::Tool;

use super::PROVIDER;
use super::tool_calls::CallFormat;

/// The grammar's start rule. The generated rules are kept as they are (their start rule is
/// `root`) and this one refers to it; `json_schema_to_grammar` names its rules after JSON
/// primitives, properties, `alternative-N` and `$defs` entries, so only a `$defs` entry of this
/// very name could collide — that is checked.
pub(crate) const START: &str = "llmport-tool-call";

/// A tool-call grammar and, for a lazy one, the pattern that sets it off.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolGrammar {
    /// GBNF, started at [`START`].
    pub(crate) gbnf: String,
    /// For `Auto`: a regular expression (llama.cpp's lazy-grammar trigger; its first group
    /// is where the grammar starts) — until it matches, sampling is free.
    pub(crate) trigger: Option<String>,
}

/// The grammar for calls of `tools` (only the one named `only`, when given) in `format`;
/// `lazy` for `Auto`. One call per answer: `Options` has no parallel-calls setting, and
/// llama-server's default is one call too.
pub(crate) fn build(
    tools: &[Tool],
    only: Option<&str>,
    format: CallFormat,
    lazy: bool,
) -> Result<ToolGrammar> {
    let mut defs = Map::new();
    let mut choices = Vec::with_capacity(tools.len());
    for Tool::Function(f) in tools {
        if only.is_some_and(|name| name != f.name) {
            continue;
        }
        let arguments = arguments_schema(&f.parameters, &mut defs, &f.name)?;
        choices.push(json!({
            "type": "object",
            "properties": {"name": {"const": f.name}, format.arguments_key(): arguments},
            "required": ["name", format.arguments_key()],
        }));
    }
    let mut schema = match choices.len() {
        0 => {
            return Err(Error::config_for(
                "Options::tool_choice",
                "names no declared tool: declare the tool with Options::tool, or choose one \
                 of the declared tools",
            ));
        }
        1 => choices.pop().unwrap_or_default(),
        _ => json!({"oneOf": choices}),
    };
    if !defs.is_empty()
        && let Some(object) = schema.as_object_mut()
    {
        object.insert("$defs".into(), Value::Object(defs));
    }
    let generated = llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|e| {
        Error::unsupported(
            PROVIDER,
            "Options::tools",
            format!(
                "llama.cpp cannot turn the tools' parameter schemas into a grammar ({e}); \
                 simplify them or leave tool_choice unset"
            ),
        )
    })?;
    if generated
        .lines()
        .any(|l| l.split_whitespace().next() == Some(START))
    {
        return Err(Error::unsupported(
            PROVIDER,
            "Options::tools",
            format!(
                "a tool's schema defines {START:?}, the name of the engine's own rule: rename it"
            ),
        ));
    }
    let (start, trigger) = match format {
        CallFormat::Hermes => (r#""<tool_call>\n" root "\n</tool_call>""#, "(<tool_call>)"),
        CallFormat::Mistral => (r#""[TOOL_CALLS]" "[" root "]""#, r"(\[TOOL_CALLS\])"),
        // A bare object at the very start of the answer that begins with its name.
        CallFormat::Llama3 => ("root", r#"^\s*(\{\s*"name"\s*:)[\s\S]*$"#),
    };
    Ok(ToolGrammar {
        gbnf: format!("{START} ::= {start}\n{generated}"),
        trigger: lazy.then(|| trigger.to_owned()),
    })
}

/// A tool's parameter schema as the schema of its arguments: none (`null`, `{}`) means an
/// empty object; the schema's own `$defs` / `definitions` move to the combined schema's root,
/// where its `#/$defs/…` references now point.
fn arguments_schema(
    parameters: &Value,
    defs: &mut Map<String, Value>,
    tool: &str,
) -> Result<Value> {
    let mut schema = match parameters {
        Value::Null => return Ok(json!({"type": "object", "properties": {}})),
        Value::Object(o) if o.is_empty() => {
            return Ok(json!({"type": "object", "properties": {}}));
        }
        other => other.clone(),
    };
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        for key in ["$defs", "definitions"] {
            let Some(Value::Object(own)) = object.remove(key) else {
                continue;
            };
            for (name, def) in own {
                if defs.get(&name).is_some_and(|d| *d != def) {
                    return Err(Error::unsupported(
                        PROVIDER,
                        "Options::tools",
                        format!(
                            "two tools define a different schema named {name:?} (in tool \
                             {tool:?}): rename one of them"
                        ),
                    ));
                }
                defs.insert(name, def);
            }
        }
    }
    // `definitions` references become `$defs` ones (the combined schema has one table).
    let text = schema.to_string().replace("\"#/definitions/", "\"#/$defs/");
    serde_json::from_str(&text).map_err(|e| Error::config(format!("a tool schema: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, parameters: Value) -> Tool {
        Tool::function(name, "", parameters)
    }

    #[test]
    fn hermes_wraps_the_generated_root_in_the_tags() {
        let tools = [
            tool(
                "get_weather",
                json!({"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}),
            ),
            tool(
                "add",
                json!({"type": "object", "properties": {
                "a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
            ),
        ];
        let g = build(&tools, None, CallFormat::Hermes, false).unwrap();
        assert!(
            g.gbnf
                .starts_with("llmport-tool-call ::= \"<tool_call>\\n\" root \"\\n</tool_call>\"\n"),
            "{}",
            g.gbnf
        );
        assert!(g.gbnf.contains("\"\\\"get_weather\\\"\""), "{}", g.gbnf);
        assert!(g.gbnf.contains("\"\\\"add\\\"\""), "{}", g.gbnf);
        assert!(
            g.gbnf.lines().any(|l| l.starts_with("root ::=")),
            "{}",
            g.gbnf
        );
        assert_eq!(g.trigger, None);
        // Only the chosen tool's name can be written.
        let g = build(&tools, Some("add"), CallFormat::Hermes, true).unwrap();
        assert!(!g.gbnf.contains("get_weather"), "{}", g.gbnf);
        assert_eq!(g.trigger.as_deref(), Some("(<tool_call>)"));
        let e = build(&tools, Some("nope"), CallFormat::Hermes, false).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
    }

    #[test]
    fn names_with_special_characters_are_escaped_literals() {
        let g = build(
            &[tool("we\"ird\\name é", Value::Null)],
            None,
            CallFormat::Hermes,
            false,
        )
        .unwrap();
        // The JSON string "we\"ird\\name é", as a GBNF literal (each `\` and `"` escaped again).
        assert!(
            g.gbnf.contains(r#""\"we\\\"ird\\\\name é\"""#),
            "{}",
            g.gbnf
        );
    }

    #[test]
    fn no_parameters_is_an_empty_object_and_no_properties_any_object() {
        let empty = build(&[tool("now", json!({}))], None, CallFormat::Hermes, false).unwrap();
        let null = build(&[tool("now", Value::Null)], None, CallFormat::Hermes, false).unwrap();
        assert_eq!(empty, null);
        // The arguments rule is `{` space `}`: no key can be written.
        assert!(
            empty.gbnf.contains(r#"arguments ::= "{" space "}""#),
            "{}",
            empty.gbnf
        );
        let any = build(
            &[tool("log", json!({"type": "object"}))],
            None,
            CallFormat::Hermes,
            false,
        )
        .unwrap();
        assert!(any.gbnf.contains("arguments ::= object"), "{}", any.gbnf);
    }

    #[test]
    fn llama3_and_mistral_forms() {
        let tools = [tool(
            "f",
            json!({"type": "object", "properties": {"x": {"type": "integer"}}}),
        )];
        let g = build(&tools, None, CallFormat::Llama3, true).unwrap();
        assert!(
            g.gbnf.starts_with("llmport-tool-call ::= root\n"),
            "{}",
            g.gbnf
        );
        assert!(g.gbnf.contains("\\\"parameters\\\""), "{}", g.gbnf);
        assert!(g.trigger.unwrap().starts_with('^'));
        let g = build(&tools, None, CallFormat::Mistral, false).unwrap();
        assert!(
            g.gbnf
                .starts_with("llmport-tool-call ::= \"[TOOL_CALLS]\" \"[\" root \"]\"\n"),
            "{}",
            g.gbnf
        );
    }

    #[test]
    fn definitions_move_to_the_root() {
        let params = json!({"type": "object", "properties": {"p": {"$ref": "#/definitions/P"}},
            "definitions": {"P": {"type": "object", "properties": {"n": {"type": "string"}}}}});
        let g = build(&[tool("f", params)], None, CallFormat::Hermes, false).unwrap();
        assert!(g.gbnf.contains("\\\"n\\\""), "{}", g.gbnf);
    }
}
