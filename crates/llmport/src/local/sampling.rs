//! What one request asks of the sampler and the context: [`Options`], [`LocalOptions`] and
//! the model's own defaults (its Ollama manifest's parameters) resolved into [`Settings`],
//! and those turned into a llama.cpp sampler chain.

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::options::{Options, ResponseFormat, ToolChoice};

use super::PROVIDER;
use super::options::LocalOptions;
use super::sampler::TokenSampler;
use super::tool_calls::CallFormat;
use super::tool_grammar;

/// The context size when nothing asks for one (Ollama's default too).
pub(crate) const DEFAULT_NUM_CTX: u32 = 4096;

/// One request's settings, every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) max_tokens: Option<u32>,
    pub(crate) temperature: f32,
    pub(crate) top_p: f32,
    pub(crate) top_k: u32,
    pub(crate) min_p: f32,
    pub(crate) seed: u32,
    pub(crate) repeat_penalty: f32,
    pub(crate) repeat_last_n: u32,
    pub(crate) frequency_penalty: f32,
    pub(crate) presence_penalty: f32,
    pub(crate) stop: Vec<String>,
    pub(crate) num_ctx: u32,
    /// A GBNF grammar the tokens must keep to (JSON mode, a JSON Schema, tool calls).
    pub(crate) grammar: Option<Grammar>,
}

/// A GBNF grammar for the sampler.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grammar {
    pub(crate) gbnf: String,
    /// The start rule.
    pub(crate) root: &'static str,
    /// For a lazy grammar, the regular expression that sets it off (free text until then).
    pub(crate) trigger: Option<String>,
    /// The option the grammar comes from, for the error if llama.cpp refuses it.
    pub(crate) setting: &'static str,
}

impl Grammar {
    fn from_schema(schema: &Value) -> Result<Grammar> {
        Ok(Grammar {
            gbnf: schema_grammar(schema)?,
            root: "root",
            trigger: None,
            setting: "Options::response_format",
        })
    }
}

