//! `llmport chat [OPTIONS] [PROMPT]`: one answer, or an interactive conversation.
//!
//! - With a PROMPT: answer it (streamed by default) and exit.
//! - Without one, when stdin is not a terminal: all of stdin is the prompt.
//! - Without one, on a terminal: an interactive chat; see [`interactive`].

use std::borrow::Cow;
use std::future::Future;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::TypedValueParser;
use futures::StreamExt;
use llmport::ollama::OllamaOptions;
use llmport::ollama::Think;
use llmport::{FinishReason, Message, Options, Provider, ResponseFormat};
use tokio::sync::mpsc;

use super::KeepAliveFlag;
use crate::error::{CliError, stdout_error};
use crate::output::{Spinner, end_line, write_json};
use crate::sanitize::{self, Sanitizer};
use crate::{GlobalArgs, native_api, values};

/// The usage error when there is no prompt at all.
const NO_PROMPT: &str = "no prompt: give one as an argument or on stdin";

/// Flags and arguments of `llmport run`: those of `chat`, with the model first and required,
/// as `ollama run MODEL [PROMPT]` takes it. (An alias of `chat` would read
/// `llmport run llama3.2` as the prompt "llama3.2" sent to the default model.)
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The model to chat with.
    #[arg(id = "run_model", value_name = "MODEL")]
    pub model: String,

    /// Everything `chat` takes; its PROMPT comes after MODEL.
    #[command(flatten)]
    pub chat: ChatArgs,
}

impl RunArgs {
    /// The `chat` this `run` means: MODEL wins over `-m` and `LLMPORT_MODEL`.
    pub fn into_chat(self) -> ChatArgs {
        ChatArgs {
            model: self.model,
            ..self.chat
        }
    }
}

/// Flags and arguments of `llmport chat`.
#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    /// The prompt. Without it, the prompt is read from stdin, or, when stdin is a terminal, an
    /// interactive chat starts.
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,

    /// The model to chat with.
    #[arg(
        short,
        long,
        env = "LLMPORT_MODEL",
        hide_env_values = true,
        default_value = "llama3.2",
        value_name = "MODEL"
    )]
    pub model: String,

    /// System instructions, sent before the conversation.
    #[arg(short, long, value_name = "TEXT", allow_hyphen_values = true)]
    pub system: Option<String>,

    /// How to generate: sampling, limits, Ollama's own settings, format, log probabilities.
    #[command(flatten)]
    pub generation: GenerationArgs,

    /// Attach an image: a .png, .jpg, .jpeg or .webp file (repeat for several).
    #[arg(long, value_name = "PATH")]
    pub image: Vec<PathBuf>,

    /// Wait for the whole answer instead of printing it as it is generated.
    #[arg(long)]
    pub no_stream: bool,

    /// Print the whole response as JSON (text, finish reason, token usage, timings).
    #[arg(long)]
    pub json: bool,

    /// Print the model's reasoning ("thinking") too, on stderr, apart from the answer.
    #[arg(long)]
    pub show_reasoning: bool,

    /// Run the model in this process, with no server: a .gguf file, or a model Ollama has
    /// pulled (without a value: --model). Needs the `local` feature.
    #[arg(long, value_name = "MODEL|PATH", num_args = 0..=1, default_missing_value = "")]
    pub local: Option<String>,

    /// With --local PATH.gguf: the model's vision projector (its mmproj GGUF), so that
    /// --image can be sent. A model from Ollama's store brings its own.
    #[arg(long, value_name = "PATH", requires = "local")]
    pub mmproj: Option<PathBuf>,

    /// The chat API to speak: chat (Chat Completions, and Ollama's own chat where --ctx,
    /// --keep-alive or --think ask for it), anthropic (the Messages API, /v1/messages) or
    /// responses (OpenAI's Responses API, /v1/responses) [default: LLMPORT_API, else chat]
    #[arg(
        long,
        value_name = "API",
        value_parser = clap::builder::PossibleValuesParser::new(["chat", "anthropic", "responses"])
            .map(|s| s.parse::<llmport::env::ChatApi>().unwrap_or_default())
    )]
    pub api: Option<llmport::env::ChatApi>,
}

/// The generation flags `chat` and `generate` share (flattened into both).
#[derive(Debug, Clone, Default, Args)]
pub struct GenerationArgs {
    /// The most tokens to generate (at least 1).
    #[arg(long, value_name = "N", value_parser = values::at_least_one)]
    pub max_tokens: Option<u32>,

    /// Sampling temperature, 0 to 2 (0 = deterministic, higher = more random).
    #[arg(long, value_name = "F", value_parser = values::temperature, allow_negative_numbers = true)]
    pub temperature: Option<f32>,

    /// Nucleus sampling, above 0 and at most 1: only the tokens within this probability mass
    /// are considered.
    #[arg(long, value_name = "F", value_parser = values::probability, allow_negative_numbers = true)]
    pub top_p: Option<f32>,

    /// The random seed, for reproducible answers.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<i64>,

    /// Stop generating before this text, not empty (repeat the flag for several).
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true, value_parser = values::stop_text)]
    pub stop: Vec<String>,

    /// The context window in tokens, at least 1 (Ollama's num_ctx; uses the native API).
    #[arg(long, value_name = "N", value_parser = values::at_least_one)]
    pub ctx: Option<u32>,

    /// How long the model stays loaded afterwards.
    #[command(flatten)]
    pub keep_alive: KeepAliveFlag,

    /// Let a thinking model think before it answers (Ollama's think; uses the native API):
    /// `--think`, or how hard: `--think=low`, `--think=high`, a level the model defines
    /// (`llmport show MODEL` lists them), or `--think=false` to turn it off.
    #[arg(
        long,
        value_name = "LEVEL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = think_value
    )]
    pub think: Option<Think>,

    /// Make the answer valid JSON (`json` is the only format).
    #[arg(long, value_name = "FORMAT", value_parser = ["json"], conflicts_with = "schema")]
    pub format: Option<String>,

    /// Make the answer JSON that matches the JSON Schema in this file.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// Return the log probability of each generated token and of the N most likely
    /// alternatives (0 to 20), shown in the --json output.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=20))]
    pub logprobs: Option<u8>,
}

