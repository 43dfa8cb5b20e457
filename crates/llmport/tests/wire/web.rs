//! Ollama's web search and fetch on the wire: the cloud's `/api/web_search|web_fetch` with
//! the API key (and only there), a signed-in local Ollama's `/api/experimental/*`, argument
//! checks before sending, and the two ready-made tools answering a model's calls.
//! Transcripts: `cloud_web_search.json`, `cloud_web_fetch.json`,
//! `native_experimental_web_search.json`, `cloud_usage_limit_429.json`.

use llmport_test_support as support;

use llmport::ollama::{
    MAX_WEB_RESULTS, WEB_FETCH_TOOL, WEB_SEARCH_TOOL, WebRoute, WebSearchResult,
};
use llmport::testing::{Reply, TestServer};
use llmport::{Auth, Error, OllamaProvider, Part, RetryConfig, Role, Tool, ToolCall};
use serde_json::{Value, json};
use support::*;

const KEY: &str = "sk-web-hunter2";

/// A provider for a local Ollama at `local` whose cloud is `cloud`, with the key.
fn provider(local: &str, cloud: &TestServer) -> OllamaProvider {
    OllamaProvider::builder()
        .host(local)
        .cloud_url(cloud.url())
        .api_key(KEY)
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

#[tokio::test]
async fn web_search_posts_the_query_with_the_key_and_reads_the_results() {
    let local = TestServer::start([]).await;
    let cloud = web_cloud().await;
    let p = provider(&local.url(), &cloud);
    let r = p.web_search("what is ollama?", Some(3)).await.unwrap();
    assert_eq!(r.results.len(), 3);
    assert_eq!(r.results[0].title, "Ollama");
    assert_eq!(r.results[0].url, "https://ollama.com/");
    assert!(
        r.results[1]
            .content
            .starts_with("Ollama is an open-source tool")
    );
    let sent = cloud.last_request().unwrap();
    assert_eq!(sent.path, "/api/web_search");
    assert_eq!(
        sent.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(
        sent.json().unwrap(),
        transcript("cloud_web_search").raw()["request"]["body"]
    );
    // `None` leaves the number to the service: the key is absent.
    p.web_search("q", None).await.unwrap();
    assert_eq!(
        cloud.last_request().unwrap().json().unwrap(),
        json!({"query": "q"})
    );
    assert!(
        local.requests().is_empty(),
        "nothing went to the local server"
    );
}

#[tokio::test]
async fn web_fetch_posts_the_url_and_reads_the_page() {
    let cloud = web_cloud().await;
    let p = provider("127.0.0.1:1", &cloud);
    let page = p.web_fetch("https://ollama.com").await.unwrap();
    assert_eq!(page.title, "Ollama");
    assert!(page.content.starts_with("[Cloud models]"));
    assert_eq!(page.links.len(), 3);
    let sent = cloud.last_request().unwrap();
    assert_eq!(sent.path, "/api/web_fetch");
    assert_eq!(sent.json().unwrap(), json!({"url": "https://ollama.com"}));
    assert_eq!(
        sent.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
}

#[tokio::test]
async fn web_calls_against_the_cloud_itself_use_its_credentials() {
    // The provider's server is the cloud: one client, the key once.
    let cloud = web_cloud().await;
    let p = OllamaProvider::builder()
        .cloud_url(cloud.url())
        .cloud()
        .api_key(KEY)
        .build()
        .unwrap();
    p.web_search("q", Some(1)).await.unwrap();
    assert_eq!(
        cloud.last_request().unwrap().header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    // Explicit credentials for the cloud win there too.
    let p = OllamaProvider::builder()
        .cloud_url(cloud.url())
        .cloud()
        .auth(Auth::bearer("explicit"))
        .build()
        .unwrap();
    p.web_fetch("ollama.com").await.unwrap();
    assert_eq!(
        cloud.last_request().unwrap().header("authorization"),
        Some("Bearer explicit")
    );
}

#[tokio::test]
async fn a_gateways_credentials_and_headers_stay_with_the_gateway() {
    let cloud = web_cloud().await;
    let p = OllamaProvider::builder()
        .host("127.0.0.1:1")
        .auth(Auth::basic("ann", "gateway-secret"))
        .header("X-Gateway", "yes")
        .cloud_url(cloud.url())
        .api_key(KEY)
        .build()
        .unwrap();
    p.web_search("q", None).await.unwrap();
    let sent = cloud.last_request().unwrap();
    assert_eq!(
        sent.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(sent.header("x-gateway"), None);
}

#[tokio::test]
async fn without_a_key_nothing_is_sent_and_the_error_says_what_to_set() {
    let cloud = web_cloud().await;
    let p = OllamaProvider::builder()
        .host("127.0.0.1:1")
        .cloud_url(cloud.url())
        .build()
        .unwrap();
    for e in [
        p.web_search("q", None).await.unwrap_err(),
        p.web_fetch("ollama.com").await.unwrap_err(),
    ] {
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        assert_eq!(e.setting(), Some("OLLAMA_API_KEY"));
        assert!(e.to_string().contains("WebRoute::Server"), "{e}");
    }
    assert!(cloud.requests().is_empty());
}

#[tokio::test]
async fn arguments_are_checked_before_sending() {
    let cloud = web_cloud().await;
    let p = provider("127.0.0.1:1", &cloud);
    for n in [0, MAX_WEB_RESULTS + 1, 100] {
        let e = p.web_search("q", Some(n)).await.unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        assert_eq!(e.setting(), Some("max_results"));
        assert!(e.to_string().contains("1 to 10"), "{e}");
    }
    let e = p.web_search("  ", None).await.unwrap_err();
    assert_eq!(e.setting(), Some("query"));
    let e = p.web_fetch("").await.unwrap_err();
    assert_eq!(e.setting(), Some("url"));
    assert!(cloud.requests().is_empty());
    // The bound itself is accepted.
    p.web_search("q", Some(MAX_WEB_RESULTS)).await.unwrap();
}

#[tokio::test]
async fn cloud_errors_are_typed_on_web_calls_too() {
    let cloud = TestServer::builder()
        .route(
            "POST",
            "/api/web_search",
            transcript("cloud_usage_limit_429").reply(),
        )
        .start()
        .await;
    let p = OllamaProvider::builder()
        .host("127.0.0.1:1")
        .cloud_url(cloud.url())
        .api_key(KEY)
        .retry(fast_retries(3))
        .build()
        .unwrap();
    let e = p.web_search("q", None).await.unwrap_err();
    assert!(matches!(e, Error::QuotaExceeded(_)), "{e:?}");
    assert_eq!(cloud.requests().len(), 1);
}

#[tokio::test]
async fn the_server_route_goes_to_the_local_experimental_endpoint_without_the_key() {
    let fx = transcript("native_experimental_web_search");
    let local = TestServer::builder()
        .transcript(fx)
        .route(
            "POST",
            "/api/experimental/web_fetch",
            Reply::json(
                403,
                &json!({"error": "ollama cloud is disabled: web fetch is unavailable"}),
            ),
        )
        .start()
        .await;
    let cloud = web_cloud().await;
    let p = OllamaProvider::builder()
        .host(local.url())
        .cloud_url(cloud.url())
        .api_key(KEY)
        .web_route(WebRoute::Server)
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    let r = p.web_search("what is ollama?", Some(3)).await.unwrap();
    assert_eq!(
        r.results,
        [serde_json::from_value::<WebSearchResult>(json!({
            "title": "Ollama", "url": "https://ollama.com", "content": "Cloud models are now available"
        }))
        .unwrap()]
    );
    let sent = local.last_request().unwrap();
    assert_eq!(sent.path, "/api/experimental/web_search");
    assert_eq!(sent.header("authorization"), None, "the key stays home");
    let e = p.web_fetch("ollama.com").await.unwrap_err();
    assert!(e.to_string().contains("ollama cloud is disabled"), "{e}");
    assert!(cloud.requests().is_empty());
    // No key needed for this route.
    let p = OllamaProvider::builder()
        .host(local.url())
        .web_route(WebRoute::Server)
        .build()
        .unwrap();
    p.web_search("what is ollama?", None).await.unwrap();
}

#[test]
fn the_tools_are_declared_as_the_official_python_client_does() {
    let tools = OllamaProvider::web_tools();
    let names: Vec<&str> = tools.iter().map(Tool::name).collect();
    assert_eq!(names, [WEB_SEARCH_TOOL, WEB_FETCH_TOOL]);
    let Tool::Function(search) = &tools[0] else {
        panic!("a function")
    };
    assert_eq!(search.name, "web_search");
    assert_eq!(search.description.as_deref(), Some("Performs a web search"));
    assert_eq!(search.parameters["required"], json!(["query"]));
    assert_eq!(
        search.parameters["properties"]["max_results"]["type"],
        "integer"
    );
    let Tool::Function(fetch) = &tools[1] else {
        panic!("a function")
    };
    assert_eq!(fetch.name, "web_fetch");
    assert_eq!(fetch.parameters["required"], json!(["url"]));
}

fn result_of(m: &llmport::Message) -> (&str, Option<&str>, &str) {
    assert_eq!(m.role, Role::Tool);
    match &m.parts[..] {
        [Part::ToolResult(r)] => (&r.call_id, r.name.as_deref(), &r.content),
        other => panic!("not one tool result: {other:?}"),
    }
}

#[tokio::test]
async fn the_web_tools_answer_a_models_calls() {
    let cloud = web_cloud().await;
    let p = provider("127.0.0.1:1", &cloud);

    let call = ToolCall::new(
        "call_1",
        "web_search",
        json!({"query": "what is ollama?", "max_results": 3}),
    );
    let m = p
        .answer_web_tool_call(&call)
        .await
        .unwrap()
        .expect("a web tool");
    let (id, name, content) = result_of(&m);
    assert_eq!((id, name), ("call_1", Some("web_search")));
    let v: Value = serde_json::from_str(content).unwrap();
    assert_eq!(v["results"][0]["title"], "Ollama");
    assert_eq!(
        cloud.last_request().unwrap().json().unwrap(),
        json!({"query": "what is ollama?", "max_results": 3})
    );

    let call = ToolCall::new("call_2", "web_fetch", json!({"url": "https://ollama.com"}));
    let m = p.answer_web_tool_call(&call).await.unwrap().unwrap();
    let v: Value = serde_json::from_str(result_of(&m).2).unwrap();
    assert_eq!(v["links"][2], "https://github.com/ollama/ollama");

    // Arguments the model got wrong go back to it; nothing is sent.
    let before = cloud.requests().len();
    for (name, args) in [
        ("web_search", json!({"max_results": 3})),
        ("web_search", json!({"query": "q", "max_results": 50})),
        ("web_fetch", json!({"href": "x"})),
    ] {
        let m = p
            .answer_web_tool_call(&ToolCall::new("c", name, args))
            .await
            .unwrap()
            .unwrap();
        assert!(result_of(&m).2.starts_with("error: "), "{m:?}");
    }
    assert_eq!(cloud.requests().len(), before);

    // Another tool is the application's to answer.
    let other = ToolCall::new("c", "get_weather", json!({"city": "Paris"}));
    assert!(p.answer_web_tool_call(&other).await.unwrap().is_none());
}

#[tokio::test]
async fn a_key_that_cannot_be_a_header_fails_the_web_calls_only() {
    let local = TestServer::start([transcript("native_tags")]).await;
    let cloud = web_cloud().await;
    let p = OllamaProvider::builder()
        .host(local.url())
        .cloud_url(cloud.url())
        .api_key("sk-bad\nhunter2")
        .retry(RetryConfig::none())
        .build()
        .expect("the local server's provider still builds");
    p.list_models().await.expect("other calls work");
    let e = p.web_search("q", None).await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert_eq!(e.setting(), Some("OLLAMA_API_KEY"));
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(cloud.requests().is_empty());
}
