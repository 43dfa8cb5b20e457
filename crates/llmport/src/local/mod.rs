//! The in-process engine (feature `local`): [`LocalEngine`] runs GGUF models itself, with
//! llama.cpp (through `llama-cpp-2`), and finds the models Ollama has already pulled.
//!
//! It is a [`Provider`] and an [`Embedder`] like the HTTP providers — same messages, options,
//! answers, streams and errors — so the same application code talks to a remote Ollama or
//! runs the model in its own process (tests and CI of your own application, edge devices, a
//! CLI that works offline).
//!
//! ```no_run
//! # async fn run() -> llmport::Result<()> {
//! use llmport::{LocalEngine, Message, Options, Provider};
//!
//! let engine = LocalEngine::builder().build()?;
//! // A GGUF file, or a model Ollama has pulled (`OLLAMA_MODELS`, else ~/.ollama/models).
//! let answer = engine
//!     .generate("./smollm2-135m-instruct-q4_1.gguf", &[Message::user("Hi!")], &Options::default())
//!     .await?;
//! println!("{}", answer.text());
//! # Ok(()) }
//! ```
//!
//! - **Models**: a path to a `.gguf` file, or an Ollama model name (`llama3.2` is
//!   `registry.ollama.ai/library/llama3.2:latest`) resolved in Ollama's store with the
//!   manifest's parameters and system prompt. A model is loaded on first use and shared by
//!   every request; it is unloaded by [`LocalEngine::unload`] or after
//!   [`LocalEngineBuilder::keep_alive`] without use (5 minutes by default, as Ollama).
//! - **Concurrency**: each model has a pool of [`LocalEngineBuilder::parallel`] contexts
//!   (one worker thread each); more requests wait for one, none fail.
//! - **Prompting**: the GGUF's own chat template (`tokenizer.chat_template`, rendered with
//!   `minijinja`: llama.cpp's template API in `llama-cpp-2` knows only built-in templates and
//!   takes no tools). Tools are rendered by the template when it has a place for them, else
//!   described in the system prompt in the Hermes format.
//! - **Tool calls**, as llama-server makes them: a grammar built from the tools' parameter
//!   schemas (llama.cpp's `json_schema_to_grammar` over a `oneOf` of `{"name": NAME,
//!   "arguments": SCHEMA}`, wrapped in the format's markers) keeps every call valid while it is
//!   sampled. [`ToolChoice::Required`] and [`ToolChoice::Function`] apply it from the first
//!   token (a call of any declared tool or of the one named; one call, or one or more with
//!   [`LocalOptions::parallel_tool_calls`]); `Auto` applies it lazily — free text until the
//!   model opens a call, then only a valid call. The format is the one
//!   the template teaches: Hermes/Qwen `<tool_call>…</tool_call>` (also for templates without
//!   tools), Mistral `[TOOL_CALLS][…]`, Llama 3's bare `{"name": …, "parameters": …}` (the
//!   last two checked token by token against llama.cpp's grammar sampler, not yet generated
//!   by such a model). In a stream the text
//!   before a call arrives as it is sampled, the call's text never does: the last chunk
//!   carries the [`Part::ToolCall`](crate::Part)s (arguments parsed) with
//!   [`FinishReason::ToolCalls`](crate::FinishReason). A forced call together with a
//!   `response_format` is [`Error::Unsupported`] (one grammar per answer).
//! - **Options**: `max_tokens`, `temperature`, `top_p`, `seed`, `stop` (never emitted, even
//!   split across tokens), `frequency_penalty`, `presence_penalty`, `system`, tools, and
//!   `response_format` (JSON mode and JSON Schema enforced while sampling by a llama.cpp
//!   grammar, so the answer always parses); [`LocalOptions`] adds `top_k`, `min_p`,
//!   `repeat_penalty`, `repeat_last_n`, `num_ctx` and `parallel_tool_calls`. What the engine
//!   cannot honour (several candidates, reasoning effort, `extra` fields) is
//!   [`Error::Unsupported`].
//! - **Images** (inline [`Part::Binary`](crate::Part::Binary) parts of an `image/…` type, and
//!   [`Part::File`](crate::Part::File) parts whose `file://` or `data:` URI holds an image;
//!   the engine fetches nothing from a network): only for a model with a vision projector —
//!   the `mmproj` GGUF given by
//!   [`LocalEngineBuilder::projector`], or the projector layer of its Ollama manifest — run
//!   by llama.cpp's multimodal library (`mtmd`). A model without one refuses images with
//!   [`Error::Unsupported`].
//! - **Streams**: tokens are sampled on a worker thread and sent through a bounded channel as
//!   they come; dropping the stream stops the generation within one token and frees the
//!   context for the next request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak, mpsc};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;
use serde_json::{Map, Value};

