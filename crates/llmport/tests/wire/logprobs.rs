//! Token log probabilities on chats: `/v1/chat/completions` (Ollama's shape: `top_logprobs`
//! and `bytes` left out rather than empty) and the native `/api/chat`, streamed and whole,
//! each transcript's request checked, the SSE stream split at every byte; and answers without
//! log probabilities carry none.

use llmport_test_support as support;

use bytes::Bytes;
use llmport::codec::decode_pieces;
use llmport::ollama::OllamaChatApi;
use llmport::openai::StreamDecoder;
use llmport::testing::TestServer;
use llmport::{
    Accumulator, GenResponse, Message, OllamaProvider, Options, Provider, RetryConfig, TokenLogprob,
};
use serde_json::{Value, json};
use support::*;

fn options() -> Options {
    Options::builder().top_logprobs(3).build()
}

/// The recorded entries of a transcript: every line's (or event's, or the body's) in order.
fn recorded(fx: &Value) -> Value {
    let r = &fx["response"];
    let mut out = Vec::new();
    let mut take = |v: &Value| out.extend(v.as_array().into_iter().flatten().cloned());
    if let Some(lines) = r["ndjson_lines"].as_array() {
        lines.iter().for_each(|l| take(&l["logprobs"]));
    } else if let Some(events) = r["sse_events"].as_array() {
        events
            .iter()
            .for_each(|e| take(&e["data"]["choices"][0]["logprobs"]["content"]));
    } else if r["body"]["choices"].is_array() {
        take(&r["body"]["choices"][0]["logprobs"]["content"]);
    } else {
        take(&r["body"]["logprobs"]);
    }
    Value::Array(out)
}

fn native(server: &TestServer) -> OllamaProvider {
    OllamaProvider::builder()
        .host(server.url())
        .chat_api(OllamaChatApi::Native)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

async fn ask(p: &dyn Provider, stream: bool) -> GenResponse {
    let messages = [Message::user("Say hi")];
    if stream {
        p.generate_stream("llama3.2", &messages, &options())
            .await
            .expect("the stream starts")
            .collect_response()
            .await
            .expect("the stream completes")
    } else {
        p.generate("llama3.2", &messages, &options())
            .await
            .expect("an answer")
    }
}

#[tokio::test]
async fn every_logprobs_transcript_gives_every_entry_in_order() {
    for (name, stream) in [
        ("native_chat_logprobs_stream", true),
        ("native_chat_logprobs_nonstream", false),
        ("openai_chat_logprobs_stream", true),
        ("openai_chat_logprobs_nonstream", false),
    ] {
        let fx = fixture_json(name);
        let server = TestServer::start([transcript(name)]).await;
        let p: Box<dyn Provider> = if name.starts_with("native") {
            Box::new(native(&server))
        } else {
            Box::new(openai(&server.v1_url()))
        };
        let r = ask(p.as_ref(), stream).await;
        assert_eq!(r.text(), "Hi there!", "{name}");
        let lp = &r.candidates[0].logprobs;
        assert_eq!(
            serde_json::to_value(lp).unwrap(),
            recorded(&fx),
            "{name}: the entries, in the wire's own shape"
        );
        assert_eq!(lp.len(), 3, "{name}");
        assert_eq!(lp[2].top_logprobs[0].token, "!", "{name}");
        let mut sent = server.last_request().unwrap().json().unwrap();
        let mut expected = fx["request"]["body"].clone();
        if !name.starts_with("native") && stream {
            // The client always asks for usage in a stream.
            expected["stream_options"] = json!({"include_usage": true});
        }
        if let Some(o) = sent.as_object_mut() {
            o.remove("stream_options");
        }
        if let Some(o) = expected.as_object_mut() {
            o.remove("stream_options");
        }
        assert_eq!(sent, expected, "{name}: request");
    }
}

#[tokio::test]
async fn logprobs_arrive_on_each_streamed_chunk_not_on_the_finish() {
    let server = TestServer::start([transcript("openai_chat_logprobs_stream")]).await;
    let p = openai(&server.v1_url());
    let chunks: Vec<GenResponse> = futures::StreamExt::collect::<Vec<_>>(
        p.generate_stream("llama3.2", &[Message::user("Say hi")], &options())
            .await
            .unwrap(),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let per_chunk: Vec<usize> = chunks
        .iter()
        .map(|c| c.candidates.first().map_or(0, |c| c.logprobs.len()))
        .collect();
    assert_eq!(
        per_chunk,
        [1, 1, 1, 0, 0],
        "three tokens, the finish, [DONE]"
    );
}

#[test]
fn a_logprobs_sse_stream_split_at_every_byte_decodes_identically() {
    let fx = fixture_json("openai_chat_logprobs_stream");
    let raw = fx["response"]["raw_body"].as_str().unwrap().as_bytes();
    let collect = |pieces: Vec<Bytes>| {
        let mut acc = Accumulator::new();
        for item in decode_pieces(StreamDecoder::default(), pieces) {
            acc.push(&item.unwrap());
        }
        acc.finish().candidates
    };
    let whole = collect(vec![Bytes::copy_from_slice(raw)]);
    assert_eq!(whole[0].logprobs.len(), 3);
    for k in 1..raw.len() {
        let (a, b) = raw.split_at(k);
        assert_eq!(
            collect(vec![Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)]),
            whole,
            "split at {k}"
        );
    }
}

#[tokio::test]
async fn logprobs_left_on_a_reasoning_chunk_are_kept() {
    // Ollama's ToStreamChunks: when one backend chunk is split into reasoning and content,
    // the logprobs stay on the reasoning chunk.
    let chunk = |delta: Value, logprobs: Option<Value>| {
        let mut choice = json!({"index": 0, "delta": delta, "finish_reason": null});
        if let Some(l) = logprobs {
            choice["logprobs"] = json!({"content": l});
        }
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m",
               "choices": [choice]})
        .to_string()
    };
    let entry = json!([{"token": "Hm", "logprob": -0.5}, {"token": "Hi", "logprob": -0.1}]);
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            llmport::testing::Reply::sse([
                chunk(json!({"role": "assistant", "reasoning": "Hm"}), Some(entry)),
                chunk(json!({"content": "Hi"}), None),
                chunk(json!({}), None).replace("null", "\"stop\""),
                "[DONE]".to_owned(),
            ]),
        )
        .start()
        .await;
    let r = ask(&openai(&server.v1_url()), true).await;
    assert_eq!((r.reasoning().as_str(), r.text().as_str()), ("Hm", "Hi"));
    let tokens: Vec<&str> = r.candidates[0]
        .logprobs
        .iter()
        .map(|t: &TokenLogprob| t.token.as_str())
        .collect();
    assert_eq!(tokens, ["Hm", "Hi"]);
    assert!(r.candidates[0].logprobs[0].bytes.is_none());
    assert!(r.candidates[0].logprobs[0].top_logprobs.is_empty());
}

#[tokio::test]
async fn answers_without_logprobs_carry_none_and_requests_do_not_ask() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let r = openai(&server.v1_url())
        .generate(
            "llama3.2",
            &[Message::user(PLAIN_PROMPT)],
            &Options::default(),
        )
        .await
        .unwrap();
    assert!(r.candidates[0].logprobs.is_empty());
    let sent = server.last_request().unwrap().json().unwrap();
    assert!(sent.get("logprobs").is_none() && sent.get("top_logprobs").is_none());
    // Serialised, a candidate without them has no such keys.
    let json = serde_json::to_value(&r.candidates[0]).unwrap();
    assert!(json.get("logprobs").is_none() && json.get("context").is_none());
}
