//! What Ollama's model-management endpoints answer: [`LocalModel`] (`/api/tags`),
//! [`ModelInfo`] (`/api/show`), [`RunningModel`] (`/api/ps`) and [`PullProgress`]
//! (`/api/pull`).
//!
//! Field names are Ollama's. Timestamps are kept exactly as the server sent them (RFC 3339,
//! local time with its UTC offset); the `…_time()` methods parse them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::options::Think;
use super::wire::null_as_default;

/// A model stored on the server, as [`list_models`](crate::OllamaProvider::list_models)
/// (`GET /api/tags`) lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LocalModel {
    /// The name to use in requests, with its tag (`llama3.2:latest`).
    pub name: String,
    /// The model name as Ollama's `/v1/models` reports it (usually the same as `name`).
    #[serde(default)]
    pub model: String,
    /// When the model was last changed on the server, RFC 3339 with the server's offset
    /// (`2026-08-19T07:34:03.512334871-07:00`); see [`LocalModel::modified_time`].
    #[serde(default)]
    pub modified_at: String,
    /// Its size on disk in bytes.
    #[serde(default)]
    pub size: u64,
    /// The manifest digest: 64 hex digits, without a `sha256:` prefix.
    #[serde(default)]
    pub digest: String,
    /// Format, family, size and quantization.
    #[serde(default)]
    pub details: ModelDetails,
    /// What the model can do (`completion`, `tools`, `thinking`, `vision`, `embedding`, …);
    /// empty when the server does not say (Ollama before 0.30).
    #[serde(default, deserialize_with = "null_as_default")]
    pub capabilities: Vec<String>,
    /// For a cloud model: the model it stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_model: Option<String>,
    /// For a cloud model: the host that runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_host: Option<String>,
}

impl LocalModel {
    /// [`LocalModel::modified_at`] parsed, keeping its offset; `None` if it is not RFC 3339.
    pub fn modified_time(&self) -> Option<OffsetDateTime> {
        parse_time(&self.modified_at)
    }
}

/// Format, family, size and quantization of a model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelDetails {
    /// The model it was derived from, if any (often empty).
    #[serde(default)]
    pub parent_model: String,
    /// The file format, e.g. `gguf`.
    #[serde(default)]
    pub format: String,
    /// The architecture family, e.g. `llama`.
    #[serde(default)]
    pub family: String,
    /// All families it belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub families: Vec<String>,
    /// The parameter count as Ollama words it, e.g. `3.2B`.
    #[serde(default)]
    pub parameter_size: String,
    /// The quantization, e.g. `Q4_K_M`.
    #[serde(default)]
    pub quantization_level: String,
    /// The longest context the model supports, in tokens (in `/api/tags` answers of recent
    /// servers only; [`ModelInfo::context_length`] has it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// The embedding width (in `/api/tags` answers of recent servers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_length: Option<u64>,
}

/// Everything the server knows about one model, as [`show`](crate::OllamaProvider::show)
/// (`POST /api/show`) answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The license text, if the model has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// A Modelfile that rebuilds the model.
    #[serde(default)]
    pub modelfile: String,
    /// The model's default parameters as text, one `key value` line each (values are
    /// Go-quoted); see [`ModelInfo::parameter_list`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    /// The prompt template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The default system prompt, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The built-in renderer used instead of a template, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<String>,
    /// The built-in output parser, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parser: Option<String>,
    /// Format, family, size and quantization.
    #[serde(default)]
    pub details: ModelDetails,
    /// The model's metadata (GGUF key/value pairs such as `general.architecture` and
    /// `llama.context_length`; long arrays are left empty by the server).
    #[serde(default, deserialize_with = "null_as_default")]
    pub model_info: Map<String, Value>,
    /// The vision projector's metadata, for models that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projector_info: Option<Map<String, Value>>,
    /// The model's tensors (GGUF models).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tensors: Vec<TensorInfo>,
    /// What the model can do, in discovery order: `completion`, `tools`, `thinking`,
    /// `vision`, `insert` (fill-in-the-middle), `embedding`, `image`, `audio`, or a word a
    /// newer server adds; see [`ModelInfo::supports`].
    #[serde(default, deserialize_with = "null_as_default")]
    pub capabilities: Vec<String>,
    /// The `think` values the model accepts and its default, where the server says (newer
    /// Ollama; absent before, and for models without the metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingLevels>,
    /// When the model was last changed, RFC 3339 with the server's offset; see
    /// [`ModelInfo::modified_time`].
    #[serde(default)]
    pub modified_at: String,
    /// The lowest Ollama version the model needs, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<String>,
}

