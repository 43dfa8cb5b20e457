//! Builds the [`OllamaProvider`] every command talks to, from the global flags and the
//! environment.

use llmport::{ClientOptions, OllamaProvider, RetryConfig};

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
    let vars: Vec<(String, String)> = utf8_vars().collect();
    let mut builder = OllamaProvider::builder().from_vars(vars.iter().cloned());
    if let Some(host) = &global.host {
        builder = builder.host(host.as_str());
    }
    if global.connect_timeout.is_some()
        || global.first_token_timeout.is_some()
        || global.idle_timeout.is_some()
        || global.ca_cert.is_some()
        || global.client_cert.is_some()
    {
        // Replaces the options `from_vars` built, so start from the same variables.
        let mut o = llmport::env::client_options(ClientOptions::new(), vars.iter().cloned())?;
        if let Some(Limit(d)) = global.connect_timeout {
            o = o.with_connect_timeout(d);
        }
        if let Some(Limit(d)) = global.first_token_timeout {
            o = o.with_first_byte_timeout(d);
        }
        if let Some(Limit(d)) = global.idle_timeout {
            o = o.with_idle_timeout(d);
        }
        if let Some(ca) = &global.ca_cert {
            o = o.with_ca_cert_file(ca);
        }
        if let (Some(cert), Some(key)) = (&global.client_cert, &global.client_key) {
            o = o.with_client_identity_files(cert, key);
        }
        builder = builder.client_options(o);
    }
    if let Some(n) = global.retries {
        let retry = llmport::env::retry_config(RetryConfig::default(), vars.iter().cloned())?
            .with_max_retries(n);
        builder = builder.retry(retry);
    }
    for (name, value) in &global.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    Ok(builder.build()?)
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
