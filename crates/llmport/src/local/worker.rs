//! The blocking side: a loaded model's workers, each owning one llama.cpp context, taking
//! requests from one queue (a bounded pool: more requests wait in the queue, none fail), and
//! the token loop that samples, detokenizes, watches stop strings and sends each piece of
//! text through a bounded channel as it is sampled.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::embed::Embeddings;
use crate::error::{Error, Result};
use crate::message::Part;
use crate::response::{Candidate, FinishReason, GenResponse, ResponseMeta, ServerTimings, Usage};

use super::backend;
use super::sampling::Settings;
use super::stop::{Step, StopMatcher};
use super::tool_calls::CallWatch;
use super::vision::MediaPrompt;

/// Tokens decoded per `llama_decode` call while reading the prompt.
const N_BATCH: u32 = 512;

/// Creating two contexts of one model at once is unsound in llama.cpp (it writes to the
/// model while doing so), so context creation is serialised process-wide.
static CONTEXT_CREATION: Mutex<()> = Mutex::new(());

/// One request for a worker.
pub(crate) enum Job {
    Generate(GenerateJob),
    Embed(EmbedJob),
}

/// A generation: the prompt's tokens and where its chunks go.
pub(crate) struct GenerateJob {
    pub(crate) tokens: Vec<LlamaToken>,
    /// A prompt with images: evaluated through the projector in place of `tokens`.
    pub(crate) media: Option<MediaPrompt>,
    pub(crate) settings: Settings,
    pub(crate) tx: tokio_mpsc::Sender<Result<GenResponse>>,
    /// When the caller asked (time to first token counts the wait for a context too).
    pub(crate) asked: Instant,
    pub(crate) model_name: String,
    /// With tools declared: what holds a call back from the stream and reads it at the end.
    pub(crate) tools: Option<Box<CallWatch>>,
    pub(crate) _active: ActiveGuard,
}

/// An embedding request: each input's tokens.
pub(crate) struct EmbedJob {
    pub(crate) inputs: Vec<Vec<LlamaToken>>,
    pub(crate) num_ctx: u32,
    pub(crate) dimensions: Option<u32>,
    pub(crate) model_name: String,
    pub(crate) reply: oneshot::Sender<Result<Embeddings>>,
    pub(crate) _active: ActiveGuard,
}

/// Counts a request as in flight (the keep-alive never unloads a model with one) and stamps
/// the model as used when it ends.
pub(crate) struct ActiveGuard {
    active: Arc<AtomicUsize>,
    last_used: Arc<Mutex<Instant>>,
}

impl ActiveGuard {
    pub(crate) fn new(active: Arc<AtomicUsize>, last_used: Arc<Mutex<Instant>>) -> Self {
        active.fetch_add(1, Ordering::SeqCst);
        ActiveGuard { active, last_used }
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
        self.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts `n` workers for `model`; they end when every sender of the queue is gone.
pub(crate) fn spawn_workers(
    model: &Arc<LlamaModel>,
    n: usize,
    threads: i32,
    name: &str,
) -> Result<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let model = Arc::clone(model);
        let rx = Arc::clone(&rx);
        std::thread::Builder::new()
            .name(format!("llmport-local-{i}"))
            .spawn(move || worker(&model, &rx, threads))
            .map_err(|e| Error::config(format!("cannot start a worker thread for {name}: {e}")))?;
    }
    Ok(tx)
}

/// What the worker's context was made for.
#[derive(Clone, Copy, PartialEq, Eq)]
struct ContextKind {
    n_ctx: u32,
    embeddings: bool,
}

fn worker(model: &LlamaModel, rx: &Mutex<mpsc::Receiver<Job>>, threads: i32) {
    let mut slot: Option<(ContextKind, LlamaContext<'_>)> = None;
    loop {
        // One worker at a time waits on the queue; the others wait for the lock.
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        match job {
            Job::Generate(job) => {
                if job.tx.is_closed() {
                    continue; // dropped while it waited for a context
                }
                let kind = ContextKind {
                    n_ctx: job.settings.num_ctx,
                    embeddings: false,
                };
                match context(model, &mut slot, kind, threads) {
                    Ok(ctx) => generate(model, ctx, job),
                    Err(e) => {
                        let _ = job.tx.blocking_send(Err(e));
                    }
                }
            }
            Job::Embed(job) => {
                let kind = ContextKind {
                    n_ctx: job.num_ctx,
                    embeddings: true,
                };
                let result =
                    context(model, &mut slot, kind, threads).and_then(|ctx| embed(ctx, &job));
                let _ = job.reply.send(result);
            }
        }
    }
}

/// The worker's context, made anew when the request needs another size or kind.
fn context<'m, 's>(
    model: &'m LlamaModel,
    slot: &'s mut Option<(ContextKind, LlamaContext<'m>)>,
    kind: ContextKind,
    threads: i32,
) -> Result<&'s mut LlamaContext<'m>> {
    if slot.as_ref().is_some_and(|(k, _)| *k != kind) {
        *slot = None; // free the old one first: two at once may not fit
    }
    if slot.is_none() {
        let mut params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(kind.n_ctx))
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            .with_embeddings(kind.embeddings);
        params = if kind.embeddings {
            // Pooling needs a whole input in one batch.
            params
                .with_n_batch(kind.n_ctx)
                .with_n_ubatch(kind.n_ctx)
                .with_pooling_type(LlamaPoolingType::Mean)
        } else {
            params.with_n_batch(N_BATCH)
        };
        let _serial = CONTEXT_CREATION.lock();
        let ctx = model.new_context(backend::get()?, params).map_err(|e| {
            Error::config_for(
                "LocalOptions::num_ctx",
                format!(
                    "llama.cpp could not make a context of {} tokens ({e}): lower num_ctx \
                         or free memory",
                    kind.n_ctx
                ),
            )
        })?;
        *slot = Some((kind, ctx));
    }
    match slot {
        Some((_, ctx)) => Ok(ctx),
        None => Err(Error::config("no llama.cpp context")),
    }
}

