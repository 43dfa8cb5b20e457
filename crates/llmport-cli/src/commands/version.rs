//! `llmport version`: the version of this client and of the server.

use std::io::{self, Write};

use clap::Args;

use crate::error::{CliError, stdout_error};
use crate::sanitize;
use crate::{GlobalArgs, native_api};

/// `llmport version` takes no flags of its own.
#[derive(Debug, Clone, Args)]
pub struct VersionArgs {}

/// Runs `llmport version`: prints `llmport version X`, then asks the server and prints
/// `ollama version Y (URL)`. When the server cannot be asked, the client's line is still
/// printed, then the one-line error, and the exit status is non-zero.
pub(crate) async fn run(_args: VersionArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let mut out = io::stdout();
    // The client's version first: it is known even when the server is not reachable.
    writeln!(out, "llmport version {}", env!("CARGO_PKG_VERSION"))
        .and_then(|()| out.flush())
        .map_err(stdout_error)?;
    let provider = crate::provider::build(global)?;
    let server = match provider.server_version().await {
        Ok(server) => server,
        Err(e) => {
            let what = "the server's version (Ollama's /api/version)";
            return Err(native_api::explain(&provider, e.into(), what, None).await);
        }
    };
    writeln!(
        out,
        "ollama version {} ({})",
        sanitize::line(&server),
        provider.root_url()
    )
    .and_then(|()| out.flush())
    .map_err(stdout_error)
}
