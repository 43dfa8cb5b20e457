//! Prompt completion against the in-process wire server: every `native_generate_*` transcript
//! replayed through `OllamaProvider`'s `Completer` (`/api/generate`), the request each one
//! records checked byte for byte in meaning, generate streams split at every byte, the typed
//! errors (a suffix on a model without `insert`, raw mode with a system prompt), and
//! `/v1/completions` through `OpenAiProvider` (llama.cpp's recorded answers, Ollama's stream
//! with usage, the suffix policy).

use llmport_test_support as support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::StreamExt;
use llmport::codec::decode_pieces;
use llmport::completion::{Completer, CompletionRequest};
use llmport::ollama::{GenerateDecoder, GenerateOptions, OllamaOptions, Think};
use llmport::openai::CompletionsDecoder;
use llmport::testing::{Reply, TestServer};
use llmport::{Error, FinishReason, GenResponse, OpenAiProvider, Options, RetryConfig};
use serde_json::{Value, json};
use support::*;

use crate::ollama_native::numbers_as_f64;

/// Every generate transcript that answers 200.
const GENERATE_OK: [&str; 8] = [
    "native_generate_stream",
    "native_generate_nonstream",
    "native_generate_raw",
    "native_generate_suffix_fim",
    "native_generate_format_schema",
    "native_generate_images",
    "native_generate_think_stream",
    "native_generate_logprobs_stream",
];

/// The completion request a generate transcript records, rebuilt with the public API, and
/// whether it streams (the native default).
fn generate_request_of(fx: &Value) -> (CompletionRequest, bool) {
    let body = &fx["request"]["body"];
    let mut b = Options::builder();
    let mut ollama = OllamaOptions::builder();
    let mut generate = GenerateOptions::builder();
    let (mut has_ollama, mut has_generate) = (false, false);
    if let Some(s) = body["system"].as_str() {
        b = b.system(s);
    }
    if body["raw"] == true {
        generate = generate.raw(true);
        has_generate = true;
    }
    for image in body["images"].as_array().into_iter().flatten() {
        let bytes = STANDARD
            .decode(image.as_str().expect("base64"))
            .expect("base64");
        generate = generate.image(bytes);
        has_generate = true;
    }
    if let Some(f) = body.get("format") {
        ollama = ollama.format(f.clone());
        has_ollama = true;
    }
    if let Some(t) = body["think"].as_bool() {
        ollama = ollama.think(Think::Enabled(t));
        has_ollama = true;
    }
    if let Some(t) = body["options"]["temperature"].as_f64() {
        b = b.temperature(t as f32);
    }
    if body["logprobs"] == true {
        b = b.logprobs(true);
    }
    if let Some(n) = body["top_logprobs"].as_u64() {
        b = b.top_logprobs(n as u8);
    }
    if has_ollama {
        b = b.extension(ollama.build());
    }
    if has_generate {
        b = b.extension(generate.build());
    }
    let mut r = CompletionRequest::builder()
        .model(body["model"].as_str().expect("model"))
        .prompt(body["prompt"].as_str().expect("prompt"))
        .options(b.build());
    if let Some(s) = body["suffix"].as_str() {
        r = r.suffix(s);
    }
    (r.build(), body["stream"] != false)
}

/// The JSON objects a transcript answers with: its NDJSON lines, or its one body.
fn answer_lines(fx: &Value) -> Vec<Value> {
    match fx["response"]["ndjson_lines"].as_array() {
        Some(lines) => lines.clone(),
        None => vec![fx["response"]["body"].clone()],
    }
}

