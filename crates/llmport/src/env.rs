//! Configuration from environment variables — the Kubernetes pattern, where the server, the
//! credentials and the limits come from the pod's environment and mounted secrets.
//!
//! [`OllamaProviderBuilder::from_vars`](crate::ollama::OllamaProviderBuilder::from_vars) and
//! [`OpenAiProviderBuilder::from_vars`](crate::openai::OpenAiProviderBuilder::from_vars) read
//! every variable of the table in the [crate documentation](crate#configuration-from-the-environment);
//! the pieces are available on their own as plain values: [`auth`], [`client_options`] and
//! [`retry_config`]; which chat API to speak is [`chat_api`] (`LLMPORT_API`), and where and
//! with which key to speak it [`api_base_url`] and [`api_auth`] (which read the vendors' own
//! `ANTHROPIC_*` / `OPENAI_*` variables as their tools do, within limits said there). All of them take the variables as an iterator of pairs
//! (`std::env::vars()` in production, a literal list in tests) and never read the process
//! environment themselves.
//!
//! Rules: values are trimmed and an empty value counts as unset; a secret can come from the
//! variable itself or from the file named by the same variable with `_FILE` appended (the
//! content is trimmed), not both; an error is an [`Error::Config`] whose `setting` is the
//! variable, and messages name variables and files, never a secret value.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::{Auth, ClientAuthMethod, ClientCredentials};
use crate::error::{Error, Result};
use crate::transport::{ClientOptions, RetryConfig};

/// The variables this crate reads, in the order of the table in the crate documentation.
pub const VARIABLES: &[&str] = &[
    "LLMPORT_BASE_URL",
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "LLMPORT_OLLAMA_CLOUD_URL",
    "LLMPORT_BEARER_TOKEN",
    "LLMPORT_API_KEY",
    "LLMPORT_API_KEY_HEADER",
    "LLMPORT_BASIC_USER",
    "LLMPORT_BASIC_PASSWORD",
    "LLMPORT_OAUTH2_TOKEN_URL",
    "LLMPORT_OAUTH2_CLIENT_ID",
    "LLMPORT_OAUTH2_CLIENT_SECRET",
    "LLMPORT_OAUTH2_SCOPES",
    "LLMPORT_OAUTH2_CLIENT_AUTH",
    "LLMPORT_OAUTH2_PARAMS",
    "LLMPORT_CONNECT_TIMEOUT",
    "LLMPORT_FIRST_BYTE_TIMEOUT",
    "LLMPORT_IDLE_TIMEOUT",
    "LLMPORT_TOTAL_TIMEOUT",
    "LLMPORT_STREAM_TIMEOUT",
    "LLMPORT_RETRIES",
    "LLMPORT_PROXY",
    "LLMPORT_CA_CERT",
    "LLMPORT_CLIENT_CERT",
    "LLMPORT_CLIENT_KEY",
    "LLMPORT_API",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
];

/// Parses a time limit as written in a variable or on a command line: `30s`, `2m`,
/// `1h 30m`, `500ms`, or a bare number of seconds (`45`, `0.5`). `0`, `none` and `off` mean
/// no limit (`None`).
///
/// ```
/// use std::time::Duration;
/// use llmport::env::parse_duration;
/// assert_eq!(parse_duration("30s").unwrap(), Some(Duration::from_secs(30)));
/// assert_eq!(parse_duration("2m").unwrap(), Some(Duration::from_secs(120)));
/// assert_eq!(parse_duration("1.5").unwrap(), Some(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("none").unwrap(), None);
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Option<Duration>> {
    let t = text.trim();
    if matches!(t.to_ascii_lowercase().as_str(), "none" | "off") {
        return Ok(None);
    }
    let d = match t.parse::<f64>() {
        Ok(secs) => Duration::try_from_secs_f64(secs).map_err(|_| bad_duration(text))?,
        Err(_) => humantime::parse_duration(t).map_err(|_| bad_duration(text))?,
    };
    Ok((!d.is_zero()).then_some(d))
}

fn bad_duration(text: &str) -> Error {
    Error::config(format!(
        "{text:?} is not a duration: write e.g. 30s, 2m, 500ms, 1h 30m, or none"
    ))
}

/// The variables, last value winning, empty values dropped.
pub(crate) struct Vars(HashMap<String, String>);

