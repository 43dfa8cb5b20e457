//! Non-streaming chat against the in-process wire server: exact request JSON for every option
//! and part kind, response mapping, and every error class.

use llmport_test_support as support;

use llmport::testing::{Reply, TestServer};
use llmport::{Error, FinishReason, Message, Options, Part, Provider, Role, ToolCall, ToolResult};
use serde_json::json;
use support::*;

#[tokio::test]
async fn plain_chat_sends_exactly_the_transcript_request_and_maps_the_answer() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = ollama(&server.url());
    let r = p
        .generate(
            "llama3.2",
            &[Message::text(Role::User, "Say hello in five words.")],
            &Options::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.text(), "Hello there, how are you?");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    let u = r.meta.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.total_tokens),
        (31, 8, 39)
    );
    assert_eq!(r.meta.id.as_deref(), Some("chatcmpl-417"));
    assert_eq!(r.meta.model.as_deref(), Some("llama3.2"));
    assert!(r.meta.total_time.is_some());
    assert!(r.meta.time_to_first_token.is_some());

    let req = server.last_request().unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.header("authorization"),
        None,
        "Ollama gets no auth by default"
    );
    assert_eq!(
        req.json().unwrap(),
        fixture_json("openai_chat_plain")["request"]["body"]
    );
}

#[tokio::test]
async fn every_option_lands_in_the_request() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = openai(&server.v1_url());
    let opts = Options::builder()
        .max_tokens(12)
        .temperature(0.25)
        .top_p(0.5)
        .seed(7)
        .stop(["\n\n", "END"])
        .frequency_penalty(0.75)
        .presence_penalty(-0.5)
        .system("You are terse.")
        .candidate_count(2)
        .extra("user", "u-1")
        .extra("logprobs", true)
        .build();
    p.generate("llama3.2", &[Message::user("hi")], &opts)
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({
            "model": "llama3.2",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "hi"}
            ],
            "max_tokens": 12,
            "temperature": 0.25,
            "top_p": 0.5,
            "seed": 7,
            "stop": ["\n\n", "END"],
            "frequency_penalty": 0.75,
            "presence_penalty": -0.5,
            "n": 2,
            "user": "u-1",
            "logprobs": true
        })
    );
}

#[tokio::test]
async fn extra_keys_override_typed_fields() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = openai(&server.v1_url());
    let opts = Options::builder()
        .max_tokens(12)
        .extra("max_tokens", 99)
        .build();
    p.generate("llama3.2", &[Message::user("hi")], &opts)
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["max_tokens"],
        99
    );
}

#[tokio::test]
async fn multi_turn_history_with_system_message() {
    let server = TestServer::start([transcript("openai_chat_system_multiturn")]).await;
    let p = ollama(&server.url());
    let history = [
        Message::system("You are terse."),
        Message::user("Capital of France?"),
        Message::assistant("Paris."),
        Message::user("And of Italy? Then explain its history at length."),
    ];
    let opts = Options::builder()
        .max_tokens(12)
        .temperature(0.2)
        .seed(7)
        .stop(["\n\n"])
        .build();
    let r = p.generate("llama3.2", &history, &opts).await.unwrap();
    assert_eq!(r.text(), "Rome. Founded, according to legend, in 753");
    assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
    let sent = server.last_request().unwrap().json().unwrap();
    assert_eq!(
        sent["messages"],
        fixture_json("openai_chat_system_multiturn")["request"]["body"]["messages"]
    );
    assert_eq!(sent["stop"], json!(["\n\n"]));
}

#[tokio::test]
async fn binary_image_becomes_a_data_uri_part() {
    let fx = fixture_json("openai_chat_image_input");
    let server = TestServer::start([transcript("openai_chat_image_input")]).await;
    let p = ollama(&server.url());
    // The 1×1 red PNG of the transcript.
    let url = fx["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]
        .as_str()
        .unwrap();
    let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let msg = Message::text(Role::User, "What is in this image?").add_binary(
        "pixel.png",
        png,
        "image/png",
    );
    let r = p
        .generate("gemma3:4b", &[msg], &Options::default())
        .await
        .unwrap();
    assert_eq!(r.text(), "The image is a single solid red pixel.");
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["messages"],
        json!([{"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": url}}
        ]}])
    );
}