use crate::embed::{EmbedEncoding, EmbedOptions, Embedder, Embeddings};
use crate::error::{Error, Result};
use crate::message::Message;
use crate::options::{Options, ToolChoice};
use crate::provider::Provider;
use crate::response::GenResponse;
use crate::stream::ResponseStream;

mod backend;
mod options;
mod sampler;
mod sampling;
mod stop;
mod store;
mod template;
mod tool_calls;
mod tool_grammar;
mod vision;
mod worker;

pub use options::{LocalOptions, LocalOptionsBuilder};
pub use store::{StoredModel, default_store_dir, resolve as resolve_in_store};

use sampling::Settings;
use template::ChatTemplate;
use tool_calls::CallWatch;
use worker::{ActiveGuard, EmbedJob, GenerateJob, Job};

/// How the engine names itself in [`Error::Unsupported`].
pub(crate) const PROVIDER: &str = "the local engine (llama.cpp)";

/// Chunks a worker may get ahead of a slow reader before it waits.
const STREAM_CHANNEL: usize = 32;

/// Runs GGUF models in this process: a [`Provider`] and an [`Embedder`]. Cheap to clone
/// (clones share the loaded models). See [the module](self).
#[derive(Clone)]
pub struct LocalEngine {
    inner: Arc<Inner>,
}

struct Inner {
    models: Vec<String>,
    store: Option<PathBuf>,
    parallel: usize,
    threads: i32,
    keep_alive: Duration,
    num_ctx: u32,
    /// Vision projectors given for GGUF files: the model file's canonical path → the mmproj.
    projectors: HashMap<PathBuf, PathBuf>,
    loaded: Mutex<HashMap<PathBuf, Arc<Loaded>>>,
    /// One load at a time, so that concurrent first requests load a model once.
    loading: tokio::sync::Mutex<()>,
    sweeper: OnceLock<()>,
}

/// A model in memory, its template and its workers' queue.
struct Loaded {
    name: String,
    /// The vision projector, when the model has one: images are refused without it. One
    /// that failed to load is kept as its error, for image requests only: text still works.
    /// Declared before `model` so that it is dropped first: it points into the model.
    projector: Option<std::result::Result<Arc<vision::Projector>, String>>,
    model: Arc<LlamaModel>,
    template: ChatTemplate,
    params: Map<String, Value>,
    system: Option<String>,
    bos_text: String,
    n_ctx_train: u32,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    active: Arc<AtomicUsize>,
    last_used: Arc<Mutex<Instant>>,
}

impl std::fmt::Debug for LocalEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEngine")
            .field("models", &self.inner.models)
            .field("store", &self.inner.store)
            .field("parallel", &self.inner.parallel)
            .field("threads", &self.inner.threads)
            .field("keep_alive", &self.inner.keep_alive)
            .field("loaded", &self.loaded())
            .finish()
    }
}

/// Builds a [`LocalEngine`].
#[derive(Debug, Clone)]
#[must_use]
pub struct LocalEngineBuilder {
    models: Vec<String>,
    store: Option<PathBuf>,
    parallel: usize,
    threads: Option<usize>,
    keep_alive: Duration,
    num_ctx: u32,
    projectors: Vec<(PathBuf, PathBuf)>,
    error: Option<String>,
}

impl Default for LocalEngineBuilder {
    fn default() -> Self {
        LocalEngineBuilder {
            models: Vec::new(),
            store: store::default_store_dir(),
            parallel: 2,
            threads: None,
            keep_alive: Duration::from_secs(300),
            num_ctx: sampling::DEFAULT_NUM_CTX,
            projectors: Vec::new(),
            error: None,
        }
    }
}

