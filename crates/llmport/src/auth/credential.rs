//! [`CredentialProvider`]: credentials computed by the application, per attempt.

use async_trait::async_trait;
use http::HeaderMap;

use crate::error::Result;

/// Credentials an application computes itself, e.g. read from a secrets store, minted by a
/// cloud SDK, or signed per request. Used through [`Auth::Custom`](crate::Auth::Custom).
///
/// [`headers`](CredentialProvider::headers) is called before *every* attempt, retries
/// included, so a provider can hand out a fresh value each time (caching is its own
/// business). Every returned header value is marked sensitive, so it never shows up in a
/// `Debug` of the request.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use http::{HeaderMap, HeaderValue};
/// use llmport::auth::{Auth, CredentialProvider};
///
/// /// Reads the token from a file that a sidecar keeps fresh.
/// struct MountedToken(std::path::PathBuf);
///
/// #[async_trait]
/// impl CredentialProvider for MountedToken {
///     async fn headers(&self) -> llmport::Result<HeaderMap> {
///         let token = std::fs::read_to_string(&self.0)
///             .map_err(|e| llmport::Error::auth(format!("cannot read the token file: {e}")))?;
///         let value = HeaderValue::try_from(format!("Bearer {}", token.trim()))
///             .map_err(|_| llmport::Error::auth("the token file holds characters not allowed in a header"))?;
///         let mut headers = HeaderMap::new();
///         headers.insert(http::header::AUTHORIZATION, value);
///         Ok(headers)
///     }
///
///     async fn rejected(&self) -> bool {
///         true // the sidecar may have rotated it: read it again and retry once
///     }
/// }
///
/// let auth = Auth::custom(MountedToken("/var/run/secrets/llm/token".into()));
/// ```
#[async_trait]
pub trait CredentialProvider: Send + Sync {
    /// The headers that authenticate one attempt. An error ends the call with that error
    /// (use [`Error::auth`](crate::Error::auth) for "no credentials available").
    async fn headers(&self) -> Result<HeaderMap>;

    /// Called when the server answered HTTP 401 to an attempt made with headers from this
    /// provider. Return `true` to have the request sent once more with fresh headers; the
    /// default returns `false` (the 401 is final).
    async fn rejected(&self) -> bool {
        false
    }
}
