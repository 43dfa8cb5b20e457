//! Builds the [`OllamaProvider`] every command talks to, from the global flags and the
//! environment.

use llmport::ollama::OllamaProviderBuilder;
use llmport::{ClientOptions, OllamaProvider, RetryConfig, RetryEvent};

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
    let mut builder = OllamaProvider::builder().from_vars(vars.iter().cloned());
    if let Some(host) = &global.host {
        builder = builder.host(host.as_str());
    }
    if global.connect_timeout.is_some()
        || global.first_token_timeout.is_some()
        || global.idle_timeout.is_some()
        || global.stream_timeout.is_some()
        || global.ca_cert.is_some()
        || global.client_cert.is_some()
    {
        // Replaces the options `from_vars` built, so start from the same variables.
        let mut o = llmport::env::client_options(ClientOptions::default(), vars.iter().cloned())?
            .to_builder();
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
        builder = builder.client_options(o.build());
    }
    // Always rebuilt from the same variables, so that a wait for a retry a user would notice
    // (a second or more: a server's `Retry-After`, a long backoff) is announced; the short
    // backoffs stay quiet, so that an error is still one line.
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
    builder = builder.retry(retry.build());
    for (name, value) in &global.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    Ok(settings(builder).build()?)
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
