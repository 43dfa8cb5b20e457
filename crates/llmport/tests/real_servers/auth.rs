//! Basic, Bearer, API-key and custom credentials end to end through a real nginx (auth_basic
//! with an htpasswd file from apache2-utils, a Bearer check, an API-key check) in front of
//! the wire test server. Right credentials pass; wrong or missing ones give `Error::Auth` with
//! the gateway's status, after exactly one request (no retry storm).

use llmport_test_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use http::{HeaderMap, HeaderValue};
use llmport::auth::CredentialProvider;
use llmport::testing::{Reply, TestServer};
use llmport::{Auth, Error, OpenAiProvider};
use support::nginx::{Gateway, Nginx};
use support::real::random_secret;
use support::{PLAIN_ANSWER, chat, fast_retries, transcript};

struct Setup {
    server: TestServer,
    nginx: Nginx,
    gateway: Gateway,
}

/// The test server behind an nginx that checks every kind of static credential, or `None`
/// when nginx is not installed.
async fn setup() -> Option<Setup> {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let gateway = Gateway {
        basic: Some(("ann".to_owned(), random_secret("pw"))),
        bearer: Some(random_secret("tok")),
        api_key: Some(("X-API-Key".to_owned(), random_secret("key"))),
        ..Gateway::default()
    };
    let nginx = Nginx::start(server.addr(), &gateway)?;
    Some(Setup {
        server,
        nginx,
        gateway,
    })
}

/// A provider with retries on (and short waits), so that a retried 401 would show.
fn provider(base: &str, auth: Auth) -> OpenAiProvider {
    OpenAiProvider::builder()
        .base_url(base)
        .auth(auth)
        .retry(fast_retries(4))
        .build()
        .expect("provider builds")
}

fn assert_auth_error(e: &Error, status: u16) {
    assert!(
        matches!(e, Error::Auth { status: Some(s), .. } if *s == status),
        "expected Error::Auth with HTTP {status}, got {e:?}"
    );
}

#[tokio::test]
async fn basic_auth_passes_nginx_auth_basic_with_the_right_password_only() {
    let Some(s) = setup().await else { return };
    let (user, password) = s.gateway.basic.clone().unwrap();
    let url = s.nginx.v1_url("basic");

    let ok = provider(&url, Auth::basic(&user, &password));
    assert_eq!(chat(&ok).await.unwrap(), PLAIN_ANSWER);
    let seen = s.server.last_request().unwrap();
    assert!(seen.header("authorization").unwrap().starts_with("Basic "));

    let wrong = provider(&url, Auth::basic(&user, "not-the-password"));
    assert_auth_error(&chat(&wrong).await.unwrap_err(), 401);
    let missing = provider(&url, Auth::None);
    let e = chat(&missing).await.unwrap_err();
    assert_auth_error(&e, 401);
    assert!(e.to_string().contains("HTTP 401"), "{e}");

    assert_eq!(
        s.nginx.statuses("/basic/"),
        [200, 401, 401],
        "one request each"
    );
    assert_eq!(
        s.server.requests().len(),
        1,
        "refused requests never got through"
    );
}

#[tokio::test]
async fn bearer_token_passes_only_when_it_matches() {
    let Some(s) = setup().await else { return };
    let token = s.gateway.bearer.clone().unwrap();
    let url = s.nginx.v1_url("bearer");

    assert_eq!(
        chat(&provider(&url, Auth::bearer(&token))).await.unwrap(),
        PLAIN_ANSWER
    );
    assert_eq!(
        s.server.last_request().unwrap().header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    // The OpenAI builder's api_key is a Bearer token too.
    let via_api_key = OpenAiProvider::builder()
        .base_url(&url)
        .api_key(&token)
        .build()
        .unwrap();
    chat(&via_api_key).await.unwrap();

    let wrong = provider(&url, Auth::bearer(format!("{token}x")));
    assert_auth_error(&chat(&wrong).await.unwrap_err(), 401);
    assert_eq!(s.nginx.statuses("/bearer/"), [200, 200, 401]);
}

#[tokio::test]
async fn api_key_header_passes_only_with_the_right_key_in_the_right_header() {
    let Some(s) = setup().await else { return };
    let (header, key) = s.gateway.api_key.clone().unwrap();
    let url = s.nginx.v1_url("apikey");

    chat(&provider(&url, Auth::api_key(&header, &key)))
        .await
        .unwrap();
    assert_eq!(
        s.server.last_request().unwrap().header("x-api-key"),
        Some(key.as_str())
    );
    let wrong_key = provider(&url, Auth::api_key(&header, "nope"));
    assert_auth_error(&chat(&wrong_key).await.unwrap_err(), 403);
    let wrong_header = provider(&url, Auth::api_key("X-Other-Key", &key));
    assert_auth_error(&chat(&wrong_header).await.unwrap_err(), 403);
    assert_eq!(s.nginx.statuses("/apikey/"), [200, 403, 403]);
}

#[tokio::test]
async fn credentials_from_environment_variables_pass_the_gateway() {
    let Some(s) = setup().await else { return };
    let (user, password) = s.gateway.basic.clone().unwrap();
    let token = s.gateway.bearer.clone().unwrap();
    let (header, key) = s.gateway.api_key.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, format!("{password}\n")).unwrap();

    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![
            ("LLMPORT_BASE_URL", s.nginx.v1_url("basic")),
            ("LLMPORT_BASIC_USER", user.clone()),
            (
                "LLMPORT_BASIC_PASSWORD_FILE",
                password_file.display().to_string(),
            ),
        ],
        vec![
            ("LLMPORT_BASE_URL", s.nginx.v1_url("bearer")),
            ("LLMPORT_BEARER_TOKEN", token.clone()),
        ],
        vec![
            ("LLMPORT_BASE_URL", s.nginx.v1_url("apikey")),
            ("LLMPORT_API_KEY", key.clone()),
            ("LLMPORT_API_KEY_HEADER", header.clone()),
        ],
    ];
    for vars in cases {
        let p = llmport::OllamaProvider::builder()
            .from_vars(vars.clone())
            .build()
            .unwrap();
        let answer = chat(&p).await;
        assert!(answer.is_ok(), "{vars:?}: {answer:?}");
    }
    assert_eq!(s.server.requests().len(), 3);
}