impl Vars {
    pub(crate) fn new<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut map = HashMap::new();
        for (k, v) in vars {
            let v = v.as_ref().trim();
            if v.is_empty() {
                map.remove(k.as_ref());
            } else {
                map.insert(k.as_ref().to_owned(), v.to_owned());
            }
        }
        Vars(map)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A secret from `NAME` or from the file named by `NAME_FILE`.
    pub(crate) fn secret(&self, name: &str) -> Result<Option<String>> {
        let file_var = format!("{name}_FILE");
        match (self.get(name), self.get(&file_var)) {
            (Some(_), Some(_)) => Err(Error::config_for(
                name,
                format!("both {name} and {file_var} are set; set only one"),
            )),
            (Some(v), None) => Ok(Some(v.to_owned())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::config_for(&file_var, format!("cannot read {path}: {e}"))
                })?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(Error::config_for(
                        &file_var,
                        format!("the file it names ({path}) is empty"),
                    ));
                }
                Ok(Some(text.to_owned()))
            }
            (None, None) => Ok(None),
        }
    }

    /// Whether `name` or `name_FILE` is set.
    fn has_secret(&self, name: &str) -> bool {
        self.get(name).is_some() || self.get(&format!("{name}_FILE")).is_some()
    }

    fn duration(&self, name: &str) -> Result<Option<Option<Duration>>> {
        self.get(name)
            .map(|v| {
                parse_duration(v).map_err(|e| match e {
                    Error::Config { message, .. } => Error::config_for(name, message),
                    other => other,
                })
            })
            .transpose()
    }

    fn require(&self, name: &str, because: &str) -> Result<&str> {
        self.get(name)
            .ok_or_else(|| Error::config_for(name, format!("must be set when {because} is set")))
    }
}

/// The credentials named by environment variables (see the table in the
/// [crate documentation](crate#configuration-from-the-environment)), or `None` when none
/// are set. More than one scheme at once, or an incomplete one, is an [`Error::Config`]
/// naming the variables.
///
/// ```
/// use llmport::Auth;
/// let auth = llmport::env::auth([("LLMPORT_API_KEY", "k-123"), ("LLMPORT_API_KEY_HEADER", "X-API-Key")])
///     .unwrap()
///     .unwrap();
/// assert!(matches!(auth, Auth::ApiKey { .. }));
/// assert!(llmport::env::auth([("LLMPORT_BASIC_USER", "ann")]).is_err()); // no password
/// ```
pub fn auth<I, K, V>(vars: I) -> Result<Option<Auth>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    auth_from(&Vars::new(vars))
}

pub(crate) fn auth_from(vars: &Vars) -> Result<Option<Auth>> {
    let schemes: Vec<&str> = [
        (
            "LLMPORT_BEARER_TOKEN",
            vars.has_secret("LLMPORT_BEARER_TOKEN"),
        ),
        (
            "LLMPORT_API_KEY",
            vars.has_secret("LLMPORT_API_KEY") || vars.get("LLMPORT_API_KEY_HEADER").is_some(),
        ),
        (
            "LLMPORT_BASIC_USER",
            vars.get("LLMPORT_BASIC_USER").is_some() || vars.has_secret("LLMPORT_BASIC_PASSWORD"),
        ),
        (
            "LLMPORT_OAUTH2_TOKEN_URL",
            [
                "LLMPORT_OAUTH2_TOKEN_URL",
                "LLMPORT_OAUTH2_CLIENT_ID",
                "LLMPORT_OAUTH2_SCOPES",
                "LLMPORT_OAUTH2_CLIENT_AUTH",
                "LLMPORT_OAUTH2_PARAMS",
            ]
            .iter()
            .any(|n| vars.get(n).is_some())
                || vars.has_secret("LLMPORT_OAUTH2_CLIENT_SECRET"),
        ),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    let scheme = match schemes.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        many => {
            return Err(Error::config(format!(
                "credentials of more than one kind are set ({}); set one kind only",
                many.join(", ")
            )));
        }
    };
    let auth = match scheme {
        "LLMPORT_BEARER_TOKEN" => {
            Auth::bearer(vars.secret("LLMPORT_BEARER_TOKEN")?.unwrap_or_default())
        }
        "LLMPORT_API_KEY" => {
            let key = vars.secret("LLMPORT_API_KEY")?.ok_or_else(|| {
                Error::config_for(
                    "LLMPORT_API_KEY",
                    "LLMPORT_API_KEY_HEADER is set but LLMPORT_API_KEY is not",
                )
            })?;
            match vars.get("LLMPORT_API_KEY_HEADER") {
                None => Auth::bearer(key),
                Some(h) if h.eq_ignore_ascii_case("authorization") => Auth::bearer(key),
                Some(h) => Auth::api_key(h, key),
            }
        }
        "LLMPORT_BASIC_USER" => {
            let user = vars.require("LLMPORT_BASIC_USER", "LLMPORT_BASIC_PASSWORD")?;
            let password = vars.secret("LLMPORT_BASIC_PASSWORD")?.ok_or_else(|| {
                Error::config_for(
                    "LLMPORT_BASIC_PASSWORD",
                    "LLMPORT_BASIC_PASSWORD (or LLMPORT_BASIC_PASSWORD_FILE) must be set when LLMPORT_BASIC_USER is set",
                )
            })?;
            Auth::basic(user, password)
        }
        _ => Auth::OAuth2(oauth2_from(vars)?),
    };
    Ok(Some(auth))
}

