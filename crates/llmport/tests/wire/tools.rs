//! Tools over the wire: declarations derived from Rust types, tool calls in answers (whole,
//! fragmented, interleaved, several per chunk), tool results and history replay, tool choice,
//! and the multi-turn round trip of `examples/tools.rs`.

use llmport_test_support as support;

#[allow(dead_code)]
#[path = "../../examples/tools.rs"]
mod tools_example;

use futures::StreamExt;
use llmport::testing::{Reply, TestServer};
use llmport::{
    Error, FinishReason, GenResponse, Message, OllamaProvider, Options, Provider, RetryConfig,
    Role, Tool, ToolCall, ToolChoice,
};
use serde_json::{Value, json};
use support::*;

/// Every chunk of a stream, failing the test on an error item.
async fn chunks(
    p: &dyn Provider,
    model: &str,
    prompt: &str,
    options: &Options,
) -> Vec<GenResponse> {
    let mut s = p
        .generate_stream(model, &[Message::user(prompt)], options)
        .await
        .expect("stream starts");
    let mut out = Vec::new();
    while let Some(item) = s.next().await {
        out.push(item.expect("chunk"));
    }
    out
}

/// For each chunk: the names and arguments of the tool calls it yields.
fn calls_per_chunk(chunks: &[GenResponse]) -> Vec<Vec<(String, Value)>> {
    chunks
        .iter()
        .map(|c| {
            c.tool_calls()
                .iter()
                .map(|t| (t.name.clone(), t.arguments.clone()))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn example_round_trip_runs_against_the_wire_server() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            transcript("openai_chat_tool_call_nonstream").reply(),
        )
        .route(
            "POST",
            "/v1/chat/completions",
            transcript("openai_chat_tool_result_round_trip").reply(),
        )
        .start()
        .await;
    let p = ollama(&server.url());
    let (answer, history) = tools_example::ask_with_tools(&p, "llama3.2", "Weather in Tokyo?")
        .await
        .unwrap();
    assert_eq!(answer, "It is 18°C and clear in Tokyo.");
    assert_eq!(history.len(), 4, "question, call, result, answer");
    assert_eq!(history[2].role, Role::Tool);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    // First turn: the question and the tool, whose parameters schemars derived from
    // `WeatherArgs`: exactly the tool of the transcript.
    let first = requests[0].json().unwrap();
    assert_eq!(
        first,
        fixture_json("openai_chat_tool_call_nonstream")["request"]["body"]
    );
    // Second turn: the call replayed and the Rust function's result as a `role: tool`
    // message with the call's id and string content — the round-trip transcript's request.
    let second = requests[1].json().unwrap();
    let mut expected =
        fixture_json("openai_chat_tool_result_round_trip")["request"]["body"]["messages"].clone();
    // The transcript sends `content: null` beside the tool calls; we leave the key out.
    expected[1].as_object_mut().unwrap().remove("content");
    assert_eq!(second["messages"], expected);
    assert_eq!(
        second["messages"][2]["content"],
        r#"{"temp_c":18,"sky":"clear"}"#
    );
}

#[test]
fn example_tool_answers_bad_calls_with_an_error_text() {
    let ok = ToolCall::new("1", "get_weather", json!({"city": "Paris"}));
    assert_eq!(
        tools_example::run_tool(&ok),
        r#"{"temp_c":11,"sky":"rain"}"#
    );
    let wrong = ToolCall::new("2", "get_weather", json!({"town": "Paris"}));
    let text = tools_example::run_tool(&wrong);
    assert!(
        text.starts_with("error:") && text.contains("city"),
        "{text}"
    );
    let unknown = ToolCall::new("3", "launch", json!({}));
    assert!(tools_example::run_tool(&unknown).contains("no tool named"));
}

#[tokio::test]
async fn ollama_whole_calls_are_yielded_in_the_chunk_that_carries_them() {
    let (got, _) = replay_stream("openai_chat_stream_tool_calls", Target::Ollama).await;
    // One item per event with content: call 0, call 1, the finish, the final meta.
    assert_eq!(
        calls_per_chunk(&got),
        [
            vec![("get_weather".into(), json!({"city": "Tokyo"}))],
            vec![("get_weather".into(), json!({"city": "Paris"}))],
            vec![],
            vec![],
        ]
    );
    assert_eq!(got[2].finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(got[0].tool_calls()[0].id, "call_q7n2xk4d");
    // The request sent was the transcript's, `tool_choice: "auto"` included: it changes
    // nothing on Ollama, so it is not refused.
}

#[tokio::test]
async fn several_whole_calls_in_one_chunk_are_yielded_together_in_index_order() {
    let (got, _) = replay_stream("openai_chat_stream_tool_calls_one_chunk", Target::Ollama).await;
    let per_chunk = calls_per_chunk(&got);
    let cities: Vec<&str> = per_chunk[0]
        .iter()
        .map(|(_, a)| a["city"].as_str().unwrap())
        .collect();
    assert_eq!(cities, ["Tokyo", "Paris", "Lima"]);
    assert!(per_chunk[1..].iter().all(Vec::is_empty));
    let ids: Vec<String> = got[0].tool_calls().iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, ["call_q7n2xk4d", "call_m3p8ztr1", "call_b5w0ka9e"]);
}

#[tokio::test]
async fn fragmented_arguments_split_mid_string_and_mid_escape_assemble_once_complete() {
    let fx = fixture_json("openai_chat_stream_tool_args_fragmented");
    let expected = json!({"folder": "C:\\Users\\ann\\notes", "query": "the \"draft\" — café"});
    for n in [0usize, 1, 2, 3, 5, 7] {
        let mut b =
            TestServer::builder().transcript(transcript("openai_chat_stream_tool_args_fragmented"));
        if n > 0 {
            b = b.split_writes(n);
        }
        let server = b.start().await;
        let (model, messages, options) = request_of(&fx);
        let got = chunks(
            &openai(&server.v1_url()),
            &model,
            &messages[0].text_content(),
            &options,
        )
        .await;
        // The call is yielded once, by the chunk holding its last fragment: before the
        // finish chunk, and nothing before it.
        let per_chunk = calls_per_chunk(&got);
        assert_eq!(
            per_chunk,
            [
                vec![("search_files".into(), expected.clone())],
                vec![],
                vec![]
            ],
            "writes of {n}"
        );
        assert_eq!(got[0].finish_reason(), None);
        assert_eq!(got[1].finish_reason(), Some(&FinishReason::ToolCalls));
        let call = &got[0].tool_calls()[0];
        assert_eq!(call.id, "call_Fr4gm3nt3dArgs01");
        assert_eq!(call.raw_arguments, None);
        let u = got[2].meta.usage.unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (71, 29));
    }
}

