//! Generation options: [`Options`] and its builder, tools, tool choice and response formats.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::extensions::{Extension, Extensions};

/// How a model should generate: sampling, limits, instructions, tools and output format.
///
/// Every field is optional; an unset field is not sent, so the server's (or the model's)
/// default applies. Build one with [`Options::builder`]:
///
/// ```
/// use llmport::Options;
/// let opts = Options::builder()
///     .max_tokens(256)
///     .temperature(0.2)
///     .stop(["\n\n"])
///     .system("Answer in one sentence.")
///     .build();
/// assert_eq!(opts.max_tokens, Some(256));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Options {
    /// The most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Sampling temperature (0 = deterministic, higher = more random).
    pub temperature: Option<f32>,
    /// Nucleus sampling: only the tokens within this probability mass are considered.
    pub top_p: Option<f32>,
    /// The random seed, for reproducible sampling.
    pub seed: Option<i64>,
    /// Generation stops before any of these strings.
    pub stop: Vec<String>,
    /// Penalises tokens by how often they already appeared.
    pub frequency_penalty: Option<f32>,
    /// Penalises tokens that already appeared at all.
    pub presence_penalty: Option<f32>,
    /// System instructions, sent as a first system message.
    pub system: Option<String>,
    /// How many alternative answers (candidates) to generate.
    pub candidate_count: Option<u32>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// Whether and which tool the model must call.
    pub tool_choice: Option<ToolChoice>,
    /// The shape the answer must take (JSON, or JSON matching a schema).
    pub response_format: Option<ResponseFormat>,
    /// How hard a reasoning model should think. Never sent unless set: Ollama answers 400 for
    /// models that cannot think.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Return the log probability of each generated token
    /// ([`Candidate::logprobs`](crate::Candidate::logprobs)). Sent only when `true`.
    #[serde(default)]
    pub logprobs: bool,
    /// Also return this many most likely alternatives at each token's place, 0 to 20
    /// ([`TokenLogprob::top_logprobs`](crate::TokenLogprob::top_logprobs)); needs `logprobs`
    /// (servers ignore it without), which [`OptionsBuilder::top_logprobs`] turns on.
    #[serde(default)]
    pub top_logprobs: Option<u8>,
    /// Provider-specific settings, keyed by their type (for example
    /// `llmport::ollama::OllamaOptions`): set with [`OptionsBuilder::extension`], read with
    /// [`Options::extension`]. A provider reads its own and refuses, as
    /// [`Error::Unsupported`], one it cannot honour. Not
    /// serialised.
    #[serde(skip)]
    pub extensions: Extensions,
    /// Extra keys merged into the request body as they are, for server-specific settings
    /// this crate has no typed field for. They override typed fields of the same name.
    pub extra: Map<String, Value>,
}

impl Options {
    /// Default options: nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for options.
    pub fn builder() -> OptionsBuilder {
        OptionsBuilder::default()
    }

    /// Checks every value against its documented range, before anything is sent (each
    /// provider calls this first): `max_tokens` ≥ 1 (Ollama reads 0 as "no limit"),
    /// `temperature` in \[0, 2\], `top_p` in (0, 1\], `frequency_penalty` and
    /// `presence_penalty` in \[-2, 2\], `candidate_count` ≥ 1, every stop string non-empty
    /// (llama.cpp then returns nothing, Ollama stops at once), and no NaN or infinity (JSON
    /// has none), `top_logprobs` at most 20 and only with `logprobs`. The error is an
    /// [`Error::Config`] naming the option.
    pub fn validate(&self) -> Result<()> {
        if self.max_tokens == Some(0) {
            return Err(Error::config_for(
                "Options::max_tokens",
                "must be at least 1 (0 would mean \"no limit\" to Ollama); leave it unset for \
                 the server's default",
            ));
        }
        check_range("Options::temperature", self.temperature, 0.0, 2.0, true)?;
        check_range("Options::top_p", self.top_p, 0.0, 1.0, false)?;
        check_range(
            "Options::frequency_penalty",
            self.frequency_penalty,
            -2.0,
            2.0,
            true,
        )?;
        check_range(
            "Options::presence_penalty",
            self.presence_penalty,
            -2.0,
            2.0,
            true,
        )?;
        if self.candidate_count == Some(0) {
            return Err(Error::config_for(
                "Options::candidate_count",
                "must be at least 1",
            ));
        }
        if let Some(n) = self.top_logprobs {
            if n > MAX_TOP_LOGPROBS {
                return Err(Error::config_for(
                    "Options::top_logprobs",
                    format!(
                        "{n} is out of range: servers return at most {MAX_TOP_LOGPROBS} \
                         alternatives per token (Ollama answers HTTP 400 above that)"
                    ),
                ));
            }
            if n > 0 && !self.logprobs {
                return Err(Error::config_for(
                    "Options::top_logprobs",
                    "is ignored by servers unless Options::logprobs is on: set logprobs too \
                     (OptionsBuilder::top_logprobs does)",
                ));
            }
        }
        if let Some(i) = self.stop.iter().position(String::is_empty) {
            return Err(Error::config_for(
                "Options::stop",
                format!(
                    "stop string {} is empty: an empty stop string ends the answer before \
                     it starts (or is ignored); remove it",
                    i + 1
                ),
            ));
        }
        Ok(())
    }

