//! Structured output: `ResponseFormat::Json` / `JsonSchema` on the wire, and the typed
//! `generate_json` / `GenResponse::json` helpers with their decode errors.

use llmport_test_support as support;

use std::sync::Arc;

use llmport::testing::{Reply, TestServer};
use llmport::{Error, Message, Options, Provider, ProviderExt, ResponseFormat};
use serde::Deserialize;
use serde_json::{Value, json};
use support::*;

#[derive(Debug, PartialEq, Deserialize, schemars::JsonSchema)]
struct CityInfo {
    city: String,
    population: u64,
}

fn completion(content: &str, finish: &str) -> Reply {
    Reply::json(
        200,
        &json!({"id": "c", "object": "chat.completion", "model": "llama3.2", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content, "reasoning": "Let me think."},
             "finish_reason": finish}
        ], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
    )
}

fn server_with(reply: Reply) -> impl std::future::Future<Output = TestServer> {
    TestServer::builder()
        .route("POST", "/v1/chat/completions", reply)
        .start()
}

#[tokio::test]
async fn json_schema_transcript_replays_and_parses() {
    let fx = fixture_json("openai_chat_json_schema");
    let server = TestServer::start([transcript("openai_chat_json_schema")]).await;
    let (model, messages, options) = request_of(&fx);
    let r = ollama(&server.url())
        .generate(&model, &messages, &options)
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        fx["request"]["body"]
    );
    assert_eq!(
        r.json::<CityInfo>().unwrap(),
        CityInfo {
            city: "Tokyo".into(),
            population: 14094034
        }
    );
}

#[tokio::test]
async fn generate_json_sends_the_schema_of_the_type_and_returns_it() {
    let server = TestServer::start([transcript("openai_chat_json_schema")]).await;
    // Through `dyn Provider`, as an application holding any provider would call it.
    let p: Arc<dyn Provider> = Arc::new(ollama(&server.url()));
    let city: CityInfo = p
        .generate_json(
            "llama3.2",
            &[Message::user("Give Tokyo's population as JSON.")],
            &Options::builder()
                .response_format(ResponseFormat::Json)
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(city.population, 14094034);

    let req = server.last_request().unwrap();
    let sent = req.json().unwrap();
    let format = &sent["response_format"];
    assert_eq!(
        format["type"], "json_schema",
        "replaces the caller's format"
    );
    assert_eq!(format["json_schema"]["name"], "CityInfo");
    assert_eq!(format["json_schema"]["strict"], true);
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["city"]["type"], "string");
    assert_eq!(schema["properties"]["population"]["type"], "integer");
    assert_eq!(schema["required"], json!(["city", "population"]));
    assert_eq!(schema["additionalProperties"], false);
    // Properties keep the struct's order: models fill them in the order given.
    let text = req.text();
    assert!(
        text.find("\"city\"").unwrap() < text.find("\"population\"").unwrap(),
        "{text}"
    );
}

#[tokio::test]
async fn an_answer_that_does_not_parse_is_a_decode_error_showing_it() {
    let server = server_with(completion("Tokyo has about 14 million people.", "stop")).await;
    let e = openai(&server.v1_url())
        .generate_json::<CityInfo>("m", &[Message::user("q")], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("Tokyo has about 14 million people."), "{msg}");
    assert!(msg.contains("CityInfo"), "{msg}");
    assert!(
        !msg.contains("Let me think"),
        "reasoning is not the answer: {msg}"
    );

    let server = server_with(completion(r#"{"city": "Tokyo"}"#, "stop")).await;
    let e = openai(&server.v1_url())
        .generate_json::<CityInfo>("m", &[Message::user("q")], &Options::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("missing field `population`"), "{e}");
}

#[tokio::test]
async fn a_cut_off_answer_says_so() {
    let server = server_with(completion(r#"{"city": "Tok"#, "length")).await;
    let e = openai(&server.v1_url())
        .generate_json::<CityInfo>("m", &[Message::user("q")], &Options::default())
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("token limit") && msg.contains("max_tokens"),
        "{msg}"
    );
    assert!(msg.contains(r#"{"city": "Tok"#), "{msg}");
}

#[tokio::test]
async fn reasoning_models_answer_json_beside_their_reasoning() {
    let server = server_with(completion(
        r#"{"city":"Lima","population":10000000}"#,
        "stop",
    ))
    .await;
    let city: CityInfo = openai(&server.v1_url())
        .generate_json("m", &[Message::user("q")], &Options::default())
        .await
        .unwrap();
    assert_eq!(city.city, "Lima");
}

#[tokio::test]
async fn json_mode_and_a_schema_from_a_file_go_on_the_wire() {
    let server = server_with(completion(r#"{"ok": true}"#, "stop")).await;
    let p = ollama(&server.url());
    let opts = Options::builder()
        .response_format(ResponseFormat::Json)
        .build();
    let r = p
        .generate("llama3.2", &[Message::user("q")], &opts)
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["response_format"],
        json!({"type": "json_object"})
    );
    assert_eq!(r.json::<Value>().unwrap(), json!({"ok": true}));

    // What `llmport chat --schema FILE` does: a schema read from a file.
    let schema: Value =
        serde_json::from_str(r#"{"type":"object","properties":{"ok":{"type":"boolean"}}}"#)
            .unwrap();
    let opts = Options::builder()
        .response_format(ResponseFormat::json_schema("answer.schema", schema.clone()))
        .build();
    p.generate("llama3.2", &[Message::user("q")], &opts)
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer_schema", "schema": schema, "strict": true}})
    );
}

#[tokio::test]
async fn a_streamed_answer_parses_after_collecting() {
    let server = server_with(Reply::sse([
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"{\"city\":\"Os"}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"lo\",\"population\":700000}"}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        "[DONE]",
    ]))
    .await;
    let opts = Options::builder()
        .response_format(ResponseFormat::for_type::<CityInfo>())
        .build();
    let city: CityInfo = openai(&server.v1_url())
        .generate_stream("m", &[Message::user("q")], &opts)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(city.city, "Oslo");
}
