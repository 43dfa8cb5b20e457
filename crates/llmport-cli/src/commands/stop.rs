//! `llmport stop MODEL`: unload a model from memory now (`ollama stop`).

use clap::Args;

use crate::error::CliError;
use crate::{GlobalArgs, native_api};

/// Arguments of `llmport stop`.
#[derive(Debug, Clone, Args)]
pub struct StopArgs {
    /// The model to unload.
    #[arg(value_name = "MODEL")]
    pub model: String,
}

/// Runs `llmport stop`: silent on success, as `ollama stop` is.
pub(crate) async fn run(args: StopArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    match provider.unload(&args.model).await {
        Ok(()) => Ok(()),
        Err(e) => {
            Err(native_api::explain(&provider, e.into(), "`llmport stop`", Some(&args.model)).await)
        }
    }
}