fn oauth2_from(vars: &Vars) -> Result<ClientCredentials> {
    const WHY: &str = "an LLMPORT_OAUTH2_* variable";
    let url = vars.require("LLMPORT_OAUTH2_TOKEN_URL", WHY)?;
    let id = vars.require("LLMPORT_OAUTH2_CLIENT_ID", WHY)?;
    let secret = vars.secret("LLMPORT_OAUTH2_CLIENT_SECRET")?.ok_or_else(|| {
        Error::config_for("LLMPORT_OAUTH2_CLIENT_SECRET", format!(
            "LLMPORT_OAUTH2_CLIENT_SECRET (or LLMPORT_OAUTH2_CLIENT_SECRET_FILE) must be set when {WHY} is set"
        ))
    })?;
    let mut cc = ClientCredentials::new(url, id, secret);
    if let Some(scopes) = vars.get("LLMPORT_OAUTH2_SCOPES") {
        cc = cc.with_scopes(
            scopes
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    if let Some(method) = vars.get("LLMPORT_OAUTH2_CLIENT_AUTH") {
        cc = cc.with_client_auth(match method.to_ascii_lowercase().as_str() {
            "basic" | "client_secret_basic" => ClientAuthMethod::Basic,
            "body" | "post" | "client_secret_post" => ClientAuthMethod::RequestBody,
            _ => {
                return Err(Error::config_for(
                    "LLMPORT_OAUTH2_CLIENT_AUTH",
                    format!("must be basic or body, not {method:?}"),
                ));
            }
        });
    }
    if let Some(params) = vars.get("LLMPORT_OAUTH2_PARAMS") {
        for (k, v) in url::form_urlencoded::parse(params.as_bytes()) {
            cc = cc.with_param(k, v);
        }
    }
    cc.validate()?;
    Ok(cc)
}

/// `base` with the environment's timeouts, proxy and certificates applied (see the table
/// in the [crate documentation](crate#configuration-from-the-environment)); unset variables
/// leave it as it is.
///
/// ```
/// use std::time::Duration;
/// use llmport::ClientOptions;
/// let o = llmport::env::client_options(
///     ClientOptions::default(),
///     [("LLMPORT_CONNECT_TIMEOUT", "3s"), ("LLMPORT_TOTAL_TIMEOUT", "none")],
/// )
/// .unwrap();
/// assert_eq!(o.connect_timeout, Some(Duration::from_secs(3)));
/// assert_eq!(o.total_timeout, None);
/// ```
pub fn client_options<I, K, V>(base: ClientOptions, vars: I) -> Result<ClientOptions>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    client_options_from(base, &Vars::new(vars))
}

pub(crate) fn client_options_from(mut o: ClientOptions, vars: &Vars) -> Result<ClientOptions> {
    if let Some(d) = vars.duration("LLMPORT_CONNECT_TIMEOUT")? {
        o.connect_timeout = d;
    }
    if let Some(d) = vars.duration("LLMPORT_FIRST_BYTE_TIMEOUT")? {
        o.first_byte_timeout = d;
    }
    if let Some(d) = vars.duration("LLMPORT_IDLE_TIMEOUT")? {
        o.idle_timeout = d;
    }
    if let Some(d) = vars.duration("LLMPORT_TOTAL_TIMEOUT")? {
        o.total_timeout = d;
    }
    if let Some(d) = vars.duration("LLMPORT_STREAM_TIMEOUT")? {
        o.stream_timeout = d;
    }
    if let Some(p) = vars.get("LLMPORT_PROXY") {
        o.proxy = Some(p.to_owned());
    }
    if let Some(path) = vars.get("LLMPORT_CA_CERT") {
        o.ca_cert_files.push(PathBuf::from(path));
    }
    match (
        vars.get("LLMPORT_CLIENT_CERT"),
        vars.get("LLMPORT_CLIENT_KEY"),
    ) {
        (Some(cert), Some(key)) => o = o.to_builder().client_identity_files(cert, key).build(),
        (Some(_), None) => {
            return Err(Error::config_for(
                "LLMPORT_CLIENT_KEY",
                "LLMPORT_CLIENT_KEY must be set when LLMPORT_CLIENT_CERT is set",
            ));
        }
        (None, Some(_)) => {
            return Err(Error::config_for(
                "LLMPORT_CLIENT_CERT",
                "LLMPORT_CLIENT_CERT must be set when LLMPORT_CLIENT_KEY is set",
            ));
        }
        (None, None) => {}
    }
    Ok(o)
}

/// `base` with `LLMPORT_RETRIES` applied (the number of retries after the first attempt;
/// `0` disables retrying).
pub fn retry_config<I, K, V>(base: RetryConfig, vars: I) -> Result<RetryConfig>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    retry_from(base, &Vars::new(vars))
}