/// A `--think` value: `true`/`false` or a level name, sent as given.
fn think_value(s: &str) -> Result<Think, String> {
    if s.trim().is_empty() {
        return Err("expected true, false or a level (low, medium, high, max, …)".into());
    }
    Ok(Think::parse(s))
}

/// Says on stderr, in one line, that the token limit ran out while the model was still
/// thinking, when it did (the answer is empty: see `GenResponse::thinking_used_up_tokens`).
fn warn_if_thinking_used_up_tokens(text: &str, reasoned: bool, cut_off: bool) {
    if cut_off && reasoned && text.trim().is_empty() {
        let mut err = io::stderr();
        let _ = writeln!(
            err,
            "llmport: the token limit ran out while the model was thinking, before it answered: \
             raise --max-tokens or lower --think (--think=low, --think=false)"
        );
    }
}

impl GenerationArgs {
    /// Whether the flags send the request to Ollama's native API (`--ctx`, `--keep-alive`,
    /// `--think`).
    pub(crate) fn uses_native_api(&self) -> bool {
        self.ctx.is_some() || self.keep_alive.duration.is_some() || self.think.is_some()
    }

    /// The generation options these flags ask for, with the system instructions. Reads the
    /// `--schema` file; a missing or invalid one is a usage error.
    pub(crate) fn options(&self, system: Option<&str>) -> Result<Options, CliError> {
        let mut b = Options::builder();
        if self.format.is_some() {
            b = b.response_format(ResponseFormat::Json);
        }
        if let Some(path) = &self.schema {
            b = b.response_format(load_schema(path)?);
        }
        if let Some(n) = self.max_tokens {
            b = b.max_tokens(n);
        }
        if let Some(t) = self.temperature {
            b = b.temperature(t);
        }
        if let Some(p) = self.top_p {
            b = b.top_p(p);
        }
        if let Some(s) = self.seed {
            b = b.seed(s);
        }
        if !self.stop.is_empty() {
            b = b.stop(self.stop.as_slice());
        }
        if let Some(n) = self.logprobs {
            b = b.top_logprobs(n);
        }
        if let Some(s) = system {
            b = b.system(s);
        }
        let mut ollama = OllamaOptions::builder();
        if let Some(n) = self.ctx {
            ollama = ollama.num_ctx(n);
        }
        if let Some(k) = &self.keep_alive.duration {
            ollama = ollama.keep_alive(k.clone());
        }
        if let Some(think) = &self.think {
            ollama = ollama.think(think.clone());
        }
        let ollama = ollama.build();
        if ollama.is_set() {
            b = b.extension(ollama);
        }
        Ok(b.build())
    }
}

impl ChatArgs {
    /// Whether the flags send the chat to Ollama's native `/api/chat` (`--ctx`,
    /// `--keep-alive`, `--think`).
    fn uses_native_api(&self) -> bool {
        self.local.is_none() && self.generation.uses_native_api()
    }

    /// The generation options these flags ask for. Reads the `--schema` file; a missing or
    /// invalid one is a usage error.
    pub fn options(&self) -> Result<Options, CliError> {
        if self.local.is_some() {
            return crate::local::options(self);
        }
        self.generation.options(self.system.as_deref())
    }
}

/// A `--schema` file as a response format named after the file.
fn load_schema(path: &Path) -> Result<ResponseFormat, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read schema {}: {e}", path.display())))?;
    let schema: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "the schema {} is not valid JSON: {e}",
            path.display()
        ))
    })?;
    if !schema.is_object() {
        return Err(CliError::usage(format!(
            "the schema {} must be a JSON object",
            path.display()
        )));
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "schema".to_owned());
    Ok(ResponseFormat::json_schema(name, schema))
}

/// Runs `llmport chat`.
pub(crate) async fn run(args: ChatArgs, global: &GlobalArgs) -> Result<(), CliError> {
    // Everything that can be wrong with the command line is checked before any request.
    let images = args
        .image
        .iter()
        .map(|p| Image::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let options = args.options()?;
    let provider = crate::provider::build_chat(global, args.api)?;
    let model = crate::local::model(args.local.as_deref(), &args.model);
    let local = crate::local::provider(args.local.as_deref(), model, args.mmproj.as_deref())?;
    let chat = Chat {
        provider: local.as_deref().unwrap_or(provider.as_dyn()),
        model,
        options: &options,
        stream: !args.no_stream,
        spinner: true,
        show_reasoning: args.show_reasoning,
        terminal: io::stdout().is_terminal(),
    };
    let mut out = io::stdout();

    let prompt = match &args.prompt {
        Some(p) => Some(p.clone()),
        // Reading stdin blocks, but nothing else runs on this runtime yet.
        None if !io::stdin().is_terminal() => Some(read_prompt(io::stdin().lock())?),
        None => None,
    };
    match prompt {
        Some(prompt) => {
            if prompt.trim().is_empty() {
                return Err(CliError::usage(NO_PROMPT));
            }
            match (
                one_shot(&chat, &prompt, &images, args.json, &mut out).await,
                provider.ollama(),
            ) {
                (Err(e), Some(ollama)) if args.uses_native_api() => {
                    let what = "--ctx, --keep-alive and --think (Ollama's own settings, sent to \
                                its native /api/chat)";
                    Err(native_api::explain(ollama, e, what, Some(&args.model)).await)
                }
                (Err(e), _) if local.is_none() => Err(crate::local::connect_hint(e, &args.model)),
                (result, _) => result,
            }
        }
        None => {
            if args.json {
                return Err(CliError::usage(
                    "--json needs a prompt: give one as an argument or on stdin",
                ));
            }
            let input = io::BufReader::new(io::stdin());
            interactive(
                &chat,
                &images,
                input,
                &mut out,
                &mut io::stderr(),
                super::ctrl_c,
            )
            .await
        }
    }
}

/// Reads a whole prompt from `input` (stdin), dropping the final line break.
pub(crate) fn read_prompt(mut input: impl Read) -> Result<String, CliError> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io("cannot read stdin", e))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::usage("the prompt on stdin is not valid UTF-8 text"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// An image given with `--image`, read into memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Image {
    /// The file name (informational).
    name: String,
    /// The file's bytes.
    pub(crate) data: Vec<u8>,
    /// The MIME type, sniffed from the bytes.
    mime: &'static str,
}

