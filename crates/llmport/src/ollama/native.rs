//! Ollama's native API (`/api/*`) on [`OllamaProvider`]: listing, showing, pulling, deleting
//! and inspecting models, the server version, embeddings — and what the native NDJSON
//! streams share (`lines_decoder!`, [`decode_document`]).

use std::collections::VecDeque;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::OllamaProvider;
use super::models::{LocalModel, ModelInfo, PullOptions, RunningModel};
use super::options::OllamaOptions;
use super::progress::{ProgressDecoder, ProgressStream};
use super::wire::{
    CopyRequest, EmbedRequest, EmbedResponse, ModelRequest, PsResponse, PullLine, PullRequest,
    TagsResponse, UnloadRequest, VersionResponse, reported_error,
};
use crate::codec::lines::{LineHandler, Lines};
use crate::embed::{EmbedOptions, Embedder, Embeddings};
use crate::error::{ApiError, Error, Result};
use crate::json_body::{encode_json, encode_with_extra};
use crate::transport::{Request, Timer, excerpt};

impl OllamaProvider {
    /// The models stored on the server, most recently changed first (`GET /api/tags`).
    ///
    /// Unlike [`Provider::models`](crate::Provider::models), which returns the list this
    /// provider was configured with, this asks the server.
    ///
    /// ```no_run
    /// # async fn run() -> llmport::Result<()> {
    /// let ollama = llmport::OllamaProvider::new()?;
    /// for m in ollama.list_models().await? {
    ///     println!("{:<30} {:>6} {}", m.name, m.details.parameter_size, m.size);
    /// }
    /// let info = ollama.show("llama3.2").await?;
    /// println!("context: {:?} tokens", info.context_length());
    /// # Ok(()) }
    /// ```
    pub async fn list_models(&self) -> Result<Vec<LocalModel>> {
        let tags: TagsResponse = self.get_json("api/tags").await?;
        Ok(tags.models)
    }

    /// Everything the server knows about a model: parameters, template, capabilities,
    /// metadata (`POST /api/show`). A model the server does not have is an
    /// [`Error::Api`] with status 404 and a hint to pull it.
    pub async fn show(&self, model: &str) -> Result<ModelInfo> {
        require_model(model)?;
        let body = encode_json(&ModelRequest { model })?;
        let req = Request::post_json("api/show", body, Some(model));
        let bytes = self.native.send_for_body(&req).await?;
        decode_json(&bytes, "api/show")
    }

