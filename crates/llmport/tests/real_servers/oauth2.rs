//! OAuth 2.0 client credentials against a real authorization server (oidc-provider from npm,
//! run with node) and a real nginx that lets a request through only when the server's
//! introspection endpoint says its token is active and carries the `chat` scope
//! (`auth_request`). Covers first fetch, caching, expiry and refresh, a cold start under
//! 100 concurrent requests, a revoked token (401 → one refresh → retry), and failing token
//! endpoints. The exact form of token requests is checked against the wire test server.

use llmport_test_support as support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use llmport::auth::{ClientAuthMethod, ClientCredentials};
use llmport::testing::{Reply, TestServer};
use llmport::{Auth, Error, Message, OpenAiProvider, Options, Provider, RetryConfig};
use serde_json::json;
use support::nginx::{Gateway, Nginx};
use support::oauth::{OAuthClient, OAuthServer};
use support::{PLAIN_ANSWER, chat, fast_retries, transcript};

struct Setup {
    server: TestServer,
    nginx: Nginx,
    oauth: OAuthServer,
    client: OAuthClient,
}

/// The wire test server behind nginx, guarded by the OAuth server with one client
/// registered (`auth_method`, tokens living `ttl` seconds); `None` when node or nginx is
/// missing.
async fn setup(id: &str, auth_method: &'static str, ttl: u64) -> Option<Setup> {
    let client = OAuthClient::new(id, auth_method, ttl);
    let oauth = OAuthServer::start(std::slice::from_ref(&client))?;
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let nginx = Nginx::start(
        server.addr(),
        &Gateway {
            oauth_check_port: Some(oauth.port),
            ..Gateway::default()
        },
    )?;
    Some(Setup {
        server,
        nginx,
        oauth,
        client,
    })
}

impl Setup {
    /// Credentials of `client` asking for scope `chat`.
    fn credentials_of(&self, client: &OAuthClient) -> ClientCredentials {
        let method = match client.auth_method {
            "client_secret_post" => ClientAuthMethod::RequestBody,
            _ => ClientAuthMethod::Basic,
        };
        ClientCredentials::new(self.oauth.token_url(), &client.id, &client.secret)
            .with_scopes(["chat"])
            .with_client_auth(method)
    }

    /// The registered client's credentials, scope `chat`.
    fn credentials(&self) -> ClientCredentials {
        self.credentials_of(&self.client)
    }
}

/// Asserts an `Error::Auth` with HTTP 401.
fn assert_auth_401(e: &Error) {
    assert!(
        matches!(
            e,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "expected Error::Auth with HTTP 401, got {e:?}"
    );
}

fn provider(s: &Setup, cc: ClientCredentials) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(s.nginx.v1_url("oauth"))
        .auth(Auth::OAuth2(cc))
        .retry(fast_retries(3))
        .build()
        .expect("provider builds")
}

/// The Bearer token the test server received last.
fn last_token(server: &TestServer) -> String {
    server
        .last_request()
        .expect("a request got through")
        .header("authorization")
        .expect("authorization forwarded")
        .strip_prefix("Bearer ")
        .expect("a Bearer token")
        .to_owned()
}

#[tokio::test]
async fn first_request_fetches_a_token_and_later_ones_reuse_it() {
    let Some(s) = setup("app-basic", "client_secret_basic", 600).await else {
        return;
    };
    let p = provider(&s, s.credentials());
    for _ in 0..3 {
        assert_eq!(chat(&p).await.unwrap(), PLAIN_ANSWER);
    }
    let stats = s.oauth.stats().await;
    assert_eq!(stats.issued, 1, "one token for three requests: {stats:?}");
    assert_eq!((stats.checks, stats.rejected), (3, 0));
    let tokens: std::collections::HashSet<String> = s
        .server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(s.nginx.statuses("/oauth/"), [200, 200, 200]);
}

