//! How requests prove who they come from: [`Auth`].

use std::fmt;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

/// The credentials sent with every request.
///
/// Ollama itself needs none; these are for Ollama behind a reverse proxy or gateway, and for
/// hosted OpenAI-compatible services. `Debug` never shows a secret.
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

    /// The header to add to a request, if any. Marked sensitive so that it is never logged.
    pub(crate) async fn header(
        &self,
    ) -> crate::Result<Option<(http::HeaderName, http::HeaderValue)>> {
        let (name, value) = match self {
            Auth::None => return Ok(None),
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
                let name = http::HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    crate::Error::config(format!("invalid API-key header name {header:?}"))
                })?;
                (name, key.expose_secret().to_owned())
            }
        };
        let mut value = http::HeaderValue::from_str(&value).map_err(|_| {
            crate::Error::config(format!(
                "the credential for header {name} contains characters not allowed in HTTP headers"
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }
}
