//! Stream decoding without HTTP, on Ollama-shaped streams cut two ways: 64 KiB pieces (events
//! or lines cut at arbitrary points, as a fast local server's large writes arrive) and one
//! event or line per piece (Ollama flushes after every one).
//!
//! - `/v1` (SSE): SSE decoding alone (`sse_decode`), and body bytes → [`GenResponse`] (SSE +
//!   chunk JSON + mapping, `chunk_to_response`). The stream is byte-for-byte what Ollama's
//!   OpenAI middleware writes (`middleware/openai.go`: `role` repeated in every delta, a stop
//!   chunk, a usage chunk, `[DONE]`), as in the `openai_chat_stream_with_usage` fixture and
//!   the benchmark harness's `sse-server`.
//! - native `/api/chat` (NDJSON): line splitting alone (`ndjson_decode`), and body bytes →
//!   [`GenResponse`] through [`ChatDecoder`] (`native_chat_to_response`). The lines are what
//!   Ollama's `server/routes.go` writes (`json.Marshal` of a `ChatResponse`, `'\n'`): `model`,
//!   `created_at`, `message` with `role` and `content`, `done:false`; the last line `done:true`
//!   with `done_reason` and the counts and durations, as the harness's `sse-server` sends them.
//!
//! - Anthropic's Messages API (typed SSE events): body bytes → [`GenResponse`] through
//!   `llmport::anthropic::StreamDecoder` (`messages_to_response`). The events are what
//!   Anthropic documents and Ollama's and llama.cpp's `/v1/messages` write: `message_start`,
//!   `content_block_start`, one `content_block_delta` (`text_delta`) per token,
//!   `content_block_stop`, `message_delta` (stop reason, usage), `message_stop`, each with its
//!   `event:` line.
//! - OpenAI's Responses API (typed SSE events): body bytes → [`GenResponse`] through
//!   `llmport::responses::StreamDecoder` (`responses_to_response`): `response.created`, the
//!   message item added, one `response.output_text.delta` per token (with `item_id`,
//!   `output_index`, `content_index`, `sequence_number`, as OpenAI sends them), the item done
//!   and `response.completed` with usage.
//! - native `/api/generate` (NDJSON): body bytes → [`GenResponse`] through
//!   [`GenerateDecoder`] (`native_generate_to_response`), on the lines Ollama's
//!   `GenerateHandler` writes (`model`, `created_at`, `response`, `done:false`; the last line
//!   with `done_reason`, `context` and the metrics), the same tokens as the chat, through the
//!   same driver.
//!
//! Tokens cycle through a list with JSON escapes and multi-byte UTF-8 so both string decoding
//! paths (borrowed, and copied when unescaped) run.
//!
//! `cargo bench -p llmport --bench stream`; throughput is in chunks (elements).
//!
//! For instruction counts (callgrind), `STREAM_BENCH_ONCE=<workload>:<runs>` skips criterion
//! and drives one decoder over its stream `runs` times, where `<workload>` is
//! `native_chat_to_response/64k`, `native_chat_to_response/line`, `chunk_to_response/64k` or
//! `chunk_to_response/event`. The difference between two run counts, divided by the extra
//! runs and `N`, is the cost per chunk or line without the setup:
//!
//! ```sh
//! for r in 1 11; do STREAM_BENCH_ONCE=native_chat_to_response/64k:$r valgrind --tool=callgrind \
//!   --callgrind-out-file=/tmp/cg.$r target/release/deps/stream-* --bench; done
//! ```

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group};
use llmport::codec::{CodecError, Decoder, NdjsonDecoder, SseDecoder};
use llmport::ollama::{ChatDecoder, GenerateDecoder};
use llmport::openai::StreamDecoder;
use llmport::{GenResponse, Part};
use llmport::{anthropic, responses};

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

/// The native `/api/chat` stream's lines (each ending in `\n`) and the total content bytes
/// they carry.
fn native_lines() -> (Vec<String>, usize) {
    const LINE_HEAD: &str = r#"{"model":"llama3.2","created_at":"2026-01-01T00:00:00.000000000Z","message":{"role":"assistant","content":"#;
    let mut out = Vec::with_capacity(N + 1);
    let mut content = 0;
    for i in 0..N {
        let tok = TOKENS[i % TOKENS.len()];
        content += tok.len();
        let mut esc = String::new();
        json_escape(tok, &mut esc);
        out.push(format!("{LINE_HEAD}\"{esc}\"}},\"done\":false}}\n"));
    }
    out.push(format!(
        "{LINE_HEAD}\"\"}},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":1000000,\"load_duration\":1000,\"prompt_eval_count\":33,\"prompt_eval_duration\":1000,\"eval_count\":{N},\"eval_duration\":1000000}}\n"
    ));
    (out, content)
}

