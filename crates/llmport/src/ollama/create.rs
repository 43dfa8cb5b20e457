//! Creating a model on the server (`POST /api/create`, the JSON form of Ollama ≥ 0.5.5): from
//! a model it has (`from`), or from files already uploaded as blobs (`files`, name → digest,
//! see [`super::blobs`]), with a template, system prompt, parameters, messages, license,
//! adapters and a quantization to apply. The answer is a progress stream.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::OllamaProvider;
use super::blobs::canonical_digest;
use super::native::require_model;
use super::progress::ProgressStream;
use crate::error::{Error, Result};
use crate::json_body::encode_json;
use crate::transport::Request;

/// What a model is created from and with, for [`OllamaProvider::create`]. Build it with
/// [`CreateOptions::builder`]; it needs [`from`](CreateOptionsBuilder::from) or at least one
/// [`file`](CreateOptionsBuilder::file).
///
/// ```
/// use llmport::ollama::CreateOptions;
/// let mario = CreateOptions::builder()
///     .from("llama3.2")
///     .system("You are Mario from Super Mario Bros.")
///     .parameter("temperature", 0.7)
///     .parameter("num_ctx", 8192)
///     .build()?;
/// assert_eq!(mario.from.as_deref(), Some("llama3.2"));
/// # Ok::<(), llmport::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateOptions {
    /// The model to start from (pulled first if the server lacks it).
    pub from: Option<String>,
    /// Model files already on the server as blobs: file name (`model.gguf`) → digest
    /// (`sha256:<hex>`).
    pub files: BTreeMap<String, String>,
    /// LoRA adapter files already on the server as blobs: file name → digest.
    pub adapters: BTreeMap<String, String>,
    /// The prompt template (Go template syntax).
    pub template: Option<String>,
    /// The default system prompt.
    pub system: Option<String>,
    /// Default parameters (`temperature`, `num_ctx`, `stop`, …), merged by the server with
    /// those of `from`.
    pub parameters: Map<String, Value>,
    /// Messages that start every conversation with the model.
    pub messages: Vec<CreateMessage>,
    /// License texts, appended to those of `from`.
    pub license: Vec<String>,
    /// Quantize the weights, e.g. `q4_K_M`, `q8_0` (from F16 or F32 weights only).
    pub quantize: Option<String>,
}

/// One message of [`CreateOptions::messages`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl CreateOptions {
    /// A builder.
    pub fn builder() -> CreateOptionsBuilder {
        CreateOptionsBuilder::default()
    }
}

/// Builds [`CreateOptions`]; keeps the first error (a malformed digest) for
/// [`build`](CreateOptionsBuilder::build), which also refuses options with neither `from`
/// nor files.
#[derive(Debug, Default)]
#[must_use]
pub struct CreateOptionsBuilder {
    opts: CreateOptions,
    error: Option<Error>,
}

impl CreateOptionsBuilder {
    /// The model to start from.
    pub fn from(mut self, model: impl Into<String>) -> Self {
        self.opts.from = Some(model.into());
        self
    }

    /// A model file the server has as the blob `digest` (see
    /// [`OllamaProvider::ensure_blob`]), under the file name `name` (`model.gguf`).
    pub fn file(self, name: impl Into<String>, digest: &str) -> Self {
        self.blob(false, name.into(), digest)
    }

    /// A LoRA adapter the server has as the blob `digest`, under the file name `name`.
    pub fn adapter(self, name: impl Into<String>, digest: &str) -> Self {
        self.blob(true, name.into(), digest)
    }

    /// A file or an adapter, its digest spelled as the server compares it.
    fn blob(mut self, adapter: bool, name: String, digest: &str) -> Self {
        let setting = if adapter {
            "CreateOptions::adapter"
        } else {
            "CreateOptions::file"
        };
        match canonical_digest(digest, setting) {
            Ok(d) if adapter => {
                self.opts.adapters.insert(name, d);
            }
            Ok(d) => {
                self.opts.files.insert(name, d);
            }
            Err(e) => self.keep(e),
        }
        self
    }

    /// The prompt template.
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.opts.template = Some(template.into());
        self
    }

    /// The default system prompt.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.opts.system = Some(system.into());
        self
    }

    /// A default parameter (`temperature` 0.7, `num_ctx` 8192, `stop` `["<|eot_id|>"]`).
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.opts.parameters.insert(name.into(), value.into());
        self
    }

    /// A message that starts every conversation.
    pub fn message(mut self, role: impl Into<String>, content: impl Into<String>) -> Self {
        self.opts.messages.push(CreateMessage {
            role: role.into(),
            content: content.into(),
        });
        self
    }

    /// A license text (several may be given).
    pub fn license(mut self, text: impl Into<String>) -> Self {
        self.opts.license.push(text.into());
        self
    }

    /// The quantization to apply, e.g. `q4_K_M`.
    pub fn quantize(mut self, quantization: impl Into<String>) -> Self {
        self.opts.quantize = Some(quantization.into());
        self
    }

    fn keep(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    /// The options, or the first error.
    pub fn build(self) -> Result<CreateOptions> {
        if let Some(e) = self.error {
            return Err(e);
        }
        check_source(&self.opts)?;
        Ok(self.opts)
    }
}

