//! `llmport show MODEL`: what the server knows about a model, laid out as `ollama show` lays
//! it out; or one raw part of it (`--template`, `--parameters`, …); or all of it as JSON.

use std::io::{self, Write};

use clap::{ArgGroup, Args};
use llmport::ollama::ModelInfo;

use crate::error::{CliError, stdout_error};
use crate::output::{end_line, write_json};
use crate::sanitize;
use crate::{GlobalArgs, native_api};

/// Flags and arguments of `llmport show`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("part").multiple(false)))]
pub struct ShowArgs {
    /// The model to describe.
    #[arg(value_name = "MODEL")]
    pub model: String,

    /// Print everything the server answered, as JSON.
    #[arg(long, group = "part")]
    pub json: bool,

    /// Print only the model's default parameters, as the server words them.
    #[arg(long, group = "part")]
    pub parameters: bool,

    /// Print only the prompt template.
    #[arg(long, group = "part")]
    pub template: bool,

    /// Print only the default system prompt.
    #[arg(long, group = "part")]
    pub system: bool,

    /// Print only the license.
    #[arg(long, group = "part")]
    pub license: bool,

    /// Print only the Modelfile that rebuilds the model.
    #[arg(long, group = "part")]
    pub modelfile: bool,
}

/// Runs `llmport show`.
pub(crate) async fn run(args: ShowArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    let info = match provider.show(&args.model).await {
        Ok(info) => info,
        Err(e) => {
            return Err(native_api::explain(
                &provider,
                e.into(),
                "`llmport show`",
                Some(&args.model),
            )
            .await);
        }
    };
    let mut out = io::stdout();
    if args.json {
        return write_json(&mut out, &info);
    }
    let part = if args.parameters {
        info.parameters.as_deref()
    } else if args.template {
        info.template.as_deref()
    } else if args.system {
        info.system.as_deref()
    } else if args.license {
        info.license.as_deref()
    } else if args.modelfile {
        Some(info.modelfile.as_str())
    } else {
        return out
            .write_all(sanitize::text(&overview(&info)).as_bytes())
            .and_then(|()| out.flush())
            .map_err(stdout_error);
    };
    let text = sanitize::text(part.unwrap_or_default());
    if text.is_empty() {
        return Ok(());
    }
    out.write_all(text.as_bytes())
        .and_then(|()| end_line(&mut out, &text))
        .map_err(stdout_error)
}

/// Lines of the license shown in the overview (the rest is elided, as `ollama show` does).
const LICENSE_LINES: usize = 2;

/// The overview: sections `Model`, `Capabilities`, `Parameters`, `System` and `License`,
/// each present only when the server said something for it.
fn overview(info: &ModelInfo) -> String {
    let mut sections: Vec<(&str, Vec<Vec<String>>)> = Vec::new();

    let mut model: Vec<Vec<String>> = Vec::new();
    let mut field = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            model.push(vec![name.to_owned(), v]);
        }
    };
    field("architecture", info.architecture().map(str::to_owned));
    field("parameters", Some(info.details.parameter_size.clone()));
    field(
        "context length",
        info.context_length().map(|n| n.to_string()),
    );
    field(
        "embedding length",
        info.embedding_length().map(|n| n.to_string()),
    );
    field(
        "quantization",
        Some(info.details.quantization_level.clone()),
    );
    sections.push(("Model", model));

    sections.push((
        "Capabilities",
        info.capabilities.iter().map(|c| vec![c.clone()]).collect(),
    ));

    // What `think` accepts, where the server says (newer Ollama): `llmport chat --think`.
    if let Some(levels) = info.thinking.as_ref().filter(|l| !l.values.is_empty()) {
        let mut rows = vec![vec!["values".to_owned(), levels.list()]];
        if let Some(default) = &levels.default {
            rows.push(vec!["default".to_owned(), default.to_string()]);
        }
        sections.push(("Thinking", rows));
    }

    // The values as the server words them: strings stay Go-quoted, as in `ollama show`.
    let parameters = info
        .parameters
        .as_deref()
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once(char::is_whitespace)?;
            Some(vec![key.to_owned(), value.trim().to_owned()])
        })
        .collect();
    sections.push(("Parameters", parameters));

    let text_rows = |text: &str, limit: usize| -> Vec<Vec<String>> {
        let lines: Vec<&str> = text.trim().lines().collect();
        let mut rows: Vec<Vec<String>> = lines
            .iter()
            .take(limit)
            .map(|l| vec![l.trim_end().to_owned()])
            .collect();
        if lines.len() > limit {
            rows.push(vec!["...".to_owned()]);
        }
        rows
    };
    if let Some(system) = &info.system {
        sections.push(("System", text_rows(system, usize::MAX)));
    }
    if let Some(license) = &info.license {
        sections.push(("License", text_rows(license, LICENSE_LINES)));
    }

    let mut text = String::new();
    for (title, rows) in sections.iter().filter(|(_, rows)| !rows.is_empty()) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str("  ");
        text.push_str(title);
        text.push('\n');
        let width = rows
            .iter()
            .filter(|r| r.len() > 1)
            .filter_map(|r| r.first())
            .map(|key| key.chars().count())
            .max()
            .unwrap_or(0);
        for row in rows {
            let line = match row.as_slice() {
                [key, value] => format!("    {key:<width$}    {value}"),
                cells => format!("    {}", cells.join("    ")),
            };
            text.push_str(line.trim_end());
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_overview_has_the_sections_ollama_shows() {
        let info: ModelInfo = serde_json::from_value(json!({
            "license": "LICENSE LINE ONE\nline two\nline three",
            "parameters": "stop                           \"<|eot_id|>\"\nnum_ctx                        8192",
            "system": "Be brief.",
            "details": {"parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
            "model_info": {"general.architecture": "llama", "llama.context_length": 131072,
                           "llama.embedding_length": 3072},
            "capabilities": ["completion", "tools"]
        }))
        .unwrap();
        assert_eq!(
            overview(&info),
            "  Model\n\
            \x20   architecture        llama\n\
            \x20   parameters          3.2B\n\
            \x20   context length      131072\n\
            \x20   embedding length    3072\n\
            \x20   quantization        Q4_K_M\n\
            \n  Capabilities\n\
            \x20   completion\n\
            \x20   tools\n\
            \n  Parameters\n\
            \x20   stop       \"<|eot_id|>\"\n\
            \x20   num_ctx    8192\n\
            \n  System\n\
            \x20   Be brief.\n\
            \n  License\n\
            \x20   LICENSE LINE ONE\n\
            \x20   line two\n\
            \x20   ...\n"
        );
    }

    #[test]
    fn thinking_levels_are_listed_after_the_capabilities() {
        let info: ModelInfo = serde_json::from_value(json!({
            "capabilities": ["completion", "thinking"],
            "thinking": {"values": [false, "low", "medium", "xhigh"], "default": "medium"}
        }))
        .unwrap();
        assert_eq!(
            overview(&info),
            "  Capabilities\n\
            \x20   completion\n\
            \x20   thinking\n\
            \n  Thinking\n\
            \x20   values     false, low, medium, xhigh\n\
            \x20   default    medium\n"
        );
    }

    #[test]
    fn sections_without_content_are_left_out() {
        let info: ModelInfo = serde_json::from_value(json!({
            "details": {"parameter_size": "137M"}
        }))
        .unwrap();
        assert_eq!(overview(&info), "  Model\n    parameters    137M\n");
    }
}