/// Checks an answer against the transcript's lines: text, reasoning, finish reason, usage,
/// server timings, `context` and every token's log probability.
fn assert_matches_transcript(name: &str, r: &GenResponse, fx: &Value) {
    let lines = answer_lines(fx);
    let last = lines.last().expect("a line");
    let text: String = lines
        .iter()
        .filter_map(|l| l["response"].as_str())
        .collect();
    let thinking: String = lines
        .iter()
        .filter_map(|l| l["thinking"].as_str())
        .collect();
    assert_eq!(r.text(), text, "{name}: text");
    assert_eq!(r.reasoning(), thinking, "{name}: reasoning");
    assert_eq!(
        r.finish_reason(),
        Some(&FinishReason::from_wire(
            last["done_reason"].as_str().expect("done_reason")
        )),
        "{name}"
    );
    let usage = r.meta.usage.expect("usage");
    assert_eq!(
        usage.input_tokens,
        last["prompt_eval_count"].as_u64().expect("a count")
    );
    assert_eq!(
        usage.output_tokens,
        last["eval_count"].as_u64().expect("a count")
    );
    let timings = r.meta.server_timings.expect("server timings");
    assert_eq!(
        timings.total.expect("total").as_nanos() as u64,
        last["total_duration"].as_u64().expect("a duration"),
        "{name}"
    );
    assert_eq!(
        timings.eval.expect("eval").as_nanos() as u64,
        last["eval_duration"].as_u64().expect("a duration"),
        "{name}"
    );
    let cand = &r.candidates[0];
    let context: Option<Vec<i64>> = last
        .get("context")
        .map(|c| serde_json::from_value(c.clone()).expect("token ids"));
    assert_eq!(cand.context, context, "{name}: context");
    let logprobs: Vec<Value> = lines
        .iter()
        .filter_map(|l| l["logprobs"].as_array())
        .flatten()
        .cloned()
        .collect();
    assert_eq!(
        serde_json::to_value(&cand.logprobs).expect("serialisable"),
        Value::Array(logprobs),
        "{name}: logprobs (same shape, same values)"
    );
    assert_eq!(r.meta.model.as_deref(), last["model"].as_str(), "{name}");
}