impl LocalEngineBuilder {
    /// A model this engine is meant for (informational, as [`Provider::models`]).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.models.push(model.into());
        self
    }

    /// Ollama's model store to resolve names in (default: `OLLAMA_MODELS`, else
    /// `~/.ollama/models`).
    pub fn store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store = Some(dir.into());
        self
    }

    /// Contexts per model, i.e. requests generated at once (default 2); more wait.
    pub fn parallel(mut self, n: usize) -> Self {
        if n == 0 && self.error.is_none() {
            self.error = Some("LocalEngineBuilder::parallel must be at least 1".into());
        }
        self.parallel = n;
        self
    }

    /// CPU threads per context (default: all the machine's cores).
    pub fn threads(mut self, n: usize) -> Self {
        if n == 0 && self.error.is_none() {
            self.error = Some("LocalEngineBuilder::threads must be at least 1".into());
        }
        self.threads = Some(n);
        self
    }

    /// How long a model stays loaded without use (default 5 minutes; `Duration::MAX`: until
    /// [`LocalEngine::unload`]).
    pub fn keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }

    /// The default context size in tokens (4096), for requests that set no
    /// [`LocalOptions::num_ctx`].
    pub fn num_ctx(mut self, n: u32) -> Self {
        if n < 16 && self.error.is_none() {
            self.error = Some("LocalEngineBuilder::num_ctx must be at least 16".into());
        }
        self.num_ctx = n;
        self
    }

    /// The vision projector (the `mmproj` GGUF made for this model) of the GGUF file at
    /// `model`, so that the model can be sent images. A model resolved in Ollama's store
    /// gets the projector layer of its manifest without this.
    pub fn projector(mut self, model: impl Into<PathBuf>, projector: impl Into<PathBuf>) -> Self {
        self.projectors.push((model.into(), projector.into()));
        self
    }

    /// The engine. Nothing is loaded yet: a model loads on its first request (or
    /// [`LocalEngine::load`]).
    pub fn build(self) -> Result<LocalEngine> {
        if let Some(e) = self.error {
            let setting = e.split_whitespace().next().unwrap_or_default().to_owned();
            return Err(Error::config_for(setting, e));
        }
        let threads = self
            .threads
            .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
            .unwrap_or(4);
        Ok(LocalEngine {
            inner: Arc::new(Inner {
                models: self.models,
                store: self.store,
                parallel: self.parallel,
                threads: i32::try_from(threads).unwrap_or(i32::MAX),
                keep_alive: self.keep_alive,
                num_ctx: self.num_ctx,
                projectors: self
                    .projectors
                    .into_iter()
                    .map(|(model, projector)| (key_of(&model), projector))
                    .collect(),
                loaded: Mutex::new(HashMap::new()),
                loading: tokio::sync::Mutex::new(()),
                sweeper: OnceLock::new(),
            }),
        })
    }
}

/// Where a model is, before it is loaded.
struct Located {
    name: String,
    gguf: PathBuf,
    params: Map<String, Value>,
    system: Option<String>,
    projector: Option<PathBuf>,
}

impl LocalEngine {
    /// A builder.
    pub fn builder() -> LocalEngineBuilder {
        LocalEngineBuilder::default()
    }

    /// Loads `model` now rather than on its first request.
    pub async fn load(&self, model: &str) -> Result<()> {
        self.get_or_load(model).await.map(drop)
    }

    /// Unloads `model` (a path or a name, as given to [`generate`](Provider::generate)):
    /// requests already running or waiting finish first. Returns whether it was loaded.
    pub fn unload(&self, model: &str) -> bool {
        let Ok(located) = self.locate(model) else {
            return false;
        };
        let key = key_of(&located.gguf);
        let removed = self
            .inner
            .loaded
            .lock()
            .ok()
            .and_then(|mut m| m.remove(&key));
        removed.is_some_and(|l| {
            l.close();
            true
        })
    }

    /// Unloads every model.
    pub fn unload_all(&self) {
        let all: Vec<Arc<Loaded>> = match self.inner.loaded.lock() {
            Ok(mut m) => m.drain().map(|(_, l)| l).collect(),
            Err(_) => return,
        };
        all.iter().for_each(|l| l.close());
    }

    /// The names of the models loaded now.
    pub fn loaded(&self) -> Vec<String> {
        self.inner
            .loaded
            .lock()
            .map(|m| m.values().map(|l| l.name.clone()).collect())
            .unwrap_or_default()
    }