impl Image {
    /// Reads an image file. The extension must name a type Ollama decodes (PNG, JPEG, WebP)
    /// and the bytes must be such an image: the MIME type sent is the one the bytes show
    /// (`llmport::media::sniff_image`), so a text file named `.png` is not sent as a PNG.
    /// An unknown extension, an unreadable file and bytes of another type are usage errors.
    pub(crate) fn load(path: &Path) -> Result<Image, CliError> {
        if image_mime(path).is_none() {
            return Err(CliError::usage(format!(
                "cannot tell the image type of {} from its extension: use a .png, .jpg, .jpeg \
                 or .webp file (Ollama decodes only PNG, JPEG and WebP)",
                path.display()
            )));
        }
        let data = std::fs::read(path)
            .map_err(|e| CliError::usage(format!("cannot read image {}: {e}", path.display())))?;
        let mime = match llmport::media::sniff_image(&data) {
            Some(m @ ("image/png" | "image/jpeg" | "image/webp")) => m,
            Some(other) => {
                return Err(CliError::usage(format!(
                    "{} is a {other} image, which Ollama cannot decode: convert it to PNG or \
                     JPEG first",
                    path.display()
                )));
            }
            None => {
                return Err(CliError::usage(format!(
                    "{} is not a PNG, JPEG or WebP image (its bytes are not an image's)",
                    path.display()
                )));
            }
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Image { name, data, mime })
    }
}

/// The MIME type an image file's extension names (any case), among the types Ollama
/// decodes.
fn image_mime(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        _ => None,
    }
}

/// A user message with `text` and the images attached.
fn user_message(text: &str, images: &[Image]) -> Message {
    images.iter().fold(Message::user(text), |m, i| {
        m.add_binary(i.name.clone(), i.data.clone(), i.mime)
    })
}

/// What every turn of a chat needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chat<'a> {
    /// Where to send the conversation.
    pub provider: &'a dyn Provider,
    /// The model.
    pub model: &'a str,
    /// Generation options, including the system instructions.
    pub options: &'a Options,
    /// Stream answers (print them as they are generated) or wait for them whole.
    pub stream: bool,
    /// Show a spinner on stderr (when it is a terminal) until the answer starts.
    pub spinner: bool,
    /// Print reasoning to stderr as it arrives.
    pub show_reasoning: bool,
    /// `out` is a terminal: print the answer without escape sequences and control
    /// characters other than `\n` and `\t` ([`crate::sanitize`]). Otherwise (a pipe, a
    /// file) the answer is printed exactly as the model gave it.
    pub terminal: bool,
}

/// How one answer ended.
#[derive(Debug)]
enum Answer {
    /// It was printed whole; here is its text, and whether the token limit cut it off
    /// (finish reason `length`).
    Complete(String, bool),
    /// The user interrupted it; here is what had been printed.
    Interrupted(String),
    /// It failed (before it started, or in the middle; the line was ended).
    Failed(CliError),
}

