//! Ollama's cloud on the wire: the API key (`OLLAMA_API_KEY`) sent as a Bearer token to the
//! cloud's `/api` and `/v1` and to no other server (not a local Ollama, not after a
//! redirect elsewhere); explicit credentials winning; and the cloud's error answers — a 401
//! with a sign-in link, a used-up allowance (429, never retried) next to a rate limit (429,
//! retried after `Retry-After`), Ollama's 503 "server busy" (retried with the backoff).
//! Transcripts: `cloud_*.json` and `native_chat_server_busy.json` (see their `source`).

use llmport_test_support as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmport::ollama::{OllamaChatApi, OllamaOptions};
use llmport::testing::{Reply, TestServer};
use llmport::{Auth, Error, Message, OllamaProvider, Options, Provider, RetryConfig};
use support::*;

const KEY: &str = "sk-cloud-hunter2";

/// A provider whose server is the cloud at `cloud` (a test server standing in for
/// https://ollama.com), with the key.
fn cloud_provider(cloud: &TestServer, retry: RetryConfig) -> OllamaProvider {
    OllamaProvider::builder()
        .cloud_url(cloud.url())
        .cloud()
        .api_key(KEY)
        .retry(retry)
        .build()
        .expect("provider builds")
}

fn native() -> Options {
    Options::builder()
        .extension(OllamaOptions::builder().num_ctx(2048).build())
        .build()
}

fn hi() -> Vec<Message> {
    vec![Message::user("hi")]
}

fn authorization(server: &TestServer) -> Vec<Option<String>> {
    server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_key_goes_as_bearer_to_the_clouds_api_and_v1() {
    let cloud = TestServer::start([
        transcript("openai_chat_plain"),
        transcript("native_tags"),
        transcript("native_chat_format_schema_nonstream"),
    ])
    .await;
    let p = cloud_provider(&cloud, RetryConfig::none());
    assert_eq!(p.root_url(), cloud.url());
    chat(&p).await.expect("the /v1 chat");
    p.list_models().await.expect("/api/tags");
    p.generate("llama3.2", &hi(), &native())
        .await
        .expect("/api/chat");
    let paths: Vec<String> = cloud.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v1/chat/completions", "/api/tags", "/api/chat"]);
    let bearer = format!("Bearer {KEY}");
    assert_eq!(authorization(&cloud), vec![Some(bearer); 3]);
}

#[tokio::test]
async fn the_key_and_the_cloud_url_come_from_the_environment() {
    let cloud = TestServer::start([transcript("native_tags")]).await;
    let p = OllamaProvider::builder()
        .from_vars([
            ("OLLAMA_API_KEY", KEY),
            ("LLMPORT_OLLAMA_CLOUD_URL", cloud.url().as_str()),
            ("OLLAMA_HOST", "gpu-box:1"),
        ])
        .cloud()
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    p.list_models().await.unwrap();
    assert_eq!(authorization(&cloud), [Some(format!("Bearer {KEY}"))]);

    // Without a key the cloud provider is not built: the error names the variable.
    let e = OllamaProvider::builder()
        .from_vars([("LLMPORT_OLLAMA_CLOUD_URL", cloud.url().as_str())])
        .cloud()
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert_eq!(e.setting(), Some("OLLAMA_API_KEY"));
    assert!(
        e.to_string().contains("https://ollama.com/settings/keys"),
        "{e}"
    );
}

#[tokio::test]
async fn the_key_is_not_sent_to_a_local_ollama() {
    let local =
        TestServer::start([transcript("openai_chat_plain"), transcript("native_tags")]).await;
    let cloud = TestServer::start([]).await;
    let p = OllamaProvider::builder()
        .host(local.url())
        .cloud_url(cloud.url())
        .api_key(KEY)
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    chat(&p).await.unwrap();
    p.list_models().await.unwrap();
    assert_eq!(authorization(&local), [None, None]);
    assert!(cloud.requests().is_empty());
    // Nor from the environment, to a server that merely has the same host name.
    let p = OllamaProvider::builder()
        .from_vars([
            ("OLLAMA_API_KEY", KEY),
            ("OLLAMA_HOST", local.url().as_str()),
        ])
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    p.list_models().await.unwrap();
    assert_eq!(authorization(&local)[2], None);
}

#[tokio::test]
async fn a_redirect_to_another_origin_does_not_carry_the_key() {
    let elsewhere = TestServer::start([transcript("native_tags")]).await;
    let cloud = TestServer::builder()
        .route(
            "GET",
            "/api/tags",
            Reply::empty(307).header("Location", format!("{}/api/tags", elsewhere.url())),
        )
        .start()
        .await;
    let e = cloud_provider(&cloud, RetryConfig::none())
        .list_models()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(307), "{e:?}");
    assert!(e.to_string().contains("redirected to"), "{e}");
    assert_eq!(authorization(&cloud), [Some(format!("Bearer {KEY}"))]);
    assert!(
        elsewhere.requests().is_empty(),
        "the other origin was never asked"
    );
}

