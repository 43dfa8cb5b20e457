//! `llmport generate [OPTIONS] [PROMPT]`: complete a prompt with Ollama's native
//! `/api/generate` (fill-in-the-middle with `--suffix`, raw mode, a template, images), streamed
//! as it comes, or printed whole as JSON.

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use futures::StreamExt;
use llmport::completion::{Completer, CompletionRequest};
use llmport::ollama::GenerateOptions;
use llmport::{FinishReason, GenResponse, OllamaProvider};

use super::chat::{GenerationArgs, Image, json_cut_off, line_end, print_reasoning, read_prompt};
use crate::error::{CliError, stdout_error};
use crate::output::{Spinner, end_line, write_json};
use crate::sanitize::Sanitizer;
use crate::{GlobalArgs, native_api};

/// Flags and arguments of `llmport generate`.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The text to complete. Without it, the prompt is read from stdin.
    #[arg(value_name = "PROMPT")]
    pub prompt: Option<String>,

    /// The model to complete with.
    #[arg(
        short,
        long,
        env = "LLMPORT_MODEL",
        hide_env_values = true,
        default_value = "llama3.2",
        value_name = "MODEL"
    )]
    pub model: String,

    /// Fill in the middle: the text that follows the gap (the model needs Ollama's `insert`
    /// capability, e.g. a code model); only the middle is printed.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub suffix: Option<String>,

    /// Send the prompt to the model verbatim, without its template (no --system or
    /// --template then).
    #[arg(long, conflicts_with_all = ["system", "template"])]
    pub raw: bool,

    /// A system prompt.
    #[arg(short, long, value_name = "TEXT", allow_hyphen_values = true)]
    pub system: Option<String>,

    /// A Go template file to use instead of the model's template.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// Attach an image: a .png, .jpg, .jpeg or .webp file (repeat for several).
    #[arg(long, value_name = "PATH")]
    pub image: Vec<PathBuf>,

    /// How to generate: sampling, limits, Ollama's own settings, format, log probabilities.
    #[command(flatten)]
    pub generation: GenerationArgs,

    /// Wait for the whole answer instead of printing it as it is generated.
    #[arg(long)]
    pub no_stream: bool,

    /// Print the whole response as JSON (text, finish reason, token usage, timings, context,
    /// log probabilities).
    #[arg(long)]
    pub json: bool,

    /// Print the model's reasoning ("thinking") too, on stderr, apart from the answer.
    #[arg(long)]
    pub show_reasoning: bool,
}

impl GenerateArgs {
    /// The request these flags ask for. Reads the image, template and schema files; a
    /// missing or invalid one is a usage error.
    fn request(&self, prompt: String) -> Result<CompletionRequest, CliError> {
        let mut generate = GenerateOptions::builder().raw(self.raw);
        for path in &self.image {
            generate = generate.image(Image::load(path)?.data);
        }
        if let Some(path) = &self.template {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CliError::usage(format!("cannot read template {}: {e}", path.display()))
            })?;
            generate = generate.template(text);
        }
        let generate = generate.build();
        let mut options = self.generation.options(self.system.as_deref())?;
        if generate != GenerateOptions::default() {
            options.extensions.insert(generate);
        }
        let mut request = CompletionRequest::builder()
            .model(&self.model)
            .prompt(prompt)
            .options(options);
        if let Some(s) = &self.suffix {
            request = request.suffix(s);
        }
        Ok(request.build())
    }
}

/// Runs `llmport generate`.
pub(crate) async fn run(args: GenerateArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let prompt = match &args.prompt {
        Some(p) => p.clone(),
        None if !io::stdin().is_terminal() => read_prompt(io::stdin().lock())?,
        None => {
            return Err(CliError::usage(
                "no prompt: give one as an argument or on stdin",
            ));
        }
    };
    let request = args.request(prompt)?;
    let provider = crate::provider::build(global)?;
    let mut out = io::stdout();
    let terminal = out.is_terminal();
    let result = if args.json {
        print_json(&provider, &request, !args.no_stream, &mut out).await
    } else {
        print_text(
            &provider,
            &request,
            !args.no_stream,
            terminal,
            args.show_reasoning,
            &mut out,
        )
        .await
    };
    match result {
        // /api/generate is native: say so when the server has no native API.
        Err(e @ CliError::Llm(_)) => {
            let what = "`llmport generate` (Ollama's native /api/generate)";
            Err(native_api::explain(&provider, e, what, Some(&args.model)).await)
        }
        other => other,
    }
}

/// The whole response as pretty JSON.
async fn print_json<W: Write>(
    provider: &OllamaProvider,
    request: &CompletionRequest,
    stream: bool,
    out: &mut W,
) -> Result<(), CliError> {
    let mut spinner = Spinner::start(true);
    let response = if stream {
        provider
            .complete_stream(request)
            .await?
            .collect_response()
            .await?
    } else {
        provider.complete(request).await?
    };
    spinner.stop();
    write_json(out, &response)?;
    check_json_complete(request, &response)
}