/// Decodes `tokens` from position `start`, asking for the last token's logits only.
fn decode_prompt(
    ctx: &mut LlamaContext<'_>,
    tokens: &[LlamaToken],
    logits_all: bool,
) -> Result<()> {
    let n_batch = usize::try_from(ctx.n_batch()).unwrap_or(512).max(1);
    let mut batch = LlamaBatch::new(n_batch, 1);
    let last = tokens.len().saturating_sub(1);
    let mut pos = 0i32;
    for (c, chunk) in tokens.chunks(n_batch).enumerate() {
        batch.clear();
        for (i, token) in chunk.iter().enumerate() {
            let logits = logits_all || c * n_batch + i == last;
            batch
                .add(*token, pos, &[0], logits)
                .map_err(|e| Error::stream(format!("llama.cpp batch: {e}")))?;
            pos += 1;
        }
        ctx.decode(&mut batch)
            .map_err(|e| Error::stream(format!("llama.cpp could not read the prompt: {e}")))?;
    }
    Ok(())
}

/// The token loop of one generation.
fn generate(model: &LlamaModel, ctx: &mut LlamaContext<'_>, job: GenerateJob) {
    let tx = job.tx.clone();
    if let Err(e) = run_generation(model, ctx, job) {
        let _ = tx.blocking_send(Err(e));
    }
}

fn chunk(text: String) -> GenResponse {
    let mut c = Candidate::new(0);
    c.message.parts.push(Part::text(text));
    GenResponse {
        candidates: c.into(),
        meta: Default::default(),
    }
}