#[tokio::test]
async fn json_binary_parts_and_several_text_parts_are_sent_as_text() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = openai(&server.v1_url());
    let msg = Message::json(Role::User, "doc", &json!({"a": 1}))
        .unwrap()
        .add_text("Summarise it.");
    p.generate("m", &[msg], &Options::default()).await.unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["messages"],
        json!([{"role": "user", "content": "{\"a\":1}\nSummarise it."}])
    );
}

#[tokio::test]
async fn tool_calls_and_results_replay_in_history() {
    let fx = fixture_json("openai_chat_tool_result_round_trip");
    let server = TestServer::start([transcript("openai_chat_tool_result_round_trip")]).await;
    let p = ollama(&server.url());
    let history = [
        Message::user("Weather in Tokyo?"),
        Message::new(Role::Assistant).add_tool_call(ToolCall::new(
            "call_q7n2xk4d",
            "get_weather",
            json!({"city": "Tokyo"}),
        )),
        Message {
            role: Role::Tool,
            parts: vec![Part::ToolResult(ToolResult {
                call_id: "call_q7n2xk4d".into(),
                name: None,
                content: "{\"temp_c\":18,\"sky\":\"clear\"}".into(),
            })],
        },
    ];
    let r = p
        .generate("llama3.2", &history, &Options::default())
        .await
        .unwrap();
    assert_eq!(r.text(), "It is 18°C and clear in Tokyo.");
    let sent = server.last_request().unwrap().json().unwrap();
    // The transcript sends `content: null`; we leave the key out, which Ollama reads the same
    // way and which llama-cpp-python accepts too.
    let mut expected = fx["request"]["body"]["messages"].clone();
    expected[1].as_object_mut().unwrap().remove("content");
    assert_eq!(sent["messages"], expected);
}

#[tokio::test]
async fn non_streaming_tool_call_answer() {
    let server = TestServer::start([transcript("openai_chat_tool_call_nonstream")]).await;
    let p = ollama(&server.url());
    let r = p
        .generate(
            "llama3.2",
            &[Message::user("Weather in Tokyo?")],
            &Options::default(),
        )
        .await
        .unwrap();
    assert_eq!(r.finish_reason(), Some(&FinishReason::ToolCalls));
    let calls = r.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_q7n2xk4d");
    assert_eq!(calls[0].name, "get_weather");
    assert_eq!(calls[0].arguments, json!({"city": "Tokyo"}));
    assert_eq!(r.text(), "");
}

#[tokio::test]
async fn connection_refused_names_the_url_and_the_fix() {
    let port = dead_port();
    let p = ollama(&format!("127.0.0.1:{port}"));
    let e = p
        .generate("llama3.2", &[Message::user("hi")], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("cannot reach Ollama at http://127.0.0.1:{port} — is `ollama serve` running?")
    );
}

#[tokio::test]
async fn model_not_found_says_which_model_and_how_to_pull_it() {
    let server = TestServer::start([transcript("openai_chat_model_not_found")]).await;
    let p = ollama(&server.url());
    let e = p
        .generate_stream("no-such-model", &[Message::user("hi")], &Options::default())
        .await
        .unwrap_err();
    let Error::Api(api) = &e else {
        panic!("expected Api, got {e:?}")
    };
    assert_eq!(api.status, 404);
    assert_eq!(api.kind.as_deref(), Some("not_found_error"));
    assert_eq!(api.message, "model 'no-such-model' not found");
    assert_eq!(
        e.to_string(),
        "the server answered HTTP 404 (not_found_error): model 'no-such-model' not found — pull it first with `ollama pull no-such-model`"
    );
}