    /// The provider-specific settings of type `T`, if set (see [`Options::extensions`]).
    pub fn extension<T: Extension>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }
}

/// The most alternatives per token a server returns ([`Options::top_logprobs`]): OpenAI's and
/// Ollama's limit.
pub const MAX_TOP_LOGPROBS: u8 = 20;

/// Builds [`Options`]. Setters never fail; values are checked where they are used.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct OptionsBuilder {
    opts: Options,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.opts.$name = Some(value);
            self
        }
    };
}

impl OptionsBuilder {
    setter!(
        /// The most tokens to generate.
        max_tokens: u32
    );
    setter!(
        /// Sampling temperature.
        temperature: f32
    );
    setter!(
        /// Nucleus sampling probability mass.
        top_p: f32
    );
    setter!(
        /// The random seed.
        seed: i64
    );
    setter!(
        /// Frequency penalty.
        frequency_penalty: f32
    );
    setter!(
        /// Presence penalty.
        presence_penalty: f32
    );
    setter!(
        /// How many candidates to generate.
        candidate_count: u32
    );
    setter!(
        /// Whether and which tool the model must call.
        tool_choice: ToolChoice
    );
    setter!(
        /// The shape the answer must take.
        response_format: ResponseFormat
    );
    setter!(
        /// How hard a reasoning model should think.
        reasoning_effort: ReasoningEffort
    );

    /// Return the log probability of each generated token.
    pub fn logprobs(mut self, yes: bool) -> Self {
        self.opts.logprobs = yes;
        self
    }

    /// Return the `n` most likely alternatives at each token's place too (0 to 20; checked
    /// by [`Options::validate`]). Turns [`logprobs`](Self::logprobs) on.
    pub fn top_logprobs(mut self, n: u8) -> Self {
        self.opts.logprobs = true;
        self.opts.top_logprobs = Some(n);
        self
    }

    /// System instructions, sent as a first system message.
    pub fn system(mut self, text: impl Into<String>) -> Self {
        self.opts.system = Some(text.into());
        self
    }

    /// Stop strings (replaces any set before): one (`.stop("END")`) or several
    /// (`.stop(["\n\n", "END"])`, a `Vec<String>`, a slice). Each must be non-empty.
    pub fn stop(mut self, stop: impl StopStrings) -> Self {
        self.opts.stop = stop.into_stop_strings();
        self
    }

    /// Adds a tool the model may call.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.opts.tools.push(tool);
        self
    }

    /// Sets the tools the model may call (replaces any set before).
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.opts.tools = tools.into_iter().collect();
        self
    }

    /// Adds provider-specific settings (one value per type; a second replaces the first),
    /// e.g. `.extension(OllamaOptions::builder().num_ctx(8192).build())`.
    pub fn extension<T: Extension + Clone>(mut self, value: T) -> Self {
        self.opts.extensions.insert(value);
        self
    }

    /// Adds an extra key to the request body.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.opts.extra.insert(key.into(), value.into());
        self
    }

    /// The options.
    pub fn build(self) -> Options {
        self.opts
    }
}