    fn locate(&self, model: &str) -> Result<Located> {
        let path = Path::new(model);
        if path.is_file() {
            return Ok(Located {
                name: model.to_owned(),
                gguf: path.to_path_buf(),
                params: Map::new(),
                system: None,
                projector: self.inner.projectors.get(&key_of(path)).cloned(),
            });
        }
        if model.ends_with(".gguf") || model.starts_with('.') || path.is_absolute() {
            return Err(Error::config_for(
                "model",
                format!(
                    "{model} does not exist or is not a file: give the path of a .gguf file, \
                     or the name of a model Ollama has pulled"
                ),
            ));
        }
        let Some(dir) = &self.inner.store else {
            return Err(Error::config_for(
                "model",
                format!(
                    "{model:?} is not a file and there is no Ollama model store to look in \
                     (set OLLAMA_MODELS or HOME, or LocalEngineBuilder::store_dir)"
                ),
            ));
        };
        let found = store::resolve(dir, model)?;
        let projector = found
            .projector
            .or_else(|| self.inner.projectors.get(&key_of(&found.gguf)).cloned());
        Ok(Located {
            name: found.name,
            gguf: found.gguf,
            params: found.params,
            system: found.system,
            projector,
        })
    }

    async fn get_or_load(&self, model: &str) -> Result<Arc<Loaded>> {
        let located = self.locate(model)?;
        let key = key_of(&located.gguf);
        if let Some(l) = self.cached(&key) {
            return Ok(l);
        }
        let _one_at_a_time = self.inner.loading.lock().await;
        if let Some(l) = self.cached(&key) {
            return Ok(l);
        }
        let (parallel, threads) = (self.inner.parallel, self.inner.threads);
        let loaded = tokio::task::spawn_blocking(move || load(located, parallel, threads))
            .await
            .map_err(|e| Error::config(format!("loading the model failed: {e}")))??;
        let loaded = Arc::new(loaded);
        if let Ok(mut m) = self.inner.loaded.lock() {
            m.insert(key, Arc::clone(&loaded));
        }
        start_sweeper(&self.inner);
        Ok(loaded)
    }

    fn cached(&self, key: &Path) -> Option<Arc<Loaded>> {
        let l = self.inner.loaded.lock().ok()?.get(key).cloned()?;
        if let Ok(mut t) = l.last_used.lock() {
            *t = Instant::now();
        }
        Some(l)
    }
}

fn key_of(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether `path` starts like a GGUF file: llama.cpp is not handed what plainly is not one.
/// The error says why not.
fn check_gguf_magic(path: &Path) -> std::result::Result<(), String> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    f.read_exact(&mut magic)
        .map_err(|_| "it is shorter than a GGUF header".to_owned())?;
    if &magic != b"GGUF" {
        return Err("it is not a GGUF file (no GGUF magic)".into());
    }
    Ok(())
}

/// Reads a GGUF into memory (mmap) and starts its workers.
fn load(located: Located, parallel: usize, threads: i32) -> Result<Loaded> {
    let path = &located.gguf;
    let damaged = |why: String| {
        Error::config_for(
            "model",
            format!(
                "{} cannot be loaded: {why} — fetch the model again (a GGUF file, \
                 e.g. scripts/fetch-smollm2.sh, or `ollama pull`)",
                path.display()
            ),
        )
    };
    check_gguf_magic(path).map_err(damaged)?;
    let backend = backend::get()?;
    let model =
        LlamaModel::load_from_file(backend, path, &LlamaModelParams::default()).map_err(|e| {
            damaged(format!(
                "llama.cpp refused it ({e}): it is truncated or damaged, or of an architecture \
                 this llama.cpp does not know"
            ))
        })?;
    let template = model
        .chat_template(None)
        .ok()
        .and_then(|t| t.to_string().ok());
    let vocab = model.vocab();
    let special =
        |t: LlamaToken| String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned();
    let bos_text = special(vocab.bos());
    let eos_text = special(vocab.eos());
    let template = ChatTemplate::new(template, bos_text.clone(), eos_text)?;
    let n_ctx_train = model.n_ctx_train();
    let projector = located.projector.as_deref().map(|p| {
        vision::Projector::load(p, &model, threads, &located.name)
            .map(Arc::new)
            .map_err(|e| {
                tracing::warn!("{e}");
                e.to_string()
            })
    });
    let model = Arc::new(model);
    let jobs = worker::spawn_workers(&model, parallel, threads, &located.name)?;
    Ok(Loaded {
        name: located.name,
        model,
        template,
        params: located.params,
        system: located.system,
        bos_text,
        n_ctx_train,
        projector,
        jobs: Mutex::new(Some(jobs)),
        active: Arc::new(AtomicUsize::new(0)),
        last_used: Arc::new(Mutex::new(Instant::now())),
    })
}