/// The text as it comes (sanitised on a terminal, as `chat` prints it), reasoning on stderr
/// with `show_reasoning`.
async fn print_text<W: Write>(
    provider: &OllamaProvider,
    request: &CompletionRequest,
    stream: bool,
    terminal: bool,
    show_reasoning: bool,
    out: &mut W,
) -> Result<(), CliError> {
    let mut spinner = Spinner::start(true);
    if !stream {
        let response = provider.complete(request).await;
        spinner.stop();
        let response = response?;
        if show_reasoning {
            print_reasoning(&response.reasoning(), true, &mut Sanitizer::new());
        }
        let text = response.text();
        let shown = match terminal {
            true => crate::sanitize::text(&text),
            false => Cow::Borrowed(text.as_str()),
        };
        out.write_all(shown.as_bytes()).map_err(stdout_error)?;
        end_line(out, &shown).map_err(stdout_error)?;
        return check_json_complete(request, &response);
    }
    let started = provider.complete_stream(request).await;
    let mut stream = match started {
        Ok(s) => s,
        Err(e) => {
            spinner.stop();
            return Err(e.into());
        }
    };
    let mut screen = terminal.then(Sanitizer::new);
    let mut thought_screen = Sanitizer::new();
    let mut printed = false;
    let mut ends_line = false;
    let mut thinking = false;
    let mut last = GenResponse::default();
    while let Some(item) = stream.next().await {
        let chunk = match item {
            Ok(c) => c,
            Err(e) => {
                spinner.stop();
                // A cut-off answer must not look complete: end its line, then the error.
                if printed {
                    end_line(out, line_end(ends_line)).map_err(stdout_error)?;
                }
                return Err(e.into());
            }
        };
        if show_reasoning {
            let thought = chunk.reasoning();
            if !thought.is_empty() {
                spinner.stop();
                print_reasoning(&thought, false, &mut thought_screen);
                thinking = true;
            }
        }
        let delta = chunk.text();
        if !delta.is_empty() {
            spinner.stop();
            if thinking {
                print_reasoning("\n", false, &mut thought_screen);
                thinking = false;
            }
            let shown = match &mut screen {
                Some(screen) => screen.push(&delta),
                None => Cow::Borrowed(delta.as_str()),
            };
            if !shown.is_empty() {
                out.write_all(shown.as_bytes()).map_err(stdout_error)?;
                out.flush().map_err(stdout_error)?;
                ends_line = shown.ends_with('\n');
                printed = true;
            }
        }
        if chunk.finish_reason().is_some() {
            last = chunk;
        }
    }
    spinner.stop();
    end_line(out, line_end(ends_line)).map_err(stdout_error)?;
    check_json_complete(request, &last)
}

/// An answer that had to be JSON (`--format json`, `--schema`) and was cut off by the token
/// limit is an error (exit status 8): what was printed is not the whole document.
fn check_json_complete(
    request: &CompletionRequest,
    response: &GenResponse,
) -> Result<(), CliError> {
    let options = &request.options;
    if options.response_format.is_some() && response.finish_reason() == Some(&FinishReason::Length)
    {
        return Err(json_cut_off(options));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;
    use crate::commands::Command;
    use clap::Parser;

    fn parse(args: &[&str]) -> GenerateArgs {
        match Cli::try_parse_from(args).expect("parses").command {
            Command::Generate(a) => a,
            other => panic!("not generate: {other:?}"),
        }
    }

    #[test]
    fn flags_become_a_request() {
        let a = parse(&[
            "llmport",
            "generate",
            "-m",
            "qwen2.5-coder",
            "--suffix",
            "    return c",
            "-s",
            "be brief",
            "--temperature",
            "0",
            "--logprobs",
            "2",
            "def add(",
        ]);
        let r = a.request("def add(".into()).unwrap();
        assert_eq!(r.model, "qwen2.5-coder");
        assert_eq!(r.suffix.as_deref(), Some("    return c"));
        assert_eq!(r.options.system.as_deref(), Some("be brief"));
        assert_eq!(r.options.temperature, Some(0.0));
        assert_eq!(r.options.top_logprobs, Some(2));
        assert!(r.options.extension::<GenerateOptions>().is_none());
    }

    #[test]
    fn raw_conflicts_with_system_and_logprobs_are_bounded() {
        assert!(Cli::try_parse_from(["llmport", "generate", "--raw", "-s", "x", "p"]).is_err());
        assert!(Cli::try_parse_from(["llmport", "generate", "--logprobs", "21", "p"]).is_err());
        let a = parse(&["llmport", "generate", "--raw", "[INST] hi [/INST]"]);
        let r = a.request("p".into()).unwrap();
        assert!(r.options.extension::<GenerateOptions>().unwrap().raw);
    }
}
