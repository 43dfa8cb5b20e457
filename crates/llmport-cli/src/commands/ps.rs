//! `llmport ps [--json]`: the models loaded in memory, as `ollama ps` shows them.

use clap::Args;
use llmport::ollama::RunningModel;
use time::OffsetDateTime;

use super::models::print_list;
use crate::error::CliError;
use crate::format;
use crate::output::Table;
use crate::{GlobalArgs, native_api};

/// Flags of `llmport ps`.
#[derive(Debug, Clone, Args)]
pub struct PsArgs {
    /// Print the server's list as JSON (`{"models": [...]}`, as `/api/ps` answers).
    #[arg(long)]
    pub json: bool,
}

/// Runs `llmport ps`.
pub(crate) async fn run(args: PsArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    let models = match provider.running().await {
        Ok(models) => models,
        Err(e) => return Err(native_api::explain(&provider, e.into(), "`llmport ps`", None).await),
    };
    print_list(&models, args.json, table)
}

/// The table `llmport ps` prints: NAME, SIZE, PROCESSOR, CONTEXT and UNTIL (relative to
/// `now`).
fn table(models: &[RunningModel], now: OffsetDateTime) -> Table {
    let mut table = Table::new(&["NAME", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]);
    for m in models {
        let until = match m.expires_time() {
            Some(t) if t < now => "Stopping...".to_owned(),
            Some(t) => format::relative_time(t, now),
            None => m.expires_at.clone(),
        };
        table.row(vec![
            m.name.clone(),
            format::bytes(m.size),
            processor(m.size, m.size_vram),
            m.context_length.map(|n| n.to_string()).unwrap_or_default(),
            until,
        ]);
    }
    table
}

/// Where a model of `size` bytes, `size_vram` of them in GPU memory, runs: `100% GPU`,
/// `100% CPU`, or the split as `48%/52% CPU/GPU` (as `ollama ps` words it).
fn processor(size: u64, size_vram: u64) -> String {
    if size_vram == 0 {
        "100% CPU".to_owned()
    } else if size_vram == size {
        "100% GPU".to_owned()
    } else if size_vram > size || size == 0 {
        "Unknown".to_owned()
    } else {
        #[allow(
            clippy::cast_precision_loss,
            reason = "sizes far below 2^53: exact as f64"
        )]
        let cpu = ((size - size_vram) as f64 / size as f64 * 100.0).round();
        format!("{cpu}%/{}% CPU/GPU", 100.0 - cpu)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_processor_column_splits_like_ollama() {
        assert_eq!(processor(3_357_186_048, 3_357_186_048), "100% GPU");
        assert_eq!(processor(3_357_186_048, 0), "100% CPU");
        assert_eq!(processor(100, 52), "48%/52% CPU/GPU");
        assert_eq!(processor(3, 1), "67%/33% CPU/GPU");
        assert_eq!(processor(100, 101), "Unknown");
    }

    #[test]
    fn until_is_relative_and_past_expiry_is_stopping() {
        let now = OffsetDateTime::from_unix_timestamp(1_787_150_043).unwrap();
        let models: Vec<RunningModel> = serde_json::from_value(json!([
            {"name": "a:latest", "size": 2_000_000_000_u64, "size_vram": 2_000_000_000_u64,
             "expires_at": "2026-08-19T07:38:03-07:00", "context_length": 8192},
            {"name": "b:latest", "size": 100, "size_vram": 52,
             "expires_at": "2026-08-19T07:30:00-07:00"},
            {"name": "c:latest", "size": 10, "expires_at": "2318-01-01T00:00:00Z"}
        ]))
        .unwrap();
        assert_eq!(
            table(&models, now).render(),
            "NAME        SIZE     PROCESSOR          CONTEXT    UNTIL\n\
             a:latest    2 GB     100% GPU           8192       4 minutes from now\n\
             b:latest    100 B    48%/52% CPU/GPU               Stopping...\n\
             c:latest    10 B     100% CPU                      Forever\n"
        );
    }
}
