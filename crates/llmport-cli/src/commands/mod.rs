//! The subcommands, one module each. To add one: write `commands/<name>.rs` with an `Args`
//! struct (clap `Args`) and an `async fn run(args, &GlobalArgs) -> Result<(), CliError>`, then
//! add a variant to [`Command`] and an arm to [`Command::run`].

pub(crate) mod chat;
pub(crate) mod cp;
pub(crate) mod create;
pub(crate) mod embed;
pub(crate) mod generate;
pub(crate) mod models;
pub(crate) mod ps;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod rm;
pub(crate) mod show;
pub(crate) mod stop;
pub(crate) mod version;
pub(crate) mod web;

use clap::{Args, Subcommand};
use llmport::ollama::KeepAlive;

use crate::GlobalArgs;
use crate::error::{CliError, EXIT_STATUS_SEE_HELP};

/// What `llmport` should do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Chat with a model: answer one prompt, or talk interactively.
    #[command(
        long_about = "Chat with a model.\n\n\
                      With a PROMPT, answer it and exit. Without one, read the prompt from \
                      stdin when stdin is not a terminal; on a terminal, start an interactive \
                      chat (/? for help, /bye or Ctrl-D to quit).\n\n\
                      --ctx, --keep-alive and --think are Ollama's own settings: with any of \
                      them the chat goes to Ollama's native /api/chat instead of /v1.\n\n\
                      The answer goes to stdout exactly as the model gave it when stdout is a \
                      pipe or a file; on a terminal, without escape sequences and control \
                      characters other than line breaks and tabs, so that a model cannot \
                      drive the terminal.",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Chat(chat::ChatArgs),

    /// Chat with MODEL, as `ollama run MODEL [PROMPT]`: `chat` with the model first.
    #[command(
        long_about = "Chat with MODEL: `llmport run MODEL [PROMPT]` is `llmport chat -m MODEL \
                      [PROMPT]`, in the order Ollama users type it (`ollama run llama3.2`). \
                      Every flag of `chat` works here too.",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Run(chat::RunArgs),

    /// Complete a prompt (Ollama's /api/generate): code completion, fill-in-the-middle, raw
    /// prompts.
    #[command(
        long_about = "Complete a prompt with Ollama's native /api/generate.\n\n\
                      The prompt is the PROMPT argument or, without it, all of stdin. With \
                      --suffix the model fills in the middle between the prompt and the \
                      suffix (a code model with Ollama's `insert` capability), and only the \
                      middle is printed. --raw sends the prompt without the model's template.\n\n\
                      The answer is streamed to stdout as it is generated (sanitised on a \
                      terminal, as `chat` prints it); --json prints the whole response \
                      instead, with the token log probabilities asked for with --logprobs N.",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Generate(generate::GenerateArgs),

    /// List the models stored on the server.
    #[command(visible_alias = "list", after_help = EXIT_STATUS_SEE_HELP)]
    Models(models::ModelsArgs),

    /// Show a model's details: architecture, size, context, capabilities, parameters.
    #[command(after_help = EXIT_STATUS_SEE_HELP)]
    Show(show::ShowArgs),

    /// Download a model, or bring it up to date.
    #[command(
        long_about = "Download a model, or bring it up to date.\n\n\
                      Progress goes to stderr: a bar per layer when stderr is a terminal, plain \
                      status lines otherwise. Ctrl-C cancels the pull (exit status 130); a \
                      later pull resumes it.",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Pull(pull::PullArgs),

    /// Upload a model to its registry.
    #[command(
        long_about = "Upload a model to its registry (NAME is <namespace>/<model>[:tag]; copy \
                      a model there with `llmport cp`).\n\n\
                      Progress goes to stderr as for `pull`. The registry must know this \
                      Ollama server's public key (ollama.com: Settings → Keys).",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Push(push::PushArgs),

    /// Create a model from another one or from a GGUF file.
    #[command(
        long_about = "Create a model from another one (--from) or from a local GGUF file \
                      (--file), with its own system prompt, template, parameters, license or \
                      quantization.\n\n\
                      A --file is hashed, then uploaded (streamed from disk) unless the server \
                      has it already. Progress goes to stderr as for `pull`.",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Create(create::CreateArgs),

    /// Copy a model under a new name.
    #[command(after_help = EXIT_STATUS_SEE_HELP)]
    Cp(cp::CpArgs),

    /// Unload a model from memory now.
    #[command(after_help = EXIT_STATUS_SEE_HELP)]
    Stop(stop::StopArgs),

    /// Delete models from the server.
    #[command(after_help = EXIT_STATUS_SEE_HELP)]
    Rm(rm::RmArgs),

    /// List the models loaded in memory.
    #[command(after_help = EXIT_STATUS_SEE_HELP)]
    Ps(ps::PsArgs),

    /// Show the version of llmport and of the server.
    #[command(after_help = EXIT_STATUS_SEE_HELP)]
    Version(version::VersionArgs),

    /// Turn texts into embedding vectors (printed as JSON).
    #[command(
        long_about = "Turn texts into embedding vectors, printed as one line of JSON: \
                      {\"model\": ..., \"embeddings\": [[...], ...]}, one vector per text in \
                      order.\n\n\
                      The texts are the TEXT arguments or, without them, the non-empty lines of \
                      stdin.",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Embed(embed::EmbedArgs),

    /// Search the web or fetch a page through Ollama's web search (ollama.com).
    #[command(
        long_about = "Search the web (`web search QUERY [-n N]`) or fetch one page (`web fetch \
                      URL`) through Ollama's web search and fetch.\n\n\
                      The requests go to ollama.com with the API key in OLLAMA_API_KEY (create \
                      one at https://ollama.com/settings/keys), and the key goes nowhere else. \
                      With --via-server they go through the Ollama server instead (--host; \
                      Ollama 0.18 or newer, signed in with `ollama signin`), which needs no \
                      key.",
        after_help = EXIT_STATUS_SEE_HELP
    )]
    Web(web::WebArgs),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, global: &GlobalArgs) -> Result<(), CliError> {
        match self {
            Command::Chat(args) => chat::run(args, global).await,
            Command::Run(args) => chat::run(args.into_chat(), global).await,
            Command::Generate(args) => generate::run(args, global).await,
            Command::Models(args) => models::run(args, global).await,
            Command::Show(args) => show::run(args, global).await,
            Command::Pull(args) => pull::run(args, global).await,
            Command::Rm(args) => rm::run(args, global).await,
            Command::Push(args) => push::run(args, global).await,
            Command::Create(args) => create::run(args, global).await,
            Command::Cp(args) => cp::run(args, global).await,
            Command::Stop(args) => stop::run(args, global).await,
            Command::Ps(args) => ps::run(args, global).await,
            Command::Version(args) => version::run(args, global).await,
            Command::Embed(args) => embed::run(args, global).await,
            Command::Web(args) => web::run(args, global).await,
        }
    }
}

/// Resolves when the user presses Ctrl-C; never, if Ctrl-C cannot be listened for.
pub(crate) async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The `--keep-alive` flag of the commands that load a model (`chat`, `embed`).
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct KeepAliveFlag {
    /// How long the model stays loaded afterwards: seconds (300) or a duration (5m, 1h30m;
    /// negative = forever, 0 = unload now).
    #[arg(
        id = "keep_alive",
        long = "keep-alive",
        value_name = "DURATION",
        value_parser = KeepAlive::parse,
        allow_hyphen_values = true
    )]
    pub duration: Option<KeepAlive>,
}
