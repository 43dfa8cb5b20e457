//! [`OllamaOptions`]: settings only Ollama understands.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::options::check_range;

/// Settings only Ollama understands, carried in [`Options`](crate::Options) (and
/// [`EmbedOptions`](crate::EmbedOptions)) as an extension:
///
/// ```
/// use llmport::Options;
/// use llmport::ollama::OllamaOptions;
/// let options = Options::builder()
///     .temperature(0.2)
///     .extension(OllamaOptions::builder().num_ctx(8192).build())
///     .build();
/// assert_eq!(options.extension::<OllamaOptions>().unwrap().num_ctx, Some(8192));
/// ```
///
/// Ollama's OpenAI-compatible `/v1` API ignores every one of them, so only its native
/// `/api/chat` honours them. Which endpoint a chat uses is the provider's
/// [`OllamaChatApi`](super::OllamaChatApi): with the default (`Auto`), setting any of
/// these sends the chat to `/api/chat`; with `OpenAiCompatible` they are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OllamaOptions {
    /// How long the model stays loaded after the request.
    pub keep_alive: Option<KeepAlive>,
    /// The context window size in tokens (`options.num_ctx`), at least 1.
    pub num_ctx: Option<u32>,
    /// The most tokens to generate (`options.num_predict`; -1 = no limit, -2 = until the
    /// context is full; 0 is refused, Ollama would read it as no limit). Overrides
    /// `max_tokens` when both are set.
    pub num_predict: Option<i32>,
    /// Penalty for repeated tokens (`options.repeat_penalty`), at least 0.
    pub repeat_penalty: Option<f32>,
    /// Sample only from the `top_k` most likely tokens (`options.top_k`), at least 1.
    pub top_k: Option<u32>,
    /// Minimum probability relative to the most likely token (`options.min_p`), in
    /// \[0, 1\].
    pub min_p: Option<f32>,
    /// Whether (or how hard) a thinking model thinks.
    pub think: Option<Think>,
    /// The answer's format: `"json"` or a JSON Schema object.
    pub format: Option<Value>,
    /// Whether Ollama may drop the oldest messages of a chat (or the start of a prompt) that
    /// does not fit the context window (the request's top-level `truncate`; the server's
    /// default is `true`). With `false`, input that does not fit is an error.
    pub truncate: Option<bool>,
    /// Whether Ollama may shift the context window (drop early tokens) when the answer
    /// reaches its end (the request's top-level `shift`; the server's default is `true`).
    /// With `false`, generation stops there instead, and a prompt longer than the context is
    /// refused with a 400 that becomes
    /// [`Error::ContextLength`](crate::Error::ContextLength).
    pub shift: Option<bool>,
    /// How many tokens of the prompt to keep when the context shifts (`options.num_keep`);
    /// -1 keeps all of them. At least -1.
    pub num_keep: Option<i32>,
    /// Locally typical sampling (`options.typical_p`), in \[0, 1\]; 1 turns it off.
    pub typical_p: Option<f32>,
    /// How far back `repeat_penalty` looks, in tokens (`options.repeat_last_n`); 0 turns the
    /// penalty off, -1 means the whole context. At least -1.
    pub repeat_last_n: Option<i32>,
    /// Prompt tokens processed per batch (`options.num_batch`, a load-time option: changing
    /// it reloads the model). At least 1.
    pub num_batch: Option<u32>,
    /// How many layers go to the GPU(s) (`options.num_gpu`, load-time); 0 runs on the CPU
    /// only, -1 lets Ollama decide. At least -1.
    pub num_gpu: Option<i32>,
    /// Which GPU holds the small tensors when a model is split across several
    /// (`options.main_gpu`, load-time).
    pub main_gpu: Option<u32>,
    /// Whether the model file is memory-mapped (`options.use_mmap`, load-time); `false`
    /// reads it into memory, which can help on slow or network file systems.
    pub use_mmap: Option<bool>,
    /// CPU threads used for generation (`options.num_thread`, load-time); 0 lets the runner
    /// choose (as when unset).
    pub num_thread: Option<u32>,
    /// Tokens a draft model proposes per step in speculative decoding
    /// (`options.draft_num_predict`, load-time; for models created with a draft model).
    /// At least 1.
    pub draft_num_predict: Option<u32>,
}

impl OllamaOptions {
    /// No setting made.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder.
    pub fn builder() -> OllamaOptionsBuilder {
        OllamaOptionsBuilder::default()
    }

    /// Whether any setting is made.
    pub fn is_set(&self) -> bool {
        self != &Self::default()
    }