/// A credential provider that hands out tokens from a list, one per call, and asks for a
/// retry when refused if `renew` is set.
struct Rotating {
    tokens: Vec<String>,
    calls: AtomicUsize,
    rejections: AtomicUsize,
    renew: bool,
}

#[async_trait]
impl CredentialProvider for Rotating {
    async fn headers(&self) -> llmport::Result<HeaderMap> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let token = &self.tokens[n.min(self.tokens.len() - 1)];
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).expect("valid header"),
        );
        h.insert("x-request-credential", HeaderValue::from(n));
        Ok(h)
    }

    async fn rejected(&self) -> bool {
        self.rejections.fetch_add(1, Ordering::SeqCst);
        self.renew
    }
}

#[tokio::test]
async fn custom_provider_is_asked_again_after_a_401_and_the_retry_passes() {
    let Some(s) = setup().await else { return };
    let good = s.gateway.bearer.clone().unwrap();
    let rotating = Arc::new(Rotating {
        tokens: vec!["stale-token".into(), good],
        calls: AtomicUsize::new(0),
        rejections: AtomicUsize::new(0),
        renew: true,
    });
    let p = provider(&s.nginx.v1_url("bearer"), Auth::Custom(rotating.clone()));
    assert_eq!(chat(&p).await.unwrap(), PLAIN_ANSWER);
    assert_eq!(rotating.calls.load(Ordering::SeqCst), 2);
    assert_eq!(rotating.rejections.load(Ordering::SeqCst), 1);
    assert_eq!(s.nginx.statuses("/bearer/"), [401, 200]);
    assert_eq!(
        s.server
            .last_request()
            .unwrap()
            .header("x-request-credential"),
        Some("1")
    );
}

#[tokio::test]
async fn custom_provider_that_cannot_renew_gets_one_401_and_no_retry() {
    let Some(s) = setup().await else { return };
    let rotating = Arc::new(Rotating {
        tokens: vec!["stale-token".into(), "also-stale".into()],
        calls: AtomicUsize::new(0),
        rejections: AtomicUsize::new(0),
        renew: false,
    });
    let p = provider(&s.nginx.v1_url("bearer"), Auth::Custom(rotating.clone()));
    assert_auth_error(&chat(&p).await.unwrap_err(), 401);
    assert_eq!(rotating.calls.load(Ordering::SeqCst), 1);
    assert_eq!(s.nginx.statuses("/bearer/"), [401]);
}

#[tokio::test]
async fn custom_credentials_are_fetched_fresh_for_every_retry() {
    // No gateway needed: the test server answers 503 twice, then the transcript.
    let server = TestServer::builder()
        .route("POST", "/v1/chat/completions", Reply::empty(503))
        .route("POST", "/v1/chat/completions", Reply::empty(503))
        .transcript(transcript("openai_chat_plain"))
        .start()
        .await;
    let rotating = Arc::new(Rotating {
        tokens: vec!["t0".into(), "t1".into(), "t2".into()],
        calls: AtomicUsize::new(0),
        rejections: AtomicUsize::new(0),
        renew: false,
    });
    let p = provider(&server.v1_url(), Auth::Custom(rotating));
    chat(&p).await.unwrap();
    let seen: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(seen, ["Bearer t0", "Bearer t1", "Bearer t2"]);
}

#[tokio::test]
async fn a_failing_credential_provider_ends_the_call_with_its_error_before_any_request() {
    struct Empty;
    #[async_trait]
    impl CredentialProvider for Empty {
        async fn headers(&self) -> llmport::Result<HeaderMap> {
            Err(Error::auth("the vault is sealed"))
        }
    }
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let p = provider(&server.v1_url(), Auth::custom(Empty));
    let e = chat(&p).await.unwrap_err();
    assert!(matches!(e, Error::Auth { status: None, .. }), "{e:?}");
    assert!(e.to_string().contains("the vault is sealed"), "{e}");
    assert!(server.requests().is_empty());
}

#[test]
fn invalid_api_key_header_name_is_a_config_error_at_build() {
    let e = OpenAiProvider::builder()
        .base_url("http://127.0.0.1:9/v1")
        .auth(Auth::api_key("Bad Header", "k"))
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

#[test]
fn a_credential_that_cannot_be_a_header_value_is_a_config_error_at_build() {
    for auth in [
        Auth::bearer("tok\nen-hunter2"),
        Auth::api_key("X-API-Key", "key\0hunter2"),
    ] {
        let e = OpenAiProvider::builder()
            .base_url("http://127.0.0.1:9/v1")
            .auth(auth)
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
