//! Stream decoding without HTTP: SSE decoding alone, and body bytes → [`GenResponse`] (SSE +
//! chunk JSON + mapping), on an Ollama-shaped stream cut two ways: 64 KiB pieces (events cut
//! at arbitrary points, as a fast local server's large writes arrive) and one event per piece
//! (Ollama flushes after every event).
//!
//! The stream is byte-for-byte what Ollama's OpenAI middleware writes (`middleware/openai.go`:
//! `role` repeated in every delta, a stop chunk, a usage chunk, `[DONE]`), as in the
//! `openai_chat_stream_with_usage` fixture and the benchmark harness's `sse-server`; tokens
//! cycle through a list with JSON escapes and multi-byte UTF-8 so both decoding paths run.
//!
//! `cargo bench -p llmport --bench stream`; throughput is in chunks (elements).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llmport::codec::{CodecError, Decoder, SseDecoder};
use llmport::openai::StreamDecoder;
use llmport::{GenResponse, Part};

/// Content chunks per stream.
const N: usize = 10_000;

/// Tokens as a model emits them: mostly short words, some with a quote, a newline, a
/// backslash or non-ASCII text.
const TOKENS: &[&str] = &[
    "The",
    " sky",
    " looks",
    " blue",
    " because",
    " of",
    " Rayleigh",
    " scattering",
    ",",
    " which",
    " favors",
    " shorter",
    " wavelengths",
    ".\n\n",
    "\"",
    "Blue",
    "\"",
    " light",
    " (",
    "≈450",
    " nm",
    ")",
    " scatters",
    " more",
    " — ",
    "C:\\",
    "temp",
    " é",
    "😀",
    " so",
    " the",
    " eye",
];

fn json_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

const HEAD: &str = r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1700000000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":"#;

/// The stream's events (`data: …\n\n` each) and the total content bytes they carry.
fn events() -> (Vec<String>, usize) {
    let mut out = Vec::with_capacity(N + 3);
    let mut content = 0;
    for i in 0..N {
        let tok = TOKENS[i % TOKENS.len()];
        content += tok.len();
        let mut esc = String::new();
        json_escape(tok, &mut esc);
        out.push(format!(
            "data: {HEAD}[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"{esc}\"}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    out.push(format!(
        "data: {HEAD}[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"finish_reason\":\"stop\"}}]}}\n\n"
    ));
    out.push(format!(
        "data: {HEAD}[],\"usage\":{{\"prompt_tokens\":33,\"completion_tokens\":{N},\"total_tokens\":{}}}}}\n\n",
        N + 33
    ));
    out.push("data: [DONE]\n\n".to_owned());
    (out, content)
}

/// The body cut into pieces: `Some(size)` fixed-size pieces, `None` one event per piece.
fn pieces(events: &[String], size: Option<usize>) -> Vec<Bytes> {
    match size {
        None => events.iter().map(|e| Bytes::from(e.clone())).collect(),
        Some(size) => {
            let body = Bytes::from(events.concat());
            (0..body.len())
                .step_by(size)
                .map(|i| body.slice(i..(i + size).min(body.len())))
                .collect()
        }
    }
}

fn content_len(r: &GenResponse) -> usize {
    r.candidates
        .iter()
        .flat_map(|c| &c.message.parts)
        .map(|p| match p {
            Part::Text { text } => text.len(),
            _ => 0,
        })
        .sum()
}

fn bench(c: &mut Criterion) {
    let (events, content) = events();
    for (name, size) in [("64k", Some(64 * 1024)), ("event", None)] {
        let body = pieces(&events, size);

        let mut g = c.benchmark_group(format!("sse_decode/{name}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("events", |b| {
            b.iter(|| {
                let mut dec = SseDecoder::new();
                let mut bytes = 0usize;
                for p in &body {
                    dec.decode(black_box(p), |ev| {
                        bytes += ev.data.len();
                        Ok::<(), CodecError>(())
                    })
                    .expect("valid SSE");
                }
                assert!(!dec.finish());
                bytes
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("chunk_to_response/{name}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("gen_responses", |b| {
            b.iter(|| {
                // The decoder a real call reads its stream with, driven as the stream adapter
                // drives it (without the body's I/O and timers).
                let mut dec = StreamDecoder::default();
                let mut got = 0usize;
                for p in &body {
                    dec.feed(black_box(p.clone()));
                    while let Some(item) = dec.next_item() {
                        got += content_len(&item.expect("valid stream"));
                    }
                }
                dec.end();
                assert!(dec.is_done(), "ends with [DONE]");
                assert!(dec.next_item().is_none());
                assert_eq!(got, content);
                got
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
