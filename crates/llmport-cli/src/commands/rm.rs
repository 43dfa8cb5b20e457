//! `llmport rm MODEL...`: delete models from the server.

use std::io::{self, Write};

use clap::Args;

use crate::error::{CliError, stdout_error};
use crate::{GlobalArgs, native_api};

/// Arguments of `llmport rm`.
#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    /// The models to delete.
    #[arg(value_name = "MODEL", required = true)]
    pub models: Vec<String>,
}

/// Runs `llmport rm`: deletes the models in order, saying `deleted 'MODEL'` for each, and
/// stops at the first that cannot be deleted.
pub(crate) async fn run(args: RmArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    let mut out = io::stdout();
    for model in &args.models {
        if let Err(e) = provider.delete(model).await {
            return Err(
                native_api::explain(&provider, e.into(), "`llmport rm`", Some(model)).await,
            );
        }
        writeln!(out, "deleted '{model}'")
            .and_then(|()| out.flush())
            .map_err(stdout_error)?;
    }
    Ok(())
}
