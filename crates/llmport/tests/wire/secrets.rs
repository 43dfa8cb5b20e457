//! No secret — password, Basic header, token, API key, OAuth2 client secret, access token,
//! private key — appears in any `Debug`, `Display`, error message (with its sources) or
//! tracing output, whatever happens: success, retry, refusal, refresh, token-endpoint
//! failure, bad configuration. Tracing is captured at TRACE level with every span's fields.
//! The traces do carry the GenAI and HTTP attributes, and no message content.

use llmport_test_support as support;

use std::error::Error as _;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use http::{HeaderMap, HeaderValue};
use llmport::auth::{ClientAuthMethod, ClientCredentials, CredentialProvider};
use llmport::testing::{Reply, TestServer};
use llmport::transport::ClientIdentity;
use llmport::{
    Auth, ClientOptions, Error, Message, OllamaProvider, OpenAiProvider, Options, Provider,
    RetryConfig,
};
use serde_json::json;
use support::real::random_secret;
use support::trace::capture;
use support::{chat, transcript};

const PROMPT: &str = support::PLAIN_PROMPT;
const ANSWER: &str = support::PLAIN_ANSWER;

/// Every secret of one test run, in every form it could leak in.
struct Secrets {
    password: String,
    token: String,
    key: String,
    client_secret: String,
    access_tokens: [String; 2],
    custom: String,
    private_key: String,
}

impl Secrets {
    fn new() -> Self {
        Secrets {
            password: random_secret("pw"),
            token: random_secret("tok"),
            key: random_secret("key"),
            client_secret: format!("{}/+&", random_secret("cs")),
            access_tokens: [random_secret("at1"), random_secret("at2")],
            custom: random_secret("custom"),
            private_key: format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                random_secret("pk")
            ),
        }
    }

    fn forms(&self) -> Vec<String> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut out = vec![
            self.password.clone(),
            b64(&format!("ann:{}", self.password)),
            self.token.clone(),
            self.key.clone(),
            self.client_secret.clone(),
            form(&self.client_secret),
            b64(&format!("app:{}", form(&self.client_secret))),
            self.custom.clone(),
            self.private_key.clone(),
        ];
        out.extend(self.access_tokens.iter().cloned());
        // Distinctive cores too, in case a value is truncated or re-encoded.
        for s in [&self.password, &self.token, &self.key, &self.custom] {
            out.push(s[s.len() - 12..].to_owned());
        }
        out.push(self.client_secret[3..20].to_owned());
        out
    }

    /// The start of the first secret found in `text`, if any.
    fn leak(&self, text: &str) -> Option<String> {
        self.forms()
            .into_iter()
            .find(|secret| text.contains(secret.as_str()))
            .map(|secret| secret.chars().take(6).collect())
    }
}

struct Static(String);

#[async_trait]
impl CredentialProvider for Static {
    async fn headers(&self) -> llmport::Result<HeaderMap> {
        let mut h = HeaderMap::new();
        h.insert(
            "x-custom-auth",
            HeaderValue::from_str(&self.0).expect("valid header"),
        );
        Ok(h)
    }
    async fn rejected(&self) -> bool {
        true
    }
}

/// The error, its `Debug`, and every source in its chain.
fn error_text(e: &Error) -> String {
    let mut out = format!("{e}\n{e:?}\n");
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!("{s}\n{s:?}\n"));
        source = s.source();
    }
    out
}

