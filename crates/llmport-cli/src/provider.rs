//! Builds the [`OllamaProvider`] every command talks to, from the global flags and the
//! environment.

use llmport::OllamaProvider;

use crate::GlobalArgs;
use crate::error::CliError;

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
pub fn build(global: &GlobalArgs) -> Result<OllamaProvider, CliError> {
    let builder = OllamaProvider::builder().from_vars(utf8_vars());
    let builder = match &global.host {
        Some(host) => builder.host(host.as_str()),
        None => builder,
    };
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
        })
        .unwrap();
        assert_eq!(p.base_url(), "http://127.0.0.1:9/v1");
        let p = build(&GlobalArgs {
            host: Some("https://gpu-box".into()),
        })
        .unwrap();
        assert_eq!(p.base_url(), "https://gpu-box:443/v1");
    }
}