#[tokio::test]
async fn interleaved_calls_wait_for_each_other_and_come_in_index_order() {
    let (got, _) = replay_stream("openai_chat_stream_tool_calls_interleaved", Target::OpenAi).await;
    // Reasoning and text deltas are yielded as they come, one item each.
    let deltas: Vec<(String, String)> =
        got[..4].iter().map(|c| (c.reasoning(), c.text())).collect();
    assert_eq!(
        deltas,
        [
            ("Two tools".into(), String::new()),
            (", in parallel.".into(), String::new()),
            (String::new(), "Checking both".into()),
            (String::new(), " now.".into()),
        ]
    );
    // Call 1 completes first but waits for call 0; both come in the chunk completing 0.
    let per_chunk = calls_per_chunk(&got[4..]);
    assert_eq!(
        per_chunk,
        [
            vec![
                ("get_weather".into(), json!({"city": "Tokyo"})),
                ("get_time".into(), json!({"tz": "Europe/Paris"})),
            ],
            vec![],
            vec![],
        ]
    );
    assert_eq!(got[5].finish_reason(), Some(&FinishReason::ToolCalls));
    assert_eq!(got.len(), 7);
}

const INVALID_ARGS: &str = r#"{"city": Tokyo}"#;

#[tokio::test]
async fn arguments_that_are_not_json_are_kept_raw_and_replayed_verbatim() {
    let whole = json!({"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"",
        "tool_calls":[{"id":"a","type":"function","function":{"name":"get_weather","arguments":INVALID_ARGS}}]},
        "finish_reason":"tool_calls"}]});
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::sse([
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"get_weather","arguments":"{\"city\": "}}]}}]}"#,
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"Tokyo}"}}]}}]}"#,
                r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
                "[DONE]",
            ]),
        )
        .route("POST", "/v1/chat/completions", Reply::json(200, &whole))
        .route("POST", "/v1/chat/completions", transcript("openai_chat_plain").reply())
        .start()
        .await;
    let p = openai(&server.v1_url());
    let q = [Message::user("q")];
    let got = chunks(&p, "m", "q", &Options::default()).await;
    // Never complete JSON: it is yielded with the finish reason, raw.
    assert_eq!(got[0].tool_calls().len(), 1);
    assert_eq!(got[0].finish_reason(), Some(&FinishReason::ToolCalls));
    let streamed = got[0].tool_calls()[0].clone();
    let r = p.generate("m", &q, &Options::default()).await.unwrap();
    let call = r.tool_calls()[0].clone();
    assert_eq!(streamed, call);
    assert_eq!(call.arguments, Value::Null);
    assert_eq!(call.raw_arguments.as_deref(), Some(INVALID_ARGS));
    let e = call.parse_arguments::<Value>().unwrap_err();
    assert!(
        matches!(e, Error::Decode { .. }) && e.to_string().contains("Tokyo}"),
        "{e}"
    );

    // Replayed in history, the model's text goes back as it was.
    let history = [
        q[0].clone(),
        r.message().unwrap().clone(),
        Message::tool_result("a", "error: arguments are not JSON"),
    ];
    p.generate("m", &history, &Options::default())
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent["messages"][1],
        json!({"role": "assistant", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": INVALID_ARGS}}
        ]})
    );
    assert_eq!(
        sent["messages"][2],
        json!({"role": "tool", "content": "error: arguments are not JSON", "tool_call_id": "a"})
    );
}