impl ModelInfo {
    /// Whether the server lists `capability` (`tools`, `vision`, `insert`, …) for the model.
    /// Servers before Ollama 0.30 list none: check [`ModelInfo::capabilities`] for emptiness
    /// before concluding anything.
    pub fn supports(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// The architecture (`general.architecture`), e.g. `llama`.
    pub fn architecture(&self) -> Option<&str> {
        self.model_info
            .get("general.architecture")
            .and_then(Value::as_str)
    }

    /// The longest context the model supports, in tokens
    /// (`model_info["<architecture>.context_length"]`).
    pub fn context_length(&self) -> Option<u64> {
        self.arch_value("context_length")
    }

    /// The embedding width (`model_info["<architecture>.embedding_length"]`).
    pub fn embedding_length(&self) -> Option<u64> {
        self.arch_value("embedding_length")
    }

    fn arch_value(&self, key: &str) -> Option<u64> {
        let arch = self.architecture()?;
        self.model_info
            .get(&format!("{arch}.{key}"))
            .and_then(Value::as_u64)
    }

    /// [`ModelInfo::parameters`] as `(key, value)` pairs in text order, values unquoted
    /// (`("stop", "<|eot_id|>")`). A key may repeat (`stop`).
    pub fn parameter_list(&self) -> Vec<(String, String)> {
        let Some(text) = &self.parameters else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| {
                let line = line.trim();
                let (key, value) = line.split_once(char::is_whitespace)?;
                let value = value.trim();
                // Go's strconv.Quote output is a JSON string for everything but control
                // bytes; keep the text as it is when it does not parse.
                let value =
                    serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_owned());
                Some((key.to_owned(), value))
            })
            .collect()
    }

    /// [`ModelInfo::modified_at`] parsed, keeping its offset; `None` if it is not RFC 3339.
    pub fn modified_time(&self) -> Option<OffsetDateTime> {
        parse_time(&self.modified_at)
    }
}

/// The `think` values a model accepts, as `/api/show` reports them (`"thinking": {"values":
/// [false, "low", "medium", "xhigh"], "default": "medium"}`). Such a server replaces a value
/// outside the list with the default without saying so, which is why a request is checked
/// against it before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThinkingLevels {
    /// Every accepted value: booleans and level names.
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<Think>,
    /// What the server uses when `think` is not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Think>,
}

impl ThinkingLevels {
    /// Whether `think` is one of [`ThinkingLevels::values`] (`true` also when the list has
    /// a level: every level turns thinking on).
    pub fn accepts(&self, think: &Think) -> bool {
        self.values.contains(think)
            || *think == Think::Enabled(true)
                && self
                    .values
                    .iter()
                    .any(|v| matches!(v, Think::Level(_) | Think::Enabled(true)))
    }

    /// The values as a list for a message: `false, low, medium, xhigh`.
    pub fn list(&self) -> String {
        let names: Vec<String> = self.values.iter().map(Think::to_string).collect();
        names.join(", ")
    }
}

/// One tensor of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TensorInfo {
    /// Its name, e.g. `token_embd.weight`.
    pub name: String,
    /// Its data type, e.g. `Q4_K`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its dimensions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub shape: Vec<u64>,
}

