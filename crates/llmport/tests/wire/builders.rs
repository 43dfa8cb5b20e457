//! The setters every HTTP provider's builder shares (written once, by the crate's
//! `provider_setters!` macro, over one `Connection`): on each builder, what they set reaches
//! the wire — credentials, extra headers, the user agent, retries, stream limits — and the
//! informational ones come back from the provider.

use llmport_test_support as support;

use llmport::testing::{Reply, TestServer};
use llmport::{
    AnthropicProvider, Auth, ClientOptions, Message, OllamaProvider, OpenAiProvider, Options,
    Provider, ResponsesProvider,
};
use support::{fast_retries, stream_items};

/// Every shared connection setter, applied to any provider builder (the same calls on each is
/// the point: they are one set of setters).
macro_rules! connected {
    ($builder:expr) => {
        $builder
            .auth(Auth::bearer("tok-shared"))
            .header("x-tag", "shared")
            .client_options(ClientOptions::builder().user_agent("conn-test/1").build())
            .retry(fast_retries(1))
            .models(["m1", "m2"])
            .trace_content(true)
            .build()
            .expect("provider builds")
    };
}

/// The providers, each with its answer and the path it posts to.
fn providers(server: &TestServer) -> Vec<(Box<dyn Provider>, &'static str)> {
    vec![
        (
            Box::new(connected!(
                OpenAiProvider::builder().base_url(server.v1_url())
            )),
            "/v1/chat/completions",
        ),
        (
            Box::new(connected!(
                AnthropicProvider::builder().base_url(server.url())
            )),
            "/v1/messages",
        ),
        (
            Box::new(connected!(
                ResponsesProvider::builder().base_url(server.v1_url())
            )),
            "/v1/responses",
        ),
        (
            Box::new(connected!(
                OllamaProvider::builder().base_url(server.v1_url())
            )),
            "/v1/chat/completions",
        ),
    ]
}

/// Two `503`s, then the answer, on each provider's path.
async fn flaky_server() -> TestServer {
    let mut builder = TestServer::builder();
    for (path, ok) in [
        ("/v1/chat/completions", Reply::chat_completion("m1", "ok")),
        ("/v1/messages", Reply::messages("m1", "ok")),
        ("/v1/responses", Reply::responses("m1", "ok")),
    ] {
        builder = builder
            .route("POST", path, Reply::empty(503))
            .route("POST", path, Reply::empty(503))
            .route("POST", path, ok);
    }
    builder.start().await
}

#[tokio::test]
async fn every_http_builder_sends_what_its_shared_setters_set() {
    let hi = [Message::user("hi")];
    // One server per provider: the 503s of a route are served once.
    for i in 0..4 {
        let server = flaky_server().await;
        let (provider, path) = providers(&server).swap_remove(i);
        let name = provider.name().to_owned();
        // `retry(fast_retries(1))`: two attempts (the default would make three), both 503.
        let e = provider
            .generate("m1", &hi, &Options::default())
            .await
            .expect_err("two 503s with one retry fail");
        assert_eq!(server.requests().len(), 2, "{name}: {e}");
        let answer = provider
            .generate("m1", &hi, &Options::default())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(answer.text(), "ok", "{name}");
        let req = server.last_request().unwrap();
        assert_eq!(req.path, path, "{name}");
        assert_eq!(
            req.header("authorization"),
            Some("Bearer tok-shared"),
            "{name}"
        );
        assert_eq!(req.header("x-tag"), Some("shared"), "{name}");
        assert_eq!(req.header("user-agent"), Some("conn-test/1"), "{name}");
        assert_eq!(provider.models(), ["m1", "m2"], "{name}");
    }
}

#[tokio::test]
async fn each_builders_own_api_key_scheme_is_kept() {
    let server = TestServer::builder()
        .route("POST", "/v1/messages", Reply::messages("m", "ok"))
        .route("POST", "/v1/responses", Reply::responses("m", "ok"))
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::chat_completion("m", "ok"),
        )
        .start()
        .await;
    let hi = [Message::user("hi")];
    let anthropic = AnthropicProvider::builder()
        .base_url(server.url())
        .api_key("k")
        .build()
        .unwrap();
    let responses = ResponsesProvider::builder()
        .base_url(server.v1_url())
        .api_key("k")
        .build()
        .unwrap();
    let openai = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .api_key("k")
        .build()
        .unwrap();
    let expected = [
        (&anthropic as &dyn Provider, Some("k"), None),
        (&responses, None, Some("Bearer k")),
        (&openai, None, Some("Bearer k")),
    ];
    for (provider, x_api_key, authorization) in expected {
        provider
            .generate("m", &hi, &Options::default())
            .await
            .unwrap();
        let req = server.last_request().unwrap();
        assert_eq!(req.header("x-api-key"), x_api_key, "{}", req.path);
        assert_eq!(req.header("authorization"), authorization, "{}", req.path);
    }
}

#[tokio::test]
async fn every_streaming_builder_applies_its_max_stream_line() {
    let long = "x".repeat(200);
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::chat_completion_stream("m", [long.as_str()]),
        )
        .route(
            "POST",
            "/v1/messages",
            Reply::messages_stream("m", [long.as_str()]),
        )
        .route(
            "POST",
            "/v1/responses",
            Reply::responses_stream("m", [long.as_str()]),
        )
        .start()
        .await;
    let providers: [Box<dyn Provider>; 3] = [
        Box::new(
            OpenAiProvider::builder()
                .base_url(server.v1_url())
                .max_stream_line(100)
                .build()
                .unwrap(),
        ),
        Box::new(
            AnthropicProvider::builder()
                .base_url(server.url())
                .max_stream_line(100)
                .build()
                .unwrap(),
        ),
        Box::new(
            ResponsesProvider::builder()
                .base_url(server.v1_url())
                .max_stream_line(100)
                .build()
                .unwrap(),
        ),
    ];
    for provider in &providers {
        let items = stream_items(provider.as_ref()).await;
        let e = items.into_iter().find_map(Result::err).unwrap_or_else(|| {
            panic!(
                "{}: a 200-byte line passes a 100-byte limit",
                provider.name()
            )
        });
        assert!(
            e.to_string().contains("100 bytes"),
            "{}: {e}",
            provider.name()
        );
    }
}

#[test]
fn description_and_version_are_what_the_builders_were_given() {
    let openai = OpenAiProvider::builder()
        .description("a gateway")
        .version("7")
        .build()
        .unwrap();
    let ollama = OllamaProvider::builder()
        .description("the GPU box")
        .version("8")
        .build()
        .unwrap();
    assert_eq!((openai.description(), openai.version()), ("a gateway", "7"));
    assert_eq!(
        (ollama.description(), ollama.version()),
        ("the GPU box", "8")
    );
    // Unset, each keeps its own default.
    assert_eq!(
        OllamaProvider::new().unwrap().description(),
        "Ollama (OpenAI-compatible API)"
    );
}