    /// Checks every value against its documented range (see the fields), before anything
    /// is sent; the error is an [`Error::Config`] naming the option.
    pub fn validate(&self) -> Result<(), Error> {
        if self.num_ctx == Some(0) {
            return Err(Error::config_for(
                "OllamaOptions::num_ctx",
                "must be at least 1 (the context size in tokens)",
            ));
        }
        if self.top_k == Some(0) {
            return Err(Error::config_for(
                "OllamaOptions::top_k",
                "must be at least 1",
            ));
        }
        if let Some(n) = self.num_predict
            && (n == 0 || n < -2)
        {
            return Err(Error::config_for(
                "OllamaOptions::num_predict",
                format!(
                    "{n} is out of range: use a number of tokens ≥ 1, -1 (no limit) or -2 \
                     (until the context is full)"
                ),
            ));
        }
        check_range("OllamaOptions::min_p", self.min_p, 0.0, 1.0, true)?;
        check_range("OllamaOptions::typical_p", self.typical_p, 0.0, 1.0, true)?;
        at_least(
            "OllamaOptions::num_keep",
            self.num_keep,
            -1,
            "-1 keeps every token",
        )?;
        at_least(
            "OllamaOptions::repeat_last_n",
            self.repeat_last_n,
            -1,
            "-1 looks back over the whole context, 0 turns the penalty off",
        )?;
        at_least(
            "OllamaOptions::num_gpu",
            self.num_gpu,
            -1,
            "-1 lets Ollama decide, 0 runs on the CPU only",
        )?;
        if self.num_batch == Some(0) {
            return Err(Error::config_for(
                "OllamaOptions::num_batch",
                "must be at least 1 (prompt tokens per batch)",
            ));
        }
        if self.draft_num_predict == Some(0) {
            return Err(Error::config_for(
                "OllamaOptions::draft_num_predict",
                "must be at least 1 (tokens the draft model proposes per step)",
            ));
        }
        check_range(
            "OllamaOptions::repeat_penalty",
            self.repeat_penalty,
            0.0,
            f32::MAX,
            true,
        )?;
        if let Some(Think::Level(level)) = &self.think
            && level.as_str().trim().is_empty()
        {
            return Err(Error::config_for(
                "OllamaOptions::think",
                "an empty level: use true, false, or a level such as low, medium, high",
            ));
        }
        if let Some(KeepAlive::Seconds(s)) = &self.keep_alive
            && !s.is_finite()
        {
            return Err(Error::config_for(
                "OllamaOptions::keep_alive",
                "must be a finite number of seconds",
            ));
        }
        Ok(())
    }
}

/// An integer option's lower bound, with what its special values mean.
fn at_least(setting: &str, value: Option<i32>, min: i32, meaning: &str) -> Result<(), Error> {
    match value {
        Some(v) if v < min => Err(Error::config_for(
            setting,
            format!("{v} is out of range: it must be at least {min} ({meaning})"),
        )),
        _ => Ok(()),
    }
}

/// Builds [`OllamaOptions`]; setters never fail, [`OllamaOptions::validate`] checks the
/// ranges (the provider calls it before sending).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct OllamaOptionsBuilder {
    opts: OllamaOptions,
}

impl OllamaOptionsBuilder {
    /// How long the model stays loaded after the request.
    pub fn keep_alive(mut self, k: KeepAlive) -> Self {
        self.opts.keep_alive = Some(k);
        self
    }

    /// The context window size in tokens.
    pub fn num_ctx(mut self, n: u32) -> Self {
        self.opts.num_ctx = Some(n);
        self
    }

    /// The most tokens to generate (-1 = no limit).
    pub fn num_predict(mut self, n: i32) -> Self {
        self.opts.num_predict = Some(n);
        self
    }

    /// Penalty for repeated tokens.
    pub fn repeat_penalty(mut self, p: f32) -> Self {
        self.opts.repeat_penalty = Some(p);
        self
    }

    /// Sample only from the `k` most likely tokens.
    pub fn top_k(mut self, k: u32) -> Self {
        self.opts.top_k = Some(k);
        self
    }

    /// Minimum probability relative to the most likely token.
    pub fn min_p(mut self, p: f32) -> Self {
        self.opts.min_p = Some(p);
        self
    }

    /// Whether (or how hard) a thinking model thinks.
    pub fn think(mut self, t: Think) -> Self {
        self.opts.think = Some(t);
        self
    }

    /// The answer's format (`"json"` or a JSON Schema).
    pub fn format(mut self, f: Value) -> Self {
        self.opts.format = Some(f);
        self
    }

    /// Whether input that does not fit the context may be cut (server default `true`).
    pub fn truncate(mut self, yes: bool) -> Self {
        self.opts.truncate = Some(yes);
        self
    }

    /// Whether the context may shift when the answer reaches its end (server default
    /// `true`).
    pub fn shift(mut self, yes: bool) -> Self {
        self.opts.shift = Some(yes);
        self
    }

