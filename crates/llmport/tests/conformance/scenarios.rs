//! The in-process tier: every scenario, written once, against `llmport::testing`'s server
//! answering in the protocol's exact shape ([`Protocol::answer`] and friends). What a request
//! carried is checked through [`Protocol::read`], so each scenario states the behaviour once
//! and each protocol says where it lives on its wire.

use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::StreamExt;
use llmport::schemars::JsonSchema;
use llmport::testing::{Reply, TestServer};
use llmport::{
    Accumulator, Error, FinishReason, GenResponse, Message, Options, Provider, ProviderExt,
    ResponseFormat, Tool, ToolCall,
};
use llmport_test_support::fast_retries;
use serde::Deserialize;
use serde_json::json;

use crate::gaps::{Gap, Tier, gap};
use crate::protocol::{Answer, Call, Failure, Finish, Protocol, Sent, truncated};

/// The model every in-process request names.
const MODEL: &str = "conformance-model";
/// The key every in-process provider sends.
const KEY: &str = "sk-conformance-0123";
/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// What the structured-output scenario parses the answer into.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
#[schemars(crate = "llmport::schemars")]
pub struct City {
    pub name: String,
    pub population: u64,
}

/// The tool of the tool scenarios.
pub fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "Get the current weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}),
    )
}

async fn serve(p: &dyn Protocol, replies: Vec<Reply>) -> TestServer {
    replies
        .into_iter()
        .fold(TestServer::builder(), |b, r| b.route("POST", p.path(), r))
        .start()
        .await
}

fn provider(p: &dyn Protocol, server: &TestServer) -> Box<dyn Provider> {
    p.provider(&server.url(), Some(KEY), fast_retries(3))
}

/// Every request the server received, as the protocol reads it.
fn sent(p: &dyn Protocol, server: &TestServer) -> Vec<Sent> {
    server.requests().iter().map(|r| p.read(r)).collect()
}

/// Streams to the end: the items before the first error, and that error.
pub async fn stream_items(
    provider: &dyn Provider,
    messages: &[Message],
    options: &Options,
) -> (Vec<GenResponse>, Option<Error>) {
    let mut stream = provider
        .generate_stream(MODEL, messages, options)
        .await
        .expect("the stream starts");
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(r) => items.push(r),
            Err(e) => {
                assert!(stream.next().await.is_none(), "nothing after an error");
                return (items, Some(e));
            }
        }
    }
    (items, None)
}

/// The accumulated answer of a stream that must end well, and how many chunks it had.
pub async fn streamed(
    provider: &dyn Provider,
    model: &str,
    messages: &[Message],
    options: &Options,
) -> (GenResponse, usize) {
    let mut stream = provider
        .generate_stream(model, messages, options)
        .await
        .expect("the stream starts");
    let mut acc = Accumulator::new();
    let mut chunks = 0;
    while let Some(item) = stream.next().await {
        acc.push(&item.expect("a chunk"));
        chunks += 1;
    }
    (acc.finish(), chunks)
}

/// A streamed answer is the same answer: same candidates (text, tool calls, finish), same
/// usage, id and model. Only the timings differ.
pub fn assert_same(streamed: &GenResponse, whole: &GenResponse) {
    assert_eq!(
        streamed.candidates, whole.candidates,
        "stream vs whole: candidates"
    );
    assert_eq!(
        streamed.meta.usage, whole.meta.usage,
        "stream vs whole: usage"
    );
    assert_eq!(streamed.meta.id, whole.meta.id, "stream vs whole: id");
    assert_eq!(
        streamed.meta.model, whole.meta.model,
        "stream vs whole: model"
    );
}