impl Settings {
    /// Resolves the settings of one request: `options` win over the model's `defaults`
    /// (Ollama parameter names), which win over llama.cpp's defaults. What the engine cannot
    /// honour is refused here, before any work.
    pub(crate) fn resolve(
        options: &Options,
        defaults: &Map<String, Value>,
        default_num_ctx: u32,
    ) -> Result<Settings> {
        options.validate()?;
        let local = options.extension::<LocalOptions>();
        if let Some(local) = local {
            local.validate()?;
        }
        if let Some(name) = options
            .extensions
            .type_names()
            .find(|n| !n.ends_with("LocalOptions"))
        {
            return Err(Error::unsupported(
                PROVIDER,
                format!("{name} (an Options extension)"),
                "the local engine reads only LocalOptions: put top_k, min_p, repeat_penalty and \
                 num_ctx there",
            ));
        }
        if options.candidate_count.is_some_and(|n| n > 1) {
            return Err(Error::unsupported(
                PROVIDER,
                "Options::candidate_count",
                "the local engine generates one answer per request: send several requests",
            ));
        }
        if options.logprobs || options.top_logprobs.is_some() {
            return Err(Error::unsupported(
                PROVIDER,
                "Options::logprobs",
                "the local engine does not report log probabilities yet; leave it unset",
            ));
        }
        if options.reasoning_effort.is_some() {
            return Err(Error::unsupported(
                PROVIDER,
                "Options::reasoning_effort",
                "the local engine has no reasoning budget to set; leave it unset",
            ));
        }
        if let Some(key) = options.extra.keys().next() {
            return Err(Error::unsupported(
                PROVIDER,
                format!("Options::extra ({key:?})"),
                "the local engine sends no request body for extra fields to go into; use \
                 LocalOptions",
            ));
        }
        let f = |key: &str| defaults.get(key).and_then(Value::as_f64);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "sampling parameters are f32 in llama.cpp; the manifest's f64 is rounded"
        )]
        let f32_of = |key: &str| f(key).map(|v| v as f32);
        let u32_of = |key: &str| {
            defaults
                .get(key)
                .and_then(Value::as_u64)
                .and_then(|v| u32::try_from(v).ok())
        };
        let max_tokens = options.max_tokens.or_else(|| {
            defaults
                .get("num_predict")
                .and_then(Value::as_i64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
        });
        let seed = match options
            .seed
            .or_else(|| defaults.get("seed").and_then(Value::as_i64))
        {
            Some(s) => u32::try_from(s.rem_euclid(1 << 32)).unwrap_or(0),
            None => fastrand::u32(..),
        };
        let mut stop = options.stop.clone();
        if stop.is_empty()
            && let Some(Value::Array(list)) = defaults.get("stop")
        {
            stop = list
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        let grammar = match &options.response_format {
            None => None,
            Some(ResponseFormat::Json) => Some(Grammar::from_schema(
                &serde_json::json!({"type": "object"}),
            )?),
            Some(ResponseFormat::JsonSchema { schema, .. }) => Some(Grammar::from_schema(schema)?),
        };
        Ok(Settings {
            max_tokens,
            temperature: options
                .temperature
                .or_else(|| f32_of("temperature"))
                .unwrap_or(0.8),
            top_p: options.top_p.or_else(|| f32_of("top_p")).unwrap_or(0.95),
            top_k: local
                .and_then(|l| l.top_k)
                .or_else(|| u32_of("top_k"))
                .unwrap_or(40),
            min_p: local
                .and_then(|l| l.min_p)
                .or_else(|| f32_of("min_p"))
                .unwrap_or(0.05),
            seed,
            repeat_penalty: local
                .and_then(|l| l.repeat_penalty)
                .or_else(|| f32_of("repeat_penalty"))
                .unwrap_or(1.0),
            repeat_last_n: local
                .and_then(|l| l.repeat_last_n)
                .or_else(|| u32_of("repeat_last_n"))
                .unwrap_or(64),
            frequency_penalty: options
                .frequency_penalty
                .or_else(|| f32_of("frequency_penalty"))
                .unwrap_or(0.0),
            presence_penalty: options
                .presence_penalty
                .or_else(|| f32_of("presence_penalty"))
                .unwrap_or(0.0),
            stop,
            num_ctx: local
                .and_then(|l| l.num_ctx)
                .or_else(|| u32_of("num_ctx"))
                .unwrap_or(default_num_ctx),
            grammar,
        })
    }

    /// Constrains tool calls with a grammar, for a model whose template teaches `format`: a
    /// forced call (`Required`, `Function`) from the first token, `Auto` lazily (once the
    /// model opens a call). With a `response_format` grammar already in place, `Auto` calls
    /// are only read from the text and a forced one is refused: one grammar cannot be both.
    pub(crate) fn constrain_tool_calls(
        &mut self,
        options: &Options,
        format: CallFormat,
    ) -> Result<()> {
        let only = match &options.tool_choice {
            Some(ToolChoice::None) => return Ok(()),
            Some(ToolChoice::Function(name)) => Some(name.as_str()),
            Some(ToolChoice::Required) => None,
            Some(ToolChoice::Auto) | None if options.tools.is_empty() => return Ok(()),
            Some(ToolChoice::Auto) | None => None,
        };
        let forced = matches!(
            options.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Function(_))
        );
        if forced && options.tools.is_empty() {
            return Err(Error::config_for(
                "Options::tool_choice",
                "asks for a tool call but no tool is declared: declare tools with \
                 Options::tool, or leave tool_choice unset",
            ));
        }
        if self.grammar.is_some() {
            if forced {
                return Err(Error::unsupported(
                    PROVIDER,
                    "Options::tool_choice with Options::response_format",
                    "the local engine enforces one grammar per answer: force a tool call or \
                     a response format, not both",
                ));
            }
            return Ok(());
        }
        let shape = tool_grammar::Shape {
            lazy: !forced,
            parallel: options
                .extension::<LocalOptions>()
                .and_then(|l| l.parallel_tool_calls)
                .unwrap_or(false),
        };
        let g = tool_grammar::build(&options.tools, only, format, shape)?;
        self.grammar = Some(Grammar {
            gbnf: g.gbnf,
            root: tool_grammar::START,
            trigger: g.trigger,
            setting: "Options::tools",
        });
        Ok(())
    }

    /// The sampler: the chain (penalties, then greedy or top-k → top-p → min-p → temperature
    /// → a seeded draw), and the grammar checked against its pick ([`TokenSampler`]).
    pub(crate) fn sampler(&self, model: &LlamaModel) -> Result<TokenSampler> {
        let grammar = match &self.grammar {
            None => None,
            Some(g) => {
                let sampler = match &g.trigger {
                    None => LlamaSampler::grammar(model, &g.gbnf, g.root),
                    Some(trigger) => LlamaSampler::grammar_lazy_patterns(
                        model,
                        &g.gbnf,
                        g.root,
                        std::slice::from_ref(trigger),
                        &[],
                    ),
                };
                Some(sampler.map_err(|e| {
                    Error::unsupported(
                        PROVIDER,
                        g.setting,
                        format!("llama.cpp refused the grammar made from the schema: {e}"),
                    )
                })?)
            }
        };
        let mut chain = Vec::with_capacity(6);
        if self.repeat_penalty != 1.0
            || self.frequency_penalty != 0.0
            || self.presence_penalty != 0.0
        {
            chain.push(LlamaSampler::penalties(
                model.n_vocab(),
                i32::try_from(self.repeat_last_n).unwrap_or(i32::MAX),
                self.repeat_penalty,
                self.frequency_penalty,
                self.presence_penalty,
            ));
        }
        if self.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.push(LlamaSampler::top_k(
                i32::try_from(self.top_k).unwrap_or(i32::MAX),
            ));
            chain.push(LlamaSampler::top_p(self.top_p, 1));
            chain.push(LlamaSampler::min_p(self.min_p, 1));
            chain.push(LlamaSampler::temp(self.temperature));
            chain.push(LlamaSampler::dist(self.seed));
        }
        Ok(TokenSampler::new(
            LlamaSampler::chain_simple(chain),
            grammar,
        ))
    }
}