#[tokio::test]
async fn assistant_text_and_tool_calls_replay_together() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = openai(&server.v1_url());
    let history = [
        Message::user("Weather in Tokyo and Paris?"),
        Message::assistant("Checking both.")
            .add_tool_call(ToolCall::new("c0", "get_weather", json!({"city": "Tokyo"})))
            .add_tool_call(ToolCall::new("c1", "get_weather", json!({"city": "Paris"}))),
        Message::tool_result("c0", "18C"),
        Message::tool_result("c1", "11C"),
    ];
    p.generate("m", &history, &Options::default())
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "Weather in Tokyo and Paris?"},
            {"role": "assistant", "content": "Checking both.", "tool_calls": [
                {"id": "c0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Tokyo\"}"}},
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "content": "18C", "tool_call_id": "c0"},
            {"role": "tool", "content": "11C", "tool_call_id": "c1"}
        ])
    );
}

#[tokio::test]
async fn tool_choice_goes_to_openai_as_is() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = openai(&server.v1_url());
    let tool = Tool::for_type::<tools_example::WeatherArgs>("get_weather", "Weather");
    for (choice, wire) in [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
        (
            ToolChoice::Function("get_weather".into()),
            json!({"type": "function", "function": {"name": "get_weather"}}),
        ),
    ] {
        let o = Options::builder()
            .tool(tool.clone())
            .tool_choice(choice)
            .build();
        p.generate("m", &[Message::user("q")], &o).await.unwrap();
        assert_eq!(
            server.last_request().unwrap().json().unwrap()["tool_choice"],
            wire
        );
    }
}

#[tokio::test]
async fn tool_choice_ollama_would_ignore_is_refused_unless_lenient() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let tool = Tool::for_type::<tools_example::WeatherArgs>("get_weather", "Weather");
    let forced = Options::builder()
        .tool(tool)
        .tool_choice(ToolChoice::Function("get_weather".into()))
        .build();
    let e = ollama(&server.url())
        .generate("llama3.2", &[Message::user("q")], &forced)
        .await
        .unwrap_err();
    let Error::Unsupported { option, reason, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(option, "Options::tool_choice (`tool_choice`)");
    assert!(reason.contains("never reads `tool_choice`"), "{reason}");
    assert!(server.requests().is_empty(), "refused before sending");

    let lenient = OllamaProvider::builder()
        .host(server.url())
        .retry(RetryConfig::none())
        .lenient(true)
        .build()
        .unwrap();
    lenient
        .generate("llama3.2", &[Message::user("q")], &forced)
        .await
        .unwrap();
    let sent = server.last_request().unwrap().json().unwrap();
    assert!(sent.get("tool_choice").is_none(), "{sent}");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
}

#[test]
fn parse_arguments_gives_the_declared_type() {
    let call = ToolCall::from_raw("1", "get_weather", r#"{"city":"Lima"}"#);
    let args: tools_example::WeatherArgs = call.parse_arguments().unwrap();
    assert_eq!(args.city, "Lima");
    let bad = ToolCall::from_raw("1", "get_weather", r#"{"city":7}"#);
    let e = bad
        .parse_arguments::<tools_example::WeatherArgs>()
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("\"get_weather\"") && msg.contains("WeatherArgs"),
        "{msg}"
    );
    assert!(msg.contains(r#"{"city":7}"#), "{msg}");
}
