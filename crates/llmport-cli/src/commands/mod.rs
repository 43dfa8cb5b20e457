//! The subcommands, one module each. To add one: write `commands/<name>.rs` with an `Args`
//! struct (clap `Args`) and an `async fn run(args, &GlobalArgs) -> Result<(), CliError>`, then
//! add a variant to [`Command`] and an arm to [`Command::run`].

pub mod chat;

use clap::Subcommand;

use crate::GlobalArgs;
use crate::error::CliError;

/// What `llmport` should do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Chat with a model: answer one prompt, or talk interactively.
    #[command(
        long_about = "Chat with a model.\n\n\
                      With a PROMPT, answer it and exit. Without one, read the prompt from \
                      stdin when stdin is not a terminal; on a terminal, start an interactive \
                      chat (/? for help, /bye or Ctrl-D to quit).",
        after_help = crate::error::EXIT_STATUS_HELP
    )]
    Chat(chat::ChatArgs),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<(), CliError> {
        match self {
            Command::Chat(args) => chat::run(args, global).await,
        }
    }
}