    /// Downloads a model (or brings it up to date), reporting progress as it goes
    /// (`POST /api/pull`).
    ///
    /// The stream yields [`Progress`](super::Progress) reports and ends after the one whose status is
    /// `success`. A failure the server reports in the middle (for example an unknown model:
    /// `pull model manifest: file does not exist`) arrives as an [`Error::Stream`] item, and
    /// so does a stream that ends without `success`. Dropping the stream cancels the pull
    /// (Ollama keeps what it downloaded, and a later pull resumes).
    ///
    /// ```no_run
    /// # async fn run() -> llmport::Result<()> {
    /// use futures::StreamExt;
    /// let ollama = llmport::OllamaProvider::new()?;
    /// let mut pull = ollama.pull("llama3.2").await?;
    /// while let Some(progress) = pull.next().await {
    ///     let p = progress?;
    ///     match (p.completed, p.total) {
    ///         (Some(done), Some(total)) => eprintln!("{} {done}/{total}", p.status),
    ///         _ => eprintln!("{}", p.status),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn pull(&self, model: &str) -> Result<ProgressStream> {
        self.pull_with(model, &PullOptions::default()).await
    }

    /// [`OllamaProvider::pull`] with options.
    pub async fn pull_with(&self, model: &str, options: &PullOptions) -> Result<ProgressStream> {
        let body = pull_body(model, options, None)?;
        let req = Request::post_json("api/pull", body, Some(model));
        self.progress_stream("pull", &req).await
    }

    /// Downloads a model without progress reports (`"stream": false`): returns once the
    /// pull has finished, which can take many minutes — mind
    /// [`ClientOptions::first_byte_timeout`](crate::ClientOptions::first_byte_timeout),
    /// which bounds the wait for the answer.
    pub async fn pull_without_progress(&self, model: &str, options: &PullOptions) -> Result<()> {
        let body = pull_body(model, options, Some(false))?;
        let req = Request::post_json("api/pull", body, Some(model));
        let bytes = self.native.send_for_body(&req).await?;
        let line: PullLine = decode_json(&bytes, "api/pull")?;
        if let Some(err) = reported_error(line.error.as_ref()) {
            return Err(Error::stream(format!("the pull failed: {err}")));
        }
        if line.status != "success" {
            return Err(Error::decode(format!(
                "the pull ended with status {:?} instead of \"success\"",
                line.status
            )));
        }
        Ok(())
    }

    /// Deletes a model from the server (`DELETE /api/delete`). A model the server does not
    /// have is an [`Error::Api`] with status 404 whose message names it.
    pub async fn delete(&self, model: &str) -> Result<()> {
        require_model(model)?;
        let body = encode_json(&ModelRequest { model })?;
        let req = Request::delete_json("api/delete", body, Some(model));
        // Success is a 200 with an empty body: nothing to decode.
        self.native.send_for_body(&req).await?;
        Ok(())
    }

    /// Copies the model `source` to the new name `destination` (`POST /api/copy`), e.g. to
    /// push it under your namespace. A `source` the server does not have is an
    /// [`Error::Api`] with status 404 (`model "x" not found`).
    pub async fn copy(&self, source: &str, destination: &str) -> Result<()> {
        require_model(source)?;
        require_model(destination)?;
        let body = encode_json(&CopyRequest {
            source,
            destination,
        })?;
        let req = Request::post_json("api/copy", body, Some(source));
        // Success is a 200 with an empty body.
        self.native.send_for_body(&req).await?;
        Ok(())
    }

    /// Unloads the model from memory now (what `ollama stop` does): a `POST /api/generate`
    /// with an empty prompt and `keep_alive: 0`, which the server answers at once
    /// (`done_reason: unload`) without generating. A model that is not loaded is no error.
    pub async fn unload(&self, model: &str) -> Result<()> {
        require_model(model)?;
        let body = encode_json(&UnloadRequest {
            model,
            prompt: "",
            keep_alive: 0,
        })?;
        let req = Request::post_json("api/generate", body, Some(model));
        self.native.send_for_body(&req).await?;
        Ok(())
    }

    /// The models loaded in memory now, with when each will be unloaded (`GET /api/ps`).
    pub async fn running(&self) -> Result<Vec<RunningModel>> {
        let ps: PsResponse = self.get_json("api/ps").await?;
        Ok(ps.models)
    }

    /// The server's version, e.g. `0.33.0` (`GET /api/version`).
    ///
    /// Not to be confused with [`Provider::version`](crate::Provider::version), the version
    /// of this client.
    pub async fn server_version(&self) -> Result<String> {
        let v: VersionResponse = self.get_json("api/version").await?;
        Ok(v.version)
    }

    /// Checks that the server answers (`GET /`, where Ollama says "Ollama is running").
    pub async fn ping(&self) -> Result<()> {
        self.native.send_for_body(&Request::get("")).await?;
        Ok(())
    }

    /// Sends a request whose answer is a progress stream (pull, push, create) and opens it.
    pub(super) async fn progress_stream(
        &self,
        operation: &'static str,
        req: &Request<'_>,
    ) -> Result<ProgressStream> {
        let body = self.native.send_for_stream(req).await?;
        let decoder =
            ProgressDecoder::for_operation(operation, self.openai.stream_limits().max_line);
        // Not capped by `max_body_size`: progress reports run as long as the operation.
        Ok(ProgressStream::new(
            crate::stream::open(body, decoder, false).await?,
        ))
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let bytes = self.native.send_for_body(&Request::get(path)).await?;
        decode_json(&bytes, path)
    }
}

