//! `llmport push NAME`: upload a model to its registry, showing progress as `pull` does.

use clap::Args;
use llmport::ollama::PushOptions;

use crate::GlobalArgs;
use crate::error::CliError;

/// Flags and arguments of `llmport push`.
#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The model to upload, named `<namespace>/<model>[:tag]` (copy it there with `llmport cp`).
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Allow a registry without TLS or with an invalid certificate.
    #[arg(long)]
    pub insecure: bool,
}

/// Runs `llmport push`.
pub(crate) async fn run(args: PushArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    let mut options = PushOptions::builder();
    if args.insecure {
        options = options.insecure(true);
    }
    let options = options.build();
    let start = provider.push_with(&args.name, &options);
    super::pull::show_progress(&provider, start, "push", &args.name).await
}