/// Refuses options the server would answer with 400 `neither 'from' or 'files' was
/// specified`.
fn check_source(o: &CreateOptions) -> Result<()> {
    if o.from.as_deref().is_none_or(|f| f.trim().is_empty()) && o.files.is_empty() {
        return Err(Error::config_for(
            "CreateOptions::from",
            "a model is created from a model (from) or from files (file): give one",
        ));
    }
    Ok(())
}

/// `POST /api/create`.
#[derive(Debug, Serialize)]
struct CreateRequest<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    files: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    adapters: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<&'a str>,
    /// A string for one text, a list for several (Ollama takes both).
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    parameters: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "<[CreateMessage]>::is_empty")]
    messages: &'a [CreateMessage],
    #[serde(skip_serializing_if = "Option::is_none")]
    quantize: Option<&'a str>,
}

fn create_body(name: &str, o: &CreateOptions) -> Result<Vec<u8>> {
    require_model(name)?;
    check_source(o)?;
    for (setting, map) in [
        ("CreateOptions::file", &o.files),
        ("CreateOptions::adapter", &o.adapters),
    ] {
        for digest in map.values() {
            // Fields are public: a digest set without the builder is checked here.
            if canonical_digest(digest, setting)? != *digest {
                return Err(Error::config_for(
                    setting,
                    format!("{digest:?}: spell digests sha256:<64 lowercase hex digits>"),
                ));
            }
        }
    }
    let license = match o.license.as_slice() {
        [] => None,
        [one] => Some(Value::from(one.as_str())),
        many => Some(Value::from(many.to_vec())),
    };
    encode_json(&CreateRequest {
        model: name,
        from: o.from.as_deref(),
        files: &o.files,
        adapters: &o.adapters,
        template: o.template.as_deref(),
        license,
        system: o.system.as_deref(),
        parameters: &o.parameters,
        messages: &o.messages,
        quantize: o.quantize.as_deref(),
    })
}

impl OllamaProvider {
    /// Creates (or replaces) the model `name` (`POST /api/create`), reporting progress as
    /// it goes: `using existing layer sha256:…`, `creating new layer sha256:…`, `writing
    /// manifest`, `success` (see [`Progress`](super::Progress)). The files it names must be
    /// on the server already ([`ensure_blob`](Self::ensure_blob), or
    /// [`create_from_gguf`](Self::create_from_gguf) which does both).
    ///
    /// A failure the server reports in the middle (an unknown `from`: `pull model manifest:
    /// file does not exist`; a missing blob: `open …/blobs/sha256-…: no such file or
    /// directory`) arrives as an [`Error::Stream`] item.
    ///
    /// ```no_run
    /// # async fn run() -> llmport::Result<()> {
    /// use futures::StreamExt;
    /// use llmport::ollama::CreateOptions;
    /// let ollama = llmport::OllamaProvider::new()?;
    /// let options = CreateOptions::builder().from("llama3.2").system("Be brief.").build()?;
    /// let mut create = ollama.create("brief", &options).await?;
    /// while let Some(progress) = create.next().await {
    ///     eprintln!("{}", progress?.status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, name: &str, options: &CreateOptions) -> Result<ProgressStream> {
        let body = create_body(name, options)?;
        let req = Request::post_json("api/create", body, options.from.as_deref());
        self.progress_stream("create", &req).await
    }

    /// Creates the model `name` from a local GGUF file: uploads it unless the server has
    /// it already ([`ensure_blob`](Self::ensure_blob): hashed and sent streamed from disk),
    /// then [`create`](Self::create)s the model from it.
    pub async fn create_from_gguf(&self, name: &str, path: &Path) -> Result<ProgressStream> {
        self.create_from_gguf_with(name, path, &CreateOptions::default())
            .await
    }

    /// [`create_from_gguf`](Self::create_from_gguf) with a template, system prompt,
    /// parameters, … (`options` need not name a source: the file is the source).
    pub async fn create_from_gguf_with(
        &self,
        name: &str,
        path: &Path,
        options: &CreateOptions,
    ) -> Result<ProgressStream> {
        require_model(name)?;
        let file_name = gguf_file_name(path);
        let digest = self.ensure_blob(path).await?;
        let mut options = options.clone();
        options.files.insert(file_name, digest);
        self.create(name, &options).await
    }
}

/// The name a local file is given in `files`: its own (`model.gguf`), with the extension
/// Ollama recognises GGUF by when it lacks one.
pub(super) fn gguf_file_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.to_ascii_lowercase().ends_with(".gguf") {
        name
    } else if name.is_empty() {
        "model.gguf".to_owned()
    } else {
        format!("{name}.gguf")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_without_a_source_is_refused_before_sending() {
        let e = CreateOptions::builder().system("x").build().unwrap_err();
        assert_eq!(e.setting(), Some("CreateOptions::from"));
        let e = CreateOptions::builder()
            .file("m.gguf", "sha256:zz")
            .from("x")
            .build()
            .unwrap_err();
        assert_eq!(e.setting(), Some("CreateOptions::file"));
    }

    #[test]
    fn the_body_has_only_what_was_set_and_one_license_is_a_string() {
        let o = CreateOptions::builder()
            .from("llama3.2")
            .license("MIT")
            .parameter("num_ctx", 8192)
            .build()
            .unwrap();
        let body: Value = serde_json::from_slice(&create_body("m", &o).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"model": "m", "from": "llama3.2", "license": "MIT",
                               "parameters": {"num_ctx": 8192}})
        );
        assert_eq!(gguf_file_name(Path::new("/x/tiny")), "tiny.gguf");
    }
}