#[tokio::test]
async fn openai_error_envelope_becomes_api_error() {
    let server =
        TestServer::start([transcript("openai_chat_reasoning_effort_unsupported_model")]).await;
    let p = openai(&server.v1_url());
    let opts = Options::builder()
        .reasoning_effort(llmport::ReasoningEffort::High)
        .build();
    let e = p
        .generate("llama3.2", &[Message::user("hi")], &opts)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400));
    let Error::Api(api) = e else { panic!() };
    assert_eq!(api.kind.as_deref(), Some("invalid_request_error"));
    assert_eq!(api.message, "\"llama3.2\" does not support thinking");
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["reasoning_effort"],
        "high"
    );
}

#[tokio::test]
async fn unknown_route_is_a_typed_404_with_a_base_url_hint() {
    let server = TestServer::builder().start().await;
    let p = openai(&format!("{}/wrong", server.url()));
    let e = p
        .generate("m", &[Message::user("hi")], &Options::default())
        .await
        .unwrap_err();
    let Error::Api(api) = e else { panic!() };
    assert_eq!(api.status, 404);
    assert_eq!(api.message, "404 page not found");
    assert!(api.hint.unwrap().contains("base URL"));
}

#[tokio::test]
async fn unauthorized_is_an_auth_error() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::json(
                401,
                &json!({"error": {"message": "invalid api key", "type": "authentication_error"}}),
            ),
        )
        .start()
        .await;
    let e = openai(&server.v1_url())
        .generate("m", &[Message::user("hi")], &Options::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Auth { status: Some(401), message, .. } if message == "invalid api key"),
        "{e:?}"
    );
}

#[tokio::test]
async fn html_502_from_a_proxy_is_an_api_error_with_an_excerpt() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::text(
                502,
                "text/html",
                "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            ),
        )
        .start()
        .await;
    let e = openai(&server.v1_url())
        .generate("m", &[Message::user("hi")], &Options::default())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert!(e.is_retryable());
    assert!(e.to_string().contains("502 Bad Gateway"), "{e}");
}

#[tokio::test]
async fn malformed_completion_is_a_decode_error_with_the_text() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::text(200, "application/json", "{\"choices\": [oops"),
        )
        .start()
        .await;
    let e = openai(&server.v1_url())
        .generate("m", &[Message::user("hi")], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("oops"), "{e}");
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = openai(&server.v1_url());
    let e = p.generate("m", &[], &Options::default()).await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let e = p
        .generate("", &[Message::user("hi")], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let nan = Options::builder().temperature(f32::NAN).build();
    let e = p
        .generate("m", &[Message::user("hi")], &nan)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("temperature"), "{e}");
    let pdf = Message::user("read").add_binary("a.pdf", vec![1u8], "application/pdf");
    let e = p
        .generate("m", &[pdf], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn provider_is_usable_as_dyn() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let providers: Vec<std::sync::Arc<dyn Provider>> = vec![
        std::sync::Arc::new(ollama(&server.url())),
        std::sync::Arc::new(openai(&server.v1_url())),
    ];
    for p in providers {
        let r = p
            .generate(
                "llama3.2",
                &[Message::user("Say hello in five words.")],
                &Options::default(),
            )
            .await
            .unwrap();
        assert_eq!(r.text(), "Hello there, how are you?");
    }
}

/// The body text as sent, for asserting exact number spellings.
fn sent_text(server: &TestServer) -> String {
    let body = server.last_request().expect("a request").body;
    String::from_utf8(body.to_vec()).expect("UTF-8")
}

/// Issue 12: with any `extra` key, the `/v1` body went through `serde_json::to_value`, which
/// widened an f32 0.05 to 0.05000000074505806. Values inexact in f32 keep their shortest
/// spelling with and without extras.
#[tokio::test]
async fn f32_options_keep_their_exact_spelling_with_extra_keys() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = openai(&server.v1_url());
    for extra in [false, true] {
        let mut b = Options::builder()
            .temperature(0.05)
            .top_p(0.1)
            .presence_penalty(0.7);
        if extra {
            b = b.extra("user", "u-1");
        }
        p.generate("llama3.2", &[Message::user("hi")], &b.build())
            .await
            .unwrap();
        let text = sent_text(&server);
        for want in [
            r#""temperature":0.05,"#,
            r#""top_p":0.1,"#,
            r#""presence_penalty":0.7"#,
        ] {
            assert!(text.contains(want), "extra={extra}: {want} not in {text}");
        }
        assert!(!text.contains("0000000"), "extra={extra}: {text}");
        let sent = server.last_request().unwrap().json().unwrap();
        assert_eq!(sent["temperature"].as_f64(), Some(0.05));
    }
}