/// A server whose chat route answers 503 (a retry), then the transcript, then 401 forever;
/// and whose token endpoint hands out two access tokens.
async fn server(secrets: &Secrets) -> TestServer {
    let token = |t: &str| {
        Reply::json(
            200,
            &json!({"access_token": t, "token_type": "Bearer", "expires_in": 3600}),
        )
    };
    TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::empty(503).header("Retry-After", "0"),
        )
        .transcript(transcript("openai_chat_plain"))
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::json(401, &json!({"error": {"message": "invalid credentials"}})),
        )
        .route("POST", "/token", token(&secrets.access_tokens[0]))
        .route("POST", "/token", token(&secrets.access_tokens[1]))
        .start()
        .await
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_traces() {
    let secrets = Secrets::new();
    let (captured, _guard) = capture();
    let mut texts: Vec<(String, String)> = Vec::new();

    let auths = |server: &TestServer| {
        vec![
            Auth::basic("ann", &secrets.password),
            Auth::bearer(&secrets.token),
            Auth::api_key("X-API-Key", &secrets.key),
            Auth::OAuth2(
                ClientCredentials::new(
                    format!("{}/token", server.url()),
                    "app",
                    &secrets.client_secret,
                )
                .with_scopes(["chat"]),
            ),
            Auth::OAuth2(
                ClientCredentials::new(
                    format!("{}/token", server.url()),
                    "app",
                    &secrets.client_secret,
                )
                .with_client_auth(ClientAuthMethod::RequestBody),
            ),
            Auth::Custom(Arc::new(Static(secrets.custom.clone()))),
        ]
    };

    let probe = TestServer::start([]).await;
    for i in 0..auths(&probe).len() {
        let server = server(&secrets).await;
        let auth = auths(&server).remove(i);
        texts.push((format!("Debug of auth {i}"), format!("{auth:?}")));
        let builder = OllamaProvider::builder()
            .base_url(server.v1_url())
            .auth(auth.clone())
            .client_options(
                ClientOptions::builder()
                    .client_identity(ClientIdentity {
                        cert_pem: b"not a real certificate".to_vec(),
                        key_pem: secrets.private_key.clone().into(),
                    })
                    .build(),
            )
            .retry(RetryConfig::builder().max_retries(2).build());
        texts.push((format!("Debug of builder {i}"), format!("{builder:?}")));
        // The identity is not a real certificate: building fails, with a config error.
        let e = builder.clone().build().unwrap_err();
        texts.push((format!("identity error {i}"), error_text(&e)));

        let p = OpenAiProvider::builder()
            .base_url(server.v1_url())
            .auth(auth)
            .retry(RetryConfig::builder().max_retries(2).build())
            .build()
            .unwrap();
        texts.push((format!("Debug of provider {i}"), format!("{p:?}")));
        // 503 → retry → 200: a success with a retry in the trace.
        let answer = p
            .generate("llama3.2", &[Message::user(PROMPT)], &Options::default())
            .await
            .unwrap();
        assert_eq!(answer.text(), ANSWER);
        texts.push((format!("Debug of answer {i}"), format!("{answer:?}")));
        // 401: refused (after one refresh for OAuth2 and the custom provider).
        let e = chat(&p).await.unwrap_err();
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
        texts.push((format!("401 error {i}"), error_text(&e)));
    }

    // A token endpoint that refuses, echoing the form it got (secret included).
    let form_secret: String =
        url::form_urlencoded::byte_serialize(secrets.client_secret.as_bytes()).collect();
    let echo = TestServer::builder()
        .route(
            "POST",
            "/token",
            Reply::text(
                400,
                "text/plain",
                format!(
                    "bad request: grant_type=client_credentials&client_id=app&client_secret={form_secret} (raw: {})",
                    secrets.client_secret
                ),
            ),
        )
        .start()
        .await;
    let p = OpenAiProvider::builder()
        .base_url(echo.v1_url())
        .auth(Auth::OAuth2(
            ClientCredentials::new(
                format!("{}/token", echo.url()),
                "app",
                &secrets.client_secret,
            )
            .with_client_auth(ClientAuthMethod::RequestBody),
        ))
        .build()
        .unwrap();
    let e = chat(&p).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                status: Some(400),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("[redacted]"), "{e}");
    texts.push(("echoing token endpoint error".into(), error_text(&e)));

    // Configuration from variables: the builder, and errors about the variables.
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, &secrets.client_secret).unwrap();
    let vars = [
        (
            "LLMPORT_OAUTH2_TOKEN_URL",
            "https://idp.example/token".to_owned(),
        ),
        ("LLMPORT_OAUTH2_CLIENT_ID", "app".to_owned()),
        (
            "LLMPORT_OAUTH2_CLIENT_SECRET_FILE",
            secret_file.display().to_string(),
        ),
        (
            "LLMPORT_OAUTH2_PARAMS",
            format!("client_assertion={}", secrets.token),
        ),
    ];
    let b = OllamaProvider::builder().from_vars(vars.clone());
    texts.push(("Debug of env builder".into(), format!("{b:?}")));
    texts.push((
        "Debug of env provider".into(),
        format!("{:?}", b.build().unwrap()),
    ));
    let conflicting = [
        ("LLMPORT_BEARER_TOKEN", secrets.token.clone()),
        ("LLMPORT_BASIC_USER", "ann".into()),
        ("LLMPORT_BASIC_PASSWORD", secrets.password.clone()),
        ("LLMPORT_API_KEY", secrets.key.clone()),
    ];
    let e = OllamaProvider::builder()
        .from_vars(conflicting)
        .build()
        .unwrap_err();
    texts.push(("conflicting variables error".into(), error_text(&e)));
    // A token with a character not allowed in a header: refused when the provider is built.
    let e = OpenAiProvider::builder()
        .base_url(echo.v1_url())
        .auth(Auth::bearer(format!("{}\n", secrets.token)))
        .build()
        .unwrap_err();
    assert!(matches!(e, llmport::Error::Config { .. }), "{e:?}");
    texts.push(("invalid header value error".into(), error_text(&e)));

    drop(_guard);
    let trace = captured.text();
    texts.push(("the trace".into(), trace.clone()));
    for (what, text) in &texts {
        if let Some(leak) = secrets.leak(text) {
            panic!("a secret ({leak}…) leaked into {what}:\n{text}");
        }
    }
    // The check itself bites: a text holding a secret is caught.
    assert!(
        secrets
            .leak(&format!("x{}y", secrets.access_tokens[1]))
            .is_some()
    );
    assert!(secrets.leak(&format!("{texts:?}{}", secrets.key)).is_some());

    // The trace is not empty: it has the GenAI and HTTP attributes…
    for expected in [
        "gen_ai.chat",
        "gen_ai.provider.name=\"openai\"",
        "gen_ai.request.model=\"llama3.2\"",
        "gen_ai.usage.input_tokens=31",
        "gen_ai.usage.output_tokens=8",
        "http.request",
        "http.request.method=POST",
        "url.full=http://127.0.0.1:",
        "http.response.status_code=503",
        "http.response.status_code=200",
        "http.response.status_code=401",
        "http.request.resend_count=1",
        "retrying request",
        "wait_ms=0",
        "oauth2.token",
        "retrying once with fresh ones",
    ] {
        assert!(
            trace.contains(expected),
            "the trace lacks {expected:?}:\n{trace}"
        );
    }
    // …and no message content.
    assert!(
        !trace.contains(PROMPT) && !trace.contains(ANSWER),
        "{trace}"
    );
}

#[tokio::test]
async fn message_content_is_traced_only_when_opted_in() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    for opt_in in [false, true] {
        let (captured, guard) = capture();
        let p = OllamaProvider::builder()
            .base_url(server.v1_url())
            .auth(Auth::bearer("tok-content-test"))
            .trace_content(opt_in)
            .build()
            .unwrap();
        let answer = p
            .generate("llama3.2", &[Message::user(PROMPT)], &Options::default())
            .await
            .unwrap();
        assert_eq!(answer.text(), ANSWER);
        drop(guard);
        let trace = captured.text();
        assert_eq!(trace.contains("gen_ai.input.messages"), opt_in, "{trace}");
        assert_eq!(trace.contains(PROMPT), opt_in, "{trace}");
        assert_eq!(trace.contains(ANSWER), opt_in, "{trace}");
        assert!(!trace.contains("tok-content-test"));
    }
}
