//! Request encoding: a long multi-turn conversation with images → the Chat Completions JSON
//! body, as `generate` / `generate_stream` build it.
//!
//! The conversation: a system prompt, 40 user/assistant turns of a few hundred bytes of text
//! each (with quotes, newlines and non-ASCII to escape), 4 user turns carrying a 48 KiB PNG
//! each (inlined as base64 `data:` URIs), one tool call and its result, and one tool
//! declaration. About 300 KB of JSON, of which ~260 KB are the images.
//!
//! `cargo bench -p llmport --bench request`; throughput is in bytes of JSON produced.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llmport::openai::encode_chat_request as chat_request_body;
use llmport::{Message, Options, Role, Tool, ToolCall};
use serde_json::json;

/// Deterministic pseudo-random bytes (a PNG's compressed data is close to random).
fn image(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn conversation() -> (Vec<Message>, Options) {
    let user = "Here is the next part of the report. It says \"the results are preliminary\" \
                and lists three findings:\n1. latency went down by 12%\n2. memory is flat\n\
                3. the café's Wi-Fi was the bottleneck. What should we do next, and why? ";
    let assistant = "Good question. Given the three findings, I would first confirm the latency \
                     figure with a second run, because a 12% change is within the noise of a \
                     shared machine. Then, since memory is flat, there is no leak to chase. \
                     Finally, the \"Wi-Fi bottleneck\" suggests measuring on a wired link — \
                     otherwise every figure is bounded by the network, not by the code.\n\n\
                     In short: re-run, keep the memory check, and move off the café's network. ";
    let mut messages = Vec::new();
    for turn in 0..40u64 {
        let mut m = Message::user(format!("Turn {turn}. {user}"));
        if turn % 10 == 3 {
            m = m.add_binary(
                format!("figure-{turn}.png"),
                image(turn, 48 * 1024),
                "image/png",
            );
        }
        messages.push(m);
        messages.push(Message::text(
            Role::Assistant,
            format!("{assistant}(turn {turn})"),
        ));
    }
    messages.push(Message::new(Role::Assistant).add_tool_call(ToolCall::new(
        "call_1",
        "get_weather",
        json!({"city": "Tokyo", "unit": "celsius"}),
    )));
    messages.push(Message::tool_result(
        "call_1",
        r#"{"temperature": 21, "sky": "clear"}"#,
    ));
    messages.push(Message::user(
        "Thanks. Summarise everything above in one paragraph.",
    ));
    let options = Options::builder()
        .system("You are a careful analyst. Answer briefly, cite the turn you rely on.")
        .max_tokens(512)
        .temperature(0.2)
        .tool(Tool::function(
            "get_weather",
            "Current weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}),
        ))
        .build();
    (messages, options)
}

fn bench(c: &mut Criterion) {
    let (messages, options) = conversation();
    let len = chat_request_body("llama3.2", &messages, &options, true)
        .expect("encodes")
        .len();
    let mut g = c.benchmark_group("request_encode");
    g.throughput(Throughput::Bytes(len as u64));
    g.bench_function("multi_turn_with_images", |b| {
        b.iter(|| {
            chat_request_body("llama3.2", black_box(&messages), &options, true).expect("encodes")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
