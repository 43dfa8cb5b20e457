//! Builds the provider every command talks to, from the global flags and the environment:
//! the [`OllamaProvider`], and for `chat` the provider of the API it speaks
//! ([`ChatProvider`]: `--api chat|anthropic|responses`).

use llmport::env::ChatApi;
use llmport::ollama::OllamaProviderBuilder;
use llmport::{
    AnthropicProvider, ClientOptions, OllamaProvider, Provider, ResponsesProvider, RetryConfig,
    RetryEvent,
};

use crate::error::CliError;
use crate::{GlobalArgs, Limit};

/// The provider for these global flags.
///
/// Where the server is, first match wins:
///
/// 1. `--host` on the command line (parsed with Ollama's `OLLAMA_HOST` rules);
/// 2. `LLMPORT_BASE_URL`: the full OpenAI-compatible base URL, with `/v1`;
/// 3. `OLLAMA_HOST`;
/// 4. `http://localhost:11434`.
///
/// An invalid address is a configuration error (exit status 2).
///
/// Connection settings come from the `LLMPORT_*` environment variables (see the library's
/// `llmport::env`), and the flags override them: timeouts, retries, CA and client
/// certificates, extra headers. Credentials come only from the environment.
pub(crate) fn build(global: &GlobalArgs) -> Result<OllamaProvider, CliError> {
    build_with(global, |b| b)
}

/// [`build`], with a command's own settings applied last (e.g. `web`'s route).
pub(crate) fn build_with(
    global: &GlobalArgs,
    settings: impl FnOnce(OllamaProviderBuilder) -> OllamaProviderBuilder,
) -> Result<OllamaProvider, CliError> {
    let vars: Vec<(String, String)> = utf8_vars().collect();
    build_ollama(global, &vars, settings)
}

fn build_ollama(
    global: &GlobalArgs,
    vars: &[(String, String)],
    settings: impl FnOnce(OllamaProviderBuilder) -> OllamaProviderBuilder,
) -> Result<OllamaProvider, CliError> {
    let mut builder = OllamaProvider::builder().from_vars(vars.iter().cloned());
    if let Some(host) = &global.host {
        builder = builder.host(host.as_str());
    }
    if let Some(o) = client_options(global, vars)? {
        builder = builder.client_options(o);
    }
    builder = builder.retry(retry_config(global, vars)?);
    for (name, value) in &global.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    Ok(settings(builder).build()?)
}

/// The provider `llmport chat` talks to: the API `--api` names, else `LLMPORT_API`, else
/// Chat Completions (Ollama's provider, with its native chat where its options ask for it).
pub(crate) enum ChatProvider {
    /// `--api chat`: Ollama's provider (`/v1`, or the native `/api/chat`).
    Ollama(OllamaProvider),
    /// `--api anthropic` or `--api responses`.
    Other(Box<dyn Provider>),
}

impl ChatProvider {
    /// The provider to send the chat through.
    pub(crate) fn as_dyn(&self) -> &dyn Provider {
        match self {
            ChatProvider::Ollama(p) => p,
            ChatProvider::Other(p) => p.as_ref(),
        }
    }

    /// Ollama's provider, when the chat goes through it (to explain native-API errors).
    pub(crate) fn ollama(&self) -> Option<&OllamaProvider> {
        match self {
            ChatProvider::Ollama(p) => Some(p),
            ChatProvider::Other(_) => None,
        }
    }
}

