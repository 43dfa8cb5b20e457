//! `llmport models [--json]`: the models stored on the server, as `ollama list` shows them.
//!
//! A server without Ollama's native API (llama.cpp, vLLM, LM Studio) is asked
//! `GET /v1/models` instead: the table then has the columns that list has (NAME, CREATED,
//! OWNED BY), and `--json` prints its entries (`{"models": [{"id": ..., "created": ...,
//! "owned_by": ...}]}`).

use std::io;

use clap::Args;
use llmport::ollama::LocalModel;
use llmport::openai::ModelEntry;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::CliError;
use crate::format;
use crate::output::{Table, write_json};
use crate::{GlobalArgs, native_api};

/// Flags of `llmport models`.
#[derive(Debug, Clone, Args)]
pub struct ModelsArgs {
    /// Print the server's list as JSON (`{"models": [...]}`, as `/api/tags` answers; the
    /// entries of `/v1/models` from a server without Ollama's native API).
    #[arg(long)]
    pub json: bool,
}

/// Runs `llmport models`.
pub(crate) async fn run(args: ModelsArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    match provider.list_models().await {
        Ok(models) => print_list(&models, args.json, table),
        Err(e) => {
            let e = CliError::from(e);
            if !native_api::is_missing(&provider, &e, None).await {
                return Err(e);
            }
            let models = provider.openai().list_models().await?;
            print_list(&models, args.json, openai_table)
        }
    }
}

/// Prints a list of models to stdout: as JSON in the shape Ollama answers it
/// (`{"models": [...]}`) when `json`, else as the `table` made of them (with the time now,
/// for relative times).
pub(crate) fn print_list<T: Serialize>(
    models: &[T],
    json: bool,
    table: impl FnOnce(&[T], OffsetDateTime) -> Table,
) -> Result<(), CliError> {
    /// The JSON shape.
    #[derive(Serialize)]
    struct ModelList<'a, T> {
        models: &'a [T],
    }
    let mut out = io::stdout();
    if json {
        return write_json(&mut out, &ModelList { models });
    }
    table(models, OffsetDateTime::now_utc()).write(&mut out)
}

/// The table `llmport models` prints: NAME, SIZE, MODIFIED (relative to `now`), PARAMETERS
/// and QUANTIZATION.
fn table(models: &[LocalModel], now: OffsetDateTime) -> Table {
    let mut table = Table::new(&["NAME", "SIZE", "MODIFIED", "PARAMETERS", "QUANTIZATION"]);
    for m in models {
        let modified = match m.modified_time() {
            Some(t) => format::relative_time(t, now),
            None => m.modified_at.clone(),
        };
        table.row(vec![
            m.name.clone(),
            format::bytes(m.size),
            modified,
            m.details.parameter_size.clone(),
            m.details.quantization_level.clone(),
        ]);
    }
    table
}

/// The table for a `/v1/models` list: NAME, CREATED (relative to `now`) and OWNED BY.
fn openai_table(models: &[ModelEntry], now: OffsetDateTime) -> Table {
    let mut table = Table::new(&["NAME", "CREATED", "OWNED BY"]);
    for m in models {
        let created = m
            .created
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .map(|t| format::relative_time(t, now))
            .unwrap_or_default();
        table.row(vec![
            m.id.clone(),
            created,
            m.owned_by.clone().unwrap_or_default(),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_table_has_one_aligned_row_per_model() {
        let models: Vec<LocalModel> = serde_json::from_value(json!([
            {"name": "qwen3:8b", "size": 5_225_387_923_u64,
             "modified_at": "2026-08-21T07:45:02.118204551-07:00",
             "details": {"parameter_size": "8.2B", "quantization_level": "Q4_K_M"}},
            {"name": "odd:latest", "size": 96, "modified_at": "last week",
             "details": {}}
        ]))
        .unwrap();
        // Three days after the first model was changed.
        let now = OffsetDateTime::from_unix_timestamp(1_787_323_502 + 3 * 86_400).unwrap();
        assert_eq!(
            table(&models, now).render(),
            "NAME          SIZE      MODIFIED      PARAMETERS    QUANTIZATION\n\
             qwen3:8b      5.2 GB    3 days ago    8.2B          Q4_K_M\n\
             odd:latest    96 B      last week\n"
        );
    }
}