fn run_generation(
    model: &LlamaModel,
    ctx: &mut LlamaContext<'_>,
    mut job: GenerateJob,
) -> Result<()> {
    let started = Instant::now();
    ctx.clear_kv_cache();
    let n_ctx = ctx.n_ctx();
    let (n_prompt, mut n_past) = match &job.media {
        None => {
            decode_prompt(ctx, &job.tokens, false)?;
            let n = u32::try_from(job.tokens.len()).unwrap_or(u32::MAX);
            (n, n)
        }
        Some(media) => {
            // An image's tokens count as prompt tokens; they may take fewer positions
            // (models with M-RoPE), and positions are what the context holds.
            let n_past = media.projector.eval(&media.chunks, ctx, N_BATCH)?;
            let n = u32::try_from(media.chunks.total_tokens()).unwrap_or(u32::MAX);
            (n, n_past)
        }
    };
    let prompt_eval = started.elapsed();
    let mut sampler = job.settings.sampler(model)?;
    let mut stops = StopMatcher::new(&job.settings.stop);
    let vocab = model.vocab();
    let mut pending: Vec<u8> = Vec::new();
    let mut piece: Vec<u8> = Vec::with_capacity(32);
    let mut n_out: u32 = 0;
    let mut ttft = None;
    let eval_start = Instant::now();
    let mut batch = LlamaBatch::new(1, 1);
    let finish = loop {
        let token = sampler.sample(ctx, -1);
        if ttft.is_none() {
            ttft = Some(job.asked.elapsed());
        }
        if vocab.is_eog(token) {
            break FinishReason::Stop;
        }
        n_out += 1;
        piece.clear();
        vocab.token_to_piece_into(token, &mut piece, false, None);
        pending.extend_from_slice(&piece);
        let text = take_utf8(&mut pending);
        let step = if text.is_empty() {
            Step::Go(String::new())
        } else {
            stops.push(&text)
        };
        let (out, stopped) = match step {
            Step::Go(t) => (t, false),
            Step::Stop(t) => (t, true),
        };
        // Text of a tool call is held back; only what comes before a call is streamed.
        let out = match &mut job.tools {
            Some(watch) if !out.is_empty() => watch.push(&out),
            _ => out,
        };
        if !out.is_empty() {
            if job.tx.blocking_send(Ok(chunk(out))).is_err() {
                return Ok(()); // the stream was dropped: stop now, the context is free
            }
        } else if job.tx.is_closed() {
            return Ok(());
        }
        if stopped {
            break FinishReason::Stop;
        }
        if job.settings.max_tokens.is_some_and(|m| n_out >= m) || n_past + 1 >= n_ctx {
            break FinishReason::Length;
        }
        batch.clear();
        batch
            .add(token, i32::try_from(n_past).unwrap_or(i32::MAX), &[0], true)
            .map_err(|e| Error::stream(format!("llama.cpp batch: {e}")))?;
        ctx.decode(&mut batch)
            .map_err(|e| Error::stream(format!("llama.cpp could not decode a token: {e}")))?;
        n_past += 1;
    };
    let eval = eval_start.elapsed();
    // What is still held: an incomplete UTF-8 sequence, a tail that began no stop string.
    let mut rest = String::from_utf8_lossy(&pending).into_owned();
    rest = match stops.push(&rest) {
        Step::Go(t) | Step::Stop(t) => t,
    };
    rest.push_str(&stops.flush());
    let mut last = Candidate::new(0);
    let mut finish = finish;
    if let Some(mut watch) = job.tools.take() {
        let mut text = watch.push(&rest);
        let (held, calls) = watch.finish();
        text.push_str(&held);
        if !text.is_empty() {
            last.message.parts.push(Part::text(text));
        }
        if !calls.is_empty() {
            finish = FinishReason::ToolCalls;
        }
        last.message
            .parts
            .extend(calls.into_iter().map(Part::ToolCall));
    } else if !rest.is_empty() {
        last.message.parts.push(Part::text(rest));
    }
    last.finish_reason = Some(finish);
    let total = job.asked.elapsed();
    let meta = ResponseMeta {
        model: Some(job.model_name.clone()),
        usage: Some(Usage {
            input_tokens: u64::from(n_prompt),
            output_tokens: u64::from(n_out),
            total_tokens: u64::from(n_prompt) + u64::from(n_out),
            ..Usage::default()
        }),
        time_to_first_token: ttft,
        total_time: Some(total),
        server_timings: Some(ServerTimings {
            total: Some(started.elapsed()),
            load: None,
            prompt_eval: Some(prompt_eval),
            eval: Some(eval),
        }),
        ..ResponseMeta::default()
    }
    .into();
    let _ = job.tx.blocking_send(Ok(GenResponse {
        candidates: last.into(),
        meta,
    }));
    Ok(())
}

/// Takes the longest valid UTF-8 prefix out of `pending` (a character may span tokens);
/// bytes that can never be valid are replaced rather than held forever.
fn take_utf8(pending: &mut Vec<u8>) -> String {
    match std::str::from_utf8(pending) {
        Ok(s) => {
            let s = s.to_owned();
            pending.clear();
            s
        }
        Err(e) => {
            let good = e.valid_up_to();
            let cut = match e.error_len() {
                Some(bad) => good + bad, // invalid, not merely incomplete
                None => good,
            };
            let rest = pending.split_off(cut.min(pending.len()));
            let text = String::from_utf8_lossy(pending).into_owned();
            *pending = rest;
            text
        }
    }
}

fn embed(ctx: &mut LlamaContext<'_>, job: &EmbedJob) -> Result<Embeddings> {
    let started = Instant::now();
    let mut vectors = Vec::with_capacity(job.inputs.len());
    let mut n_tokens = 0u64;
    for tokens in &job.inputs {
        ctx.clear_kv_cache();
        decode_prompt(ctx, tokens, true)?;
        n_tokens += u64::try_from(tokens.len()).unwrap_or(u64::MAX);
        let v = ctx
            .embeddings_seq_ith(0)
            .map_err(|e| Error::stream(format!("llama.cpp gave no embedding: {e}")))?;
        let mut v = v.to_vec();
        if let Some(d) = job.dimensions {
            v.truncate(usize::try_from(d).unwrap_or(usize::MAX));
        }
        // Unit length, as Ollama returns them.
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        vectors.push(v);
    }
    let out = Embeddings {
        vectors,
        model: Some(job.model_name.clone()),
        input_tokens: Some(n_tokens),
        total_time: Some(started.elapsed()),
    };
    Ok(out)
}

/// How long a keep-alive sweep sleeps between looks.
pub(crate) fn sweep_interval(keep_alive: Duration) -> Duration {
    (keep_alive / 4).clamp(Duration::from_millis(20), Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_tokens_is_held_until_complete() {
        let mut p = "aé".as_bytes()[..2].to_vec();
        assert_eq!(take_utf8(&mut p), "a");
        p.extend_from_slice(&"é".as_bytes()[1..]);
        assert_eq!(take_utf8(&mut p), "é");
        let mut bad = vec![b'x', 0xff, b'y'];
        assert_eq!(take_utf8(&mut bad), "x\u{fffd}");
        assert_eq!(take_utf8(&mut bad), "y");
    }
}
