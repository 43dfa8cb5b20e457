//! Tool-call assembly from arbitrary sequences of stream chunks (fragments of parallel calls
//! across several choices, ids and names repeated or missing, arguments as text or as JSON,
//! finish reasons anywhere, with or without `[DONE]`).
//!
//! Checked against a model of the assembly rules whenever every fragment carries its index:
//! the assembled calls, per choice and in order, are exactly what the fragments spell; the
//! argument limit fails the stream with `LimitExceeded` exactly when an assembled call passes
//! it; a stream without `[DONE]` ends with an error. Without indices only the general rules
//! are checked (no panic, an error only as the last item, no more calls than fragments).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use llmport::{Accumulator, Error, Part, ToolCall};
use serde_json::{Value, json};

#[derive(Arbitrary, Debug)]
struct Input {
    chunks: Vec<Chunk>,
    done: bool,
    small_limit: bool,
}

#[derive(Arbitrary, Debug)]
struct Chunk {
    choice: u8,
    content: Option<String>,
    calls: Vec<Call>,
    finish: Option<Finish>,
}

#[derive(Arbitrary, Debug)]
enum Finish {
    Stop,
    ToolCalls,
    Length,
}

#[derive(Arbitrary, Debug)]
struct Call {
    index: Option<u8>,
    id: Option<u8>,
    name: Option<u8>,
    args: Option<Args>,
    with_function: bool,
}

#[derive(Arbitrary, Debug)]
enum Args {
    Text(String),
    Number(i32),
    Object(u8),
}

impl Args {
    fn wire(&self) -> Value {
        match self {
            Args::Text(t) => Value::String(t.clone()),
            Args::Number(n) => json!(n),
            Args::Object(n) => json!({ "k": n }),
        }
    }

    /// What the assembler appends for this fragment.
    fn text(&self) -> String {
        match self {
            Args::Text(t) => t.clone(),
            other => other.wire().to_string(),
        }
    }
}

fn choice_of(c: &Chunk) -> u32 {
    u32::from(c.choice % 3)
}

fn call_json(call: &Call) -> Value {
    let mut v = json!({ "type": "function" });
    if let Some(i) = call.index {
        v["index"] = json!(i % 4);
    }
    if let Some(id) = call.id {
        v["id"] = json!(format!("call_{}", id % 4));
    }
    let mut f = serde_json::Map::new();
    if let Some(n) = call.name {
        f.insert(
            "name".into(),
            json!(if n == 255 {
                String::new()
            } else {
                format!("f{}", n % 3)
            }),
        );
    }
    if let Some(a) = &call.args {
        f.insert("arguments".into(), a.wire());
    }
    if call.with_function || !f.is_empty() {
        v["function"] = Value::Object(f);
    }
    v
}

fn body_of(input: &Input) -> Vec<u8> {
    let mut body = String::new();
    for c in &input.chunks {
        let mut delta = json!({});
        if let Some(t) = &c.content {
            delta["content"] = json!(t);
        }
        if !c.calls.is_empty() {
            delta["tool_calls"] = Value::Array(c.calls.iter().map(call_json).collect());
        }
        let finish = c.finish.as_ref().map(|f| match f {
            Finish::Stop => "stop",
            Finish::ToolCalls => "tool_calls",
            Finish::Length => "length",
        });
        let chunk = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
            "choices": [{ "index": choice_of(c), "delta": delta, "finish_reason": finish }],
        });
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    if input.done {
        body.push_str("data: [DONE]\n\n");
    }
    body.into_bytes()
}

struct Pending {
    choice: u32,
    index: u32,
    id: String,
    name: String,
    args: String,
}