#[tokio::test]
async fn client_secret_post_authenticates_in_the_form_body() {
    let Some(s) = setup("app-post", "client_secret_post", 600).await else {
        return;
    };
    let p = provider(&s, s.credentials());
    chat(&p).await.unwrap();
    assert_eq!(s.oauth.stats().await.issued, 1);
}

#[tokio::test]
async fn a_short_lived_token_is_refreshed_before_it_expires() {
    // Tokens live 2 s: the client replaces one after half its lifetime (1 s).
    let Some(s) = setup("app-short", "client_secret_basic", 2).await else {
        return;
    };
    let p = provider(&s, s.credentials());
    chat(&p).await.unwrap();
    let first = last_token(&s.server);
    chat(&p).await.unwrap();
    assert_eq!(last_token(&s.server), first, "still fresh: reused");
    assert_eq!(s.oauth.stats().await.issued, 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    chat(&p).await.unwrap();
    let second = last_token(&s.server);
    assert_ne!(second, first, "refreshed after half its lifetime");
    assert_eq!(s.oauth.stats().await.issued, 2);

    // Past the first token's expiry the server really refuses it…
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let expired = reqwest::Client::new()
        .post(format!("{}/chat/completions", s.nginx.v1_url("oauth")))
        .bearer_auth(&first)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401, "the first token has expired");
    // …while the client, which refreshes ahead of expiry, is never refused.
    chat(&p).await.unwrap();
    assert_eq!(s.nginx.statuses("/oauth/"), [200, 200, 200, 401, 200]);
    assert_eq!(
        s.oauth.stats().await.rejected,
        1,
        "only the hand-made request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_requests_on_a_cold_cache_fetch_exactly_one_token() {
    let Some(s) = setup("app-herd", "client_secret_basic", 600).await else {
        return;
    };
    let p = provider(&s, s.credentials());
    let started = Instant::now();
    let results = join_all((0..100).map(|_| {
        let p = p.clone();
        tokio::spawn(async move { chat(&p).await })
    }))
    .await;
    for r in results {
        assert_eq!(r.unwrap().unwrap(), PLAIN_ANSWER);
    }
    let stats = s.oauth.stats().await;
    assert_eq!(stats.token_requests, 1, "{stats:?}");
    assert_eq!(stats.issued, 1);
    assert_eq!((stats.checks, stats.rejected), (100, 0));
    assert_eq!(s.server.requests().len(), 100);
    eprintln!(
        "100 concurrent OAuth2 requests through nginx in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_then_replaced_once_and_the_request_retried() {
    let Some(s) = setup("app-revoked", "client_secret_basic", 600).await else {
        return;
    };
    let client = &s.client;
    let p = provider(&s, s.credentials());
    chat(&p).await.unwrap();
    let first = last_token(&s.server);
    s.oauth.revoke(&first, client).await;

    assert_eq!(chat(&p).await.unwrap(), PLAIN_ANSWER);
    assert_ne!(last_token(&s.server), first);
    let stats = s.oauth.stats().await;
    assert_eq!((stats.issued, stats.rejected), (2, 1), "{stats:?}");
    assert_eq!(s.nginx.statuses("/oauth/"), [200, 401, 200]);
    // The new token stays cached.
    chat(&p).await.unwrap();
    assert_eq!(s.oauth.stats().await.issued, 2);
}

#[tokio::test]
async fn a_token_the_gateway_never_accepts_gives_one_refresh_then_an_auth_error() {
    // The gateway wants scope `chat`; this client asks for `embed` only.
    let Some(s) = setup("app-embed", "client_secret_basic", 600).await else {
        return;
    };
    let p = provider(&s, s.credentials().with_scopes(["embed"]));
    let e = chat(&p).await.unwrap_err();
    assert_auth_401(&e);
    assert_eq!(s.nginx.statuses("/oauth/"), [401, 401], "no retry storm");
    assert_eq!(s.oauth.stats().await.issued, 2);
    assert!(s.server.requests().is_empty());
}

#[tokio::test]
async fn a_wrong_client_secret_is_an_auth_error_naming_the_token_url_and_status() {
    let Some(s) = setup("app-wrong", "client_secret_basic", 600).await else {
        return;
    };
    let client = &s.client;
    let mut wrong = client.clone();
    wrong.secret = format!("{}-wrong", client.secret);
    let p = provider(&s, s.credentials_of(&wrong));
    let e = chat(&p).await.unwrap_err();
    assert_auth_401(&e);
    let text = e.to_string();
    assert!(text.contains(&s.oauth.token_url()), "{text}");
    assert!(
        text.contains("HTTP 401") && text.contains("invalid_client"),
        "{text}"
    );
    assert!(
        !text.contains(&wrong.secret) && !text.contains("-wrong"),
        "{text}"
    );
    assert!(
        s.nginx.statuses("/oauth/").is_empty(),
        "never reached the target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_failing_token_request() {
    let Some(s) = setup("app-herd-fail", "client_secret_basic", 600).await else {
        return;
    };
    let client = &s.client;
    let mut wrong = client.clone();
    wrong.secret.push('x');
    let p = provider(&s, s.credentials_of(&wrong));
    let results = join_all((0..20).map(|_| {
        let p = p.clone();
        tokio::spawn(async move { chat(&p).await })
    }))
    .await;
    for r in results {
        let e = r.unwrap().unwrap_err();
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
    let stats = s.oauth.stats().await;
    // Requests waiting while the one token request failed share its error (1 in practice);
    // only a request that starts after the failure asks again. Never one each.
    assert!(
        stats.token_requests <= 3,
        "waiters share the failure instead of each asking: {stats:?}"
    );
}

#[tokio::test]
async fn oauth2_from_environment_variables() {
    let Some(s) = setup("app-env", "client_secret_post", 600).await else {
        return;
    };
    let client = &s.client;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("client-secret");
    std::fs::write(&secret_file, &client.secret).unwrap();
    let p = llmport::OllamaProvider::builder()
        .from_vars([
            ("LLMPORT_BASE_URL", s.nginx.v1_url("oauth")),
            ("LLMPORT_OAUTH2_TOKEN_URL", s.oauth.token_url()),
            ("LLMPORT_OAUTH2_CLIENT_ID", client.id.clone()),
            (
                "LLMPORT_OAUTH2_CLIENT_SECRET_FILE",
                secret_file.display().to_string(),
            ),
            ("LLMPORT_OAUTH2_SCOPES", "chat".to_owned()),
            ("LLMPORT_OAUTH2_CLIENT_AUTH", "body".to_owned()),
        ])
        .build()
        .unwrap();
    let answer = p
        .generate("llama3.2", &[Message::user("hi")], &Options::default())
        .await
        .unwrap();
    assert_eq!(answer.text(), PLAIN_ANSWER);
    assert_eq!(s.oauth.stats().await.issued, 1);
}

// ---------------------------------------------------------------------------------------
// The exact token request, and token-endpoint failures, against the wire test server.
// ---------------------------------------------------------------------------------------

fn token_reply(token: &str, expires_in: u64) -> Reply {
    Reply::json(
        200,
        &json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}),
    )
}

async fn wire_setup(token_reply: Reply) -> TestServer {
    TestServer::builder()
        .route("POST", "/oauth/token", token_reply)
        .transcript(transcript("openai_chat_plain"))
        .start()
        .await
}

fn wire_provider(server: &TestServer, cc: ClientCredentials) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(server.v1_url())
        .auth(Auth::OAuth2(cc))
        .retry(RetryConfig::none())
        .build()
        .expect("provider builds")
}

#[tokio::test]
async fn token_request_is_an_rfc6749_form_with_basic_client_auth() {
    let server = wire_setup(token_reply("tok-1", 3600)).await;
    let cc = ClientCredentials::new(format!("{}/oauth/token", server.url()), "my app", "s&c:ret")
        .with_scopes(["chat", "embed"])
        .with_param("audience", "https://llm.example/");
    chat(&wire_provider(&server, cc)).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let token_req = &reqs[0];
    assert_eq!(token_req.path, "/oauth/token");
    assert_eq!(
        token_req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(token_req.header("accept"), Some("application/json"));
    assert_eq!(
        token_req.text(),
        "grant_type=client_credentials&scope=chat+embed&audience=https%3A%2F%2Fllm.example%2F"
    );
    // base64("my+app:s%26c%3Aret")
    assert_eq!(
        token_req.header("authorization"),
        Some("Basic bXkrYXBwOnMlMjZjJTNBcmV0")
    );
    assert_eq!(reqs[1].header("authorization"), Some("Bearer tok-1"));
}

#[tokio::test]
async fn token_request_with_the_secret_in_the_body() {
    let server = wire_setup(token_reply("tok-2", 3600)).await;
    let cc = ClientCredentials::new(format!("{}/oauth/token", server.url()), "app", "s3cret")
        .with_client_auth(ClientAuthMethod::RequestBody);
    chat(&wire_provider(&server, cc)).await.unwrap();
    let token_req = &server.requests()[0];
    assert_eq!(
        token_req.text(),
        "grant_type=client_credentials&client_id=app&client_secret=s3cret"
    );
    assert_eq!(token_req.header("authorization"), None);
}

#[tokio::test]
async fn failing_token_endpoints_are_auth_errors_with_url_and_status() {
    let cases = [
        (
            Reply::json(
                400,
                &json!({"error": "invalid_scope", "error_description": "no such scope"}),
            ),
            Some(400),
            "invalid_scope: no such scope",
        ),
        (
            Reply::text(503, "text/html", "<h1>Service Unavailable</h1>"),
            Some(503),
            "Service Unavailable",
        ),
        (
            Reply::json(200, &json!({"access_token": "t", "token_type": "MAC"})),
            Some(200),
            "not supported",
        ),
        (
            Reply::text(200, "text/plain", "access_token=t"),
            Some(200),
            "no usable token",
        ),
    ];
    for (reply, status, words) in cases {
        let server = wire_setup(reply).await;
        let url = format!("{}/oauth/token", server.url());
        let cc = ClientCredentials::new(&url, "app", "s3cret-value");
        let e = chat(&wire_provider(&server, cc)).await.unwrap_err();
        assert!(matches!(e, Error::Auth { .. }), "{e:?}");
        assert_eq!(e.status(), status, "{e}");
        let text = e.to_string();
        assert!(text.contains(&url) && text.contains(words), "{text}");
        assert!(!text.contains("s3cret-value"), "{text}");
        assert_eq!(
            server.requests().len(),
            1,
            "the chat request was never sent"
        );
    }
}

#[tokio::test]
async fn unreachable_token_endpoint_is_an_auth_error_naming_it() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let url = format!("http://127.0.0.1:{}/token", support::dead_port());
    let e = chat(&wire_provider(
        &server,
        ClientCredentials::new(&url, "app", "s3cret"),
    ))
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Auth { status: None, .. }), "{e:?}");
    assert!(e.to_string().contains(&url), "{e}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_token_without_expires_in_is_kept_until_refused() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/oauth/token",
            Reply::json(
                200,
                &json!({"access_token": "forever", "token_type": "bearer"}),
            ),
        )
        .route("POST", "/v1/chat/completions", Reply::empty(200))
        .start()
        .await;
    let cc = ClientCredentials::new(format!("{}/oauth/token", server.url()), "app", "s");
    let p = wire_provider(&server, cc);
    for _ in 0..3 {
        // The empty 200 is not a chat answer; only the token reuse matters here.
        let _ = chat(&p).await;
    }
    let token_requests = server
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(token_requests, 1);
}

#[test]
fn invalid_token_url_is_a_config_error_at_build() {
    let e = OpenAiProvider::builder()
        .base_url("http://127.0.0.1:9/v1")
        .auth(Auth::OAuth2(ClientCredentials::new(
            "not a url",
            "app",
            "s",
        )))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}