    /// Prompt tokens kept when the context shifts (-1 = all).
    pub fn num_keep(mut self, n: i32) -> Self {
        self.opts.num_keep = Some(n);
        self
    }

    /// Locally typical sampling, in \[0, 1\] (1 = off).
    pub fn typical_p(mut self, p: f32) -> Self {
        self.opts.typical_p = Some(p);
        self
    }

    /// How far back the repeat penalty looks (0 = off, -1 = the whole context).
    pub fn repeat_last_n(mut self, n: i32) -> Self {
        self.opts.repeat_last_n = Some(n);
        self
    }

    /// Prompt tokens processed per batch (load-time).
    pub fn num_batch(mut self, n: u32) -> Self {
        self.opts.num_batch = Some(n);
        self
    }

    /// Layers offloaded to the GPU(s) (0 = CPU only, -1 = automatic; load-time).
    pub fn num_gpu(mut self, n: i32) -> Self {
        self.opts.num_gpu = Some(n);
        self
    }

    /// The GPU that holds the small tensors of a split model (load-time).
    pub fn main_gpu(mut self, n: u32) -> Self {
        self.opts.main_gpu = Some(n);
        self
    }

    /// Whether the model file is memory-mapped (load-time).
    pub fn use_mmap(mut self, yes: bool) -> Self {
        self.opts.use_mmap = Some(yes);
        self
    }

    /// CPU threads for generation (0 = the runner chooses; load-time).
    pub fn num_thread(mut self, n: u32) -> Self {
        self.opts.num_thread = Some(n);
        self
    }

    /// Tokens a draft model proposes per step (speculative decoding; load-time).
    pub fn draft_num_predict(mut self, n: u32) -> Self {
        self.opts.draft_num_predict = Some(n);
        self
    }

    /// The options.
    pub fn build(self) -> OllamaOptions {
        self.opts
    }
}

/// How long Ollama keeps a model loaded, as Ollama parses `keep_alive`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeepAlive {
    /// A number of seconds; negative keeps the model loaded forever, 0 unloads it at once.
    Seconds(f64),
    /// A Go duration string with a unit: `"5m"`, `"1h30m"`, `"0"`, `"-1s"`.
    Duration(String),
}

impl KeepAlive {
    /// Parses a user-supplied value: a bare number is seconds (`"300"` → 300 s, which Ollama
    /// would reject as a string), anything else must be a Go duration (`"5m"`, `"1h30m"`).
    /// Anything else is an [`Error::Config`] naming `OllamaOptions::keep_alive` and saying
    /// which forms are accepted.
    pub fn parse(s: &str) -> Result<KeepAlive, Error> {
        let s = s.trim();
        let invalid = || {
            Error::config_for(
                "OllamaOptions::keep_alive",
                format!(
                    "invalid keep-alive {s:?}: use seconds (300) or a duration such as 5m, \
                     1h30m, -1s (negative keeps the model loaded, 0 unloads it)"
                ),
            )
        };
        if let Ok(n) = s.parse::<f64>() {
            // "inf" and "NaN" parse as numbers, but Ollama takes neither.
            return if n.is_finite() {
                Ok(KeepAlive::Seconds(n))
            } else {
                Err(invalid())
            };
        }
        if is_go_duration(s) {
            Ok(KeepAlive::Duration(s.to_owned()))
        } else {
            Err(invalid())
        }
    }
}

/// Whether `s` is a Go `time.ParseDuration` string: `[-+]` then one or more
/// `<decimal><unit>` with unit in ns, us, µs, ms, s, m, h.
fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let Some((number, after)) = rest.split_at_checked(num_len) else {
            return false;
        };
        if number.is_empty() || number.parse::<f64>().is_err() {
            return false;
        }
        // "ms" before "m": the first unit that matches wins.
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find_map(|u| after.strip_prefix(*u));
        match unit {
            Some(after_unit) => rest = after_unit,
            None => return false,
        }
    }
    true
}

/// Whether a thinking model thinks, and how hard: Ollama's `think`, a boolean or a level.
///
/// Levels are open: besides [`ThinkLevel::LOW`], [`MEDIUM`](ThinkLevel::MEDIUM),
/// [`HIGH`](ThinkLevel::HIGH) and [`MAX`](ThinkLevel::MAX), a model may define its own
/// (`xhigh`), which newer servers list in [`ModelInfo::thinking`](super::ModelInfo::thinking).
/// It goes on the wire exactly as given: `true`, `false`, or the level's string.
///
/// ```
/// use llmport::ollama::{Think, ThinkLevel};
/// assert_eq!(Think::parse("high"), Think::Level(ThinkLevel::HIGH));
/// assert_eq!(Think::parse("false"), Think::Enabled(false));
/// assert_eq!(serde_json::to_string(&Think::level("xhigh")).unwrap(), r#""xhigh""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Think {
    /// On or off.
    Enabled(bool),
    /// An effort level: `low`, `medium`, `high`, `max`, or one the model defines.
    Level(ThinkLevel),
}

