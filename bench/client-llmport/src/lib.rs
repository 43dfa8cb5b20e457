//! `client-llmport`: llmport measured by the LLM-client benchmark harness (see
//! `bench/README.md`).
//!
//! The same work as the harness's library clients: one streamed completion, counted, or a batch
//! of non-streaming completions, through llmport's public API only ([`OpenAiProvider`] at the
//! harness server's base URL). The stream is consumed the way a user writes it in
//! `#[tokio::main]`: `while let Some(chunk) = stream.next().await` in `main`'s own task.
//!
//! With the `count-allocs` feature a counting global allocator is installed and the result
//! line's note carries the heap allocations (allocations + reallocations) made while the
//! stream or batch ran, in all and per chunk / per request.

pub mod harness;

use futures::StreamExt;
use llmport::{FinishReason, GenResponse, Message, OpenAiProvider, Options, Part, Provider};

use crate::harness::{Cli, MODEL, Mode, PROMPT, run_workers};

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
    let cli = Cli::parse();
    let mut report = cli.report(name);
    // No API key: Ollama needs none, and the floor (`client-limit`) sends none. (async-openai
    // and genai send `Bearer ollama`; an `Authorization` header costs llmport ~4,000
    // instructions per request, ~5%, see bench/README.md.)
    let provider = OpenAiProvider::builder()
        .base_url(cli.base_url())
        .build()
        .expect("provider");
    let messages = [Message::user(PROMPT)];
    let options = Options::default();
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
                async move {
                    let messages = [Message::user(PROMPT)];
                    let options = Options::default();
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