impl Loaded {
    /// Ends the workers once the queue is empty (requests in it still run).
    fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }

    fn submit(&self, job: Job) -> Result<()> {
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok()),
            Err(_) => false,
        };
        if sent {
            Ok(())
        } else {
            Err(Error::stream(format!(
                "{} was unloaded while the request was made: send it again",
                self.name
            )))
        }
    }

    fn guard(&self) -> ActiveGuard {
        ActiveGuard::new(Arc::clone(&self.active), Arc::clone(&self.last_used))
    }

    /// The context size for a request: what it asks, at most the model's training context.
    fn num_ctx(&self, asked: u32) -> u32 {
        if self.n_ctx_train > 0 {
            asked.min(self.n_ctx_train)
        } else {
            asked
        }
    }

    fn tokenize(&self, text: &str, parse_special: bool) -> Vec<LlamaToken> {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), self.adds_bos(text), parse_special)
    }

    /// A template that writes the BOS token itself must not get a second one.
    fn adds_bos(&self, prompt: &str) -> bool {
        self.bos_text.is_empty() || !prompt.starts_with(&self.bos_text)
    }
}

/// Unloads models idle for the keep-alive, from a thread that lives as long as the engine.
fn start_sweeper(inner: &Arc<Inner>) {
    if inner.keep_alive == Duration::MAX || inner.sweeper.set(()).is_err() {
        return;
    }
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let interval = worker::sweep_interval(inner.keep_alive);
    let _ = std::thread::Builder::new()
        .name("llmport-local-keepalive".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(inner) = weak.upgrade() else { return };
                let idle: Vec<Arc<Loaded>> = match inner.loaded.lock() {
                    Ok(mut m) => {
                        let keys: Vec<PathBuf> = m
                            .iter()
                            .filter(|(_, l)| {
                                l.active.load(Ordering::SeqCst) == 0
                                    && l.last_used
                                        .lock()
                                        .is_ok_and(|t| t.elapsed() >= inner.keep_alive)
                            })
                            .map(|(k, _)| k.clone())
                            .collect();
                        keys.iter().filter_map(|k| m.remove(k)).collect()
                    }
                    Err(_) => return,
                };
                idle.iter().for_each(|l| l.close());
            }
        });
}

#[async_trait]
impl Provider for LocalEngine {
    fn name(&self) -> &str {
        "local"
    }