/// What the stream must produce when every fragment has an index: the calls per choice (in
/// order), or `None` when the argument limit must fail the stream.
fn model(input: &Input, limit: usize) -> Option<Vec<(u32, ToolCall)>> {
    let mut pending: Vec<Pending> = Vec::new();
    let mut out: Vec<(u32, ToolCall)> = Vec::new();
    let drain = |pending: &mut Vec<Pending>, out: &mut Vec<(u32, ToolCall)>, choice: u32| {
        let mut taken: Vec<Pending> = Vec::new();
        pending.retain_mut(|p| {
            if p.choice == choice {
                taken.push(std::mem::replace(
                    p,
                    Pending {
                        choice,
                        index: 0,
                        id: String::new(),
                        name: String::new(),
                        args: String::new(),
                    },
                ));
                false
            } else {
                true
            }
        });
        taken.sort_by_key(|p| p.index);
        for p in taken {
            out.push((choice, ToolCall::from_raw(p.id, p.name, &p.args)));
        }
    };
    for c in &input.chunks {
        let choice = choice_of(c);
        for call in &c.calls {
            let index = u32::from(call.index? % 4);
            let slot = match pending
                .iter()
                .position(|p| p.choice == choice && p.index == index)
            {
                Some(s) => s,
                None => {
                    pending.push(Pending {
                        choice,
                        index,
                        id: String::new(),
                        name: String::new(),
                        args: String::new(),
                    });
                    pending.len() - 1
                }
            };
            let p = &mut pending[slot];
            let function = call_json(call).get("function").cloned();
            if let Some(id) = call.id
                && p.id.is_empty()
            {
                p.id = format!("call_{}", id % 4);
            }
            if let Some(f) = function {
                if let Some(name) = f.get("name").and_then(Value::as_str)
                    && p.name.is_empty()
                {
                    p.name = name.to_owned();
                }
                if let Some(a) = &call.args {
                    p.args.push_str(&a.text());
                }
                if p.args.len() > limit {
                    return None;
                }
            }
        }
        if c.finish.is_some() {
            drain(&mut pending, &mut out, choice);
        }
    }
    if input.done {
        while let Some(choice) = pending.first().map(|p| p.choice) {
            drain(&mut pending, &mut out, choice);
        }
    }
    Some(out)
}

fuzz_target!(|input: Input| {
    let limit = if input.small_limit { 32 } else { 1 << 20 };
    let body = body_of(&input);
    let items = llmport_fuzz::chat_stream(&body, &[], llmport::codec::DEFAULT_MAX_LINE, limit);
    let error_at = items.iter().position(Result::is_err);
    if let Some(pos) = error_at {
        assert_eq!(pos, items.len() - 1, "an item came after an error");
    }
    let mut acc = Accumulator::new();
    for item in items.iter().flatten() {
        acc.push(item);
    }
    let answer = acc.finish();
    let calls: Vec<(u32, ToolCall)> = answer
        .candidates
        .iter()
        .flat_map(|c| {
            c.message.parts.iter().filter_map(move |p| match p {
                Part::ToolCall(t) => Some((c.index, t.clone())),
                _ => None,
            })
        })
        .collect();
    let fragments: usize = input.chunks.iter().map(|c| c.calls.len()).sum();
    assert!(calls.len() <= fragments, "more calls than fragments");
    let last = items.last().and_then(|i| i.as_ref().err());
    let all_indexed = input
        .chunks
        .iter()
        .all(|c| c.calls.iter().all(|k| k.index.is_some()));
    if !all_indexed {
        if !input.done {
            assert!(
                last.is_some(),
                "a stream without [DONE] ended without an error"
            );
        }
        return;
    }
    match model(&input, limit) {
        None => assert!(
            matches!(
                last,
                Some(Error::LimitExceeded {
                    what: "tool-call arguments",
                    ..
                })
            ),
            "expected the argument limit to fail the stream, got {last:?}"
        ),
        Some(expected) if input.done => {
            assert!(last.is_none(), "unexpected error {last:?}");
            // Per choice, the calls in order.
            for choice in 0..3 {
                let want: Vec<_> = expected
                    .iter()
                    .filter(|(c, _)| *c == choice)
                    .map(|(_, t)| t)
                    .collect();
                let got: Vec<_> = calls
                    .iter()
                    .filter(|(c, _)| *c == choice)
                    .map(|(_, t)| t)
                    .collect();
                assert_eq!(got, want, "choice {choice}");
            }
        }
        Some(_) => assert!(
            matches!(last, Some(Error::Stream { .. })),
            "a stream without [DONE] must end with a stream error, got {last:?}"
        ),
    }
});