/// Issue 13 #11: values outside their documented range are an `Error::Config` naming the
/// option, from the call, before anything is sent.
#[tokio::test]
async fn out_of_range_options_are_refused_before_sending() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let cases = [
        (Options::builder().stop([""]).build(), "Options::stop"),
        (Options::builder().stop(["ok", ""]).build(), "Options::stop"),
        (
            Options::builder().max_tokens(0).build(),
            "Options::max_tokens",
        ),
        (
            Options::builder().temperature(-1.0).build(),
            "Options::temperature",
        ),
        (
            Options::builder().temperature(2.5).build(),
            "Options::temperature",
        ),
        (
            Options::builder().temperature(f32::NAN).build(),
            "Options::temperature",
        ),
        (Options::builder().top_p(7.0).build(), "Options::top_p"),
        (Options::builder().top_p(0.0).build(), "Options::top_p"),
        (
            Options::builder().frequency_penalty(-2.5).build(),
            "Options::frequency_penalty",
        ),
        (
            Options::builder().presence_penalty(3.0).build(),
            "Options::presence_penalty",
        ),
        (
            Options::builder().candidate_count(0).build(),
            "Options::candidate_count",
        ),
    ];
    let providers: [Box<dyn Provider>; 2] = [
        Box::new(ollama(&server.url())),
        Box::new(openai(&server.v1_url())),
    ];
    for p in &providers {
        for (opts, setting) in &cases {
            for stream in [false, true] {
                let e = if stream {
                    match p
                        .generate_stream("llama3.2", &[Message::user("hi")], opts)
                        .await
                    {
                        Ok(_) => panic!("{}: not refused", p.name()),
                        Err(e) => e,
                    }
                } else {
                    p.generate("llama3.2", &[Message::user("hi")], opts)
                        .await
                        .unwrap_err()
                };
                assert!(matches!(e, Error::Config { .. }), "{e:?}");
                assert_eq!(e.setting(), Some(*setting), "{}: {e}", p.name());
                assert!(e.to_string().contains(setting), "{e}");
            }
        }
    }
    assert!(server.requests().is_empty(), "nothing is sent");
    // The edges of each range pass.
    let ok = Options::builder()
        .max_tokens(1)
        .temperature(0.0)
        .top_p(1.0)
        .frequency_penalty(-2.0)
        .presence_penalty(2.0)
        .stop("END")
        .build();
    openai(&server.v1_url())
        .generate("llama3.2", &[Message::user("hi")], &ok)
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["stop"],
        json!(["END"])
    );
}

/// Issue 13 #21: the papercuts a new user met.
#[tokio::test]
async fn one_stop_string_and_openai_provider_new() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = llmport::OpenAiProvider::new(server.v1_url()).unwrap();
    assert_eq!(p.base_url(), server.v1_url().trim_end_matches('/'));
    let one = String::from("END");
    for opts in [
        Options::builder().stop("END").build(),
        Options::builder().stop(&one).build(),
        Options::builder().stop(one.clone()).build(),
        Options::builder().stop(vec![one.clone()]).build(),
        Options::builder().stop([one.as_str()].as_slice()).build(),
    ] {
        assert_eq!(opts.stop, ["END"]);
    }
    let e = llmport::OpenAiProvider::new("not a url").unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

/// Provider-specific settings given to a provider that does not read them are refused, not
/// silently dropped.
#[tokio::test]
async fn openai_refuses_settings_meant_for_another_provider() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let opts = Options::builder()
        .extension(
            llmport::ollama::OllamaOptions::builder()
                .num_ctx(8192)
                .build(),
        )
        .build();
    let e = openai(&server.v1_url())
        .generate("llama3.2", &[Message::user("hi")], &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { option, .. } if option.contains("OllamaOptions")),
        "{e:?}"
    );
    assert!(server.requests().is_empty());
}
