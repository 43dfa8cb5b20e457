//! `llmport create NAME (--from MODEL | --file PATH.gguf) [--system TEXT] [--template FILE]
//! [--parameter KEY=VALUE]… [--quantize Q] [--license FILE]`: create a model on the server,
//! showing its progress as `pull` does. With `--file`, the file is hashed and uploaded first
//! (streamed from disk), unless the server has it already.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};
use llmport::OllamaProvider;
use llmport::ollama::{CreateOptions, CreateOptionsBuilder, file_digest};
use serde_json::Value;

use crate::error::CliError;
use crate::{GlobalArgs, format, native_api};

/// Flags and arguments of `llmport create`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("source").required(true).multiple(false)))]
pub struct CreateArgs {
    /// The name of the new model.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Start from this model (pulled first if the server lacks it).
    #[arg(long, value_name = "MODEL", group = "source")]
    pub from: Option<String>,

    /// Build it from this local GGUF file (uploaded unless the server has it).
    #[arg(long, value_name = "PATH.gguf", group = "source")]
    pub file: Option<PathBuf>,

    /// Its default system prompt.
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,

    /// Its prompt template (Go template syntax), read from FILE.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// A default parameter, e.g. temperature=0.7, num_ctx=8192, stop="<|eot_id|>"
    /// (repeatable; `stop` may repeat).
    #[arg(long = "parameter", value_name = "KEY=VALUE", value_parser = parameter)]
    pub parameters: Vec<(String, Value)>,

    /// Quantize the weights, e.g. q4_K_M or q8_0 (from F16 or F32 weights).
    #[arg(long, value_name = "QUANTIZATION")]
    pub quantize: Option<String>,

    /// Its license, read from FILE.
    #[arg(long, value_name = "FILE")]
    pub license: Option<PathBuf>,
}

/// `KEY=VALUE`, the value typed as Ollama's parameters are: a whole number, a number,
/// `true`/`false`, or text (quotes around it are removed).
fn parameter(s: &str) -> Result<(String, Value), String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("no parameter name in {s:?}"));
    }
    let value = value.trim();
    let typed = if let Ok(n) = value.parse::<i64>() {
        Value::from(n)
    } else if let Some(n) = value.parse::<f64>().ok().filter(|n| n.is_finite()) {
        Value::from(n)
    } else if let Ok(b) = value.parse::<bool>() {
        Value::from(b)
    } else {
        let unquoted = serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_owned());
        Value::from(unquoted)
    };
    Ok((key.to_owned(), typed))
}

/// Runs `llmport create`.
pub(crate) async fn run(args: CreateArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    let mut options = options(&args)?;
    if let Some(path) = &args.file {
        let digest = tokio::select! {
            biased;
            () = super::ctrl_c() => return Err(CliError::Interrupted("create cancelled".into())),
            d = upload(&provider, path) => d?,
        };
        options = options.file(file_name(path), &digest);
    }
    let options = options.build()?;
    let start = provider.create(&args.name, &options);
    super::pull::show_progress(&provider, start, "create", &args.name).await
}

/// The options the flags give, without the file.
fn options(args: &CreateArgs) -> Result<CreateOptionsBuilder, CliError> {
    let mut o = CreateOptions::builder();
    if let Some(from) = &args.from {
        o = o.from(from);
    }
    if let Some(system) = &args.system {
        o = o.system(system);
    }
    if let Some(path) = &args.template {
        o = o.template(read(path, "--template")?);
    }
    if let Some(path) = &args.license {
        o = o.license(read(path, "--license")?);
    }
    if let Some(q) = &args.quantize {
        o = o.quantize(q);
    }
    // `stop` may be given several times: the server takes a list.
    let stops: Vec<Value> = args
        .parameters
        .iter()
        .filter(|(k, _)| k == "stop")
        .map(|(_, v)| Value::from(v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    for (key, value) in args.parameters.iter().filter(|(k, _)| k != "stop") {
        o = o.parameter(key, value.clone());
    }
    if !stops.is_empty() {
        o = o.parameter("stop", stops);
    }
    Ok(o)
}

fn read(path: &Path, flag: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("cannot read {flag} {}", path.display()), e))
}

/// The name the file goes by in the model: its own.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "model.gguf".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Puts the file on the server unless it has it, saying what it does on stderr; returns its
/// digest.
async fn upload(provider: &OllamaProvider, path: &Path) -> Result<String, CliError> {
    let size = std::fs::metadata(path)
        .map_err(|e| CliError::io(format!("cannot read --file {}", path.display()), e))?
        .len();
    let name = crate::sanitize::line(&path.display().to_string()).into_owned();
    let say = |line: String| {
        let mut err = io::stderr();
        let _ = writeln!(err, "{line}").and_then(|()| err.flush());
    };
    say(format!("hashing {name} ({})", format::bytes(size)));
    let digest = file_digest(path).await?;
    let has = match provider.has_blob(&digest).await {
        Ok(has) => has,
        Err(e) => {
            return Err(native_api::explain(provider, e.into(), "`llmport create`", None).await);
        }
    };
    if has {
        say(format!("the server has {name} already"));
    } else {
        say(format!("uploading {name} ({})", format::bytes(size)));
        provider.upload_blob(&digest, path).await?;
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_typed_as_ollama_reads_them() {
        let p = |s| parameter(s).unwrap().1;
        assert_eq!(p("num_ctx=8192"), Value::from(8192));
        assert_eq!(p("temperature=0.7"), Value::from(0.7));
        assert_eq!(p("penalize_newline=true"), Value::from(true));
        assert_eq!(p("stop=\"<|eot_id|>\""), Value::from("<|eot_id|>"));
        assert_eq!(p("stop=User:"), Value::from("User:"));
        assert!(parameter("novalue").is_err());
        assert!(parameter("=1").is_err());
    }
}