/// Asks for an answer to `messages` and prints its text to `out` as it arrives, flushing after
/// every chunk and ending with a newline. `interrupt` resolving stops it (the request or the
/// stream is dropped). Only failing to write the output is an `Err`.
async fn answer<W: Write>(
    chat: &Chat<'_>,
    messages: &[Message],
    out: &mut W,
    interrupt: impl Future<Output = ()>,
) -> Result<Answer, CliError> {
    tokio::pin!(interrupt);
    let mut spinner = Spinner::start(chat.spinner);
    if !chat.stream {
        let response = tokio::select! {
            biased;
            () = &mut interrupt => {
                spinner.stop();
                end_line(out, "").map_err(stdout_error)?;
                return Ok(Answer::Interrupted(String::new()));
            }
            r = chat.provider.generate(chat.model, messages, chat.options) => r,
        };
        spinner.stop();
        return match response {
            Ok(r) => {
                if chat.show_reasoning {
                    print_reasoning(&r.reasoning(), true, &mut Sanitizer::new());
                }
                let text = r.text();
                let shown = if chat.terminal {
                    sanitize::text(&text)
                } else {
                    Cow::Borrowed(text.as_str())
                };
                out.write_all(shown.as_bytes()).map_err(stdout_error)?;
                end_line(out, &shown).map_err(stdout_error)?;
                let cut_off = r.finish_reason() == Some(&FinishReason::Length);
                warn_if_thinking_used_up_tokens(&text, !r.reasoning().is_empty(), cut_off);
                Ok(Answer::Complete(text, cut_off))
            }
            Err(e) => Ok(Answer::Failed(e.into())),
        };
    }

    let started = tokio::select! {
        biased;
        () = &mut interrupt => {
            spinner.stop();
            end_line(out, "").map_err(stdout_error)?;
            return Ok(Answer::Interrupted(String::new()));
        }
        s = chat.provider.generate_stream(chat.model, messages, chat.options) => s,
    };
    let mut stream = match started {
        Ok(s) => s,
        Err(e) => return Ok(Answer::Failed(e.into())),
    };
    let mut text = String::new();
    let mut screen = chat.terminal.then(Sanitizer::new);
    // The reasoning's own, so that a sequence split across its chunks is removed whole.
    let mut thought_screen = Sanitizer::new();
    // Whether what was printed so far ends its line (nothing printed: it does not).
    let mut shown_ends_line = false;
    let mut cut_off = false;
    let mut thinking = false;
    let mut reasoned = false;
    loop {
        let next = tokio::select! {
            biased;
            () = &mut interrupt => {
                drop(stream);
                spinner.stop();
                end_line(out, line_end(shown_ends_line)).map_err(stdout_error)?;
                return Ok(Answer::Interrupted(text));
            }
            next = stream.next() => next,
        };
        match next {
            Some(Ok(chunk)) => {
                if let Some(reason) = chunk.finish_reason() {
                    cut_off = *reason == FinishReason::Length;
                }
                reasoned = reasoned
                    || chunk.candidates.iter().any(|c| {
                        c.message.parts.iter().any(
                        |p| matches!(p, llmport::Part::Reasoning { text, .. } if !text.is_empty()),
                    )
                    });
                if chat.show_reasoning {
                    let thought = chunk.reasoning();
                    if !thought.is_empty() {
                        spinner.stop();
                        print_reasoning(&thought, false, &mut thought_screen);
                        thinking = true;
                    }
                }
                let delta = chunk.text();
                if thinking && !delta.is_empty() {
                    // The answer starts: end the reasoning's line on stderr.
                    print_reasoning("\n", false, &mut thought_screen);
                    thinking = false;
                }
                if !delta.is_empty() {
                    spinner.stop();
                    let shown = match &mut screen {
                        Some(screen) => screen.push(&delta),
                        None => Cow::Borrowed(delta.as_str()),
                    };
                    if !shown.is_empty() {
                        out.write_all(shown.as_bytes()).map_err(stdout_error)?;
                        out.flush().map_err(stdout_error)?;
                        shown_ends_line = shown.ends_with('\n');
                    }
                    text.push_str(&delta);
                }
            }
            Some(Err(e)) => {
                spinner.stop();
                // A cut-off answer must not look complete: end its line, the caller reports
                // the error.
                if !text.is_empty() {
                    end_line(out, line_end(shown_ends_line)).map_err(stdout_error)?;
                }
                return Ok(Answer::Failed(e.into()));
            }
            None => {
                spinner.stop();
                end_line(out, line_end(shown_ends_line)).map_err(stdout_error)?;
                warn_if_thinking_used_up_tokens(&text, reasoned, cut_off);
                return Ok(Answer::Complete(text, cut_off));
            }
        }
    }
}

/// What [`end_line`] is given to say whether the printed text already ends its line.
pub(crate) fn line_end(ends_line: bool) -> &'static str {
    if ends_line { "\n" } else { "" }
}

