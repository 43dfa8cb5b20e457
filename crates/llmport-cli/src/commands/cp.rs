//! `llmport cp SOURCE DESTINATION`: copy a model under a new name (`ollama cp`).

use std::io::{self, Write};

use clap::Args;

use crate::error::{CliError, stdout_error};
use crate::{GlobalArgs, native_api};

/// Arguments of `llmport cp`.
#[derive(Debug, Clone, Args)]
pub struct CpArgs {
    /// The model to copy.
    #[arg(value_name = "SOURCE")]
    pub source: String,

    /// Its new name, e.g. `alice/mario` to push it under your namespace.
    #[arg(value_name = "DESTINATION")]
    pub destination: String,
}

/// Runs `llmport cp`: says `copied 'SOURCE' to 'DESTINATION'`.
pub(crate) async fn run(args: CpArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    if let Err(e) = provider.copy(&args.source, &args.destination).await {
        return Err(
            native_api::explain(&provider, e.into(), "`llmport cp`", Some(&args.source)).await,
        );
    }
    let mut out = io::stdout();
    writeln!(out, "copied '{}' to '{}'", args.source, args.destination)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}
