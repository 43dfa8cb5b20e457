//! How requests prove who they come from: [`Auth`], OAuth2 [`ClientCredentials`], and the
//! [`CredentialProvider`] trait for credentials an application computes itself.

mod credential;
mod oauth2;

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

pub use self::credential::CredentialProvider;
pub use self::oauth2::{ClientAuthMethod, ClientCredentials};
use crate::error::{Error, Result};

/// The credentials sent with every request.
///
/// Ollama itself needs none; these are for Ollama behind a reverse proxy or gateway, and for
/// hosted OpenAI-compatible services. `Basic`, `Bearer` and `ApiKey` become a header once,
/// when the provider is built (a value that cannot be a header value is an
/// [`Error::Config`] then, not at the first request); `OAuth2` and `Custom` credentials are
/// fetched for every attempt, so a retry carries a fresh one. `Debug` never shows a secret.
///
/// | variant | sent as | on HTTP 401 |
/// |---|---|---|
/// | `None` | nothing | final |
/// | `Basic` | `Authorization: Basic base64(user:password)` | final |
/// | `Bearer` | `Authorization: Bearer <token>` | final |
/// | `ApiKey` | `<header>: <key>` | final |
/// | `OAuth2` | `Authorization: Bearer <access token>` from the token cache | token dropped, one retry with a new token |
/// | `Custom` | whatever headers the provider returns | one retry if [`CredentialProvider::rejected`] says so |
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials (Ollama's default).
    #[default]
    None,
    /// HTTP Basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: SecretString,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(SecretString),
    /// A key in a header of the gateway's choosing, e.g. `X-API-Key: <key>`.
    ApiKey {
        /// The header name.
        header: String,
        /// The key.
        key: SecretString,
    },
    /// OAuth 2.0 client credentials: access tokens fetched from a token endpoint, cached,
    /// and refreshed before they expire.
    OAuth2(ClientCredentials),
    /// Headers computed by the application for every attempt.
    Custom(Arc<dyn CredentialProvider>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"[redacted]")
                .finish(),
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&"[redacted]").finish(),
            Auth::ApiKey { header, .. } => f
                .debug_struct("ApiKey")
                .field("header", header)
                .field("key", &"[redacted]")
                .finish(),
            Auth::OAuth2(cc) => f.debug_tuple("OAuth2").field(cc).finish(),
            Auth::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Auth {
    /// Bearer-token authentication.
    pub fn bearer(token: impl Into<String>) -> Self {
        Auth::Bearer(SecretString::from(token.into()))
    }

    /// HTTP Basic authentication.
    pub fn basic(user: impl Into<String>, password: impl Into<String>) -> Self {
        Auth::Basic {
            user: user.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// An API key in the given header.
    pub fn api_key(header: impl Into<String>, key: impl Into<String>) -> Self {
        Auth::ApiKey {
            header: header.into(),
            key: SecretString::from(key.into()),
        }
    }

    /// OAuth 2.0 client credentials.
    pub fn oauth2(credentials: ClientCredentials) -> Self {
        Auth::OAuth2(credentials)
    }

    /// Credentials from the application's own [`CredentialProvider`].
    pub fn custom(provider: impl CredentialProvider + 'static) -> Self {
        Auth::Custom(Arc::new(provider))
    }

    /// Checks what can be checked before the first request (called when a provider is
    /// built): header names, and the OAuth2 token URL.
    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            Auth::ApiKey { header, .. } => api_key_header_name(header).map(|_| ()),
            Auth::OAuth2(cc) => cc.validate(),
            _ => Ok(()),
        }
    }

    /// Whether the credentials can change between attempts (OAuth2 tokens, a
    /// [`CredentialProvider`]): those are fetched for every attempt by [`Auth::apply`]; the
    /// others are built once, by [`Auth::static_header`].
    pub(crate) fn is_dynamic(&self) -> bool {
        matches!(self, Auth::OAuth2(_) | Auth::Custom(_))
    }

    /// The header of credentials that never change (`Basic`, `Bearer`, `ApiKey`), its value
    /// marked sensitive so that it is never logged; `None` for the others.
    ///
    /// Built once when the provider is built, not per request: formatting and validating the
    /// value cost ~3,900 instructions per request (callgrind), ~5% of a non-streaming request.
    /// A value that cannot be a header value is an [`Error::Config`] at build time.
    pub(crate) fn static_header(&self) -> Result<Option<(HeaderName, HeaderValue)>> {
        let (name, value) = match self {
            Auth::None | Auth::OAuth2(_) | Auth::Custom(_) => return Ok(None),
            Auth::Basic { user, password } => {
                let raw = format!("{user}:{}", password.expose_secret());
                let enc = base64::engine::general_purpose::STANDARD.encode(raw);
                (http::header::AUTHORIZATION, format!("Basic {enc}"))
            }
            Auth::Bearer(token) => (
                http::header::AUTHORIZATION,
                format!("Bearer {}", token.expose_secret()),
            ),
            Auth::ApiKey { header, key } => {
                (api_key_header_name(header)?, key.expose_secret().to_owned())
            }
        };
        Ok(Some((name.clone(), sensitive_value(&name, &value)?)))
    }

    /// The credential headers for one attempt, every value marked sensitive so that it is
    /// never logged. `client` is used to reach an OAuth2 token endpoint.
    pub(crate) async fn apply(&self, client: &reqwest::Client) -> Result<AppliedAuth> {
        let mut applied = AppliedAuth::default();
        match self {
            Auth::OAuth2(cc) => {
                let (token, generation) = cc.token(client).await?;
                applied.token_generation = Some(generation);
                let value = format!("Bearer {}", token.expose_secret());
                let name = http::header::AUTHORIZATION;
                applied
                    .headers
                    .insert(name.clone(), sensitive_value(&name, &value)?);
            }
            Auth::Custom(provider) => {
                let mut headers = provider.headers().await?;
                for value in headers.values_mut() {
                    value.set_sensitive(true);
                }
                applied.headers = headers;
            }
            _ => {
                if let Some((name, value)) = self.static_header()? {
                    applied.headers.insert(name, value);
                }
            }
        }
        Ok(applied)
    }

    /// The server answered HTTP 401 to an attempt made with `applied`. Returns whether the
    /// request should be sent once more with fresh credentials.
    pub(crate) async fn rejected(&self, applied: &AppliedAuth) -> bool {
        match self {
            Auth::OAuth2(cc) => {
                if let Some(generation) = applied.token_generation {
                    cc.rejected(generation);
                }
                true
            }
            Auth::Custom(provider) => provider.rejected().await,
            _ => false,
        }
    }
}