/// Serves `answer` whole and then streamed, asks twice with the same options and checks
/// both agree; returns the whole answer and what the two requests carried.
async fn both_ways(
    p: &dyn Protocol,
    answer: &Answer,
    messages: &[Message],
    options: &Options,
) -> (GenResponse, [Sent; 2]) {
    let server = serve(p, vec![p.answer(answer), p.answer_stream(answer)]).await;
    let provider = provider(p, &server);
    let whole = provider
        .generate(MODEL, messages, options)
        .await
        .expect("the whole answer");
    let (stream, chunks) = streamed(provider.as_ref(), MODEL, messages, options).await;
    assert!(chunks > 1, "the answer came in pieces ({chunks})");
    assert_same(&stream, &whole);
    let [a, b]: [Sent; 2] = sent(p, &server).try_into().expect("two requests");
    assert!(
        !a.stream && b.stream,
        "the first whole, the second streamed"
    );
    (whole, [a, b])
}

/// A `refused` row of the gap table: the provider refuses the setting as
/// `Error::Unsupported`, before sending anything.
fn assert_refused<T: std::fmt::Debug>(g: &Gap, result: llmport::Result<T>, server: &TestServer) {
    assert!(
        g.refused,
        "a gap of an in-process scenario is a refusal: {g:?}"
    );
    assert!(
        matches!(result, Err(Error::Unsupported { .. })),
        "refused before sending: {result:?}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

fn user(text: &str) -> Vec<(String, String)> {
    vec![("user".to_owned(), text.to_owned())]
}

pub async fn plain_chat(p: &dyn Protocol) {
    let server = serve(
        p,
        vec![p.answer(&Answer::text("Hello there, how are you?"))],
    )
    .await;
    let r = provider(p, &server)
        .generate(MODEL, &[Message::user("Say hello.")], &Options::default())
        .await
        .expect("an answer");
    assert_eq!(r.text(), "Hello there, how are you?");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let [s]: [Sent; 1] = sent(p, &server).try_into().expect("one request");
    assert_eq!(s.path, p.path());
    assert_eq!(s.model, MODEL);
    assert!(!s.stream);
    assert_eq!(s.turns, user("Say hello."));
    assert_eq!(s.system, None);
    assert_eq!(
        s.key.as_deref(),
        Some(KEY),
        "the key, where the protocol carries it"
    );
}

pub async fn system_instructions(p: &dyn Protocol) {
    let answer = Answer::text("Arr, hello matey.");
    let server = serve(p, vec![p.answer(&answer)]).await;
    let provider = provider(p, &server);
    // Once as an option, once as a system message: the same request.
    let by_option = Options::builder().system("Talk like a pirate.").build();
    provider
        .generate(MODEL, &[Message::user("Say hello.")], &by_option)
        .await
        .expect("an answer");
    let by_message = [
        Message::system("Talk like a pirate."),
        Message::user("Say hello."),
    ];
    let r = provider
        .generate(MODEL, &by_message, &Options::default())
        .await
        .expect("an answer");
    assert_eq!(r.text(), "Arr, hello matey.");
    for s in sent(p, &server) {
        assert_eq!(s.system.as_deref(), Some("Talk like a pirate."));
        assert_eq!(s.turns, user("Say hello."));
    }
}

pub async fn multi_turn(p: &dyn Protocol) {
    let server = serve(p, vec![p.answer(&Answer::text("Your name is Alice."))]).await;
    let history = [
        Message::user("My name is Alice."),
        Message::assistant("Nice to meet you, Alice."),
        Message::user("What is my name?"),
    ];
    let r = provider(p, &server)
        .generate(MODEL, &history, &Options::default())
        .await
        .expect("an answer");
    assert_eq!(r.text(), "Your name is Alice.");
    let [s]: [Sent; 1] = sent(p, &server).try_into().expect("one request");
    let turns: Vec<(&str, &str)> = s
        .turns
        .iter()
        .map(|(r, t)| (r.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        turns,
        [
            ("user", "My name is Alice."),
            ("assistant", "Nice to meet you, Alice."),
            ("user", "What is my name?"),
        ]
    );
}

pub async fn stream_equals_non_stream(p: &dyn Protocol) {
    let mut options = Options::builder().temperature(0.0);
    if p.takes_seed() {
        options = options.seed(42);
    }
    let options = options.build();
    let answer = Answer::text("Rayleigh scattering favors blue light.");
    let (whole, sent) = both_ways(
        p,
        &answer,
        &[Message::user("Why is the sky blue?")],
        &options,
    )
    .await;
    assert_eq!(whole.text(), answer.text);
    for s in sent {
        assert_eq!(
            s.seed,
            p.takes_seed().then_some(42),
            "the same seed both ways"
        );
    }
}

pub async fn stop_sequence(p: &dyn Protocol) {
    let options = Options::builder().stop(["END"]).build();
    if let Some(g) = gap(p.id(), Tier::InProcess, "stop_sequence") {
        let server = serve(p, vec![p.answer(&Answer::text("One, two, three"))]).await;
        let result = provider(p, &server)
            .generate(MODEL, &[Message::user("Count.")], &options)
            .await;
        assert_refused(g, result, &server);
        return;
    }
    let answer = Answer::text("One, two, three").finish(Finish::StopSequence("END"));
    let (whole, sent) = both_ways(p, &answer, &[Message::user("Count.")], &options).await;
    assert_eq!(whole.finish_reason(), Some(&FinishReason::Stop));
    assert_eq!(whole.text(), "One, two, three");
    for s in sent {
        assert_eq!(s.stop, ["END"]);
    }
}

pub async fn max_tokens_length(p: &dyn Protocol) {
    let options = Options::builder().max_tokens(5).build();
    let mut answer = Answer::text("Once upon a time there").finish(Finish::Length);
    answer.usage = (12, 5);
    let (whole, sent) = both_ways(p, &answer, &[Message::user("Tell a story.")], &options).await;
    assert_eq!(whole.finish_reason(), Some(&FinishReason::Length));
    assert_eq!(whole.meta.output_tokens(), Some(5));
    for s in sent {
        assert_eq!(s.max_tokens, Some(5));
    }
}

/// One meaning in every protocol: `input_tokens` counts the whole prompt, cached or not, and
/// `cached_input_tokens` the part read from the cache (Anthropic counts the two apart).
pub async fn usage(p: &dyn Protocol) {
    let mut answer = Answer::text("Hello there.");
    answer.usage = (31, 9);
    answer.cached = 20;
    let (whole, _) = both_ways(p, &answer, &[Message::user("Hi")], &Options::default()).await;
    let usage = whole.meta.usage.expect("usage");
    assert_eq!(
        (usage.input_tokens, usage.output_tokens, usage.total_tokens),
        (31, 9, 40)
    );
    assert_eq!(
        usage.cached_input_tokens,
        p.reports_cache().then_some(20),
        "the cached part of the prompt"
    );
}

/// Text and a tool call in one answer, streamed with the server's writes cut into pieces of
/// 1, 2 and 5 bytes: the decoders reassemble the same answer wherever the cuts fall.
pub async fn stream_split_anywhere(p: &dyn Protocol) {
    let mut answer = Answer::call(Call {
        id: CALL_ID,
        name: "get_weather",
        arguments: json!({"city": "Paris", "unit": "°C"}),
    });
    answer.text = "Let me look that up – un instant.".to_owned();
    let options = Options::builder().tool(weather_tool()).build();
    let question = [Message::user("What is the weather in Paris?")];
    let server = serve(p, vec![p.answer(&answer)]).await;
    let whole = provider(p, &server)
        .generate(MODEL, &question, &options)
        .await
        .expect("the whole answer");
    assert_eq!(whole.text(), answer.text);
    assert_eq!(whole.tool_calls().len(), 1);
    for n in [1, 2, 5] {
        let server = TestServer::builder()
            .route("POST", p.path(), p.answer_stream(&answer))
            .split_writes(n)
            .start()
            .await;
        let (stream, _) = streamed(provider(p, &server).as_ref(), MODEL, &question, &options).await;
        assert_same(&stream, &whole);
    }
}

const CALL_ID: &str = "call_4fj2k9xq";

async fn tools_round_trip_in(p: &dyn Protocol, streamed_mode: bool) {
    let call = Answer::call(Call {
        id: CALL_ID,
        name: "get_weather",
        arguments: json!({"city": "Paris"}),
    });
    let last = Answer::text("It is 18 degrees in Paris.");
    let replies = if streamed_mode {
        vec![
            p.answer(&call),
            p.answer_stream(&call),
            p.answer_stream(&last),
        ]
    } else {
        vec![p.answer(&call), p.answer(&last)]
    };
    let server = serve(p, replies).await;
    let provider = provider(p, &server);
    let options = Options::builder().tool(weather_tool()).build();
    let question = Message::user("What is the weather in Paris?");

    let whole = provider
        .generate(MODEL, std::slice::from_ref(&question), &options)
        .await
        .expect("the tool call");
    let first = if streamed_mode {
        let (stream, _) = streamed(
            provider.as_ref(),
            MODEL,
            std::slice::from_ref(&question),
            &options,
        )
        .await;
        assert_same(&stream, &whole);
        stream
    } else {
        whole
    };
    assert_eq!(first.finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(
        first.tool_calls(),
        [&ToolCall::new(
            CALL_ID,
            "get_weather",
            json!({"city": "Paris"})
        )]
    );

    let history = [
        question,
        first.message().expect("a message").clone(),
        Message::tool_result(CALL_ID, "18 degrees"),
    ];
    let answer = if streamed_mode {
        streamed(provider.as_ref(), MODEL, &history, &options)
            .await
            .0
    } else {
        provider
            .generate(MODEL, &history, &options)
            .await
            .expect("the answer")
    };
    assert_eq!(answer.text(), "It is 18 degrees in Paris.");
    assert_eq!(answer.finish_reason(), Some(&FinishReason::Stop));

    let requests = sent(p, &server);
    let (ask, back) = (&requests[0], requests.last().expect("requests"));
    assert_eq!(ask.tools, ["get_weather"]);
    assert_eq!(back.tools, ["get_weather"]);
    assert_eq!(back.turns, user("What is the weather in Paris?"));
    assert_eq!(
        back.tool_calls,
        [(CALL_ID.to_owned(), "get_weather".to_owned())]
    );
    assert_eq!(
        back.tool_results,
        [(CALL_ID.to_owned(), "18 degrees".to_owned())]
    );
    assert_eq!(back.stream, streamed_mode);
}

pub async fn tools_round_trip(p: &dyn Protocol) {
    tools_round_trip_in(p, false).await;
}

pub async fn tools_round_trip_streamed(p: &dyn Protocol) {
    tools_round_trip_in(p, true).await;
}

pub async fn structured_output(p: &dyn Protocol) {
    let server = serve(
        p,
        vec![p.answer(&Answer::text(r#"{"name":"Paris","population":2102650}"#))],
    )
    .await;
    let result = provider(p, &server)
        .generate_json::<City>(
            MODEL,
            &[Message::user("Paris, as JSON.")],
            &Options::default(),
        )
        .await;
    if let Some(g) = gap(p.id(), Tier::InProcess, "structured_output") {
        assert_refused(g, result, &server);
        return;
    }
    assert_eq!(
        result.expect("the parsed answer"),
        City {
            name: "Paris".into(),
            population: 2_102_650
        }
    );
    let [s]: [Sent; 1] = sent(p, &server).try_into().expect("one request");
    let expected = match ResponseFormat::for_type::<City>() {
        ResponseFormat::JsonSchema { schema, .. } => schema,
        other => panic!("for_type gives a schema: {other:?}"),
    };
    assert_eq!(
        s.schema.as_ref(),
        Some(&expected),
        "the type's schema, where the protocol wants it"
    );
}

pub async fn images(p: &dyn Protocol) {
    let server = serve(p, vec![p.answer(&Answer::text("A single red pixel."))]).await;
    let message =
        Message::user("What is in this picture?").add_binary("pixel.png", PNG, "image/png");
    let r = provider(p, &server)
        .generate(MODEL, &[message], &Options::default())
        .await
        .expect("an answer");
    assert_eq!(r.text(), "A single red pixel.");
    let [s]: [Sent; 1] = sent(p, &server).try_into().expect("one request");
    assert_eq!(
        s.images,
        [base64::engine::general_purpose::STANDARD.encode(PNG)]
    );
    assert_eq!(s.turns, user("What is in this picture?"));
}

pub async fn midstream_error(p: &dyn Protocol) {
    for (source, reply, message) in p.midstream_errors("Once upon a time") {
        let server = serve(p, vec![reply]).await;
        let provider = provider(p, &server);
        let (items, error) = stream_items(
            provider.as_ref(),
            &[Message::user("Tell a story.")],
            &Options::default(),
        )
        .await;
        let text: String = items.iter().map(GenResponse::text).collect();
        assert_eq!(
            text, "Once upon a time",
            "{source}: the text before the failure"
        );
        let error =
            error.unwrap_or_else(|| panic!("{source}: the failure is an error, not an end"));
        assert!(
            error.to_string().contains(message),
            "{source}: the server's message {message:?} reaches the caller: {error}"
        );
        assert_eq!(
            server.requests().len(),
            1,
            "{source}: a broken stream is not re-sent"
        );
    }
}

pub async fn truncated_stream(p: &dyn Protocol) {
    let reply = truncated(
        p.answer_stream(&Answer::text("Hello there, how are you?")),
        "Hello",
    );
    let server = serve(p, vec![reply]).await;
    let provider = provider(p, &server);
    let (items, error) = stream_items(
        provider.as_ref(),
        &[Message::user("Hi")],
        &Options::default(),
    )
    .await;
    let text: String = items.iter().map(GenResponse::text).collect();
    assert_eq!(text, "Hello ");
    let error = error.expect("a stream cut short is an error, not an end");
    assert!(
        matches!(error, Error::Stream { .. }),
        "a stream error: {error:?}"
    );
}

pub async fn unauthorized(p: &dyn Protocol) {
    let server = serve(p, vec![p.failure(Failure::Unauthorized)]).await;
    let provider = provider(p, &server);
    let whole = provider
        .generate(MODEL, &[Message::user("Hi")], &Options::default())
        .await;
    let stream = provider
        .generate_stream(MODEL, &[Message::user("Hi")], &Options::default())
        .await
        .map(|_| ());
    for result in [whole, stream.map(|()| GenResponse::default())] {
        match result {
            Err(Error::Auth {
                status, message, ..
            }) => {
                assert_eq!(status, Some(401));
                assert!(!message.contains(KEY), "the key stays secret: {message}");
            }
            other => panic!("an authentication error: {other:?}"),
        }
    }
    assert_eq!(server.requests().len(), 2, "a 401 is not retried");
}

pub async fn model_not_found(p: &dyn Protocol) {
    let server = serve(p, vec![p.failure(Failure::ModelNotFound("no-such-model"))]).await;
    let err = provider(p, &server)
        .generate("no-such-model", &[Message::user("Hi")], &Options::default())
        .await
        .expect_err("a 404");
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains("no-such-model"),
        "names the model: {err}"
    );
    assert_eq!(server.requests().len(), 1, "a 404 is not retried");
}

/// Whole and streamed: each refusal with `Retry-After: 1` is waited out and retried, once.
pub async fn retry_after(p: &dyn Protocol) {
    let answer = Answer::text("Hello there.");
    let mut replies = p.retry_later();
    let waits = replies.len();
    replies.push(p.answer(&answer));
    replies.extend(p.retry_later());
    replies.push(p.answer_stream(&answer));
    let server = serve(p, replies).await;
    let provider = provider(p, &server);
    let start = Instant::now();
    let whole = provider
        .generate(MODEL, &[Message::user("Hi")], &Options::default())
        .await
        .expect("an answer after the retries");
    assert_eq!(
        server.requests().len(),
        waits + 1,
        "each refusal retried once"
    );
    let (stream, _) = streamed(
        provider.as_ref(),
        MODEL,
        &[Message::user("Hi")],
        &Options::default(),
    )
    .await;
    assert_same(&stream, &whole);
    assert_eq!(whole.text(), "Hello there.");
    assert_eq!(
        server.requests().len(),
        2 * (waits + 1),
        "the stream's refusals too"
    );
    // The backoff of `fast_retries` is milliseconds: only `Retry-After: 1` waits this long.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(2 * waits as u64),
        "waited {waited:?}, the server said 1 s per retry"
    );
}
