//! `llmport embed -m MODEL [TEXT]...`: embedding vectors for texts, as JSON, from Ollama's
//! native `/api/embed` — or, from a server without Ollama's native API (llama.cpp, vLLM, LM
//! Studio), from its OpenAI-compatible `/v1/embeddings`.

use std::io::{self, BufRead, IsTerminal};

use clap::Args;
use llmport::EmbedOptions;
use llmport::ollama::OllamaOptions;
use serde::Serialize;

use super::KeepAliveFlag;
use crate::error::CliError;
use crate::output::write_json_line;
use crate::{GlobalArgs, native_api};

/// The usage error when there is nothing to embed.
const NO_TEXT: &str = "no text to embed: give TEXT arguments or lines on stdin";

/// Flags and arguments of `llmport embed`.
#[derive(Debug, Clone, Args)]
pub struct EmbedArgs {
    /// The texts to embed, one vector each. Without them, each non-empty line of stdin is a
    /// text (when stdin is not a terminal).
    #[arg(value_name = "TEXT")]
    pub texts: Vec<String>,

    /// The embedding model, e.g. nomic-embed-text.
    #[arg(short, long, value_name = "MODEL")]
    pub model: String,

    /// Shorten the vectors to this many dimensions, at least 1 (models that support it).
    #[arg(long, value_name = "N", value_parser = crate::values::at_least_one)]
    pub dimensions: Option<u32>,

    /// Fail on a text longer than the model's context instead of cutting it.
    #[arg(long)]
    pub no_truncate: bool,

    /// How long the model stays loaded afterwards.
    #[command(flatten)]
    pub keep_alive: KeepAliveFlag,

    /// Run the --model in this process, with no server: a .gguf file, or a model Ollama has
    /// pulled. Needs the `local` feature.
    #[arg(long)]
    pub local: bool,
}

impl EmbedArgs {
    /// The embedding options these flags ask for.
    pub fn options(&self) -> EmbedOptions {
        let mut options = EmbedOptions::builder();
        if let Some(n) = self.dimensions {
            options = options.dimensions(n);
        }
        if self.no_truncate {
            options = options.truncate(false);
        }
        if let Some(k) = &self.keep_alive.duration {
            options = options.extension(OllamaOptions::builder().keep_alive(k.clone()).build());
        }
        options.build()
    }
}

/// What `llmport embed` prints: the model and one vector per text, in order.
#[derive(Debug, Serialize)]
struct EmbedOutput<'a> {
    model: &'a str,
    embeddings: &'a [Vec<f32>],
}

/// Runs `llmport embed`.
pub(crate) async fn run(args: EmbedArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let texts = if !args.texts.is_empty() {
        args.texts.clone()
    } else if io::stdin().is_terminal() {
        return Err(CliError::usage(NO_TEXT));
    } else {
        read_lines(io::stdin().lock())?
    };
    if texts.is_empty() {
        return Err(CliError::usage(NO_TEXT));
    }
    let provider = crate::provider::build(global)?;
    if let Some(engine) = crate::local::embedder(args.local.then_some(""))? {
        if args.keep_alive.duration.is_some() {
            return Err(CliError::usage(
                "--keep-alive is Ollama's setting: with --local the model stays loaded while \
                 the command runs",
            ));
        }
        let embeddings = engine.embed(&args.model, &texts, &args.options()).await?;
        let output = EmbedOutput {
            model: embeddings.model.as_deref().unwrap_or(&args.model),
            embeddings: &embeddings.vectors,
        };
        return write_json_line(&mut io::stdout(), &output);
    }
    let embeddings = match provider.embed(&args.model, &texts, &args.options()).await {
        Ok(embeddings) => embeddings,
        Err(e) => {
            let e = crate::local::connect_hint(CliError::from(e), &args.model);
            if !native_api::is_missing(&provider, &e, Some(&args.model)).await {
                return Err(e);
            }
            // An OpenAI-compatible server: its /v1/embeddings, which has no Ollama settings.
            if args.no_truncate || args.keep_alive.duration.is_some() {
                return Err(native_api::missing(
                    &provider,
                    "--no-truncate and --keep-alive (Ollama's own embedding settings)",
                ));
            }
            let mut options = EmbedOptions::builder();
            if let Some(n) = args.dimensions {
                options = options.dimensions(n);
            }
            let options = options.build();
            provider
                .openai()
                .embed(&args.model, &texts, &options)
                .await?
        }
    };
    let output = EmbedOutput {
        model: embeddings.model.as_deref().unwrap_or(&args.model),
        embeddings: &embeddings.vectors,
    };
    write_json_line(&mut io::stdout(), &output)
}

/// The non-empty lines of `input` (stdin), without their line breaks.
fn read_lines(input: impl BufRead) -> Result<Vec<String>, CliError> {
    let mut texts = Vec::new();
    for line in input.lines() {
        let line = line.map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                CliError::usage("the text on stdin is not valid UTF-8")
            } else {
                CliError::io("cannot read stdin", e)
            }
        })?;
        let line = line.trim_end_matches('\r');
        if !line.trim().is_empty() {
            texts.push(line.to_owned());
        }
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use llmport::ollama::KeepAlive;

    use super::*;

    #[test]
    fn stdin_lines_are_texts_and_blank_lines_are_skipped() {
        assert_eq!(
            read_lines(&b"hello world\r\n\n  \ngoodbye"[..]).unwrap(),
            ["hello world", "goodbye"]
        );
        assert!(read_lines(&b"\n\n"[..]).unwrap().is_empty());
        let e = read_lines(&[0xffu8, b'\n'][..]).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
    }

    #[test]
    fn flags_become_embed_options() {
        let args = EmbedArgs {
            texts: vec!["a".into()],
            model: "m".into(),
            dimensions: Some(4),
            no_truncate: true,
            keep_alive: KeepAliveFlag {
                duration: Some(KeepAlive::Duration("5m".into())),
            },
            local: false,
        };
        let o = args.options();
        assert_eq!(o.dimensions, Some(4));
        assert_eq!(o.truncate, Some(false));
        assert_eq!(
            o.extension::<OllamaOptions>()
                .and_then(|x| x.keep_alive.clone()),
            Some(KeepAlive::Duration("5m".into()))
        );
        let o = EmbedArgs {
            dimensions: None,
            no_truncate: false,
            keep_alive: KeepAliveFlag::default(),
            ..args
        }
        .options();
        assert_eq!(o, EmbedOptions::new());
    }
}