pub(crate) fn retry_from(mut r: RetryConfig, vars: &Vars) -> Result<RetryConfig> {
    if let Some(n) = vars.get("LLMPORT_RETRIES") {
        r.max_retries = n.parse().map_err(|_| {
            Error::config_for(
                "LLMPORT_RETRIES",
                format!("must be a whole number of retries, not {n:?}"),
            )
        })?;
    }
    Ok(r)
}

/// Which chat API a client speaks (`LLMPORT_API`, the CLI's `chat --api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChatApi {
    /// OpenAI's Chat Completions (`/v1/chat/completions`), and for Ollama its native
    /// `/api/chat` where Ollama's own options ask for it (`chat`; the default).
    #[default]
    Chat,
    /// Anthropic's Messages API (`/v1/messages`; `anthropic`).
    Anthropic,
    /// OpenAI's Responses API (`/v1/responses`; `responses`).
    Responses,
}

impl ChatApi {
    /// The name in `LLMPORT_API` and on the command line: `chat`, `anthropic`, `responses`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatApi::Chat => "chat",
            ChatApi::Anthropic => "anthropic",
            ChatApi::Responses => "responses",
        }
    }

    /// The vendor's own variables for this API (key, base URL) and its own host: the
    /// Anthropic SDK's `ANTHROPIC_API_KEY` / `ANTHROPIC_BASE_URL` and api.anthropic.com,
    /// the OpenAI SDK's `OPENAI_API_KEY` / `OPENAI_BASE_URL` and api.openai.com. Chat
    /// Completions has none: it is what every local server speaks, so an OpenAI key is not
    /// assumed to be meant for it.
    fn vendor(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            ChatApi::Chat => None,
            ChatApi::Anthropic => Some((
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_BASE_URL",
                "https://api.anthropic.com",
            )),
            ChatApi::Responses => Some((
                "OPENAI_API_KEY",
                "OPENAI_BASE_URL",
                "https://api.openai.com/v1",
            )),
        }
    }
}

impl std::fmt::Display for ChatApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChatApi {
    type Err = Error;

    /// `chat`, `anthropic` or `responses` (any case).
    fn from_str(s: &str) -> Result<ChatApi> {
        match s.trim().to_ascii_lowercase().as_str() {
            "chat" => Ok(ChatApi::Chat),
            "anthropic" => Ok(ChatApi::Anthropic),
            "responses" => Ok(ChatApi::Responses),
            _ => Err(Error::config(format!(
                "{s:?} is not a chat API: use chat (Chat Completions, and Ollama's own chat),                  anthropic (the Messages API) or responses (OpenAI's Responses API)"
            ))),
        }
    }
}

/// The chat API `LLMPORT_API` names, `None` when it is unset.
///
/// ```
/// use llmport::env::{ChatApi, chat_api};
/// assert_eq!(chat_api([("LLMPORT_API", "responses")]).unwrap(), Some(ChatApi::Responses));
/// assert_eq!(chat_api([("HOME", "/root")]).unwrap(), None);
/// assert!(chat_api([("LLMPORT_API", "grpc")]).is_err());
/// ```
pub fn chat_api<I, K, V>(vars: I) -> Result<Option<ChatApi>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars = Vars::new(vars);
    vars.get("LLMPORT_API")
        .map(|v| {
            v.parse::<ChatApi>().map_err(|e| match e {
                Error::Config {
                    message, source, ..
                } => Error::Config {
                    setting: Some("LLMPORT_API".into()),
                    message,
                    source,
                },
                other => other,
            })
        })
        .transpose()
}

