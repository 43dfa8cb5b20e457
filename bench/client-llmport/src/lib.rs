//! `client-llmport`: llmport measured by the LLM-client benchmark harness (see
//! `bench/README.md`).
//!
//! The same work as the harness's library clients: one streamed completion, counted, or a batch
//! of non-streaming completions, through llmport's public API only, at the harness server's
//! base URL:
//!
//! - `--api openai` (the default): [`OpenAiProvider`], Ollama's `/v1/chat/completions` (SSE);
//! - `--api native`: [`OllamaProvider`] with an [`OllamaOptions`] extension on the call's
//!   [`Options`] (`num_ctx`), which is what sends a user's chat to Ollama's native `/api/chat`
//!   (NDJSON). With `BENCH_LLMPORT_NATIVE=chat-api` the provider is built with
//!   `chat_api(OllamaChatApi::Native)` instead and the options are the defaults (same
//!   endpoint, same decoder; the request then carries no `options` object).
//!
//! The stream is consumed the way a user writes it in `#[tokio::main]`:
//! `while let Some(chunk) = stream.next().await` in `main`'s own task.
//!
//! With the `count-allocs` feature a counting global allocator is installed and the result
//! line's note carries the heap allocations (allocations + reallocations) made while the
//! stream or batch ran, in all and per chunk / per request.

pub mod harness;

use futures::StreamExt;
use llmport::ollama::{OllamaChatApi, OllamaOptions};
use llmport::{
    ClientOptions, FinishReason, GenResponse, Message, OllamaProvider, OpenAiProvider, Options,
    Part, Provider,
};

use crate::harness::{Api, Cli, MODEL, Mode, PROMPT, Report, run_workers};

#[cfg(feature = "count-allocs")]
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Heap allocations (allocations + reallocations) so far; 0 without `count-allocs`.
fn allocations() -> u64 {
    #[cfg(feature = "count-allocs")]
    {
        let s = GLOBAL.stats();
        (s.allocations + s.reallocations) as u64
    }
    #[cfg(not(feature = "count-allocs"))]
    0
}

/// Runs the client with the process arguments, prints the result line and exits.
pub fn main(name: &str) -> ! {
    harness::block_on(run(name))
}

/// Content bytes of the text parts of every candidate.
fn content_len(r: &GenResponse) -> u64 {
    r.candidates
        .iter()
        .flat_map(|c| &c.message.parts)
        .map(|p| match p {
            Part::Text { text } => text.len() as u64,
            _ => 0,
        })
        .sum()
}

async fn run(name: &str) -> ! {
    let cli = Cli::parse_for(&[Api::OpenAi, Api::Native]);
    let report = cli.report(name);
    // No API key: Ollama needs none, and the floor (`client-limit`) sends none. (async-openai
    // and genai send `Bearer ollama`; an `Authorization` header costs llmport ~4,000
    // instructions per request, ~5%, see bench/README.md.)
    //
    // A streamed answer is capped at `max_body_size` (64 MiB by default); the harness's 1M-chunk
    // streams are 226 MB (`/v1`) and 128 MB (native), so the cap is raised to 1 GiB. It is a
    // comparison per body frame either way.
    let client = ClientOptions::builder().max_body_size(1 << 30).build();
    match cli.api {
        Api::OpenAi => {
            let provider = OpenAiProvider::builder()
                .client_options(client)
                .base_url(cli.base_url())
                .build()
                .expect("provider");
            work(&cli, report, provider, Options::default()).await
        }
        Api::Native => {
            // `OllamaProvider` takes the `/v1` base URL and finds the server root (where
            // `/api/chat` lives) by stripping `/v1`.
            let builder = OllamaProvider::builder()
                .client_options(client)
                .base_url(format!("{}/v1", cli.native_base_url()));
            let (provider, options) = match std::env::var("BENCH_LLMPORT_NATIVE").as_deref() {
                Ok("chat-api") => (builder.chat_api(OllamaChatApi::Native), Options::default()),
                Ok("options") | Err(_) => (
                    builder,
                    Options::builder()
                        .extension(OllamaOptions::builder().num_ctx(8192).build())
                        .build(),
                ),
                Ok(other) => panic!("BENCH_LLMPORT_NATIVE={other}: use options or chat-api"),
            };
            work(&cli, report, provider.build().expect("provider"), options).await
        }
    }
}

/// The stream or the batch through `provider`, every call with `options`; prints the result
/// line and exits.
async fn work<P: Provider + Clone + 'static>(
    cli: &Cli,
    mut report: Report,
    provider: P,
    options: Options,
) -> ! {
    let messages = [Message::user(PROMPT)];
    let allocs_before = allocations();
    let count = match &cli.mode {
        Mode::Stream(p) => {
            let mut stream = provider
                .generate_stream(MODEL, &messages, &options)
                .await
                .expect("generate_stream");
            let (mut content, mut items, mut stop, mut usage) = (0u64, 0u64, false, None);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.expect("stream item");
                cli.consume();
                items += 1;
                content += content_len(&chunk);
                stop |= chunk.finish_reason() == Some(&FinishReason::Stop);
                if let Some(u) = chunk.meta.usage {
                    usage = Some(u.output_tokens);
                }
            }
            report.content_bytes = Some(content);
            report.items = Some(items);
            report.finish_stop = Some(stop);
            report.usage_completion_tokens = usage.or(Some(0));
            p.n
        }
        Mode::Batch {
            requests,
            concurrency,
        } => {
            let res = run_workers(*requests, *concurrency, |claim| {
                let provider = provider.clone();
                let options = options.clone();
                async move {
                    let messages = [Message::user(PROMPT)];
                    let (mut n, mut bytes) = (0u64, 0u64);
                    while claim.take() {
                        let r = provider
                            .generate(MODEL, &messages, &options)
                            .await
                            .map_err(|e| e.to_string())?;
                        n += 1;
                        bytes += content_len(&r);
                    }
                    Ok((n, bytes))
                }
            })
            .await;
            match res {
                Ok((n, bytes)) => {
                    report.responses = n;
                    report.content_bytes = Some(bytes);
                }
                Err(e) => eprintln!("batch failed: {e}"),
            }
            *requests
        }
    };
    if cfg!(feature = "count-allocs") {
        let allocs = allocations() - allocs_before;
        report.note = format!(
            "allocs={allocs},allocs_per_item={:.3}",
            allocs as f64 / count.max(1) as f64
        );
    }
    report.finish()
}