    fn description(&self) -> &str {
        "GGUF models run in this process by llama.cpp"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn models(&self) -> &[String] {
        &self.inner.models
    }

    async fn generate(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<GenResponse> {
        self.generate_stream(model, messages, options)
            .await?
            .collect_response()
            .await
    }

    async fn generate_stream(
        &self,
        model: &str,
        messages: &[Message],
        options: &Options,
    ) -> Result<ResponseStream> {
        let asked = Instant::now();
        options.validate()?;
        let loaded = self.get_or_load(model).await?;
        let mut settings = Settings::resolve(options, &loaded.params, self.inner.num_ctx)?;
        settings.num_ctx = loaded.num_ctx(settings.num_ctx);
        let format = loaded.template.call_format();
        settings.constrain_tool_calls(options, format)?;
        let with_images = vision::with_markers(messages)?;
        let messages = with_images
            .as_ref()
            .map_or(messages, |w| w.messages.as_slice());
        let prompt = loaded
            .template
            .render(messages, options, loaded.system.as_deref())?;
        let (tokens, media) = match with_images {
            None => (loaded.tokenize(&prompt, true), None),
            Some(w) => {
                let projector = match &loaded.projector {
                    Some(Ok(p)) => Arc::clone(p),
                    Some(Err(e)) => return Err(Error::config_for("projector", e.clone())),
                    None => return Err(vision::no_projector(&loaded.name)),
                };
                let chunks = projector.tokenize(&prompt, &w.images, loaded.adds_bos(&prompt))?;
                (Vec::new(), Some(vision::MediaPrompt { chunks, projector }))
            }
        };
        let n = media.as_ref().map_or_else(
            || u32::try_from(tokens.len()).unwrap_or(u32::MAX),
            |m| u32::try_from(m.chunks.total_positions()).unwrap_or(u32::MAX),
        );
        if n == 0 || n >= settings.num_ctx {
            return Err(Error::config_for(
                "LocalOptions::num_ctx",
                format!(
                    "the prompt is {n} tokens and the context {} tokens: it must leave room for \
                     the answer — raise num_ctx (the model was trained on {}) or shorten the \
                     conversation",
                    settings.num_ctx, loaded.n_ctx_train
                ),
            ));
        }
        let tools = (!options.tools.is_empty()
            && !matches!(options.tool_choice, Some(ToolChoice::None)))
        .then(|| {
            let forced = matches!(
                options.tool_choice,
                Some(ToolChoice::Required | ToolChoice::Function(_))
            );
            let names = options.tools.iter().map(|t| t.name().to_owned()).collect();
            Box::new(CallWatch::new(names, format, forced))
        });
        let (tx, mut rx) = tokio::sync::mpsc::channel(STREAM_CHANNEL);
        loaded.submit(Job::Generate(GenerateJob {
            tokens,
            media,
            settings,
            tx,
            asked,
            model_name: loaded.name.clone(),
            tools,
            _active: loaded.guard(),
        }))?;
        let mut finished = false;
        let stream = futures::stream::poll_fn(move |cx| {
            if finished {
                return Poll::Ready(None);
            }
            match rx.poll_recv(cx) {
                Poll::Ready(Some(item)) => {
                    let last = match &item {
                        Ok(r) => r.finish_reason().is_some(),
                        Err(_) => true,
                    };
                    finished = last;
                    Poll::Ready(Some(item))
                }
                Poll::Ready(None) => {
                    finished = true;
                    Poll::Ready(Some(Err(Error::stream(
                        "the local engine's worker stopped before the answer ended",
                    ))))
                }
                Poll::Pending => Poll::Pending,
            }
        });
        Ok(ResponseStream::new(stream))
    }
}

#[async_trait]
impl Embedder for LocalEngine {
    async fn embed_strs(
        &self,
        model: &str,
        inputs: &[&str],
        options: &EmbedOptions,
    ) -> Result<Embeddings> {
        options.validate()?;
        if options.encoding == Some(EmbedEncoding::Base64) {
            return Err(Error::unsupported(
                PROVIDER,
                "EmbedOptions::encoding",
                "the local engine returns the vectors as numbers, with no wire to encode them \
                 for: leave it unset",
            ));
        }
        if let Some(key) = options.extra.keys().next() {
            return Err(Error::unsupported(
                PROVIDER,
                format!("EmbedOptions::extra ({key:?})"),
                "the local engine has no request body for extra fields",
            ));
        }
        if let Some(name) = options.extensions.type_names().next() {
            return Err(Error::unsupported(
                PROVIDER,
                format!("{name} (an EmbedOptions extension)"),
                "the local engine reads no embedding extension",
            ));
        }
        let loaded = self.get_or_load(model).await?;
        let num_ctx = loaded.num_ctx(self.inner.num_ctx);
        let limit = usize::try_from(num_ctx).unwrap_or(usize::MAX);
        let mut all = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let mut tokens = loaded.tokenize(input, false);
            if tokens.is_empty() {
                return Err(Error::config(format!(
                    "input {} is empty: there is nothing to embed",
                    i + 1
                )));
            }
            if tokens.len() > limit {
                if options.truncate == Some(false) {
                    return Err(Error::config_for(
                        "EmbedOptions::truncate",
                        format!(
                            "input {} is {} tokens, longer than the context ({num_ctx}): allow \
                             truncation or shorten it",
                            i + 1,
                            tokens.len()
                        ),
                    ));
                }
                tokens.truncate(limit);
            }
            all.push(tokens);
        }
        let num_ctx = all
            .iter()
            .map(Vec::len)
            .max()
            .and_then(|n| u32::try_from(n).ok())
            .map_or(num_ctx, |n| n.next_power_of_two().clamp(64, num_ctx));
        let (reply, answer) = tokio::sync::oneshot::channel();
        loaded.submit(Job::Embed(EmbedJob {
            inputs: all,
            num_ctx,
            dimensions: options.dimensions,
            model_name: loaded.name.clone(),
            reply,
            _active: loaded.guard(),
        }))?;
        answer
            .await
            .map_err(|_| Error::stream("the local engine's worker stopped before it answered"))?
    }
}