#[tokio::test]
async fn explicit_credentials_win_over_the_key() {
    let cloud = TestServer::start([transcript("native_tags")]).await;
    let p = OllamaProvider::builder()
        .cloud_url(cloud.url())
        .cloud()
        .api_key(KEY)
        .auth(Auth::bearer("explicit-token"))
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    p.list_models().await.unwrap();
    let p = OllamaProvider::builder()
        .cloud_url(cloud.url())
        .cloud()
        .from_vars([
            ("OLLAMA_API_KEY", KEY),
            ("LLMPORT_BEARER_TOKEN", "env-token"),
        ])
        .retry(RetryConfig::none())
        .build()
        .unwrap();
    p.list_models().await.unwrap();
    assert_eq!(
        authorization(&cloud),
        [
            Some("Bearer explicit-token".to_owned()),
            Some("Bearer env-token".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_key_never_shows_in_debug_or_errors() {
    let cloud = TestServer::builder()
        .route(
            "GET",
            "/api/tags",
            Reply::json(401, &serde_json::json!({"error": "unauthorized"})),
        )
        .start()
        .await;
    let builder = OllamaProvider::builder()
        .cloud_url(cloud.url())
        .cloud()
        .api_key(KEY)
        .retry(RetryConfig::none());
    let debug = format!("{builder:?}");
    let p = builder.build().unwrap();
    let e = p.list_models().await.unwrap_err();
    for text in [debug, format!("{p:?}"), format!("{e:?}"), e.to_string()] {
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert!(
        matches!(
            e,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_401_with_a_signin_url_surfaces_it() {
    let fx = transcript("cloud_unauthorized_signin_url");
    let server = TestServer::builder()
        .route("POST", "/api/chat", fx.reply())
        .route("POST", "/v1/chat/completions", fx.reply())
        .start()
        .await;
    let p = ollama(&server.url());
    let expected = "https://ollama.com/connect?name=my-laptop&key=c3NoLWVkMjU1MTkgQUFBQUMzTnphQzFsWkRJMU5URTVBQUFBSUZDeGNsd0pIRytxVkFmeUdCb0Y0REE2K1pxMG9RVUloNW1sdFl0UUdDNG0";
    // Native, and /v1 (where the daemon's cloud passthrough answers in the native shape).
    for e in [
        p.generate("kimi-k2.5:cloud", &hi(), &native())
            .await
            .unwrap_err(),
        chat(&p).await.unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                Error::Auth {
                    status: Some(401),
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.signin_url(), Some(expected));
        let text = e.to_string();
        assert!(text.contains(expected), "{text}");
        assert!(text.contains("ollama signin"), "{text}");
        assert!(!e.is_retryable());
    }
    assert_eq!(server.requests().len(), 2, "not retried");
}

#[tokio::test]
async fn a_signin_url_that_is_not_a_plain_https_url_is_dropped() {
    for body in [
        serde_json::json!({"error": "unauthorized"}),
        serde_json::json!({"error": "unauthorized", "signin_url": "javascript:alert(1)"}),
        serde_json::json!({"error": "unauthorized", "signin_url": "https://x.example/\u{1b}]52;c;AAAA\u{7}"}),
        serde_json::json!({"error": "unauthorized", "signin_url": 42}),
    ] {
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", Reply::json(401, &body))
            .start()
            .await;
        let e = chat(&ollama(&server.url())).await.unwrap_err();
        assert!(matches!(e, Error::Auth { .. }), "{e:?}");
        assert_eq!(e.signin_url(), None, "{body}");
        assert!(!e.to_string().contains('\u{1b}'), "{e}");
    }
}

/// A server that answers `first` on the native chat, then the plain native chat.
async fn native_chat_after(first: Reply) -> TestServer {
    TestServer::builder()
        .route("POST", "/api/chat", first)
        .transcript(transcript("native_chat_format_schema_nonstream"))
        .start()
        .await
}

/// Each wait before a retry, and whether the server set it.
type Waits = Arc<Mutex<Vec<(Duration, bool)>>>;

/// Retries with a 1 ms backoff that record each wait and whether the server set it.
fn observed_retries(n: u32) -> (RetryConfig, Waits) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let retry = RetryConfig::builder()
        .max_retries(n)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .on_retry(move |ev| {
            log.lock()
                .expect("the log")
                .push((ev.wait, ev.server_asked));
        })
        .build();
    (retry, seen)
}

fn provider_with(server: &TestServer, retry: RetryConfig) -> OllamaProvider {
    OllamaProvider::builder()
        .host(server.url())
        .chat_api(OllamaChatApi::Native)
        .retry(retry)
        .build()
        .expect("provider builds")
}

#[tokio::test]
async fn a_used_up_allowance_is_quota_exceeded_and_not_retried() {
    let quota = transcript("cloud_usage_limit_429").reply();
    let server = native_chat_after(quota.clone()).await;
    let (retry, seen) = observed_retries(3);
    let e = provider_with(&server, retry)
        .generate("glm-5", &hi(), &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::QuotaExceeded(_)), "{e:?}");
    assert_eq!(e.status(), Some(429));
    assert!(!e.is_retryable());
    let text = e.to_string();
    assert!(text.contains("session usage limit"), "{text}");
    assert!(text.contains("not retried"), "{text}");
    assert_eq!(server.requests().len(), 1, "never retried");
    assert!(seen.lock().unwrap().is_empty());

    // The other wordings of the limit, and through /v1 (relayed verbatim, native shape).
    for message in [
        "you (bob) have reached your weekly usage limit, upgrade for higher limits: https://ollama.com/upgrade or add extra usage: https://ollama.com/settings (ref: 0b7c)",
        "you've reached your hourly usage limit, please wait or upgrade to continue",
    ] {
        let server = TestServer::builder()
            .route(
                "POST",
                "/v1/chat/completions",
                Reply::json(429, &serde_json::json!({ "error": message })),
            )
            .start()
            .await;
        let p = OllamaProvider::builder()
            .host(server.url())
            .retry(fast_retries(3))
            .build()
            .unwrap();
        let e = chat(&p).await.unwrap_err();
        assert!(matches!(e, Error::QuotaExceeded(_)), "{e:?}");
        assert_eq!(server.requests().len(), 1, "{message}");
    }
}

#[tokio::test]
async fn a_rate_limit_429_is_retried_after_retry_after() {
    let server = native_chat_after(
        Reply::json(429, &serde_json::json!({"error": "rate limit exceeded"}))
            .header("Retry-After", "0"),
    )
    .await;
    let (retry, seen) = observed_retries(3);
    let answer = provider_with(&server, retry)
        .generate("llama3.2", &hi(), &Options::default())
        .await
        .expect("retried, then answered");
    assert!(!answer.text().is_empty());
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        *seen.lock().unwrap(),
        [(Duration::ZERO, true)],
        "the server's wait"
    );

    // Exhausted retries end with a plain retryable Api error, not QuotaExceeded.
    let server = TestServer::builder()
        .route(
            "POST",
            "/api/chat",
            Reply::json(429, &serde_json::json!({"error": "rate limit exceeded"})),
        )
        .start()
        .await;
    let e = provider_with(&server, fast_retries(2))
        .generate("llama3.2", &hi(), &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Api(a) if a.status == 429), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn server_busy_is_retried_with_the_backoff() {
    let busy = transcript("native_chat_server_busy").reply();
    let server = native_chat_after(busy.clone()).await;
    let (retry, seen) = observed_retries(3);
    provider_with(&server, retry)
        .generate("llama3.2", &hi(), &Options::default())
        .await
        .expect("retried, then answered");
    assert_eq!(server.requests().len(), 2);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(
        !seen[0].1,
        "no Retry-After from Ollama: the client's backoff"
    );

    // A Retry-After (which Ollama does not send, but a proxy in front may) is honoured.
    let server = native_chat_after(busy.clone().header("Retry-After", "0")).await;
    let (retry, seen) = observed_retries(3);
    provider_with(&server, retry)
        .generate("llama3.2", &hi(), &Options::default())
        .await
        .expect("retried, then answered");
    assert_eq!(*seen.lock().unwrap(), [(Duration::ZERO, true)]);

    // When it stays busy: the retryable Api error, with what to do.
    let server = TestServer::builder()
        .route("POST", "/api/chat", busy)
        .start()
        .await;
    let e = provider_with(&server, fast_retries(2))
        .generate("llama3.2", &hi(), &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::Api(a) if a.status == 503), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.to_string().contains("OLLAMA_MAX_QUEUE"), "{e}");
    assert_eq!(server.requests().len(), 3);
}