/// The Messages API stream's events and the total content bytes they carry.
fn messages_events() -> (Vec<String>, usize) {
    let mut out = Vec::with_capacity(N + 5);
    out.push(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":33,\"output_tokens\":1}}}\n\n"
            .to_owned(),
    );
    out.push("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_owned());
    let mut content = 0;
    for i in 0..N {
        let tok = TOKENS[i % TOKENS.len()];
        content += tok.len();
        let mut esc = String::new();
        json_escape(tok, &mut esc);
        out.push(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{esc}\"}}}}\n\n"
        ));
    }
    out.push(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            .to_owned(),
    );
    out.push(format!(
        "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{N}}}}}\n\n"
    ));
    out.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_owned());
    (out, content)
}

/// The Responses API stream's events and the total content bytes they carry.
fn responses_events() -> (Vec<String>, usize) {
    const RESPONSE: &str =
        r#""id":"resp_68b1","object":"response","created_at":1700000000,"model":"gpt-5-mini""#;
    let mut out = Vec::with_capacity(N + 4);
    out.push(format!(
        "event: response.created\ndata: {{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{{{RESPONSE},\"status\":\"in_progress\",\"output\":[],\"usage\":null}}}}\n\n"
    ));
    out.push("event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"id\":\"msg_68b1\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}\n\n".to_owned());
    let mut content = 0;
    for i in 0..N {
        let tok = TOKENS[i % TOKENS.len()];
        content += tok.len();
        let mut esc = String::new();
        json_escape(tok, &mut esc);
        out.push(format!(
            "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\"sequence_number\":{},\"item_id\":\"msg_68b1\",\"output_index\":0,\"content_index\":0,\"delta\":\"{esc}\",\"logprobs\":[]}}\n\n",
            i + 2
        ));
    }
    out.push(format!(
        "event: response.output_item.done\ndata: {{\"type\":\"response.output_item.done\",\"sequence_number\":{},\"output_index\":0,\"item\":{{\"id\":\"msg_68b1\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[]}}}}\n\n",
        N + 2
    ));
    out.push(format!(
        "event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":{},\"response\":{{{RESPONSE},\"status\":\"completed\",\"output\":[],\"usage\":{{\"input_tokens\":33,\"input_tokens_details\":{{\"cached_tokens\":0}},\"output_tokens\":{N},\"output_tokens_details\":{{\"reasoning_tokens\":0}},\"total_tokens\":{}}}}}}}\n\n",
        N + 3,
        N + 33
    ));
    (out, content)
}

/// The native `/api/generate` stream's lines (each ending in `\n`) and the total content
/// bytes they carry.
fn generate_lines() -> (Vec<String>, usize) {
    const LINE_HEAD: &str =
        r#"{"model":"llama3.2","created_at":"2026-01-01T00:00:00.000000000Z","response":"#;
    let mut out = Vec::with_capacity(N + 1);
    let mut content = 0;
    for i in 0..N {
        let tok = TOKENS[i % TOKENS.len()];
        content += tok.len();
        let mut esc = String::new();
        json_escape(tok, &mut esc);
        out.push(format!("{LINE_HEAD}\"{esc}\",\"done\":false}}\n"));
    }
    out.push(format!(
        "{LINE_HEAD}\"\",\"done\":true,\"done_reason\":\"stop\",\"context\":[128000,128006,9125,128007,271],\"total_duration\":1000000,\"load_duration\":1000,\"prompt_eval_count\":33,\"prompt_eval_duration\":1000,\"eval_count\":{N},\"eval_duration\":1000000}}\n"
    ));
    (out, content)
}

/// The body cut into pieces: `Some(size)` fixed-size pieces, `None` one event (or line) per
/// piece.
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