/// The base URL the environment names for `api`: `LLMPORT_BASE_URL` (llmport's own, for
/// every API), else the vendor's variable as its SDK reads it (`ANTHROPIC_BASE_URL` for
/// [`ChatApi::Anthropic`], `OPENAI_BASE_URL` for [`ChatApi::Responses`]); `None` when
/// neither is set (`OLLAMA_HOST` and the default are the caller's to apply).
///
/// ```
/// use llmport::env::{ChatApi, api_base_url};
/// let vars = [("ANTHROPIC_BASE_URL", "http://localhost:11434")];
/// assert_eq!(api_base_url(ChatApi::Anthropic, vars).as_deref(), Some("http://localhost:11434"));
/// assert_eq!(api_base_url(ChatApi::Responses, vars), None);
/// ```
pub fn api_base_url<I, K, V>(api: ChatApi, vars: I) -> Option<String>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars = Vars::new(vars);
    if let Some(url) = vars.get("LLMPORT_BASE_URL") {
        return Some(url.to_owned());
    }
    let (_, base_var, _) = api.vendor()?;
    vars.get(base_var).map(str::to_owned)
}

/// The credentials for `api` at `base_url`: llmport's own (`LLMPORT_*`, see [`auth`]) when
/// set; else the vendor's key as its own tools read it — `ANTHROPIC_API_KEY` as `x-api-key`
/// for [`ChatApi::Anthropic`], `OPENAI_API_KEY` as a Bearer token for
/// [`ChatApi::Responses`] — but only where the vendor's tools would send it and the user
/// named the host for it: the vendor's own API (`https://api.anthropic.com`,
/// `https://api.openai.com/v1`) or the URL in the vendor's base-URL variable
/// (`ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL`); else, when `base_url` is Ollama's cloud
/// (`https://ollama.com`, or `LLMPORT_OLLAMA_CLOUD_URL`: the same origin the Ollama
/// provider's [`cloud`](crate::OllamaProvider::cloud) sends its key to), `OLLAMA_API_KEY`
/// (or `OLLAMA_API_KEY_FILE`) as a Bearer token, for every API the cloud serves. A key is
/// never sent to another host (a local server named by `OLLAMA_HOST`, a `--host`), and a
/// vendor's key never with another API.
///
/// ```
/// use llmport::Auth;
/// use llmport::env::{ChatApi, api_auth};
/// let vars = [("OPENAI_API_KEY", "sk-1"), ("OLLAMA_API_KEY", "ok-1")];
/// let auth = api_auth(ChatApi::Responses, "https://api.openai.com/v1", vars).unwrap();
/// assert!(matches!(auth, Some(Auth::Bearer(_))));
/// assert!(api_auth(ChatApi::Responses, "http://localhost:11434/v1", vars).unwrap().is_none());
/// assert!(api_auth(ChatApi::Anthropic, "https://api.openai.com/v1", vars).unwrap().is_none());
/// // Ollama's cloud, through its Anthropic-compatible API: Ollama's key.
/// let auth = api_auth(ChatApi::Anthropic, "https://ollama.com", vars).unwrap();
/// assert!(matches!(auth, Some(Auth::Bearer(_))));
/// ```
pub fn api_auth<I, K, V>(api: ChatApi, base_url: &str, vars: I) -> Result<Option<Auth>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let vars = Vars::new(vars);
    if let Some(auth) = auth_from(&vars)? {
        return Ok(Some(auth));
    }
    if let Some(auth) = vendor_auth(api, base_url, &vars) {
        return Ok(Some(auth));
    }
    ollama_cloud_auth(base_url, &vars)
}

/// The vendor's key for `api`, when the user named `base_url` for it (see [`api_auth`]).
fn vendor_auth(api: ChatApi, base_url: &str, vars: &Vars) -> Option<Auth> {
    let (key_var, base_var, home) = api.vendor()?;
    let key = vars.get(key_var)?;
    let same = |a: &str, b: &str| {
        let norm = |u: &str| u.trim().trim_end_matches('/').to_ascii_lowercase();
        norm(a) == norm(b)
    };
    let named = same(base_url, home)
        || vars.get(base_var).is_some_and(|named| same(base_url, named))
        // The Anthropic provider's base is the root: `…/v1` names the same server.
        || (api == ChatApi::Anthropic
            && same(base_url.trim_end_matches('/').trim_end_matches("/v1"), home));
    named.then(|| match api {
        ChatApi::Anthropic => Auth::api_key("x-api-key", key),
        _ => Auth::bearer(key),
    })
}