/// Embeddings through Ollama's native `POST /api/embed`, which (unlike `/v1/embeddings`)
/// honours [`EmbedOptions::truncate`] and the `keep_alive` of an [`OllamaOptions`]
/// extension (its other settings do not apply to embeddings and are refused).
/// [`Embeddings::input_tokens`] is the server's `prompt_eval_count`.
impl OllamaProvider {
    /// Embeds each input (any slice of strings: `&["hello"]`, `&[String]`, `&Vec<String>`);
    /// the vectors come back in input order. See [`Embedder`].
    pub async fn embed<S: AsRef<str>>(
        &self,
        model: &str,
        inputs: &[S],
        options: &EmbedOptions,
    ) -> Result<Embeddings> {
        crate::embed::embed_any(self, model, inputs, options).await
    }
}

#[async_trait]
impl Embedder for OllamaProvider {
    async fn embed_strs(
        &self,
        model: &str,
        inputs: &[&str],
        options: &EmbedOptions,
    ) -> Result<Embeddings> {
        require_model(model)?;
        options.validate()?;
        self.require_capabilities(model, &["embedding"]).await?;
        let ollama = options.extension::<OllamaOptions>();
        if let Some(o) = ollama {
            o.validate()?;
            let only_keep_alive = OllamaOptions {
                keep_alive: o.keep_alive.clone(),
                ..OllamaOptions::default()
            };
            if *o != only_keep_alive {
                return Err(Error::unsupported(
                    "ollama",
                    "OllamaOptions other than keep_alive on embeddings",
                    "Ollama's /api/embed takes only keep_alive of these settings: leave the \
                     others unset",
                ));
            }
        }
        if let Some(name) = options
            .extensions
            .type_names()
            .find(|n| *n != std::any::type_name::<OllamaOptions>())
        {
            return Err(Error::unsupported(
                "ollama",
                format!("{name} (an EmbedOptions extension)"),
                "Ollama reads only OllamaOptions",
            ));
        }
        let req = EmbedRequest {
            model,
            input: inputs,
            dimensions: options.dimensions,
            truncate: options.truncate,
            keep_alive: ollama.and_then(|o| o.keep_alive.as_ref()),
        };
        let body = encode_with_extra(&req, &options.extra)?;
        let timer = Timer::start();
        let req = Request::post_json("api/embed", body, Some(model));
        let bytes = self.native.send_for_body(&req).await?;
        let answer: EmbedResponse = decode_json(&bytes, "api/embed")?;
        if answer.embeddings.len() != inputs.len() {
            return Err(embed_count_error(
                &bytes,
                answer.embeddings.len(),
                inputs.len(),
            ));
        }
        Ok(Embeddings {
            vectors: answer.embeddings,
            model: answer.model,
            input_tokens: answer.prompt_eval_count,
            total_time: Some(timer.elapsed()),
        })
    }
}

/// Why an `/api/embed` answer does not have one vector per input. An answer without
/// `embeddings` is not "0 vectors": say what it is (an OpenAI-style `{"data": [...]}` list
/// comes from a server that is not Ollama but maps the path to its `/v1/embeddings`).
fn embed_count_error(body: &[u8], got: usize, inputs: usize) -> Error {
    let answer: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let has = |key: &str| answer.as_ref().and_then(|v| v.get(key)).is_some();
    if has("embeddings") {
        return Error::decode(format!(
            "the server returned {got} vectors for {inputs} inputs"
        ));
    }
    let what = if has("data") {
        "is an OpenAI-style embeddings list (`data`), not Ollama's (`embeddings`): is the host \
         an Ollama server? For an OpenAI-compatible one, use its /v1/embeddings"
    } else {
        "has no `embeddings`"
    };
    Error::decode(format!(
        "the answer of /api/embed {what}; it was: {}",
        excerpt(body)
    ))
}

// ---------------------------------------------------------------------------------------
// Requests and answers
// ---------------------------------------------------------------------------------------

pub(super) fn require_model(model: &str) -> Result<()> {
    if model.trim().is_empty() {
        return Err(Error::config_for(
            "model",
            "no model given: name the model to use",
        ));
    }
    Ok(())
}

fn pull_body(model: &str, options: &PullOptions, stream: Option<bool>) -> Result<Vec<u8>> {
    require_model(model)?;
    encode_json(&PullRequest {
        model,
        insecure: options.insecure,
        stream,
    })
}