/// A JSON Schema as a GBNF grammar, through llama.cpp's own `json_schema_to_grammar` (the
/// converter llama-server uses, from llama.cpp's `common/`).
fn schema_grammar(schema: &Value) -> Result<String> {
    llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|e| {
        Error::unsupported(
            PROVIDER,
            "Options::response_format",
            format!(
                "llama.cpp cannot turn this JSON Schema into a grammar ({e}); simplify the \
                 schema or use ResponseFormat::Json"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_win_over_the_manifest_which_wins_over_the_defaults() {
        let defaults: Map<String, Value> = serde_json::from_value(json!({
            "temperature": 0.2, "top_k": 10, "stop": ["<|x|>"], "num_ctx": 2048, "seed": 7
        }))
        .unwrap();
        let s = Settings::resolve(&Options::default(), &defaults, 4096).unwrap();
        assert_eq!(
            (s.temperature, s.top_k, s.stop.clone(), s.num_ctx, s.seed),
            (0.2, 10, vec!["<|x|>".to_string()], 2048, 7)
        );
        let o = Options::builder()
            .temperature(0.0)
            .stop("END")
            .extension(LocalOptions::builder().top_k(3).num_ctx(512).build())
            .build();
        let s = Settings::resolve(&o, &defaults, 4096).unwrap();
        assert_eq!(
            (s.temperature, s.top_k, s.stop, s.num_ctx),
            (0.0, 3, vec!["END".to_string()], 512)
        );
        let s = Settings::resolve(&Options::default(), &Map::new(), 4096).unwrap();
        assert_eq!((s.temperature, s.top_k, s.num_ctx), (0.8, 40, 4096));
    }

    #[test]
    fn what_the_engine_cannot_honour_is_refused() {
        for o in [
            Options::builder().candidate_count(2).build(),
            Options::builder().extra("mirostat", 2).build(),
            Options::builder().logprobs(true).build(),
            Options::builder()
                .extension(crate::ollama::OllamaOptions::builder().top_k(3).build())
                .build(),
        ] {
            assert!(
                matches!(
                    Settings::resolve(&o, &Map::new(), 4096),
                    Err(Error::Unsupported { .. })
                ),
                "{o:?}"
            );
        }
    }

    #[test]
    fn tool_choice_sets_a_grammar_strict_or_lazy() {
        let weather = crate::options::Tool::function(
            "weather",
            "",
            serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        );
        let resolve = |o: &Options| {
            let mut s = Settings::resolve(o, &Map::new(), 4096)?;
            s.constrain_tool_calls(o, CallFormat::Hermes)
                .map(|()| s.grammar)
        };
        let g = resolve(
            &Options::builder()
                .tool(weather.clone())
                .tool_choice(ToolChoice::Required)
                .build(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (g.root, g.trigger, g.setting),
            ("llmport-tool-call", None, "Options::tools")
        );
        let g = resolve(&Options::builder().tool(weather.clone()).build())
            .unwrap()
            .unwrap();
        assert_eq!(g.trigger.as_deref(), Some("(<tool_call>)"));
        let none = Options::builder()
            .tool(weather.clone())
            .tool_choice(ToolChoice::None)
            .build();
        assert_eq!(resolve(&none).unwrap(), None);
        assert_eq!(resolve(&Options::default()).unwrap(), None);
        // A forced call with nothing to call, or of an undeclared tool: the setting is named.
        for o in [
            Options::builder().tool_choice(ToolChoice::Required).build(),
            Options::builder()
                .tool(weather.clone())
                .tool_choice(ToolChoice::Function("add".into()))
                .build(),
        ] {
            let e = resolve(&o).unwrap_err();
            assert!(e.to_string().contains("tool_choice"), "{e}");
            assert!(matches!(e, Error::Config { .. }), "{e:?}");
        }
        // A response format and a forced call cannot share the one grammar.
        let both = Options::builder()
            .tool(weather)
            .tool_choice(ToolChoice::Required)
            .response_format(ResponseFormat::Json)
            .build();
        assert!(matches!(resolve(&both), Err(Error::Unsupported { .. })));
    }
}