/// Drives `dec` over `body` as the stream adapter does (without the body's I/O and timers),
/// handing each item to `each`; checks that the stream ended complete.
fn drive<D: Decoder<Item = GenResponse>>(
    mut dec: D,
    body: &[Bytes],
    mut each: impl FnMut(GenResponse),
) {
    for p in body {
        dec.feed(black_box(p.clone()));
        while let Some(item) = dec.next_item() {
            each(item.expect("valid stream"));
        }
    }
    dec.end();
    assert!(dec.is_done(), "the stream ends with its end marker");
    assert!(dec.next_item().is_none());
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
                // The decoder a real call reads its stream with.
                let mut got = 0usize;
                drive(StreamDecoder::default(), &body, |item| {
                    got += content_len(&item)
                });
                assert_eq!(got, content);
                got
            })
        });
        g.finish();
    }

    // The typed-event APIs, through the decoders a real call reads them with.
    let (messages, messages_content) = messages_events();
    let (responses, responses_content) = responses_events();
    for (name, size) in [("64k", Some(64 * 1024)), ("event", None)] {
        let body = pieces(&messages, size);
        let mut g = c.benchmark_group(format!("messages_to_response/{name}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("gen_responses", |b| {
            b.iter(|| {
                let (mut got, mut usage) = (0usize, None);
                drive(anthropic::StreamDecoder::default(), &body, |item| {
                    got += content_len(&item);
                    usage = usage.or(item.meta.usage);
                });
                assert_eq!(got, messages_content);
                assert_eq!(usage.map(|u| u.output_tokens), Some(N as u64));
                got
            })
        });
        g.finish();

        let body = pieces(&responses, size);
        let mut g = c.benchmark_group(format!("responses_to_response/{name}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("gen_responses", |b| {
            b.iter(|| {
                let (mut got, mut usage) = (0usize, None);
                drive(responses::StreamDecoder::default(), &body, |item| {
                    got += content_len(&item);
                    usage = usage.or(item.meta.usage);
                });
                assert_eq!(got, responses_content);
                assert_eq!(usage.map(|u| u.output_tokens), Some(N as u64));
                got
            })
        });
        g.finish();
    }

    let (lines, content) = native_lines();
    for (name, size) in [("64k", Some(64 * 1024)), ("line", None)] {
        let body = pieces(&lines, size);

        let mut g = c.benchmark_group(format!("ndjson_decode/{name}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("lines", |b| {
            b.iter(|| {
                let mut dec = NdjsonDecoder::new();
                let mut bytes = 0usize;
                for p in &body {
                    dec.decode(black_box(p), |line| {
                        bytes += line.len();
                        Ok::<(), CodecError>(())
                    })
                    .expect("valid NDJSON");
                }
                assert!(!dec.has_pending());
                bytes
            })
        });
        g.finish();

        // The decoder a real native chat is read with.
        bench_native(
            c,
            "native_chat_to_response",
            name,
            &body,
            content,
            ChatDecoder::default,
        );
    }

    let (lines, content) = generate_lines();
    for (name, size) in [("64k", Some(64 * 1024)), ("line", None)] {
        let body = pieces(&lines, size);
        // The decoder a real generate is read with.
        bench_native(
            c,
            "native_generate_to_response",
            name,
            &body,
            content,
            GenerateDecoder::default,
        );
    }
}

/// Body bytes → [`GenResponse`]s through a native NDJSON decoder, checking the content and
/// the final usage.
fn bench_native<D: Decoder<Item = GenResponse>>(
    c: &mut Criterion,
    group: &str,
    name: &str,
    body: &[Bytes],
    content: usize,
    decoder: fn() -> D,
) {
    let mut g = c.benchmark_group(format!("{group}/{name}"));
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("gen_responses", |b| {
        b.iter(|| {
            let (mut got, mut usage) = (0usize, None);
            drive(decoder(), body, |item| {
                got += content_len(&item);
                usage = usage.or(item.meta.usage);
            });
            assert_eq!(got, content);
            assert_eq!(usage.map(|u| u.output_tokens), Some(N as u64));
            got
        })
    });
    g.finish();
}

/// `STREAM_BENCH_ONCE=<workload>:<runs>` (see the module documentation): drives one decoder
/// `runs` times and returns true, or returns false to let criterion run.
fn run_once() -> bool {
    let Ok(spec) = std::env::var("STREAM_BENCH_ONCE") else {
        return false;
    };
    let (workload, runs) = spec
        .split_once(':')
        .expect("STREAM_BENCH_ONCE=<workload>:<runs>");
    let runs: usize = runs.parse().expect("a number of runs");
    let (native, size) = match workload {
        "native_chat_to_response/64k" => (true, Some(64 * 1024)),
        "native_chat_to_response/line" => (true, None),
        "chunk_to_response/64k" => (false, Some(64 * 1024)),
        "chunk_to_response/event" => (false, None),
        other => panic!("unknown workload {other}"),
    };
    let (stream, content) = if native { native_lines() } else { events() };
    let body = pieces(&stream, size);
    for _ in 0..runs {
        let mut got = 0usize;
        let each = |item: GenResponse| got += content_len(&item);
        if native {
            drive(ChatDecoder::default(), &body, each);
        } else {
            drive(StreamDecoder::default(), &body, each);
        }
        assert_eq!(got, content);
    }
    true
}

criterion_group!(benches, bench);

fn main() {
    if run_once() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
