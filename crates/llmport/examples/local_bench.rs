//! The in-process engine's figures, for `bench/local.sh` (which runs llama-server beside it):
//! prompt processing and generation in tokens per second, time to first token, peak resident
//! memory and CPU per generated token, greedy, on one GGUF.
//!
//! ```sh
//! cargo run --release -p llmport --features local --example local_bench -- MODEL.gguf THREADS RUNS
//! ```
//! Prints one JSON line per run, then one with the medians. With `LOCAL_BENCH_GRAMMAR=json`
//! the generation keeps to a JSON Schema (an array of integers), so every token goes through
//! the grammar: what JSON mode, structured output and forced tool calls cost.

use std::time::Instant;

use futures::StreamExt;
use llmport::{LocalEngine, Message, Options, Provider, ResponseFormat};

/// The long prompt of the prompt-processing measurement (~400 tokens), and the generation's.
fn prompts() -> (String, String) {
    let paragraph = "The history of the city goes back many centuries, to a small settlement on \
                     the river where traders met to exchange grain, salt and cloth. ";
    (
        format!(
            "{}\nSummarise the text above in one word.",
            paragraph.repeat(14)
        ),
        "Count from 1 to 1000, separated by commas.".to_owned(),
    )
}

fn proc_status(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// User + system CPU seconds of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> Result<(), llmport::Report> {
    let args: Vec<String> = std::env::args().collect();
    let model = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| ".cache/models/smollm2-135m-instruct-q4_1.gguf".to_owned());
    let threads: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let runs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let n_gen: u32 = 128;
    let engine = LocalEngine::builder()
        .threads(threads)
        .parallel(1)
        .num_ctx(2048)
        .build()?;
    let t = Instant::now();
    engine.load(&model).await?;
    let load_s = t.elapsed().as_secs_f64();
    let (long, count) = prompts();
    let greedy = |n| Options::builder().temperature(0.0).max_tokens(n).build();
    let gen_options = match std::env::var("LOCAL_BENCH_GRAMMAR").as_deref() {
        Ok("json") => Options::builder()
            .temperature(0.0)
            .max_tokens(n_gen)
            .response_format(ResponseFormat::json_schema(
                "numbers",
                serde_json::json!({"type": "array", "items": {"type": "integer"}}),
            ))
            .build(),
        _ => greedy(n_gen),
    };
    // Warm-up.
    engine
        .generate(&model, &[Message::user(count.as_str())], &greedy(8))
        .await?;
    let (mut pp, mut tg, mut ttft, mut cpu_tok) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        // Prompt processing: a long prompt, one token out.
        let r = engine
            .generate(&model, &[Message::user(long.as_str())], &greedy(1))
            .await?;
        let n_prompt = r.meta.input_tokens().unwrap_or(0) as f64;
        let pe = r
            .meta
            .server_timings
            .and_then(|t| t.prompt_eval)
            .unwrap_or_default();
        let pp_tps = n_prompt / pe.as_secs_f64();
        // Generation: streamed, as a user reads it.
        let cpu0 = cpu_seconds();
        let asked = Instant::now();
        let mut stream = engine
            .generate_stream(&model, &[Message::user(count.as_str())], &gen_options)
            .await?;
        let mut first = None;
        let mut last = None;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if first.is_none() && !chunk.text().is_empty() {
                first = Some(asked.elapsed());
            }
            if chunk.finish_reason().is_some() {
                last = Some(chunk);
            }
        }
        let cpu = cpu_seconds() - cpu0;
        let last = last.expect("a final chunk");
        let n_out = last.meta.output_tokens().unwrap_or(0) as f64;
        let eval = last
            .meta
            .server_timings
            .and_then(|t| t.eval)
            .unwrap_or_default();
        let tg_tps = n_out / eval.as_secs_f64();
        let ttft_ms = first.unwrap_or_default().as_secs_f64() * 1000.0;
        println!(
            "{{\"run\":{run},\"prompt_tokens\":{n_prompt},\"pp_tps\":{pp_tps:.1},\"gen_tokens\":{n_out},\"tg_tps\":{tg_tps:.1},\"ttft_ms\":{ttft_ms:.1},\"cpu_ms_per_token\":{:.2}}}",
            cpu * 1000.0 / n_out
        );
        pp.push(pp_tps);
        tg.push(tg_tps);
        ttft.push(ttft_ms);
        cpu_tok.push(cpu * 1000.0 / n_out);
    }
    println!(
        "{{\"median\":true,\"load_s\":{load_s:.3},\"pp_tps\":{:.1},\"tg_tps\":{:.1},\"ttft_ms\":{:.1},\"cpu_ms_per_token\":{:.2},\"peak_rss_mb\":{:.1},\"threads\":{threads}}}",
        median(pp),
        median(tg),
        median(ttft),
        median(cpu_tok),
        proc_status("VmHWM:")
    );
    Ok(())
}
