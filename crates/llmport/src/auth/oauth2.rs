//! OAuth 2.0 client credentials (RFC 6749 §4.4) with a shared, single-flight token cache.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::Instrument;

use crate::error::excerpt;
use crate::error::{Error, Result};
use crate::redact::redact_url;

/// The largest token-endpoint answer that is read.
const MAX_TOKEN_BODY: usize = 64 * 1024;

/// The longest token lifetime believed (a year), in seconds.
const MAX_TOKEN_LIFETIME_S: f64 = 365.0 * 24.0 * 3600.0;

/// How the client proves its identity to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` with the form-encoded client id and secret
    /// (`client_secret_basic`, the method every server must support). The default.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    RequestBody,
}

/// The OAuth 2.0 client-credentials grant: a client id and secret exchanged at a token
/// endpoint for short-lived access tokens, sent as `Authorization: Bearer <token>`.
///
/// - The token is cached and reused until `refresh_before` (default 30 s) before it expires
///   — for a token that lives less than twice that, until half its lifetime — then fetched
///   anew. A token without `expires_in` is kept until the server refuses it.
/// - One fetch at a time: concurrent requests on a cold or stale cache wait for the single
///   fetch in flight and share its token (or its error) instead of each asking the token
///   endpoint.
/// - When the target answers HTTP 401, the token that was used is dropped and the request is
///   sent once more with a fresh token.
/// - A failing token endpoint gives [`Error::Auth`] naming the token URL and the HTTP status
///   (and the server's `error` / `error_description`), never the secret.
///
/// Clones share the token cache; the `with_*` methods start a new, empty one.
///
/// ```
/// use llmport::auth::{Auth, ClientAuthMethod, ClientCredentials};
/// let auth = Auth::OAuth2(
///     ClientCredentials::new("https://login.example.com/oauth2/token", "my-app", "s3cret")
///         .with_scopes(["llm.chat"])
///         .with_param("audience", "https://llm.example.com")
///         .with_client_auth(ClientAuthMethod::RequestBody),
/// );
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    extra_params: Vec<(String, String)>,
    client_auth: ClientAuthMethod,
    refresh_before: Duration,
    request_timeout: Duration,
    cache: Arc<TokenCache>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Extra parameters may carry assertions: only their names are shown.
        let param_names: Vec<&str> = self.extra_params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ClientCredentials")
            .field("token_url", &redact_url(&self.token_url))
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("extra_params", &param_names)
            .field("client_auth", &self.client_auth)
            .field("refresh_before", &self.refresh_before)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl ClientCredentials {
    /// Client credentials for `token_url`, with HTTP Basic client authentication, no scopes,
    /// refresh 30 s before expiry and a 30 s limit on each token request.
    pub fn new(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        ClientCredentials {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            scopes: Vec::new(),
            extra_params: Vec::new(),
            client_auth: ClientAuthMethod::Basic,
            refresh_before: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            cache: Arc::default(),
        }
    }

    /// The scopes to ask for (sent space-separated as `scope`).
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self.cache = Arc::default();
        self
    }

    /// An extra form parameter for the token request, e.g. `audience` or `resource`.
    #[must_use]
    pub fn with_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self.cache = Arc::default();
        self
    }

    /// How the client authenticates to the token endpoint.
    #[must_use]
    pub fn with_client_auth(mut self, method: ClientAuthMethod) -> Self {
        self.client_auth = method;
        self.cache = Arc::default();
        self
    }

    /// How long before its expiry a token is replaced (default 30 s; at most half the
    /// token's lifetime is used).
    #[must_use]
    pub fn with_refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self.cache = Arc::default();
        self
    }

    /// The limit on one token request, connection included (default 30 s).
    #[must_use]
    pub fn with_request_timeout(mut self, limit: Duration) -> Self {
        self.request_timeout = limit;
        self.cache = Arc::default();
        self
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The scopes asked for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// How the client authenticates to the token endpoint.
    pub fn client_auth(&self) -> ClientAuthMethod {
        self.client_auth
    }

    /// Checks the configuration (called when a provider is built).
    pub(crate) fn validate(&self) -> Result<()> {
        let url = url::Url::parse(&self.token_url).map_err(|e| Error::Config {
            setting: None,
            message: format!("invalid OAuth2 token URL {}", redact_url(&self.token_url)),
            source: Some(Box::new(e)),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "invalid OAuth2 token URL {}: the scheme must be http or https",
                redact_url(&self.token_url)
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(format!(
                "the OAuth2 token URL {} carries credentials; pass the client id and secret instead",
                redact_url(&self.token_url)
            )));
        }
        if self.client_id.is_empty() {
            return Err(Error::config("the OAuth2 client id is empty"));
        }
        Ok(())
    }

    /// A token to send, from the cache or fetched (one fetch at a time), with the generation
    /// that identifies it for [`ClientCredentials::rejected`].
    pub(crate) async fn token(&self, client: &reqwest::Client) -> Result<(SecretString, u64)> {
        let seen_fetches = {
            let state = self.cache.state();
            if let Some(t) = state.fresh() {
                return Ok(t);
            }
            state.fetches
        };
        let _single_flight = self.cache.refresh.lock().await;
        {
            let state = self.cache.state();
            if let Some(t) = state.fresh() {
                return Ok(t);
            }
            // A fetch finished (and failed) while this request waited: share its error
            // rather than asking again at once.
            if state.fetches != seen_fetches
                && let Some((status, message)) = &state.last_failure
            {
                return Err(Error::Auth {
                    status: *status,
                    message: message.clone(),
                    source: None,
                });
            }
        }
        let result = self.fetch(client).await;
        let mut state = self.cache.state();
        state.fetches += 1;
        match result {
            Ok(fetched) => {
                state.generation += 1;
                let generation = state.generation;
                state.last_failure = None;
                state.token = Some(CachedToken {
                    secret: fetched.secret.clone(),
                    refresh_at: fetched.refresh_at,
                    generation,
                });
                Ok((fetched.secret, generation))
            }
            Err(e) => {
                if let Error::Auth {
                    status, message, ..
                } = &e
                {
                    state.last_failure = Some((*status, message.clone()));
                }
                Err(e)
            }
        }
    }

    /// The target refused the token of `generation`: drop it (unless it was already
    /// replaced), so that the next request fetches a new one.
    pub(crate) fn rejected(&self, generation: u64) {
        let mut state = self.cache.state();
        if state
            .token
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            state.token = None;
        }
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<FetchedToken> {
        let url = redact_url(&self.token_url);
        let span = tracing::debug_span!(
            "oauth2.token",
            url.full = %url,
            http.response.status_code = tracing::field::Empty,
        );
        async {
            let mut request = client
                .post(&self.token_url)
                .header(http::header::ACCEPT, "application/json")
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .timeout(self.request_timeout)
                .body(self.request_body());
            if self.client_auth == ClientAuthMethod::Basic {
                request = request.header(http::header::AUTHORIZATION, self.basic_header()?);
            }
            let sent_at = Instant::now();
            let response = request.send().await.map_err(|e| {
                let message = if e.is_timeout() {
                    format!(
                        "the OAuth2 token endpoint {url} did not answer within {:?}",
                        self.request_timeout
                    )
                } else {
                    format!("cannot reach the OAuth2 token endpoint {url}")
                };
                Error::Auth {
                    status: None,
                    message,
                    source: Some(Box::new(e.without_url())),
                }
            })?;
            let status = response.status();
            tracing::Span::current().record("http.response.status_code", status.as_u16());
            let body = read_token_body(response)
                .await
                .map_err(|source| Error::Auth {
                    status: Some(status.as_u16()),
                    message: format!(
                        "could not read the answer of the OAuth2 token endpoint {url}"
                    ),
                    source: Some(source),
                })?;
            if !status.is_success() {
                return Err(Error::Auth {
                    status: Some(status.as_u16()),
                    message: format!(
                        "the OAuth2 token endpoint {url} refused the request: {}",
                        self.scrub(&describe_token_error(&body))
                    ),
                    source: None,
                });
            }
            let fetched = self.parse_token(&body, sent_at, status.as_u16(), &url)?;
            tracing::debug!(
                expires_in_s = fetched.lifetime.map(|d| d.as_secs()),
                "fetched an OAuth2 access token"
            );
            Ok(fetched)
        }
        .instrument(span)
        .await
    }

    fn parse_token(
        &self,
        body: &[u8],
        sent_at: Instant,
        status: u16,
        url: &str,
    ) -> Result<FetchedToken> {
        // The body holds the token: it never goes into a message.
        let invalid = |what: &str| Error::Auth {
            status: Some(status),
            message: format!("the OAuth2 token endpoint {url} returned no usable token: {what}"),
            source: None,
        };
        let answer: TokenAnswer =
            serde_json::from_slice(body).map_err(|_| invalid("the answer is not a JSON token"))?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(invalid(&format!(
                "token type {kind:?} is not supported (only Bearer)"
            )));
        }
        if answer.access_token.is_empty() {
            return Err(invalid("the access token is empty"));
        }
        if http::HeaderValue::from_str(&answer.access_token).is_err() {
            return Err(invalid(
                "the access token has characters not allowed in an HTTP header",
            ));
        }
        // Seconds, as a number or (some servers) a string; capped at a year so that a
        // silly value cannot overflow the clock arithmetic.
        let lifetime = match &answer.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s.min(MAX_TOKEN_LIFETIME_S)).ok());
        let refresh_at = lifetime.map(|life| {
            let margin = self.refresh_before.min(life / 2);
            sent_at + (life - margin)
        });
        Ok(FetchedToken {
            secret: SecretString::from(answer.access_token),
            refresh_at,
            lifetime,
        })
    }

    /// The form body of a token request.
    fn request_body(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if !self.scopes.is_empty() {
            form.append_pair("scope", &self.scopes.join(" "));
        }
        for (name, value) in &self.extra_params {
            form.append_pair(name, value);
        }
        if self.client_auth == ClientAuthMethod::RequestBody {
            form.append_pair("client_id", &self.client_id);
            form.append_pair("client_secret", self.client_secret.expose_secret());
        }
        form.finish()
    }

    /// `Basic base64(urlencode(id):urlencode(secret))`, as RFC 6749 §2.3.1 requires.
    fn basic_header(&self) -> Result<http::HeaderValue> {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let raw = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.client_secret.expose_secret())
        );
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        let mut value = http::HeaderValue::from_str(&value)
            .map_err(|_| Error::config("the OAuth2 client credentials cannot form a header"))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Removes the client secret (as is, and form-encoded as it was sent) from
    /// server-provided text, should a server echo the request.
    fn scrub(&self, text: &str) -> String {
        let secret = self.client_secret.expose_secret();
        if secret.is_empty() {
            return text.to_owned();
        }
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        text.replace(secret, "[redacted]")
            .replace(&encoded, "[redacted]")
    }
}