/// The credential headers of one attempt.
#[derive(Debug, Default)]
pub(crate) struct AppliedAuth {
    /// The headers to add (values marked sensitive).
    pub(crate) headers: HeaderMap,
    /// For OAuth2: which cached token was used.
    token_generation: Option<u64>,
}

/// A credential as a header value marked sensitive; the error never shows the value.
fn sensitive_value(name: &HeaderName, value: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::config(format!(
            "the credential for header {name} contains characters not allowed in HTTP headers"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn api_key_header_name(header: &str) -> Result<HeaderName> {
    HeaderName::from_bytes(header.trim().as_bytes())
        .map_err(|_| Error::config(format!("invalid API-key header name {header:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret() {
        for auth in [
            Auth::basic("ann", "pw-hunter2"),
            Auth::bearer("tok-hunter2"),
            Auth::api_key("X-Key", "key-hunter2"),
            Auth::oauth2(ClientCredentials::new("http://x/t", "id", "cs-hunter2")),
        ] {
            let debug = format!("{auth:?}");
            assert!(!debug.contains("hunter2"), "{debug}");
            assert!(debug.contains("[redacted]"), "{debug}");
        }
    }

    #[tokio::test]
    async fn static_credentials_become_sensitive_headers() {
        let client = reqwest::Client::new();
        let h = Auth::basic("Aladdin", "open sesame")
            .apply(&client)
            .await
            .unwrap()
            .headers;
        let v = &h[http::header::AUTHORIZATION];
        assert_eq!(v, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(v.is_sensitive());
        let h = Auth::api_key("X-API-Key", "k1")
            .apply(&client)
            .await
            .unwrap()
            .headers;
        assert_eq!(h["x-api-key"], "k1");
        assert!(Auth::None.apply(&client).await.unwrap().headers.is_empty());
        let e = Auth::bearer("bad\ntoken").apply(&client).await.unwrap_err();
        assert!(!e.to_string().contains("token"), "{e}");
        assert!(Auth::api_key("bad header", "k").validate().is_err());
        assert!(
            !Auth::basic("u", "p")
                .rejected(&AppliedAuth::default())
                .await
        );
    }
}