impl Think {
    /// A level by name (`Think::level("xhigh")`).
    pub fn level(name: impl Into<String>) -> Think {
        Think::Level(ThinkLevel::new(name))
    }

    /// Reads a user-supplied value: `true`/`false` (also `on`/`off`, `yes`/`no`) are the
    /// booleans, anything else is a level, as given (trimmed).
    pub fn parse(s: &str) -> Think {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" => Think::Enabled(true),
            "false" | "off" | "no" => Think::Enabled(false),
            _ => Think::level(s),
        }
    }
}

impl std::fmt::Display for Think {
    /// As it goes on the wire, without quotes: `true`, `false`, `high`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Think::Enabled(b) => write!(f, "{b}"),
            Think::Level(l) => f.write_str(l.as_str()),
        }
    }
}

/// A thinking effort level: one of the typed constants, or any name a model defines. Sent
/// exactly as spelled (Ollama compares levels verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ThinkLevel(Cow<'static, str>);

impl ThinkLevel {
    /// `low`.
    pub const LOW: ThinkLevel = ThinkLevel(Cow::Borrowed("low"));
    /// `medium`.
    pub const MEDIUM: ThinkLevel = ThinkLevel(Cow::Borrowed("medium"));
    /// `high`.
    pub const HIGH: ThinkLevel = ThinkLevel(Cow::Borrowed("high"));
    /// `max`: as much as the model can (Ollama ≥ 0.22).
    pub const MAX: ThinkLevel = ThinkLevel(Cow::Borrowed("max"));

    /// A level by name, as the model defines it.
    pub fn new(name: impl Into<String>) -> ThinkLevel {
        ThinkLevel(Cow::Owned(name.into()))
    }

    /// The level's name, as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_alive_parses_like_ollama() {
        assert_eq!(KeepAlive::parse("300").unwrap(), KeepAlive::Seconds(300.0));
        assert_eq!(KeepAlive::parse("-1").unwrap(), KeepAlive::Seconds(-1.0));
        assert_eq!(
            KeepAlive::parse("1h30m").unwrap(),
            KeepAlive::Duration("1h30m".into())
        );
        assert_eq!(
            KeepAlive::parse("-1s").unwrap(),
            KeepAlive::Duration("-1s".into())
        );
        assert_eq!(
            KeepAlive::parse("1.5h").unwrap(),
            KeepAlive::Duration("1.5h".into())
        );
        assert!(KeepAlive::parse("m").is_err());
        assert!(KeepAlive::parse("").is_err());
        assert!(KeepAlive::parse("inf").is_err());
        let e = KeepAlive::parse(" 5 minutes ").unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        assert_eq!(e.setting(), Some("OllamaOptions::keep_alive"));
        assert_eq!(
            e.to_string(),
            "invalid configuration of OllamaOptions::keep_alive: invalid keep-alive \"5 minutes\": \
             use seconds (300) or a duration such as 5m, 1h30m, -1s (negative keeps the model \
             loaded, 0 unloads it)"
        );
        assert_eq!(
            serde_json::to_string(&KeepAlive::Duration("5m".into())).unwrap(),
            "\"5m\""
        );
        assert_eq!(
            serde_json::to_string(&KeepAlive::Seconds(0.0)).unwrap(),
            "0.0"
        );
    }

    #[test]
    fn think_serializes_as_bool_or_level() {
        assert_eq!(
            serde_json::to_string(&Think::Enabled(true)).unwrap(),
            "true"
        );
        assert_eq!(
            serde_json::to_string(&Think::Level(ThinkLevel::HIGH)).unwrap(),
            "\"high\""
        );
        assert_eq!(
            serde_json::to_string(&Think::level("xhigh")).unwrap(),
            "\"xhigh\""
        );
        let values: Vec<Think> = serde_json::from_str(r#"[false, "low", "xhigh"]"#).unwrap();
        assert_eq!(
            values,
            [
                Think::Enabled(false),
                Think::Level(ThinkLevel::LOW),
                Think::level("xhigh")
            ]
        );
        assert_eq!(Think::parse(" Off "), Think::Enabled(false));
        let empty = OllamaOptions::builder().think(Think::level(" ")).build();
        assert_eq!(
            empty.validate().unwrap_err().setting(),
            Some("OllamaOptions::think")
        );
        assert_eq!(Think::parse("Max").to_string(), "Max");
    }
}
