//! The environment a test clears before it runs a client, so that the developer's or CI's own
//! settings (a proxy, a token, a host) never change what a test sends or where.

/// What the library reads besides its own variables: the standard proxy variables, in both
/// spellings (reqwest and curl read the lowercase ones too).
const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// What only the CLI reads.
const CLI_VARIABLES: [&str; 1] = ["LLMPORT_MODEL"];

/// Every variable that could change where a client connects, how it authenticates, how long
/// it waits or which model it asks for: the library's own list ([`llmport::env::VARIABLES`],
/// so that a variable added there is cleared here too), `OLLAMA_HOST`, the CLI's, and the
/// standard proxy variables with their lowercase forms.
pub fn cleared_vars() -> impl Iterator<Item = &'static str> {
    llmport::env::VARIABLES
        .iter()
        .copied()
        .chain(["OLLAMA_HOST"])
        .chain(CLI_VARIABLES)
        .chain(PROXY_VARIABLES)
}

#[cfg(test)]
mod tests {
    use super::cleared_vars;

    #[test]
    fn the_variables_the_cli_tests_once_missed_are_cleared() {
        let cleared: Vec<&str> = cleared_vars().collect();
        for var in [
            "LLMPORT_PROXY",
            "LLMPORT_TOTAL_TIMEOUT",
            "NO_PROXY",
            "no_proxy",
            "LLMPORT_CA_CERT",
            "LLMPORT_CLIENT_CERT",
            "LLMPORT_CLIENT_KEY",
            "LLMPORT_OAUTH2_CLIENT_SECRET",
            "OLLAMA_HOST",
            "LLMPORT_MODEL",
            "http_proxy",
        ] {
            assert!(cleared.contains(&var), "{var} is not cleared");
        }
        for var in llmport::env::VARIABLES {
            assert!(cleared.contains(var), "{var} is not cleared");
        }
    }
}