/// `OLLAMA_API_KEY` as a Bearer token when `base_url` is Ollama's cloud, by the rule the
/// Ollama provider applies to its own server (same scheme, host and port as the cloud's
/// root): Ollama's hosted `/v1/messages` and `/v1/responses` take it as its `/api` does.
fn ollama_cloud_auth(base_url: &str, vars: &Vars) -> Result<Option<Auth>> {
    let Some(key) = vars.secret("OLLAMA_API_KEY")? else {
        return Ok(None);
    };
    let cloud = crate::ollama::web::cloud_root(vars.get("LLMPORT_OLLAMA_CLOUD_URL"))?;
    Ok(crate::ollama::web::same_origin(base_url.trim(), &cloud).then(|| Auth::bearer(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45").unwrap(), Some(Duration::from_secs(45)));
        assert_eq!(
            parse_duration(" 500ms ").unwrap(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_duration("1h 30m").unwrap(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(parse_duration("0").unwrap(), None);
        assert_eq!(parse_duration("OFF").unwrap(), None);
        for bad in ["", "-1", "inf", "NaN", "1e300", "30 parsecs", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_auth_scheme_from_its_variables() {
        let a = auth([("LLMPORT_BEARER_TOKEN", " tok ")]).unwrap();
        assert!(matches!(a, Some(Auth::Bearer(_))));
        let a = auth([("LLMPORT_API_KEY", "k")]).unwrap();
        assert!(matches!(a, Some(Auth::Bearer(_))), "no header: Bearer");
        let a = auth([
            ("LLMPORT_API_KEY", "k"),
            ("LLMPORT_API_KEY_HEADER", "X-Key"),
        ])
        .unwrap();
        assert!(matches!(a, Some(Auth::ApiKey { ref header, .. }) if header == "X-Key"));
        let a = auth([
            ("LLMPORT_BASIC_USER", "ann"),
            ("LLMPORT_BASIC_PASSWORD", "pw"),
        ])
        .unwrap();
        assert!(matches!(a, Some(Auth::Basic { ref user, .. }) if user == "ann"));
        let a = auth([
            ("LLMPORT_OAUTH2_TOKEN_URL", "https://idp/token"),
            ("LLMPORT_OAUTH2_CLIENT_ID", "app"),
            ("LLMPORT_OAUTH2_CLIENT_SECRET", "cs"),
            ("LLMPORT_OAUTH2_SCOPES", "chat, embed"),
            ("LLMPORT_OAUTH2_CLIENT_AUTH", "body"),
            ("LLMPORT_OAUTH2_PARAMS", "audience=https%3A%2F%2Fllm&x=1"),
        ])
        .unwrap();
        let Some(Auth::OAuth2(cc)) = a else {
            panic!("{a:?}")
        };
        assert_eq!(cc.scopes(), ["chat", "embed"]);
        assert_eq!(cc.client_auth(), ClientAuthMethod::RequestBody);
        let debug = format!("{cc:?}");
        assert!(
            debug.contains("audience") && !debug.contains("https://llm"),
            "{debug}"
        );
        assert!(
            auth([("OTHER", "x"), ("LLMPORT_BEARER_TOKEN", "")])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn secrets_from_files_and_errors_name_variables_not_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "file-secret-123\n").unwrap();
        let p = path.to_str().unwrap();
        let a = auth([("LLMPORT_BEARER_TOKEN_FILE", p)]).unwrap();
        let client_secret_check = matches!(a, Some(Auth::Bearer(ref s)) if secrecy::ExposeSecret::expose_secret(s) == "file-secret-123");
        assert!(client_secret_check);
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![
                ("LLMPORT_BEARER_TOKEN", "sec-1"),
                ("LLMPORT_BEARER_TOKEN_FILE", p),
            ],
            vec![
                ("LLMPORT_BEARER_TOKEN", "sec-1"),
                ("LLMPORT_BASIC_USER", "u"),
            ],
            vec![("LLMPORT_BASIC_PASSWORD", "sec-1")],
            vec![("LLMPORT_API_KEY_HEADER", "X-Key")],
            vec![("LLMPORT_OAUTH2_CLIENT_SECRET", "sec-1")],
            vec![
                ("LLMPORT_OAUTH2_TOKEN_URL", "https://idp/token"),
                ("LLMPORT_OAUTH2_CLIENT_ID", "app"),
                ("LLMPORT_OAUTH2_CLIENT_SECRET", "sec-1"),
                ("LLMPORT_OAUTH2_CLIENT_AUTH", "sec-1"),
            ],
            vec![("LLMPORT_API_KEY_FILE", "/nonexistent/sec-1")],
        ];
        for vars in cases {
            let e = auth(vars.clone()).unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{e:?}");
            let text = e.to_string();
            assert!(text.contains("LLMPORT_"), "{text}");
            // The value of a secret variable never appears (the file path may).
            if !vars
                .iter()
                .any(|(k, _)| k.ends_with("_FILE") || *k == "LLMPORT_OAUTH2_CLIENT_AUTH")
            {
                assert!(!text.contains("sec-1"), "{text}");
            }
        }
    }

    #[test]
    fn client_options_and_retries_from_variables() {
        let o = client_options(
            ClientOptions::default(),
            [
                ("LLMPORT_CONNECT_TIMEOUT", "2s"),
                ("LLMPORT_FIRST_BYTE_TIMEOUT", "10m"),
                ("LLMPORT_IDLE_TIMEOUT", "off"),
                ("LLMPORT_TOTAL_TIMEOUT", "90"),
                ("LLMPORT_STREAM_TIMEOUT", "30m"),
                ("LLMPORT_PROXY", "http://proxy:3128"),
                ("LLMPORT_CA_CERT", "/etc/ca.pem"),
                ("LLMPORT_CLIENT_CERT", "/c.pem"),
                ("LLMPORT_CLIENT_KEY", "/k.pem"),
            ],
        )
        .unwrap();
        assert_eq!(o.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(o.first_byte_timeout, Some(Duration::from_secs(600)));
        assert_eq!(o.idle_timeout, None);
        assert_eq!(o.total_timeout, Some(Duration::from_secs(90)));
        assert_eq!(o.stream_timeout, Some(Duration::from_secs(1800)));
        assert_eq!(o.proxy.as_deref(), Some("http://proxy:3128"));
        assert_eq!(o.ca_cert_files, [PathBuf::from("/etc/ca.pem")]);
        assert_eq!(o.client_key_file, Some(PathBuf::from("/k.pem")));
        let untouched = client_options(ClientOptions::default(), [("X", "y")]).unwrap();
        assert_eq!(
            untouched.connect_timeout,
            ClientOptions::default().connect_timeout
        );
        let e = client_options(ClientOptions::default(), [("LLMPORT_IDLE_TIMEOUT", "soon")])
            .unwrap_err();
        assert!(e.to_string().contains("LLMPORT_IDLE_TIMEOUT"), "{e}");
        assert_eq!(e.setting(), Some("LLMPORT_IDLE_TIMEOUT"));
        assert!(
            client_options(
                ClientOptions::default(),
                [("LLMPORT_CLIENT_CERT", "/c.pem")]
            )
            .is_err()
        );
        let r = retry_config(RetryConfig::default(), [("LLMPORT_RETRIES", "0")]).unwrap();
        assert_eq!(r.max_retries, 0);
        let e = retry_config(RetryConfig::default(), [("LLMPORT_RETRIES", "many")]).unwrap_err();
        assert_eq!(e.setting(), Some("LLMPORT_RETRIES"));
    }

    #[test]
    fn ollama_s_key_goes_to_ollama_s_cloud_only_whatever_the_api() {
        let bearer = |a: Option<Auth>| match a {
            Some(Auth::Bearer(t)) => Some(secrecy::ExposeSecret::expose_secret(&t).to_owned()),
            _ => None,
        };
        let vars = [("OLLAMA_API_KEY", "ok-1")];
        let auth = |api, url: &str| bearer(api_auth(api, url, vars).unwrap());
        for api in [ChatApi::Anthropic, ChatApi::Responses] {
            for url in [
                "https://ollama.com",
                "https://ollama.com/",
                "https://ollama.com/v1",
                "https://OLLAMA.com:443/v1/",
            ] {
                assert_eq!(auth(api, url).as_deref(), Some("ok-1"), "{api} at {url}");
            }
            // Not the cloud: nothing, not even to look-alikes or over plain HTTP.
            for url in [
                "http://localhost:11434",
                "http://localhost:11434/v1",
                "http://ollama.com/v1",
                "https://ollama.com.evil.example/v1",
                "https://api.ollama.com/v1",
                "https://ollama.com:8443/v1",
                "https://api.anthropic.com",
                "not a url",
            ] {
                assert_eq!(auth(api, url), None, "{api} at {url}");
            }
        }
        // Another cloud address (a staging service, a test server) moves where it goes.
        let staging = [
            ("OLLAMA_API_KEY", "ok-1"),
            ("LLMPORT_OLLAMA_CLOUD_URL", "http://127.0.0.1:9/"),
        ];
        let a = api_auth(ChatApi::Responses, "http://127.0.0.1:9/v1", staging).unwrap();
        assert_eq!(bearer(a).as_deref(), Some("ok-1"));
        let a = api_auth(ChatApi::Anthropic, "https://ollama.com", staging).unwrap();
        assert_eq!(bearer(a), None);
        // llmport's own credentials, and a vendor key named for the host, come first.
        let own = [("OLLAMA_API_KEY", "ok-1"), ("LLMPORT_BEARER_TOKEN", "t")];
        let a = api_auth(ChatApi::Anthropic, "https://ollama.com", own).unwrap();
        assert_eq!(bearer(a).as_deref(), Some("t"));
        let named = [
            ("OLLAMA_API_KEY", "ok-1"),
            ("ANTHROPIC_API_KEY", "sk-ant-1"),
            ("ANTHROPIC_BASE_URL", "https://ollama.com"),
        ];
        let a = api_auth(ChatApi::Anthropic, "https://ollama.com", named).unwrap();
        assert!(matches!(a, Some(Auth::ApiKey { ref header, .. }) if header == "x-api-key"));
        // From a file, and errors that name the variable, never the key.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "ok-from-file\n").unwrap();
        let file = [("OLLAMA_API_KEY_FILE", path.to_str().unwrap())];
        let a = api_auth(ChatApi::Responses, "https://ollama.com/v1", file).unwrap();
        assert_eq!(bearer(a).as_deref(), Some("ok-from-file"));
        let e = api_auth(
            ChatApi::Responses,
            "https://ollama.com/v1",
            [
                ("OLLAMA_API_KEY", "ok-1"),
                ("LLMPORT_OLLAMA_CLOUD_URL", "ftp://x"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.setting(), Some("LLMPORT_OLLAMA_CLOUD_URL"));
        assert!(!e.to_string().contains("ok-1"), "{e}");
    }

    #[test]
    fn vendor_keys_go_only_to_the_host_named_for_them_and_llmport_s_own_win() {
        let anthropic = [
            ("ANTHROPIC_API_KEY", "sk-ant-1"),
            ("ANTHROPIC_BASE_URL", "http://localhost:11434/"),
            ("OPENAI_API_KEY", "sk-oai-1"),
        ];
        let auth = |api, url: &str| api_auth(api, url, anthropic).unwrap();
        assert!(matches!(
            auth(ChatApi::Anthropic, "http://localhost:11434"),
            Some(Auth::ApiKey { header, .. }) if header == "x-api-key"
        ));
        assert!(auth(ChatApi::Anthropic, "https://api.anthropic.com/v1").is_some());
        assert!(auth(ChatApi::Anthropic, "http://127.0.0.1:8080").is_none());
        assert!(auth(ChatApi::Chat, "https://api.openai.com/v1").is_none());
        assert!(matches!(
            auth(ChatApi::Responses, "https://api.openai.com/v1/"),
            Some(Auth::Bearer(_))
        ));
        assert!(auth(ChatApi::Responses, "http://localhost:11434/v1").is_none());
        let own = [
            ("OPENAI_API_KEY", "sk-oai-1"),
            ("LLMPORT_BEARER_TOKEN", "t"),
        ];
        let a = api_auth(ChatApi::Responses, "http://localhost:1/v1", own).unwrap();
        assert!(
            matches!(a, Some(Auth::Bearer(ref t)) if secrecy::ExposeSecret::expose_secret(t) == "t")
        );
        assert_eq!(
            api_base_url(ChatApi::Anthropic, anthropic).as_deref(),
            Some("http://localhost:11434/")
        );
        assert_eq!(
            api_base_url(
                ChatApi::Anthropic,
                [
                    ("LLMPORT_BASE_URL", "http://x/v1"),
                    ("ANTHROPIC_BASE_URL", "http://y")
                ]
            )
            .as_deref(),
            Some("http://x/v1")
        );
        let e = chat_api([("LLMPORT_API", "soap")]).unwrap_err();
        assert!(matches!(&e, Error::Config { setting: Some(s), .. } if s == "LLMPORT_API"));
        assert_eq!(
            chat_api([("LLMPORT_API", " Anthropic ")]).unwrap(),
            Some(ChatApi::Anthropic)
        );
    }
}