/// Refuses `value` outside `[min, max]` (or `(min, max]` when `min_inclusive` is false),
/// and NaN or infinity, with an [`Error::Config`] naming `setting`.
pub(crate) fn check_range(
    setting: &str,
    value: Option<f32>,
    min: f32,
    max: f32,
    min_inclusive: bool,
) -> Result<()> {
    let Some(v) = value else { return Ok(()) };
    let low_ok = if min_inclusive { v >= min } else { v > min };
    if v.is_finite() && low_ok && v <= max {
        return Ok(());
    }
    let open = if min_inclusive { '[' } else { '(' };
    Err(Error::config_for(
        setting,
        format!("{v} is out of range: it must be a number in {open}{min}, {max}]"),
    ))
}

/// One stop string or several: what [`OptionsBuilder::stop`] takes.
pub trait StopStrings {
    /// The strings.
    fn into_stop_strings(self) -> Vec<String>;
}

impl StopStrings for &str {
    fn into_stop_strings(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl StopStrings for String {
    fn into_stop_strings(self) -> Vec<String> {
        vec![self]
    }
}

impl StopStrings for &String {
    fn into_stop_strings(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<S: Into<String>, const N: usize> StopStrings for [S; N] {
    fn into_stop_strings(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<S: Into<String>> StopStrings for Vec<S> {
    fn into_stop_strings(self) -> Vec<String> {
        self.into_iter().map(Into::into).collect()
    }
}

impl<S: Into<String> + Clone> StopStrings for &[S] {
    fn into_stop_strings(self) -> Vec<String> {
        self.iter().cloned().map(Into::into).collect()
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Tool {
    /// A function with JSON-Schema parameters.
    Function(FunctionDecl),
}

impl Tool {
    /// A function tool.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool::Function(FunctionDecl {
            name: name.into(),
            description: Some(description.into()),
            parameters,
        })
    }

    /// A function tool whose parameters are the JSON Schema of `T`, derived with `schemars`
    /// (field doc comments become property descriptions). The schema's own `title` and
    /// `description` (the type's name and doc comment, written for Rust readers) are left
    /// out: `description` here is what the model reads about the tool.
    ///
    /// Read a call's arguments back with
    /// [`ToolCall::parse_arguments`](crate::ToolCall::parse_arguments).
    pub fn for_type<T: schemars::JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let mut parameters = schema_for::<T>();
        if let Value::Object(map) = &mut parameters {
            map.remove("title");
            map.remove("description");
        }
        Tool::Function(FunctionDecl {
            name: name.into(),
            description: Some(description.into()),
            parameters,
        })
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        match self {
            Tool::Function(f) => &f.name,
        }
    }
}

/// The JSON Schema of `T` as a plain JSON object, without the `$schema` key (servers such as
/// Ollama drop keys they do not know, and some reject the meta-schema key).
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Value::Object(map) = &mut value {
        map.remove("$schema");
    }
    value
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDecl {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    pub description: Option<String>,
    /// Its parameters as a JSON Schema object.
    pub parameters: Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must not call a tool.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Function(String),
}

/// The shape the model's answer must take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Any valid JSON value.
    Json,
    /// JSON that matches a schema.
    JsonSchema {
        /// A name for the schema.
        name: String,
        /// The JSON Schema.
        schema: Value,
        /// Whether the server must follow the schema exactly (OpenAI's `strict`).
        strict: bool,
    },
}

impl ResponseFormat {
    /// JSON matching `schema` (for example read from a file), strictly.
    ///
    /// `name` is sent as OpenAI's schema name, which allows only ASCII letters, digits, `_`
    /// and `-` (at most 64): other characters become `_`.
    pub fn json_schema(name: impl AsRef<str>, schema: Value) -> Self {
        ResponseFormat::JsonSchema {
            name: schema_name(name.as_ref()),
            schema,
            strict: true,
        }
    }

    /// A strict JSON-Schema format from a Rust type, derived with `schemars`.
    ///
    /// The schema is made acceptable to OpenAI's strict mode: every object lists all its
    /// properties as `required` (an `Option` field must then be present, possibly `null`,
    /// which serde reads as `None`) and forbids others (`additionalProperties: false`).
    /// Ollama turns the schema into a grammar and ignores `strict`.
    pub fn for_type<T: schemars::JsonSchema>() -> Self {
        let mut schema = schema_for::<T>();
        make_strict(&mut schema);
        ResponseFormat::json_schema(T::schema_name(), schema)
    }
}

/// A schema name OpenAI accepts: `[A-Za-z0-9_-]{1,64}`.
fn schema_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if clean.is_empty() {
        "response".to_owned()
    } else {
        clean
    }
}

/// Every object schema (one with `properties`) requires all its properties and allows no
/// others, at any depth (including `$defs`).
fn make_strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
                map.insert("required".to_owned(), Value::Array(names));
                map.entry("additionalProperties")
                    .or_insert(Value::Bool(false));
            }
            map.values_mut().for_each(make_strict);
        }
        Value::Array(items) => items.iter_mut().for_each(make_strict),
        _ => {}
    }
}