/// The token endpoint's answer, at most [`MAX_TOKEN_BODY`] bytes (the request's own timeout
/// bounds the wait). Read here, not by the transport: the transport applies credentials, so
/// credentials must not depend on it.
async fn read_token_body(
    mut response: reqwest::Response,
) -> Result<Vec<u8>, crate::error::BoxError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Box::new(e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_TOKEN_BODY {
            return Err(Box::new(Error::LimitExceeded {
                what: "OAuth2 token answer",
                limit: MAX_TOKEN_BODY,
            }));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The server's `error` and `error_description` (RFC 6749 §5.2), or an excerpt of the body.
fn describe_token_error(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorAnswer {
        error: String,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer {
            error,
            error_description: Some(d),
        }) => format!("{error}: {d}"),
        Ok(ErrorAnswer { error, .. }) => error,
        Err(_) if body.is_empty() => "no details given".to_owned(),
        Err(_) => excerpt(body),
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

struct FetchedToken {
    secret: SecretString,
    refresh_at: Option<Instant>,
    lifetime: Option<Duration>,
}

/// The cache shared by clones of one [`ClientCredentials`].
#[derive(Default)]
struct TokenCache {
    state: Mutex<CacheState>,
    /// Held by the one request that fetches a token; the others wait on it.
    refresh: tokio::sync::Mutex<()>,
}

impl TokenCache {
    fn state(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct CacheState {
    token: Option<CachedToken>,
    /// Fetches finished so far (successful or not).
    fetches: u64,
    /// The status and message of the last fetch, if it failed.
    last_failure: Option<(Option<u16>, String)>,
    /// The generation of the newest token.
    generation: u64,
}

impl CacheState {
    fn fresh(&self) -> Option<(SecretString, u64)> {
        let token = self.token.as_ref()?;
        if token.refresh_at.is_some_and(|at| Instant::now() >= at) {
            return None;
        }
        Some((token.secret.clone(), token.generation))
    }
}

struct CachedToken {
    secret: SecretString,
    refresh_at: Option<Instant>,
    generation: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_client_auth_form_encodes_id_and_secret() {
        let cc = ClientCredentials::new("http://x/token", "my app", "a+b:c/d e%");
        let value = cc.basic_header().unwrap();
        let encoded = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "my+app:a%2Bb%3Ac%2Fd+e%25");
        assert!(value.is_sensitive());
    }

    #[test]
    fn refresh_margin_is_at_most_half_the_lifetime() {
        let cc = ClientCredentials::new("http://x/token", "id", "secret");
        let now = Instant::now();
        let long = cc
            .parse_token(
                br#"{"access_token":"t","token_type":"Bearer","expires_in":3600}"#,
                now,
                200,
                "u",
            )
            .unwrap();
        assert_eq!(long.refresh_at, Some(now + Duration::from_secs(3570)));
        let short = cc
            .parse_token(
                br#"{"access_token":"t","token_type":"bearer","expires_in":"2"}"#,
                now,
                200,
                "u",
            )
            .unwrap();
        assert_eq!(short.refresh_at, Some(now + Duration::from_secs(1)));
        let forever = cc
            .parse_token(br#"{"access_token":"t"}"#, now, 200, "u")
            .unwrap();
        assert_eq!(forever.refresh_at, None);
        for silly in ["1e300", "-5", "\"soon\"", "[]"] {
            let body = format!(r#"{{"access_token":"t","expires_in":{silly}}}"#);
            let t = cc.parse_token(body.as_bytes(), now, 200, "u").unwrap();
            assert!(
                t.lifetime
                    .is_none_or(|l| l <= Duration::from_secs(366 * 86400))
            );
        }
    }

    #[test]
    fn unusable_token_answers_are_auth_errors_without_the_body() {
        let cc = ClientCredentials::new("http://x/token", "id", "secret");
        for body in [
            &br#"{"access_token":"tok-123","token_type":"mac"}"#[..],
            br#"{"access_token":""}"#,
            br#"{"access_token":"tok\n123"}"#,
            b"access_token=tok-123",
        ] {
            let e = cc
                .parse_token(body, Instant::now(), 200, "http://x/token")
                .err()
                .unwrap();
            assert!(matches!(e, Error::Auth { .. }), "{e:?}");
            assert!(!e.to_string().contains("tok-123"), "{e}");
            assert!(e.to_string().contains("http://x/token"), "{e}");
        }
    }

    #[test]
    fn token_errors_are_described_from_rfc6749_fields() {
        assert_eq!(
            describe_token_error(br#"{"error":"invalid_client","error_description":"bad"}"#),
            "invalid_client: bad"
        );
        assert_eq!(
            describe_token_error(br#"{"error":"invalid_scope"}"#),
            "invalid_scope"
        );
        assert_eq!(describe_token_error(b""), "no details given");
        assert_eq!(describe_token_error(b"<h1>Bad</h1>"), "<h1>Bad</h1>");
    }

    #[test]
    fn debug_and_validation_never_show_the_secret() {
        let cc = ClientCredentials::new("http://u:p@x/token", "id", "hunter2")
            .with_param("client_assertion", "hunter3");
        let debug = format!("{cc:?}");
        assert!(!debug.contains("hunter"), "{debug}");
        let e = cc.validate().unwrap_err();
        assert!(!e.to_string().contains(":p@"), "{e}");
        assert!(
            ClientCredentials::new("ftp://x/token", "id", "s")
                .validate()
                .is_err()
        );
        assert!(
            ClientCredentials::new("http://x/token", "", "s")
                .validate()
                .is_err()
        );
        assert!(
            ClientCredentials::new("http://x/token", "id", "s")
                .validate()
                .is_ok()
        );
    }
}