/// A model loaded in memory, as [`running`](crate::OllamaProvider::running) (`GET /api/ps`)
/// lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunningModel {
    /// The model's name with its tag.
    pub name: String,
    /// The model name as `/v1/models` reports it.
    #[serde(default)]
    pub model: String,
    /// Memory it takes, in bytes.
    #[serde(default)]
    pub size: u64,
    /// The manifest digest.
    #[serde(default)]
    pub digest: String,
    /// Format, family, size and quantization.
    #[serde(default)]
    pub details: ModelDetails,
    /// When it will be unloaded, RFC 3339 with the server's offset (far in the future when
    /// kept loaded forever); see [`RunningModel::expires_time`].
    #[serde(default)]
    pub expires_at: String,
    /// Of [`RunningModel::size`], how many bytes are in GPU memory (less means part of it
    /// runs on the CPU).
    #[serde(default)]
    pub size_vram: u64,
    /// The context size it was loaded with, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
}

impl RunningModel {
    /// [`RunningModel::expires_at`] parsed, keeping its offset; `None` if it is not RFC 3339.
    pub fn expires_time(&self) -> Option<OffsetDateTime> {
        parse_time(&self.expires_at)
    }
}

/// One progress report of a [`pull`](crate::OllamaProvider::pull),
/// [`push`](crate::OllamaProvider::push) or [`create`](crate::OllamaProvider::create).
///
/// A pull reports `pulling manifest`, then per layer `pulling <digest prefix>` with
/// [`digest`](PullProgress::digest), [`total`](PullProgress::total) and
/// [`completed`](PullProgress::completed) bytes, then `verifying sha256 digest`,
/// `writing manifest`, and last `success`. A push reports `retrieving manifest`, per layer
/// `pushing <digest prefix>` with bytes, `pushing manifest`, `success`. A create reports what
/// it does with each layer (`using existing layer sha256:…`, `creating new layer sha256:…`,
/// `parsing GGUF`, `quantizing F16 model to Q4_K_M` with bytes, …), `writing manifest`,
/// `success`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Progress {
    /// What the server is doing, in its words.
    pub status: String,
    /// The layer being transferred (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The layer's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// How many of its bytes are there (absent until the first ones arrived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
}

/// [`Progress`], under the name it had when only pulls reported progress.
pub type PullProgress = Progress;

impl Progress {
    /// Whether this is the final `success` report.
    pub fn is_success(&self) -> bool {
        self.status == "success"
    }
}

/// Options of a [`pull`](crate::OllamaProvider::pull_with).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PullOptions {
    /// Allow a registry without TLS or with an invalid certificate (Ollama's `insecure`).
    pub insecure: Option<bool>,
}

impl PullOptions {
    /// No option set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder.
    pub fn builder() -> PullOptionsBuilder {
        PullOptionsBuilder::default()
    }
}

/// Builds [`PullOptions`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PullOptionsBuilder {
    opts: PullOptions,
}

impl PullOptionsBuilder {
    /// Allow a registry without TLS or with an invalid certificate.
    pub fn insecure(mut self, yes: bool) -> Self {
        self.opts.insecure = Some(yes);
        self
    }

    /// The options.
    pub fn build(self) -> PullOptions {
        self.opts
    }
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_their_offset() {
        let t = parse_time("2026-08-19T07:34:03.512334871-07:00").unwrap();
        assert_eq!(t.offset().whole_hours(), -7);
        assert_eq!(t.nanosecond(), 512_334_871);
        assert_eq!(t.unix_timestamp(), 1_787_150_043);
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn parameter_text_is_split_and_unquoted() {
        let info: ModelInfo = serde_json::from_value(serde_json::json!({
            "parameters": "stop                           \"<|eot_id|>\"\nnum_ctx                        8192\ntemperature                    0.7",
            "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960}
        }))
        .unwrap();
        assert_eq!(
            info.parameter_list(),
            [
                ("stop".to_owned(), "<|eot_id|>".to_owned()),
                ("num_ctx".to_owned(), "8192".to_owned()),
                ("temperature".to_owned(), "0.7".to_owned()),
            ]
        );
        assert_eq!(info.context_length(), Some(40960));
        assert_eq!(info.embedding_length(), None);
    }
}
