//! TLS through a real nginx with certificates from a CA generated here with `openssl`: the
//! extra-CA option (PEM, file, environment variable), refusing an unknown CA, the dangerous
//! accept-anything switch, and mutual TLS with `ssl_verify_client on`. Also the HTTP proxy
//! option, through nginx as a forward proxy.

use llmport_test_support as support;

use std::error::Error as _;

use llmport::testing::{Reply, TestServer};
use llmport::{ClientOptions, Error, OpenAiProvider, RetryConfig};
use support::nginx::{Gateway, Nginx};
use support::pki::Pki;
use support::{PLAIN_ANSWER, chat, transcript};

struct Setup {
    server: TestServer,
    nginx: Nginx,
    pki: &'static Pki,
}

async fn setup() -> Option<Setup> {
    let pki = Pki::get()?;
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let nginx = Nginx::start(
        server.addr(),
        &Gateway {
            tls: true,
            ..Gateway::default()
        },
    )?;
    Some(Setup { server, nginx, pki })
}

fn provider(base: &str, options: ClientOptions) -> llmport::Result<OpenAiProvider> {
    OpenAiProvider::builder()
        .base_url(base)
        .client_options(options)
        .retry(RetryConfig::none())
        .build()
}

/// The error and all its sources, as text.
fn chain(e: &Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(" / ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[tokio::test]
async fn https_with_the_private_ca_added_as_pem_or_file_or_variable() {
    let Some(s) = setup().await else { return };
    let url = s.nginx.https_v1_url();
    let by_pem = provider(
        &url,
        ClientOptions::builder().ca_cert_pem(s.pki.ca_pem()).build(),
    )
    .unwrap();
    assert_eq!(chat(&by_pem).await.unwrap(), PLAIN_ANSWER);
    let by_file = provider(
        &url,
        ClientOptions::builder()
            .ca_cert_file(&s.pki.ca_cert)
            .build(),
    )
    .unwrap();
    chat(&by_file).await.unwrap();
    let by_env = llmport::OllamaProvider::builder()
        .from_vars([
            ("LLMPORT_BASE_URL", url.clone()),
            ("LLMPORT_CA_CERT", s.pki.ca_cert.display().to_string()),
        ])
        .build()
        .unwrap();
    chat(&by_env).await.unwrap();
    assert_eq!(s.server.requests().len(), 3);
}

#[tokio::test]
async fn https_without_the_ca_is_refused_unless_invalid_certs_are_accepted() {
    let Some(s) = setup().await else { return };
    let url = s.nginx.https_v1_url();
    let e = chat(&provider(&url, ClientOptions::default()).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    let text = chain(&e);
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(
        e.to_string().contains("certificate is not trusted")
            && e.to_string().contains("ClientOptionsBuilder::ca_cert_file"),
        "the message says what to do: {e}"
    );
    assert!(s.server.requests().is_empty());

    let anything = provider(
        &url,
        ClientOptions::builder()
            .danger_accept_invalid_certs(true)
            .build(),
    )
    .unwrap();
    chat(&anything).await.unwrap();
    assert_eq!(s.server.requests().len(), 1);
}

#[tokio::test]
async fn mutual_tls_with_the_client_certificate_passes_and_nginx_sees_its_subject() {
    let Some(s) = setup().await else { return };
    let options = ClientOptions::builder()
        .ca_cert_file(&s.pki.ca_cert)
        .client_identity_files(&s.pki.client_cert, &s.pki.client_key)
        .build();
    let p = provider(&s.nginx.mtls_v1_url(), options).unwrap();
    assert_eq!(chat(&p).await.unwrap(), PLAIN_ANSWER);
    let subject = s
        .server
        .last_request()
        .unwrap()
        .header("x-client-subject")
        .map(str::to_owned);
    assert_eq!(subject.as_deref(), Some("CN=llmport-test-client"));

    // The same through the environment variables.
    let by_env = llmport::OllamaProvider::builder()
        .from_vars([
            ("LLMPORT_BASE_URL", s.nginx.mtls_v1_url()),
            ("LLMPORT_CA_CERT", s.pki.ca_cert.display().to_string()),
            (
                "LLMPORT_CLIENT_CERT",
                s.pki.client_cert.display().to_string(),
            ),
            ("LLMPORT_CLIENT_KEY", s.pki.client_key.display().to_string()),
        ])
        .build()
        .unwrap();
    chat(&by_env).await.unwrap();
}

#[tokio::test]
async fn mutual_tls_without_a_trusted_client_certificate_is_refused_with_a_hint() {
    let Some(s) = setup().await else { return };
    let url = s.nginx.mtls_v1_url();
    let none = provider(
        &url,
        ClientOptions::builder()
            .ca_cert_file(&s.pki.ca_cert)
            .build(),
    )
    .unwrap();
    let e = chat(&none).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("No required SSL certificate"), "{text}");
    assert!(text.contains("client certificate"), "{text}");

    let rogue = provider(
        &url,
        ClientOptions::builder()
            .ca_cert_file(&s.pki.ca_cert)
            .client_identity_files(&s.pki.rogue_client_cert, &s.pki.rogue_client_key)
            .build(),
    )
    .unwrap();
    let e = chat(&rogue).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e:?}");
    assert!(e.to_string().contains("client certificate"), "{e}");
    assert!(s.server.requests().is_empty());
}

#[tokio::test]
async fn bad_certificate_files_are_config_errors_naming_the_file() {
    let Some(pki) = Pki::get() else { return };
    let missing = std::path::Path::new("/nonexistent/llmport-ca.pem");
    let e = provider(
        "https://127.0.0.1:9/v1",
        ClientOptions::builder().ca_cert_file(missing).build(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/llmport-ca.pem"), "{e}");

    let e = provider(
        "https://127.0.0.1:9/v1",
        ClientOptions::builder()
            .ca_cert_file(&pki.client_key)
            .build(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");

    // A key that does not belong to the certificate.
    let e = provider(
        "https://127.0.0.1:9/v1",
        ClientOptions::builder()
            .client_identity_files(&pki.client_cert, &pki.rogue_client_key)
            .build(),
    );
    // rustls only notices the mismatch in the handshake on some versions: either a config
    // error now or a refused connection later is fine, a silent success is not.
    eprintln!("DEBUG mismatch: {:?}", e.as_ref().err());
    if let Ok(p) = e {
        assert!(chat(&p).await.is_err());
    }

    let e = OpenAiProvider::builder()
        .base_url("https://127.0.0.1:9/v1")
        .from_vars([("LLMPORT_CLIENT_CERT", pki.client_cert.display().to_string())])
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("LLMPORT_CLIENT_KEY"), "{e}");
}

/// nginx as a forward proxy to `server`, and a provider configured to use it.
fn through_proxy(server: &TestServer) -> Option<(Nginx, OpenAiProvider)> {
    let nginx = Nginx::start(server.addr(), &Gateway::default())?;
    let options = ClientOptions::builder().proxy(nginx.proxy_url()).build();
    let p = provider(&server.v1_url(), options).expect("provider builds");
    Some((nginx, p))
}

#[tokio::test]
async fn requests_go_through_the_configured_http_proxy() {
    let server = TestServer::start([transcript("openai_chat_plain")]).await;
    let Some((nginx, p)) = through_proxy(&server) else {
        return;
    };
    chat(&p).await.unwrap();
    let seen = server.last_request().unwrap();
    assert_eq!(seen.header("via"), Some("1.1 llmport-test-proxy"));
    let log = nginx.access_log();
    let absolute = format!("POST {}/chat/completions HTTP/1.1", server.v1_url());
    assert!(
        log.iter().any(|l| l.contains(&absolute)),
        "the proxy saw an absolute-form request: {log:?}"
    );

    // The same from LLMPORT_PROXY.
    let by_env = OpenAiProvider::builder()
        .base_url(server.v1_url())
        .from_vars([("LLMPORT_PROXY", nginx.proxy_url())])
        .build()
        .unwrap();
    chat(&by_env).await.unwrap();
    assert_eq!(nginx.access_log().len(), 2);
}

/// What the direct path does for a plain-HTTP server (`tests/faults.rs`), reqwest must do when
/// a proxy keeps the request on it: follow a redirect within the same origin with the body,
/// and decode a gzip-encoded answer.
#[tokio::test]
async fn through_a_proxy_redirects_are_followed_and_gzip_is_decoded() {
    let completion = r#"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how are you?"},"finish_reason":"stop"}]}"#;
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/chat/completions",
            Reply::empty(307).header("Location", "/v2/chat/completions"),
        )
        .route(
            "POST",
            "/v2/chat/completions",
            Reply::text(
                200,
                "application/json",
                support::gzip(completion.as_bytes()),
            )
            .header("Content-Encoding", "gzip"),
        )
        .start()
        .await;
    let Some((nginx, p)) = through_proxy(&server) else {
        return;
    };
    assert_eq!(chat(&p).await.unwrap(), PLAIN_ANSWER);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].path_only(), "/v2/chat/completions");
    assert_eq!(requests[1].body, requests[0].body);
    assert!(
        requests[0]
            .header("accept-encoding")
            .is_some_and(|a| a.contains("gzip"))
    );
    // Both went through the proxy.
    assert_eq!(nginx.access_log().len(), 2);
}
