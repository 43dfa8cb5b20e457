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

/// How the calls of one answer are constrained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// `Auto`: free text until a call opens.
    pub(crate) lazy: bool,
    /// One or more calls rather than exactly one (Hermes and Mistral; Llama 3's bare JSON
    /// holds one).
    pub(crate) parallel: bool,
}

/// The grammar for calls of `tools` (only the one named `only`, when given) in `format`.
pub(crate) fn build(
    tools: &[Tool],
    only: Option<&str>,
    format: CallFormat,
    shape: Shape,
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
    let (start, trigger) = match (format, shape.parallel) {
        (CallFormat::Hermes, false) => {
            (r#""<tool_call>\n" root "\n</tool_call>""#, "(<tool_call>)")
        }
        (CallFormat::Hermes, true) => (
            r#""<tool_call>\n" root "\n</tool_call>" ("\n<tool_call>\n" root "\n</tool_call>")*"#,
            "(<tool_call>)",
        ),
        (CallFormat::Mistral, false) => (r#""[TOOL_CALLS]" "[" root "]""#, r"(\[TOOL_CALLS\])"),
        (CallFormat::Mistral, true) => (
            r#""[TOOL_CALLS]" "[" root ("," space root)* "]""#,
            r"(\[TOOL_CALLS\])",
        ),
        // A bare object at the very start of the answer that begins with its name.
        (CallFormat::Llama3, _) => ("root", r#"^\s*(\{\s*"name"\s*:)[\s\S]*$"#),
    };
    Ok(ToolGrammar {
        gbnf: format!("{START} ::= {start}\n{generated}"),
        trigger: shape.lazy.then(|| trigger.to_owned()),
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
    use llama_cpp_2::model::LlamaModel;
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::sampling::LlamaSampler;
    use llama_cpp_2::token::data::LlamaTokenData;
    use llama_cpp_2::token::data_array::LlamaTokenDataArray;

    const ONE: Shape = Shape {
        lazy: false,
        parallel: false,
    };
    const LAZY: Shape = Shape {
        lazy: true,
        parallel: false,
    };

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
        let g = build(&tools, None, CallFormat::Hermes, ONE).unwrap();
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
        let g = build(&tools, Some("add"), CallFormat::Hermes, LAZY).unwrap();
        assert!(!g.gbnf.contains("get_weather"), "{}", g.gbnf);
        assert_eq!(g.trigger.as_deref(), Some("(<tool_call>)"));
        let e = build(&tools, Some("nope"), CallFormat::Hermes, ONE).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
    }

    #[test]
    fn names_with_special_characters_are_escaped_literals() {
        let g = build(
            &[tool("we\"ird\\name é", Value::Null)],
            None,
            CallFormat::Hermes,
            ONE,
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
        let empty = build(&[tool("now", json!({}))], None, CallFormat::Hermes, ONE).unwrap();
        let null = build(&[tool("now", Value::Null)], None, CallFormat::Hermes, ONE).unwrap();
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
            ONE,
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
        let g = build(&tools, None, CallFormat::Llama3, LAZY).unwrap();
        assert!(
            g.gbnf.starts_with("llmport-tool-call ::= root\n"),
            "{}",
            g.gbnf
        );
        assert!(g.gbnf.contains("\\\"parameters\\\""), "{}", g.gbnf);
        assert!(g.trigger.unwrap().starts_with('^'));
        let g = build(&tools, None, CallFormat::Mistral, ONE).unwrap();
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
        let g = build(&[tool("f", params)], None, CallFormat::Hermes, ONE).unwrap();
        assert!(g.gbnf.contains("\\\"n\\\""), "{}", g.gbnf);
    }

    /// SmolLM2's vocabulary (what llama.cpp's grammar works on), when the model is there.
    fn vocab_model() -> Option<LlamaModel> {
        let path = std::env::var_os("LLMPORT_LOCAL_MODEL")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../.cache/models/smollm2-135m-instruct-q4_1.gguf")
            });
        if !path.is_file() {
            // As in tests/local.rs: CI (which fetches the model) never skips.
            assert!(
                !std::env::var("LLMPORT_REQUIRE_REAL_SERVERS").is_ok_and(|v| v == "1"),
                "the model {} is missing: run scripts/fetch-smollm2.sh",
                path.display()
            );
            eprintln!(
                "SKIPPED: no model at {}; fetch it with: scripts/fetch-smollm2.sh",
                path.display()
            );
            return None;
        }
        let backend = super::super::backend::get().expect("llama.cpp's backend");
        Some(
            LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
                .expect("the model"),
        )
    }

    /// Whether llama.cpp's grammar sampler lets the model write `text` token by token and
    /// then end the answer.
    fn accepts(model: &LlamaModel, g: &ToolGrammar, text: &str) -> bool {
        let mut sampler = match &g.trigger {
            None => LlamaSampler::grammar(model, &g.gbnf, START),
            Some(t) => LlamaSampler::grammar_lazy_patterns(
                model,
                &g.gbnf,
                START,
                std::slice::from_ref(t),
                &[],
            ),
        }
        .unwrap_or_else(|e| panic!("llama.cpp refused the grammar ({e}):\n{}", g.gbnf));
        let vocab = model.vocab();
        let allowed = |sampler: &mut LlamaSampler, token| {
            let mut one =
                LlamaTokenDataArray::from_iter([LlamaTokenData::new(token, 0.0, 0.0)], false);
            sampler.apply(&mut one);
            one.data[0].logit() > f32::NEG_INFINITY
        };
        for token in vocab.tokenize(text.as_bytes(), false, false) {
            if !allowed(&mut sampler, token) {
                return false;
            }
            sampler.accept(token);
        }
        allowed(&mut sampler, vocab.eos())
    }

    #[test]
    fn llama_cpp_takes_the_calls_of_every_format_and_nothing_else() {
        let Some(model) = vocab_model() else { return };
        let tools = [
            tool(
                "add",
                json!({"type": "object", "properties": {
                "a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
            ),
            tool("we\"ird\\name é", Value::Null),
        ];
        let cases: [(CallFormat, &str, &str); 3] = [
            (
                CallFormat::Hermes,
                "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2.5}}\n</tool_call>",
                "<tool_call>\n{\"name\": \"sub\", \"arguments\": {\"a\": 1, \"b\": 2}}\n</tool_call>",
            ),
            (
                CallFormat::Mistral,
                "[TOOL_CALLS][{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": 2}}]",
                "[TOOL_CALLS][{\"name\": \"add\", \"arguments\": {\"a\": 1}}]",
            ),
            (
                CallFormat::Llama3,
                "{\"name\": \"add\", \"parameters\": {\"a\": 1, \"b\": 2}}",
                "{\"name\": \"add\", \"parameters\": {\"a\": \"1\", \"b\": 2}}",
            ),
        ];
        for (format, good, bad) in cases {
            let strict = build(&tools, None, format, ONE).unwrap();
            let lazy = build(&tools, None, format, LAZY).unwrap();
            assert!(accepts(&model, &strict, good), "{format:?} {good}");
            assert!(!accepts(&model, &strict, bad), "{format:?} {bad}");
            assert!(accepts(&model, &lazy, good), "{format:?} lazy {good}");
            assert!(!accepts(&model, &lazy, bad), "{format:?} lazy {bad}");
            // Unfinished, the call cannot end the answer.
            assert!(
                !accepts(&model, &strict, &good[..good.len() - 2]),
                "{format:?}"
            );
            // Free text needs Auto (lazy); it is fine until a call opens.
            assert!(!accepts(&model, &strict, "Hello there."), "{format:?}");
            assert!(accepts(&model, &lazy, "Hello there."), "{format:?}");
        }
        // Text before an opened call, in the formats that have an opening.
        let lazy = build(&tools, None, CallFormat::Hermes, LAZY).unwrap();
        let text_then_call = format!("Let me add.\n{}", cases[0].1);
        assert!(accepts(&model, &lazy, &text_then_call));
        let lazy = build(&tools, None, CallFormat::Mistral, LAZY).unwrap();
        assert!(accepts(&model, &lazy, &format!("Sure.{}", cases[1].1)));
        // The escaped name is taken exactly, and only with its empty arguments.
        let strict = build(&tools, None, CallFormat::Hermes, ONE).unwrap();
        let odd =
            "<tool_call>\n{\"name\": \"we\\\"ird\\\\name é\", \"arguments\": {}}\n</tool_call>";
        assert!(accepts(&model, &strict, odd), "{odd}");
        assert!(
            !accepts(&model, &strict, &odd.replace("{}", "{\"x\": 1}")),
            "{odd}"
        );
        // Several calls only when asked for (LocalOptions::parallel_tool_calls).
        let parallel = Shape {
            lazy: false,
            parallel: true,
        };
        let two = format!("{}\n{}", cases[0].1, cases[0].1);
        let hermes = |shape| build(&tools, None, CallFormat::Hermes, shape).unwrap();
        assert!(!accepts(&model, &hermes(ONE), &two));
        assert!(accepts(&model, &hermes(parallel), &two));
        assert!(accepts(&model, &hermes(parallel), cases[0].1));
        let two = cases[1].1.replace(
            "}}]",
            "}}, {\"name\": \"add\", \"arguments\": {\"a\": 3, \"b\": 4}}]",
        );
        let mistral = |shape| build(&tools, None, CallFormat::Mistral, shape).unwrap();
        assert!(!accepts(&model, &mistral(ONE), &two), "{two}");
        assert!(accepts(&model, &mistral(parallel), &two), "{two}");
        // The chosen tool only.
        let only = build(&tools, Some("we\"ird\\name é"), CallFormat::Hermes, ONE).unwrap();
        assert!(!accepts(&model, &only, cases[0].1));
    }
}
