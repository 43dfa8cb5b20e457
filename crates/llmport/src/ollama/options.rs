//! [`OllamaOptions`]: settings only Ollama understands.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Settings only Ollama understands. Ollama's OpenAI-compatible `/v1` API ignores every one
/// of them, so when any is set, [`OllamaProvider`](crate::OllamaProvider) sends the chat to
/// Ollama's native `/api/chat` instead, which honours them, and returns the same
/// [`GenResponse`](crate::GenResponse) shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OllamaOptions {
    /// How long the model stays loaded after the request.
    pub keep_alive: Option<KeepAlive>,
    /// The context window size in tokens (`options.num_ctx`).
    pub num_ctx: Option<u32>,
    /// The most tokens to generate (`options.num_predict`; -1 = no limit). Overrides
    /// `max_tokens` when both are set.
    pub num_predict: Option<i32>,
    /// Penalty for repeated tokens (`options.repeat_penalty`).
    pub repeat_penalty: Option<f32>,
    /// Sample only from the `top_k` most likely tokens (`options.top_k`).
    pub top_k: Option<u32>,
    /// Minimum probability relative to the most likely token (`options.min_p`).
    pub min_p: Option<f32>,
    /// Whether (or how hard) a thinking model thinks.
    pub think: Option<Think>,
    /// The answer's format: `"json"` or a JSON Schema object.
    pub format: Option<Value>,
}

impl OllamaOptions {
    /// No Ollama-only setting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any setting is made (and so the native API is needed).
    pub fn is_set(&self) -> bool {
        self != &Self::default()
    }

    /// Sets `keep_alive`.
    #[must_use]
    pub fn with_keep_alive(mut self, k: KeepAlive) -> Self {
        self.keep_alive = Some(k);
        self
    }

    /// Sets `num_ctx`.
    #[must_use]
    pub fn with_num_ctx(mut self, n: u32) -> Self {
        self.num_ctx = Some(n);
        self
    }

    /// Sets `num_predict`.
    #[must_use]
    pub fn with_num_predict(mut self, n: i32) -> Self {
        self.num_predict = Some(n);
        self
    }

    /// Sets `repeat_penalty`.
    #[must_use]
    pub fn with_repeat_penalty(mut self, p: f32) -> Self {
        self.repeat_penalty = Some(p);
        self
    }

    /// Sets `top_k`.
    #[must_use]
    pub fn with_top_k(mut self, k: u32) -> Self {
        self.top_k = Some(k);
        self
    }

    /// Sets `min_p`.
    #[must_use]
    pub fn with_min_p(mut self, p: f32) -> Self {
        self.min_p = Some(p);
        self
    }

    /// Sets `think`.
    #[must_use]
    pub fn with_think(mut self, t: Think) -> Self {
        self.think = Some(t);
        self
    }

    /// Sets `format` (`"json"` or a JSON Schema).
    #[must_use]
    pub fn with_format(mut self, f: Value) -> Self {
        self.format = Some(f);
        self
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
    pub fn parse(s: &str) -> Result<KeepAlive, String> {
        let s = s.trim();
        if let Ok(n) = s.parse::<f64>() {
            if n.is_finite() {
                return Ok(KeepAlive::Seconds(n));
            }
            return Err(format!("invalid keep-alive {s:?}"));
        }
        if is_go_duration(s) {
            Ok(KeepAlive::Duration(s.to_owned()))
        } else {
            Err(format!(
                "invalid keep-alive {s:?}: use seconds (300) or a duration such as 5m, 1h30m, -1s"
            ))
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
        if num_len == 0 || rest[..num_len].parse::<f64>().is_err() {
            return false;
        }
        rest = &rest[num_len..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// Whether a thinking model thinks, and how hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Think {
    /// On or off.
    Enabled(bool),
    /// An effort level: `low`, `medium`, `high` or `max`.
    Level(ThinkLevel),
}

/// A thinking effort level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkLevel {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// As much as the model can (Ollama ≥ 0.22).
    Max,
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
        assert!(KeepAlive::parse("5 minutes").is_err());
        assert!(KeepAlive::parse("m").is_err());
        assert!(KeepAlive::parse("").is_err());
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
            serde_json::to_string(&Think::Level(ThinkLevel::High)).unwrap(),
            "\"high\""
        );
    }
}