fn decode_json<T: DeserializeOwned>(bytes: &[u8], path: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        message: format!(
            "the answer of /{path} is not what Ollama sends: {}",
            excerpt(bytes)
        ),
        source: Some(Box::new(e)),
    })
}

// ---------------------------------------------------------------------------------------
// NDJSON streams
// ---------------------------------------------------------------------------------------

/// Implements [`Decoder`](crate::codec::Decoder) for a native decoder that wraps a [`Lines`] in a field `lines`:
/// everything goes to the lines, and a JSON document answering the stream request goes to
/// [`decode_document`] with what the stream should have been (`$what`) and how to tell a whole
/// answer (`$is_answer`).
macro_rules! lines_decoder {
    ($ty:ty, $item:ty, $what:expr, $is_answer:expr) => {
        impl $crate::codec::Decoder for $ty {
            type Item = $item;

            fn feed(&mut self, bytes: ::bytes::Bytes) {
                self.lines.feed(bytes);
            }

            fn next_item(&mut self) -> Option<$crate::error::Result<$item>> {
                self.lines.next_item()
            }

            fn end(&mut self) {
                self.lines.end();
            }

            fn is_done(&self) -> bool {
                self.lines.is_done()
            }

            fn take_progress(&mut self) -> bool {
                self.lines.take_progress()
            }

            fn decode_document(&mut self, status: u16, body: &[u8]) -> $crate::error::Result<()> {
                $crate::ollama::native::decode_document(
                    &mut self.lines,
                    status,
                    body,
                    $what,
                    $is_answer,
                )
            }
        }
    };
}
pub(super) use lines_decoder;

/// A non-streamed native answer (`"stream": false`): one JSON object, decoded by `handler`
/// exactly as a stream's last line; `what` names it in errors (`chat`, `generate`).
pub(super) fn decode_whole_answer<H: LineHandler>(
    bytes: &[u8],
    mut handler: H,
    what: &str,
) -> Result<H::Item> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::decode(format!("the {what} answer is not valid UTF-8")))?;
    let mut out = VecDeque::new();
    handler.on_line(text, &mut out)?;
    match out.pop_front() {
        Some(item) if handler.is_done() => item,
        _ => Err(Error::decode(format!(
            "the {what} answer is not finished (no `\"done\": true`): {}",
            excerpt(bytes)
        ))),
    }
}

/// One JSON document sent to a stream request (`Content-Type: application/json`): an error
/// object is an [`Error::Api`] with the server's message; a whole answer (`is_answer`) is
/// decoded as the stream's only line; anything else says what was expected.
pub(super) fn decode_document<H: LineHandler>(
    lines: &mut Lines<H>,
    status: u16,
    body: &[u8],
    what: &str,
    is_answer: impl FnOnce(&Value) -> bool,
) -> Result<()> {
    let fixed;
    let value = match serde_json::from_slice::<Value>(body) {
        Ok(v) => Some(v),
        Err(_) => {
            // A lone surrogate escape is read as U+FFFD (see `codec::surrogates`).
            fixed = std::str::from_utf8(body)
                .ok()
                .and_then(crate::codec::surrogates::replace_lone_surrogates);
            fixed
                .as_deref()
                .and_then(|f| serde_json::from_str::<Value>(f).ok())
        }
    };
    match value {
        Some(v) => {
            if let Some(err) = reported_error(v.get("error")) {
                return Err(Error::Api(Box::new(ApiError::new(status, err))));
            }
            if !is_answer(&v) {
                return Err(Error::decode(format!(
                    "expected {what}, got a JSON document that is not one (Content-Type: \
                     application/json): {}",
                    excerpt(body)
                )));
            }
        }
        // Not one JSON value: perhaps the NDJSON stream under the wrong content type.
        None if body.contains(&b'\n') => {}
        None => {
            return Err(Error::decode(format!(
                "expected {what}, got: {}",
                excerpt(body)
            )));
        }
    }
    lines.feed(bytes::Bytes::copy_from_slice(body));
    lines.end();
    Ok(())
}