/// Writes reasoning to stderr, dimmed when stderr is a terminal (and then without the
/// escape sequences and control characters the model may have put in it, through `screen`);
/// `whole` ends it with a line break. Reasoning is a side channel: failing to write it is
/// not an error.
pub(crate) fn print_reasoning(text: &str, whole: bool, screen: &mut Sanitizer) {
    if text.is_empty() {
        return;
    }
    let mut err = io::stderr().lock();
    let dim = err.is_terminal();
    let _ = if dim {
        write!(err, "\x1b[2m{}\x1b[0m", screen.push(text))
    } else {
        write!(err, "{text}")
    };
    if whole && !text.ends_with('\n') {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

/// Answers one prompt: its text (streamed or not) or, with `json`, the whole response as
/// pretty JSON.
async fn one_shot<W: Write>(
    chat: &Chat<'_>,
    prompt: &str,
    images: &[Image],
    json: bool,
    out: &mut W,
) -> Result<(), CliError> {
    let messages = [user_message(prompt, images)];
    if !json {
        return match answer(chat, &messages, out, std::future::pending()).await? {
            Answer::Complete(_, true) if chat.options.response_format.is_some() => {
                Err(json_cut_off(chat.options))
            }
            Answer::Complete(..) | Answer::Interrupted(_) => Ok(()),
            Answer::Failed(e) => Err(e),
        };
    }
    let mut spinner = Spinner::start(chat.spinner);
    let response = if chat.stream {
        chat.provider
            .generate_stream(chat.model, &messages, chat.options)
            .await?
            .collect_response()
            .await?
    } else {
        chat.provider
            .generate(chat.model, &messages, chat.options)
            .await?
    };
    spinner.stop();
    write_json(out, &response)?;
    if response.thinking_used_up_tokens() {
        warn_if_thinking_used_up_tokens("", true, true);
    }
    if chat.options.response_format.is_some()
        && response.finish_reason() == Some(&FinishReason::Length)
    {
        return Err(json_cut_off(chat.options));
    }
    Ok(())
}

/// The error when an answer that had to be JSON (`--format json`, `--schema`) was cut off
/// by the token limit: what was printed is not the whole document (exit status 8).
pub(crate) fn json_cut_off(options: &Options) -> CliError {
    let limit = match options.max_tokens {
        Some(n) => format!("the token limit (--max-tokens {n})"),
        None => "the server's token limit".to_owned(),
    };
    CliError::Incomplete(format!(
        "the JSON answer was cut off by {limit} (finish reason `length`): what was printed is \
         not a complete JSON document; raise --max-tokens"
    ))
}

/// A command typed at the interactive prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlashCommand<'a> {
    /// `/bye` or `/exit`: quit.
    Bye,
    /// `/clear`: forget the conversation.
    Clear,
    /// `/?` or `/help`.
    Help,
    /// Any other `/word`.
    Unknown(&'a str),
}

/// The command in a line, if it is one: `/word`, where the word has no further `/` (so a
/// prompt starting with a path such as `/etc/hosts` is sent as a prompt).
fn slash_command(line: &str) -> Option<SlashCommand<'_>> {
    let first = line.split_whitespace().next()?;
    let word = first.strip_prefix('/')?;
    if word.contains('/') {
        return None;
    }
    Some(match word {
        "bye" | "exit" => SlashCommand::Bye,
        "clear" => SlashCommand::Clear,
        "?" | "help" | "" => SlashCommand::Help,
        _ => SlashCommand::Unknown(first),
    })
}

/// The help shown by `/?`.
const INTERACTIVE_HELP: &str = "\
Available commands:
  /clear      forget the conversation so far
  /bye        quit (also /exit or Ctrl-D)
  /?, /help   show this help
Ctrl-C stops an answer; at the prompt it quits.";

/// The interactive prompt, written to stderr so that stdout holds only answers.
const PROMPT: &str = ">>> ";

/// An interactive multi-turn chat, reading lines from `input`.
///
/// Each line is sent with the whole conversation so far (the system instructions in
/// `chat.options`, then every earlier user and assistant turn); the answer is printed to
/// `out` and appended to the conversation. The `--image` files go with the first message of
/// the conversation. The prompt, command output and error lines go to `err`.
///
/// - `/bye`, `/exit` or the end of `input` (Ctrl-D) quits; `/clear` forgets the conversation;
///   `/?` shows help.
/// - A failed turn prints its one error line to `err`, is forgotten, and the loop goes on.
/// - `interrupt()` is awaited alongside the prompt and every answer (Ctrl-C in the real
///   command): while an answer is coming, it stops that answer (what was printed of it is
///   kept in the conversation); at the prompt, it quits.
///
/// Lines are read on a separate thread, so a blocked read never holds up the runtime or an
/// interrupt.
pub(crate) async fn interactive<R, O, E, I, F>(
    chat: &Chat<'_>,
    images: &[Image],
    input: R,
    out: &mut O,
    err: &mut E,
    mut interrupt: I,
) -> Result<(), CliError>
where
    R: BufRead + Send + 'static,
    O: Write,
    E: Write,
    I: FnMut() -> F,
    F: Future<Output = ()>,
{
    let stderr_error = |e| CliError::io("cannot write to stderr", e);
    let mut lines = spawn_line_reader(input)?;
    let mut history: Vec<Message> = Vec::new();
    writeln!(
        err,
        "Chatting with {}. Type /? for help, /bye or Ctrl-D to quit.",
        chat.model
    )
    .map_err(stderr_error)?;
    loop {
        write!(err, "{PROMPT}")
            .and_then(|()| err.flush())
            .map_err(stderr_error)?;
        let line = tokio::select! {
            biased;
            () = interrupt() => {
                writeln!(err).map_err(stderr_error)?;
                return Ok(());
            }
            line = lines.recv() => line,
        };
        let line = match line {
            Some(Ok(line)) => line,
            Some(Err(e)) => return Err(CliError::io("cannot read stdin", e)),
            None => {
                writeln!(err).map_err(stderr_error)?;
                return Ok(());
            }
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match slash_command(text) {
            Some(SlashCommand::Bye) => return Ok(()),
            Some(SlashCommand::Clear) => {
                history.clear();
                writeln!(err, "Cleared the conversation.").map_err(stderr_error)?;
                continue;
            }
            Some(SlashCommand::Help) => {
                writeln!(err, "{INTERACTIVE_HELP}").map_err(stderr_error)?;
                continue;
            }
            Some(SlashCommand::Unknown(word)) => {
                writeln!(err, "Unknown command {word}. Type /? for help.").map_err(stderr_error)?;
                continue;
            }
            None => {}
        }

        let message = if history.is_empty() {
            user_message(text, images)
        } else {
            Message::user(text)
        };
        history.push(message);
        match answer(chat, &history, out, interrupt()).await? {
            Answer::Complete(text, cut_off) => {
                history.push(Message::assistant(text));
                if cut_off && chat.options.response_format.is_some() {
                    // Said, not fatal: the conversation goes on.
                    writeln!(err, "{}", json_cut_off(chat.options).line()).map_err(stderr_error)?;
                }
            }
            Answer::Interrupted(text) if !text.is_empty() => {
                history.push(Message::assistant(text));
            }
            Answer::Interrupted(_) => {
                history.pop();
            }
            Answer::Failed(e) => {
                history.pop();
                writeln!(err, "{}", e.line()).map_err(stderr_error)?;
            }
        }
    }
}

/// Reads lines from `input` on a thread of its own and hands them over a channel; the
/// channel closes at the end of the input.
fn spawn_line_reader<R: BufRead + Send + 'static>(
    mut input: R,
) -> Result<mpsc::Receiver<io::Result<String>>, CliError> {
    let (tx, rx) = mpsc::channel(1);
    std::thread::Builder::new()
        .name("llmport-stdin".into())
        .spawn(move || {
            loop {
                let mut line = String::new();
                match input.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.blocking_send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        break;
                    }
                }
            }
        })
        .map_err(|e| CliError::io("cannot start the input thread", e))?;
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use llmport::ollama::KeepAlive;

    use super::*;

    #[test]
    fn image_types_come_from_the_extension() {
        assert_eq!(image_mime(Path::new("a.png")), Some("image/png"));
        assert_eq!(image_mime(Path::new("a.JPG")), Some("image/jpeg"));
        assert_eq!(image_mime(Path::new("dir/a.jpeg")), Some("image/jpeg"));
        assert_eq!(image_mime(Path::new("a.webp")), Some("image/webp"));
        assert_eq!(
            image_mime(Path::new("a.gif")),
            None,
            "Ollama cannot decode GIF"
        );
        assert_eq!(image_mime(Path::new("a.bmp")), None);
        assert_eq!(image_mime(Path::new("png")), None);
    }

    /// Issue 13 #16: the type comes from the bytes, and GIF is refused up front.
    #[test]
    fn the_image_type_is_sniffed_from_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.png");
        std::fs::write(&text, "not a picture").unwrap();
        let e = Image::load(&text).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(e.to_string().contains("not a PNG, JPEG or WebP"), "{e}");
        let gif = dir.path().join("anim.png");
        std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00").unwrap();
        let e = Image::load(&gif).unwrap_err();
        assert!(e.to_string().contains("image/gif"), "{e}");
        let e = Image::load(Path::new("anim.gif")).unwrap_err();
        assert!(e.to_string().contains("PNG, JPEG and WebP"), "{e}");
        let jpeg = dir.path().join("photo.png");
        std::fs::write(&jpeg, b"\xff\xd8\xff\xe0rest").unwrap();
        assert_eq!(Image::load(&jpeg).unwrap().mime, "image/jpeg");
    }

    #[test]
    fn chat_help_lists_only_the_image_types_ollama_decodes() {
        use clap::CommandFactory;
        let help = crate::Cli::command()
            .find_subcommand_mut("chat")
            .expect("chat")
            .render_long_help()
            .to_string();
        assert!(help.contains(".webp"), "{help}");
        assert!(!help.contains(".gif"), "{help}");
    }

    #[test]
    fn an_unknown_image_type_is_a_usage_error() {
        let e = Image::load(Path::new("picture.bmp")).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(e.to_string().contains("picture.bmp"), "{e}");
    }

    #[test]
    fn slash_commands_are_recognised() {
        assert_eq!(slash_command("/bye"), Some(SlashCommand::Bye));
        assert_eq!(slash_command("/exit"), Some(SlashCommand::Bye));
        assert_eq!(slash_command("/clear now"), Some(SlashCommand::Clear));
        assert_eq!(slash_command("/?"), Some(SlashCommand::Help));
        assert_eq!(slash_command("/"), Some(SlashCommand::Help));
        assert_eq!(
            slash_command("/frobnicate"),
            Some(SlashCommand::Unknown("/frobnicate"))
        );
        assert_eq!(slash_command("/etc/hosts: what is it?"), None);
        assert_eq!(slash_command("hello /bye"), None);
    }

    #[test]
    fn stdin_prompt_drops_the_final_line_break() {
        assert_eq!(
            read_prompt(&b"hello\nworld\r\n"[..]).unwrap(),
            "hello\nworld"
        );
        let e = read_prompt(&[0xffu8, 0xfe][..]).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
    }

    #[test]
    fn flags_become_options() {
        let args = ChatArgs {
            prompt: None,
            model: "m".into(),
            system: Some("be brief".into()),
            generation: GenerationArgs {
                max_tokens: Some(5),
                temperature: Some(0.5),
                top_p: Some(0.9),
                seed: Some(-1),
                stop: vec!["a".into(), "b".into()],
                ctx: Some(8192),
                keep_alive: KeepAliveFlag {
                    duration: Some(KeepAlive::Seconds(-1.0)),
                },
                think: Some(Think::Enabled(true)),
                format: Some("json".into()),
                schema: None,
                logprobs: Some(3),
            },
            image: Vec::new(),
            no_stream: false,
            json: false,
            show_reasoning: false,
            local: None,
            mmproj: None,
            api: None,
        };
        let o = args.options().unwrap();
        assert_eq!(o.response_format, Some(llmport::ResponseFormat::Json));
        assert_eq!(
            o.extension::<OllamaOptions>(),
            Some(
                &OllamaOptions::builder()
                    .num_ctx(8192)
                    .keep_alive(KeepAlive::Seconds(-1.0))
                    .think(Think::Enabled(true))
                    .build()
            )
        );
        assert_eq!(o.system.as_deref(), Some("be brief"));
        assert_eq!(o.max_tokens, Some(5));
        assert_eq!(o.temperature, Some(0.5));
        assert_eq!(o.top_p, Some(0.9));
        assert_eq!(o.seed, Some(-1));
        assert_eq!(o.stop, vec!["a", "b"]);
        assert_eq!((o.logprobs, o.top_logprobs), (true, Some(3)));
    }

    // ---- the interactive loop, against a real in-process server ----

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use llmport::OllamaProvider;
    use llmport::testing::{Reply, TestServer};
    use serde_json::{Value, json};
    use tokio::sync::Notify;

    /// A streamed answer made of these text deltas, with a finish chunk and `[DONE]`.
    fn sse_answer(deltas: &[&str]) -> Reply {
        let mut events: Vec<String> = deltas
            .iter()
            .map(|d| {
                json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
                       "choices": [{"index": 0, "delta": {"role": "assistant", "content": d},
                                    "finish_reason": null}]})
                .to_string()
            })
            .collect();
        events.push(
            json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            .to_string(),
        );
        events.push("[DONE]".into());
        Reply::sse(events)
    }

    /// A writer that keeps what is written and wakes a waiter on every write.
    #[derive(Clone, Default)]
    struct Screen {
        bytes: Arc<Mutex<Vec<u8>>>,
        written: Arc<Notify>,
        /// Play a terminal (the chat then sanitises what it prints).
        terminal: bool,
    }

    impl Screen {
        /// Everything written so far.
        fn text(&self) -> String {
            String::from_utf8(self.bytes.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.lock().unwrap().extend_from_slice(buf);
            if !buf.is_empty() {
                self.written.notify_one();
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Runs the interactive loop on `input` against `server`; `interrupt(n)` is the
    /// interrupt future for the n-th call (1-based; odd calls are prompts).
    async fn session<F, Fut>(
        server: &TestServer,
        options: &Options,
        images: &[Image],
        input: &str,
        out: &mut Screen,
        mut interrupt: F,
    ) -> (Result<(), CliError>, String)
    where
        F: FnMut(usize) -> Fut,
        Fut: Future<Output = ()>,
    {
        let provider = OllamaProvider::builder()
            .host(server.url())
            .build()
            .unwrap();
        let chat = Chat {
            provider: &provider,
            model: "m",
            options,
            stream: true,
            spinner: false,
            show_reasoning: false,
            terminal: out.terminal,
        };
        let mut err = Vec::new();
        let calls = AtomicUsize::new(0);
        let result = interactive(
            &chat,
            images,
            io::Cursor::new(input.as_bytes().to_vec()),
            out,
            &mut err,
            || interrupt(calls.fetch_add(1, Ordering::SeqCst) + 1),
        )
        .await;
        (result, String::from_utf8(err).unwrap())
    }

    /// The `messages` of the `i`-th request the server received.
    fn messages(server: &TestServer, i: usize) -> Value {
        server.requests()[i].json().unwrap()["messages"].clone()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn interactive_sends_the_whole_conversation_each_turn() {
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", sse_answer(&["Hi", "!"]))
            .route("POST", "/v1/chat/completions", sse_answer(&["Fine."]))
            .start()
            .await;
        let options = Options::builder().system("Be brief.").build();
        let mut out = Screen::default();
        let (result, err) = session(
            &server,
            &options,
            &[],
            "hello\n\n  how are you?  \n/bye\nnot sent\n",
            &mut out,
            |_| std::future::pending(),
        )
        .await;
        result.unwrap();
        assert_eq!(out.text(), "Hi!\nFine.\n");
        assert_eq!(err.matches(PROMPT).count(), 4, "{err}");
        assert_eq!(server.requests().len(), 2);
        assert_eq!(
            messages(&server, 0),
            json!([{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "hello"}])
        );
        assert_eq!(
            messages(&server, 1),
            json!([{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "hello"},
                   {"role": "assistant", "content": "Hi!"},
                   {"role": "user", "content": "how are you?"}])
        );
    }

    /// An answer that tries to write the clipboard, clear the screen and hide text with `\r`,
    /// with the OSC sequence split across two chunks.
    const HOSTILE_DELTAS: [&str; 4] = ["Hi \x1b]52;c;", "aGk=\x07there", "\x1b[2J\r!", "\n\tok"];

    #[tokio::test(flavor = "multi_thread")]
    async fn on_a_terminal_the_answer_is_printed_without_escapes_and_kept_whole() {
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", sse_answer(&HOSTILE_DELTAS))
            .route("POST", "/v1/chat/completions", sse_answer(&["fine"]))
            .start()
            .await;
        let mut out = Screen {
            terminal: true,
            ..Screen::default()
        };
        let (result, _err) = session(
            &server,
            &Options::default(),
            &[],
            "one\ntwo\n",
            &mut out,
            |_| std::future::pending(),
        )
        .await;
        result.unwrap();
        assert_eq!(out.text(), "Hi there!\n\tok\nfine\n");
        // The conversation keeps what the model said, byte for byte.
        assert_eq!(
            messages(&server, 1)[1]["content"],
            HOSTILE_DELTAS.concat().as_str()
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn off_a_terminal_the_answer_is_printed_byte_for_byte() {
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", sse_answer(&HOSTILE_DELTAS))
            .start()
            .await;
        let mut out = Screen::default();
        let (result, _err) = session(&server, &Options::default(), &[], "one\n", &mut out, |_| {
            std::future::pending()
        })
        .await;
        result.unwrap();
        assert_eq!(out.text(), format!("{}\n", HOSTILE_DELTAS.concat()));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn interactive_clear_forgets_and_images_go_with_the_first_message() {
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", sse_answer(&["ok"]))
            .start()
            .await;
        let image = Image {
            name: "x.png".into(),
            data: vec![1, 2, 3],
            mime: "image/png",
        };
        let with_image = json!({"role": "user", "content": [
            {"type": "text", "text": "one"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AQID"}}
        ]});
        let mut out = Screen::default();
        // The input ends without /bye: the end of input quits.
        let (result, err) = session(
            &server,
            &Options::default(),
            std::slice::from_ref(&image),
            "one\ntwo\n/?\n/nope\n/clear\none",
            &mut out,
            |_| std::future::pending(),
        )
        .await;
        result.unwrap();
        assert!(err.contains("Cleared the conversation."), "{err}");
        assert!(err.contains("/clear"), "help is shown: {err}");
        assert!(err.contains("Unknown command /nope"), "{err}");
        assert_eq!(out.text(), "ok\nok\nok\n");
        assert_eq!(server.requests().len(), 3);
        assert_eq!(messages(&server, 0), json!([with_image]));
        assert_eq!(
            messages(&server, 1),
            json!([with_image, {"role": "assistant", "content": "ok"},
                   {"role": "user", "content": "two"}])
        );
        assert_eq!(messages(&server, 2), json!([with_image]));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn interactive_warns_when_a_json_answer_is_cut_off_and_goes_on() {
        let chunk = |delta: Value, finish: Value| {
            json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            .to_string()
        };
        let cut = Reply::sse([
            chunk(
                json!({"role": "assistant", "content": "{\"a\": "}),
                Value::Null,
            ),
            chunk(json!({}), json!("length")),
            "[DONE]".to_owned(),
        ]);
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", cut)
            .route("POST", "/v1/chat/completions", sse_answer(&["{}"]))
            .start()
            .await;
        let options = Options::builder()
            .response_format(ResponseFormat::Json)
            .max_tokens(3)
            .build();
        let mut out = Screen::default();
        let (result, err) = session(&server, &options, &[], "one\ntwo\n", &mut out, |_| {
            std::future::pending()
        })
        .await;
        result.unwrap();
        assert_eq!(out.text(), "{\"a\": \n{}\n");
        assert_eq!(err.matches("cut off").count(), 1, "{err}");
        assert!(err.contains("--max-tokens 3"), "{err}");
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn interactive_reports_a_failed_turn_and_goes_on() {
        let server = TestServer::builder()
            .route(
                "POST",
                "/v1/chat/completions",
                Reply::json(
                    404,
                    &json!({"error": {"message": "model 'm' not found",
                                      "type": "not_found_error", "param": null, "code": null}}),
                ),
            )
            .route("POST", "/v1/chat/completions", sse_answer(&["Hi!"]))
            .start()
            .await;
        let mut out = Screen::default();
        let (result, err) = session(
            &server,
            &Options::default(),
            &[],
            "first\nsecond\n",
            &mut out,
            |_| std::future::pending(),
        )
        .await;
        result.unwrap();
        assert_eq!(out.text(), "Hi!\n");
        let error_lines: Vec<&str> = err.lines().filter(|l| l.contains("llmport:")).collect();
        assert_eq!(error_lines.len(), 1, "{err}");
        assert!(error_lines[0].contains("ollama pull m"), "{err}");
        // The failed turn is forgotten.
        assert_eq!(
            messages(&server, 1),
            json!([{"role": "user", "content": "second"}])
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn interactive_interrupt_stops_the_answer_and_keeps_what_was_printed() {
        // The first answer sends one delta and then hangs.
        let hanging = sse_answer(&["Once upon"]);
        let hanging = Reply {
            chunks: hanging.chunks[..1].to_vec(),
            ..hanging
        }
        .hang_after_body();
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", hanging)
            .route("POST", "/v1/chat/completions", sse_answer(&["Sure."]))
            .start()
            .await;
        let mut out = Screen::default();
        let written = out.written.clone();
        let (result, _err) = tokio::time::timeout(
            Duration::from_secs(30),
            session(
                &server,
                &Options::default(),
                &[],
                "tell me a story\nshorter\n",
                &mut out,
                // Call 2 is the first answer: interrupt it once it has printed something.
                move |n| {
                    let written = written.clone();
                    async move {
                        if n == 2 {
                            written.notified().await;
                        } else {
                            std::future::pending::<()>().await;
                        }
                    }
                },
            ),
        )
        .await
        .expect("the interrupt stops the hanging answer");
        result.unwrap();
        assert_eq!(out.text(), "Once upon\nSure.\n");
        assert_eq!(
            messages(&server, 1),
            json!([{"role": "user", "content": "tell me a story"},
                   {"role": "assistant", "content": "Once upon"},
                   {"role": "user", "content": "shorter"}])
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn interactive_interrupt_at_the_prompt_quits() {
        let server = TestServer::builder()
            .route("POST", "/v1/chat/completions", sse_answer(&["ok"]))
            .start()
            .await;
        let mut out = Screen::default();
        let (result, _err) = session(
            &server,
            &Options::default(),
            &[],
            "hello\n",
            &mut out,
            |_| std::future::ready(()),
        )
        .await;
        result.unwrap();
        assert_eq!(out.text(), "");
        assert!(server.requests().is_empty());
    }

    /// `--api anthropic` and `--api responses`: the interactive loop is the same, each turn
    /// sending the whole conversation in that API's shape.
    #[tokio::test(flavor = "multi_thread")]
    async fn interactive_works_with_the_messages_and_responses_apis() {
        let server = TestServer::builder()
            .route(
                "POST",
                "/v1/messages",
                Reply::messages_stream("m", ["Hi", "!"]),
            )
            .route(
                "POST",
                "/v1/messages",
                Reply::messages_stream("m", ["Fine."]),
            )
            .route(
                "POST",
                "/v1/responses",
                Reply::responses_stream("m", ["Hi", "!"]),
            )
            .route(
                "POST",
                "/v1/responses",
                Reply::responses_stream("m", ["Fine."]),
            )
            .start()
            .await;
        let anthropic = llmport::AnthropicProvider::new(server.url()).unwrap();
        let responses = llmport::ResponsesProvider::new(server.v1_url()).unwrap();
        let providers: [(&dyn Provider, &str, &str); 2] = [
            (&anthropic, "/v1/messages", "messages"),
            (&responses, "/v1/responses", "input"),
        ];
        for (provider, path, key) in providers {
            let options = Options::default();
            let chat = Chat {
                provider,
                model: "m",
                options: &options,
                stream: true,
                spinner: false,
                show_reasoning: false,
                terminal: false,
            };
            let mut out = Screen::default();
            let mut err = Vec::new();
            interactive(
                &chat,
                &[],
                io::Cursor::new(b"Hello\nHow are you?\n".to_vec()),
                &mut out,
                &mut err,
                std::future::pending,
            )
            .await
            .unwrap();
            assert!(out.text().contains("Hi!"), "{path}: {}", out.text());
            assert!(out.text().contains("Fine."), "{path}: {}", out.text());
            let sent: Vec<Value> = server
                .requests()
                .into_iter()
                .filter(|r| r.path == path)
                .map(|r| r.json().unwrap()[key].clone())
                .collect();
            assert_eq!(sent.len(), 2, "{path}");
            let second = sent[1].as_array().unwrap();
            assert_eq!(
                second.len(),
                3,
                "{path}: the whole conversation: {second:?}"
            );
        }
    }
}