/// The chat provider for `api` (or `LLMPORT_API`) and these global flags.
///
/// Where the server is, for `anthropic` and `responses`, first match wins: `--host` (Ollama's
/// rules); `LLMPORT_BASE_URL`; the vendor's own variable as its SDK reads it
/// (`ANTHROPIC_BASE_URL`, `OPENAI_BASE_URL`); `OLLAMA_HOST`; `http://localhost:11434` —
/// Ollama serves both APIs, so the CLI's default server stays the same whatever the API.
/// Credentials: the `LLMPORT_*` ones; else the vendor's key (`ANTHROPIC_API_KEY` as
/// `x-api-key`, `OPENAI_API_KEY` as a Bearer token), sent only to the vendor's own API or
/// to the URL its base-URL variable names (`llmport::env::api_auth`): a key exported for
/// Claude Code or the OpenAI SDK never reaches a server the user did not name for it;
/// else, at Ollama's cloud only, `OLLAMA_API_KEY` as a Bearer token.
pub(crate) fn build_chat(
    global: &GlobalArgs,
    api: Option<ChatApi>,
) -> Result<ChatProvider, CliError> {
    let vars: Vec<(String, String)> = utf8_vars().collect();
    let api = match api {
        Some(api) => api,
        None => llmport::env::chat_api(vars.iter().cloned())?.unwrap_or_default(),
    };
    let ollama = build_ollama(global, &vars, |b| b)?;
    if api == ChatApi::Chat {
        return Ok(ChatProvider::Ollama(ollama));
    }
    let base = match (
        &global.host,
        llmport::env::api_base_url(api, vars.iter().cloned()),
    ) {
        (None, Some(url)) => url,
        // `--host`, `OLLAMA_HOST` or the default, as Ollama's provider parsed it (with /v1).
        _ => ollama.base_url().to_owned(),
    };
    let auth = llmport::env::api_auth(api, &base, vars.iter().cloned())?.unwrap_or_default();
    let client = match client_options(global, &vars)? {
        Some(o) => o,
        None => llmport::env::client_options(ClientOptions::default(), vars.iter().cloned())?,
    };
    let retry = retry_config(global, &vars)?;
    let provider: Box<dyn Provider> = match api {
        ChatApi::Anthropic => {
            let mut b = AnthropicProvider::builder()
                .base_url(base)
                .auth(auth)
                .client_options(client)
                .retry(retry);
            for (name, value) in &global.headers {
                b = b.header(name.as_str(), value.as_str());
            }
            Box::new(b.build()?)
        }
        _ => {
            let mut b = ResponsesProvider::builder()
                .base_url(base)
                .auth(auth)
                .client_options(client)
                .retry(retry);
            for (name, value) in &global.headers {
                b = b.header(name.as_str(), value.as_str());
            }
            Box::new(b.build()?)
        }
    };
    Ok(ChatProvider::Other(provider))
}

/// The client options the flags ask for on top of the environment's; `None` when no flag
/// changes them.
fn client_options(
    global: &GlobalArgs,
    vars: &[(String, String)],
) -> Result<Option<ClientOptions>, CliError> {
    if global.connect_timeout.is_none()
        && global.first_token_timeout.is_none()
        && global.idle_timeout.is_none()
        && global.stream_timeout.is_none()
        && global.ca_cert.is_none()
        && global.client_cert.is_none()
    {
        return Ok(None);
    }
    // Replaces the options `from_vars` built, so start from the same variables.
    let mut o =
        llmport::env::client_options(ClientOptions::default(), vars.iter().cloned())?.to_builder();
    if let Some(Limit(d)) = global.connect_timeout {
        o = o.connect_timeout(d);
    }
    if let Some(Limit(d)) = global.first_token_timeout {
        o = o.first_byte_timeout(d);
    }
    if let Some(Limit(d)) = global.idle_timeout {
        o = o.idle_timeout(d);
    }
    if let Some(Limit(d)) = global.stream_timeout {
        o = o.stream_timeout(d);
    }
    if let Some(ca) = &global.ca_cert {
        o = o.ca_cert_file(ca);
    }
    if let (Some(cert), Some(key)) = (&global.client_cert, &global.client_key) {
        o = o.client_identity_files(cert, key);
    }
    Ok(Some(o.build()))
}

/// The retry settings: the environment's, `--retries` over them. Always rebuilt from the
/// same variables, so that a wait for a retry a user would notice (a second or more: a
/// server's `Retry-After`, a long backoff) is announced; the short backoffs stay quiet, so
/// that an error is still one line.
fn retry_config(global: &GlobalArgs, vars: &[(String, String)]) -> Result<RetryConfig, CliError> {
    let mut retry = llmport::env::retry_config(RetryConfig::default(), vars.iter().cloned())?
        .to_builder()
        .on_retry(|e| {
            if e.wait >= std::time::Duration::from_secs(1) {
                eprintln!("{}", retry_notice(e));
            }
        });
    if let Some(n) = global.retries {
        retry = retry.max_retries(n);
    }
    Ok(retry.build())
}

/// What the CLI says on stderr before it waits for a retry: why, how long, and whose wait.
fn retry_notice(e: &RetryEvent<'_>) -> String {
    let whose = if e.server_asked {
        "as the server asked"
    } else {
        "backing off"
    };
    let wait = e.wait.as_secs_f64();
    let text = format!(
        "llmport: {}; retrying ({} of {}) in {wait:.1} s, {whose}",
        e.error, e.retry, e.max_retries
    );
    // The error may quote the server: no terminal control characters from it.
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The process environment, skipping variables that are not valid UTF-8
/// (`std::env::vars` would panic on them).
fn utf8_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_flag_is_parsed_with_ollama_rules() {
        let p = build(&GlobalArgs {
            host: Some("127.0.0.1:9".into()),
            ..GlobalArgs::default()
        })
        .unwrap();
        assert_eq!(p.base_url(), "http://127.0.0.1:9/v1");
        let p = build(&GlobalArgs {
            host: Some("https://gpu-box".into()),
            ..GlobalArgs::default()
        })
        .unwrap();
        assert_eq!(p.base_url(), "https://gpu-box:443/v1");
    }
}