#[tokio::test]
async fn every_generate_transcript_replays_through_the_completer() {
    for name in GENERATE_OK {
        let fx = fixture_json(name);
        let server = TestServer::start([transcript(name)]).await;
        let p = ollama(&server.url());
        let completer: &dyn Completer = &p;
        let (request, stream) = generate_request_of(&fx);
        let r = if stream {
            let chunks: Vec<GenResponse> = completer
                .complete_stream(&request)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .map(|c| c.unwrap_or_else(|e| panic!("{name}: {e}")))
                .collect()
                .await;
            // One chunk per line with something in it, and the last line's.
            let useful = answer_lines(&fx)
                .iter()
                .filter(|l| {
                    l["done"] == true
                        || l["response"].as_str().is_some_and(|t| !t.is_empty())
                        || l["thinking"].as_str().is_some_and(|t| !t.is_empty())
                        || l.get("logprobs").is_some()
                })
                .count();
            assert_eq!(chunks.len(), useful, "{name}: chunks");
            let mut acc = llmport::Accumulator::new();
            chunks.iter().for_each(|c| acc.push(c));
            acc.finish()
        } else {
            completer
                .complete(&request)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        assert_matches_transcript(name, &r, &fx);
        let sent = server.last_request().expect("a request");
        assert_eq!(sent.path, "/api/generate", "{name}");
        assert_eq!(
            numbers_as_f64(&sent.json().expect("JSON")),
            numbers_as_f64(&fx["request"]["body"]),
            "{name}: the request sent is the recorded one"
        );
    }
}

#[tokio::test]
async fn a_streamed_generate_collects_to_the_non_streamed_answer() {
    let fx = fixture_json("native_generate_stream");
    let server = TestServer::start([transcript("native_generate_stream")]).await;
    let p = ollama(&server.url());
    let (request, _) = generate_request_of(&fx);
    let streamed = p
        .complete_stream(&request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed.text(), "Because of Rayleigh scattering.");
    let meta_ttft = streamed.meta.time_to_first_token.unwrap();
    assert!(meta_ttft <= streamed.meta.total_time.unwrap());
    // A whole answer sent to a stream request (Content-Type: application/json) is one chunk.
    let whole = fixture_json("native_generate_nonstream");
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/generate",
            Reply::text(
                200,
                "application/json; charset=utf-8",
                whole["response"]["raw_body"].as_str().unwrap().to_owned(),
            ),
        )
        .start()
        .await;
    let r = ollama(&server.url())
        .complete_stream(&CompletionRequest::new("llama3.2", "Why is the sky blue?"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_matches_transcript("nonstream as a stream", &r, &whole);
}

/// Decodes `body` split in two at every byte, and byte by byte, with the public decoder a
/// real call uses; every split must give the same answer.
fn decode_at_every_split<D: llmport::codec::Decoder<Item = GenResponse>>(
    name: &str,
    body: &[u8],
    decoder: impl Fn() -> D,
) -> GenResponse {
    let collect = |pieces: Vec<Bytes>| -> GenResponse {
        let mut acc = llmport::Accumulator::new();
        for item in decode_pieces(decoder(), pieces) {
            acc.push(&item.unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        let mut r = acc.finish();
        // Client-measured timings differ from run to run.
        r.meta.time_to_first_token = None;
        r.meta.total_time = None;
        r
    };
    let whole = collect(vec![Bytes::copy_from_slice(body)]);
    for k in 1..body.len() {
        let (a, b) = body.split_at(k);
        let r = collect(vec![Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)]);
        assert_eq!(r, whole, "{name}: split at {k}");
    }
    let bytewise = collect(body.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect());
    assert_eq!(bytewise, whole, "{name}: byte by byte");
    whole
}

#[test]
fn generate_streams_split_at_every_byte_decode_identically() {
    for name in [
        "native_generate_stream",
        "native_generate_logprobs_stream",
        "native_generate_think_stream",
    ] {
        let fx = fixture_json(name);
        let raw = fx["response"]["raw_body"].as_str().unwrap();
        let r = decode_at_every_split(name, raw.as_bytes(), GenerateDecoder::default);
        // The decoder stamps no timings; the rest is the transcript's.
        let mut expected = r.clone();
        expected.meta.time_to_first_token = Some(Default::default());
        expected.meta.total_time = Some(Default::default());
        assert_matches_transcript(name, &expected, &fx);
    }
}

#[tokio::test]
async fn a_generate_stream_written_byte_by_byte_decodes() {
    let fx = fixture_json("native_generate_logprobs_stream");
    let server = TestServer::builder()
        .transcript(transcript("native_generate_logprobs_stream"))
        .split_writes(1)
        .start()
        .await;
    let (request, _) = generate_request_of(&fx);
    let r = ollama(&server.url())
        .complete_stream(&request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_matches_transcript("byte by byte", &r, &fx);
    let lp = &r.candidates[0].logprobs;
    assert_eq!(lp.len(), 3);
    assert_eq!(lp[1].token, " there");
    assert_eq!(lp[1].bytes.as_deref(), Some(&b" there"[..]));
    assert_eq!(lp[1].top_logprobs.len(), 3);
    assert_eq!(lp[1].top_logprobs[1].token, "!");
    assert_eq!(lp[1].top_logprobs[1].logprob, -1.2517);
}

#[tokio::test]
async fn a_suffix_on_a_model_without_insert_is_a_model_capability_error() {
    let fx = fixture_json("native_generate_suffix_unsupported");
    let server = TestServer::start([transcript("native_generate_suffix_unsupported")]).await;
    let (request, stream) = generate_request_of(&fx);
    assert!(stream, "the transcript streams (the default)");
    let p = ollama(&server.url());
    for result in [
        p.complete_stream(&request).await.map(|_| ()),
        p.complete(&request).await.map(|_| ()),
    ] {
        match result {
            Err(e @ Error::ModelCapability { .. }) => {
                let Error::ModelCapability { model, capability } = &e else {
                    unreachable!()
                };
                assert_eq!(model, "llama3.2", "named as the request named it");
                assert_eq!(capability, "insert");
                let text = e.to_string();
                assert!(text.contains("does not support insert"), "{text}");
                assert!(text.contains("show llama3.2"), "{text}");
            }
            other => panic!("expected ModelCapability, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_thinking_refusal_is_a_model_capability_error_too() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/generate",
            Reply::json(
                400,
                &json!({"error": "\"llama3.2\" does not support thinking"}),
            ),
        )
        .start()
        .await;
    let request = CompletionRequest::builder()
        .model("llama3.2")
        .prompt("hi")
        .options(
            Options::builder()
                .extension(OllamaOptions::builder().think(Think::Enabled(true)).build())
                .build(),
        )
        .build();
    let e = ollama(&server.url()).complete(&request).await.unwrap_err();
    assert!(
        matches!(&e, Error::ModelCapability { capability, .. } if capability == "thinking"),
        "{e:?}"
    );
}

#[tokio::test]
async fn raw_mode_with_a_system_prompt_is_refused_before_sending_and_when_the_server_says_so() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/generate",
            Reply::json(
                400,
                &json!({"error": "raw mode does not support template, system, or context"}),
            ),
        )
        .start()
        .await;
    let p = ollama(&server.url());
    let raw = GenerateOptions::builder().raw(true).build();
    let refused = CompletionRequest::builder()
        .model("mistral")
        .prompt("[INST] hi [/INST]")
        .options(
            Options::builder()
                .system("Be brief.")
                .extension(raw.clone())
                .build(),
        )
        .build();
    let e = p.complete(&refused).await.unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(e.to_string().contains("raw"), "{e}");
    assert!(server.requests().is_empty(), "refused before sending");

    // A system prompt the client cannot see (in `extra`) reaches the server, whose 400 is
    // recognised as the same refusal.
    let sneaked = CompletionRequest::builder()
        .model("mistral")
        .prompt("[INST] hi [/INST]")
        .options(
            Options::builder()
                .extra("system", "Be brief.")
                .extension(raw)
                .build(),
        )
        .build();
    let e = p.complete_stream(&sneaked).await.unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn out_of_range_top_logprobs_are_refused_before_sending_naming_the_setting() {
    let server = TestServer::start([transcript("native_generate_stream")]).await;
    let p = ollama(&server.url());
    let mut options = Options::builder().top_logprobs(21).build();
    let request = CompletionRequest::builder()
        .model("llama3.2")
        .prompt("hi")
        .options(options.clone())
        .build();
    let e = p.complete(&request).await.unwrap_err();
    assert_eq!(e.setting(), Some("Options::top_logprobs"), "{e:?}");
    options.top_logprobs = Some(3);
    options.logprobs = false;
    let request = CompletionRequest::builder()
        .model("llama3.2")
        .prompt("hi")
        .options(options)
        .build();
    let e = p.complete(&request).await.unwrap_err();
    assert_eq!(e.setting(), Some("Options::top_logprobs"), "{e:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_generate_error_line_mid_stream_is_a_stream_error() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/generate",
            Reply::ndjson([
                json!({"model": "m", "created_at": "x", "response": "Hi", "done": false}),
                json!({"error": "an error was encountered while running the model"}),
            ]),
        )
        .start()
        .await;
    let items: Vec<_> = ollama(&server.url())
        .complete_stream(&CompletionRequest::new("m", "p"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items[0].as_ref().unwrap().text(), "Hi");
    let e = items[1].as_ref().unwrap_err();
    assert!(matches!(e, Error::Stream { .. }), "{e:?}");
    assert!(e.to_string().contains("while running the model"), "{e}");
    assert_eq!(items.len(), 2);
}

// ---------------------------------------------------------------------------------------
// /v1/completions
// ---------------------------------------------------------------------------------------

/// The llama.cpp transcripts' request: 3 (or 2) tokens, 2 alternatives each, `<|im_end|>`
/// banned so that the answer is exactly `max_tokens` long.
fn llamacpp_request(max_tokens: u32) -> CompletionRequest {
    CompletionRequest::builder()
        .model("tiny-random-llama")
        .prompt("hello")
        .options(
            Options::builder()
                .max_tokens(max_tokens)
                .top_logprobs(2)
                .seed(1)
                .extra("logit_bias", json!({"151645": -100}))
                .build(),
        )
        .build()
}

#[tokio::test]
async fn v1_completions_return_text_length_usage_and_logprobs() {
    let fx = fixture_json("llamacpp_completions_logprobs");
    let server = TestServer::start([transcript("llamacpp_completions_logprobs")]).await;
    let p = openai(&server.v1_url());
    let r = p.complete(&llamacpp_request(3)).await.unwrap();
    let choice = &fx["response"]["body"]["choices"][0];
    assert_eq!(r.text(), choice["text"].as_str().unwrap());
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    let usage = r.meta.usage.unwrap();
    assert_eq!((usage.output_tokens, usage.input_tokens), (3, 1));
    let lp = &r.candidates[0].logprobs;
    assert_eq!(lp.len(), 3);
    let wire = &choice["logprobs"]["content"];
    for (i, t) in lp.iter().enumerate() {
        assert_eq!(t.token, wire[i]["token"].as_str().unwrap());
        assert_eq!(t.logprob, wire[i]["logprob"].as_f64().unwrap());
        assert_eq!(t.top_logprobs.len(), 2);
        assert!(t.bytes.is_some());
    }
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent,
        json!({"model": "tiny-random-llama", "prompt": "hello", "max_tokens": 3, "seed": 1,
               "logprobs": 2, "logit_bias": {"151645": -100}})
    );
}

#[tokio::test]
async fn v1_completions_stream_and_split_at_every_byte() {
    let name = "llamacpp_completions_logprobs_stream";
    let fx = fixture_json(name);
    let server = TestServer::start([transcript(name)]).await;
    let r = openai(&server.v1_url())
        .complete_stream(&llamacpp_request(2))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(r.meta.usage.unwrap().output_tokens, 2);
    assert_eq!(r.candidates[0].logprobs.len(), 2);
    assert_eq!(r.text(), " titten bufio");
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    let raw = fx["response"]["raw_body"].as_str().unwrap();
    let split = decode_at_every_split(name, raw.as_bytes(), CompletionsDecoder::default);
    assert_eq!(split.candidates, r.candidates);
}

#[tokio::test]
async fn ollama_v1_completions_stream_takes_the_real_usage_from_the_last_chunk() {
    let server = TestServer::start([transcript("openai_completions_stream_with_usage")]).await;
    let request = CompletionRequest::builder()
        .model("llama3.2")
        .prompt("The capital of Japan is")
        .options(Options::builder().max_tokens(5).build())
        .build();
    let r = ollama(&server.url())
        .openai()
        .complete_stream(&request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(r.text(), " Tokyo.");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let fx = fixture_json("openai_completions_stream_with_usage");
    let last_usage = fx["response"]["sse_events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find_map(|e| e["data"]["usage"].as_object().cloned())
        .unwrap();
    assert_eq!(
        r.meta.usage.unwrap().total_tokens,
        last_usage["total_tokens"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn a_suffix_on_v1_completions_is_refused_unless_the_server_honours_it() {
    let server = TestServer::start([transcript("llamacpp_completions_logprobs")]).await;
    let mut request = llamacpp_request(3);
    request.suffix = Some(" world".into());
    let e = openai(&server.v1_url())
        .complete(&request)
        .await
        .unwrap_err();
    match &e {
        Error::Unsupported { option, reason, .. } => {
            assert_eq!(option, "CompletionRequest::suffix");
            assert!(reason.contains("completions_suffix(true)"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(server.requests().is_empty(), "refused before sending");
    let honouring = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .retry(RetryConfig::none())
        .completions_suffix(true)
        .build()
        .unwrap();
    honouring.complete(&request).await.unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(sent["suffix"], " world");
}

#[tokio::test]
async fn completions_refuse_what_they_cannot_carry() {
    let server = TestServer::start([transcript("llamacpp_completions_logprobs")]).await;
    let p = openai(&server.v1_url());
    for options in [
        Options::builder().system("be brief").build(),
        Options::builder()
            .extension(GenerateOptions::builder().raw(true).build())
            .build(),
        Options::builder()
            .tool(llmport::Tool::function("f", "d", json!({"type": "object"})))
            .build(),
    ] {
        let request = CompletionRequest::builder()
            .model("m")
            .prompt("p")
            .options(options)
            .build();
        let e = p.complete(&request).await.unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
    // Ollama's completer refuses several candidates (one answer per request).
    let request = CompletionRequest::builder()
        .model("m")
        .prompt("p")
        .options(Options::builder().candidate_count(2).build())
        .build();
    let e = ollama(&server.url()).complete(&request).await.unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn completions_are_traced_as_text_completion_with_usage_and_no_content() {
    let fx = fixture_json("native_generate_nonstream");
    let server = TestServer::start([transcript("native_generate_nonstream")]).await;
    let (request, _) = generate_request_of(&fx);
    let (captured, guard) = support::trace::capture();
    ollama(&server.url()).complete(&request).await.unwrap();
    drop(guard);
    let trace = captured.text();
    for expected in [
        "gen_ai.text_completion",
        "gen_ai.operation.name=\"text_completion\"",
        "gen_ai.provider.name=\"ollama\"",
        "gen_ai.usage.input_tokens=31",
        "gen_ai.usage.output_tokens=23",
    ] {
        assert!(
            trace.contains(expected),
            "the trace lacks {expected:?}:\n{trace}"
        );
    }
    assert!(
        !trace.contains("Why is the sky blue"),
        "no prompt in traces: {trace}"
    );
    assert!(!trace.contains("Rayleigh"), "no answer in traces: {trace}");
}

#[tokio::test]
async fn the_test_servers_completion_answers_read_like_the_real_ones() {
    let server = TestServer::builder()
        .route("POST", "/api/generate", Reply::generate("m", "Hello"))
        .route(
            "POST",
            "/api/generate",
            Reply::generate_stream("m", ["He", "llo"]),
        )
        .route("POST", "/v1/completions", Reply::completion("m", "Hello"))
        .route(
            "POST",
            "/v1/completions",
            Reply::completion_stream("m", ["He", "llo"]),
        )
        .start()
        .await;
    let request = CompletionRequest::new("m", "Say hello");
    let ollama = ollama(&server.url());
    let openai = openai(&server.v1_url());
    let completers: [&dyn Completer; 2] = [&ollama, &openai];
    for (i, c) in completers.into_iter().enumerate() {
        let whole = c.complete(&request).await.unwrap();
        // Only Ollama's /api/generate has a `context`.
        let context = (i == 0).then(|| vec![1, 2, 3]);
        assert_eq!(whole.candidates[0].context, context, "{c:?}");
        let streamed = c
            .complete_stream(&request)
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap();
        for r in [&whole, &streamed] {
            assert_eq!(r.text(), "Hello", "{c:?}");
            assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
            assert!(r.meta.usage.is_some());
        }
        assert_eq!(streamed.meta.usage.unwrap().output_tokens, 2);
    }
}