/// How hard a reasoning model should think.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    /// Do not think (Ollama: `think: false`).
    None,
    /// Think a little.
    Low,
    /// Think some.
    Medium,
    /// Think hard.
    High,
    /// Think as hard as the model can (Ollama ≥ 0.22).
    Max,
}

impl ReasoningEffort {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
            ReasoningEffort::Max => "max",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_logprobs_are_checked_and_turn_logprobs_on() {
        let o = Options::builder().top_logprobs(20).build();
        assert!(o.logprobs);
        assert!(o.validate().is_ok());
        let e = Options::builder().top_logprobs(21).build().validate();
        assert_eq!(e.unwrap_err().setting(), Some("Options::top_logprobs"));
        let mut o = Options::builder().top_logprobs(2).build();
        o.logprobs = false;
        assert_eq!(
            o.validate().unwrap_err().setting(),
            Some("Options::top_logprobs")
        );
        // 0 alternatives without logprobs asks for nothing: harmless.
        o.top_logprobs = Some(0);
        assert!(o.validate().is_ok());
    }

    #[test]
    fn builder_sets_every_field() {
        let o = Options::builder()
            .max_tokens(10)
            .temperature(0.5)
            .top_p(0.9)
            .seed(42)
            .stop(["a", "b"])
            .frequency_penalty(0.1)
            .presence_penalty(0.2)
            .system("be brief")
            .candidate_count(2)
            .extra("custom", 7)
            .build();
        assert_eq!(o.max_tokens, Some(10));
        assert_eq!(o.temperature, Some(0.5));
        assert_eq!(o.top_p, Some(0.9));
        assert_eq!(o.seed, Some(42));
        assert_eq!(o.stop, vec!["a", "b"]);
        assert_eq!(o.frequency_penalty, Some(0.1));
        assert_eq!(o.presence_penalty, Some(0.2));
        assert_eq!(o.system.as_deref(), Some("be brief"));
        assert_eq!(o.candidate_count, Some(2));
        assert_eq!(o.extra["custom"], 7);
    }

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Weather {
        city: String,
        days: u8,
    }

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Trip {
        to: Weather,
        note: Option<String>,
        stops: Vec<Weather>,
    }

    #[test]
    fn strict_format_requires_every_property_at_every_depth() {
        let ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } = ResponseFormat::for_type::<Trip>()
        else {
            panic!()
        };
        assert_eq!(name, "Trip");
        assert!(strict);
        assert_eq!(
            schema["required"],
            serde_json::json!(["to", "note", "stops"])
        );
        assert_eq!(schema["additionalProperties"], false);
        let weather = &schema["$defs"]["Weather"];
        assert_eq!(weather["required"], serde_json::json!(["city", "days"]));
        assert_eq!(weather["additionalProperties"], false);
        assert_eq!(
            ResponseFormat::json_schema("city info/v2", Value::Null),
            ResponseFormat::JsonSchema {
                name: "city_info_v2".into(),
                schema: Value::Null,
                strict: true
            }
        );
    }

    #[test]
    fn schema_for_type_has_properties_and_no_meta_schema() {
        let s = schema_for::<Weather>();
        assert_eq!(s["type"], "object");
        assert!(s["properties"]["city"].is_object());
        assert!(s.get("$schema").is_none());
        // Property order is the struct's field order: models generate fields in schema
        // order, and llama.cpp's grammar-constrained output failed with sorted keys.
        let text = s.to_string();
        assert!(text.find("\"city\"").unwrap() < text.find("\"days\"").unwrap());
        let t = Tool::for_type::<Weather>("weather", "get it");
        assert_eq!(t.name(), "weather");
    }
}
