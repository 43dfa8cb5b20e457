//! The one table of what a protocol (or the live server) cannot express, with the reason:
//! [`GAPS`]. A scenario listed here is never silently skipped: its test prints the row
//! (`NOT EXPRESSIBLE …` on stderr), and a row marked `refused` still runs the scenario, which
//! then asserts the refusal (the caller gets an error naming the reason, and nothing is sent
//! where the library refuses before sending). The crate documentation of `conformance.rs`
//! repeats the table; `the_gap_table_is_documented` keeps the two in step.

use crate::protocol::Id;

/// Where a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Against `llmport::testing`'s in-process server.
    InProcess,
    /// Against the real `llama-server`.
    Live,
}

/// One thing a protocol or server cannot do.
#[derive(Debug)]
pub struct Gap {
    /// The protocol; `None` for every one.
    pub protocol: Option<Id>,
    /// The tiers it holds in.
    pub tiers: &'static [Tier],
    /// The scenario; `"*"` for every one.
    pub scenario: &'static str,
    pub reason: &'static str,
    /// The scenario still runs and asserts the refusal.
    pub refused: bool,
}

impl Gap {
    /// Says so on the process's stderr (`eprintln!` would be captured by the harness).
    pub fn note(&self) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOT EXPRESSIBLE {} {:?} {}: {}{}",
            self.protocol
                .map_or("every protocol".to_owned(), |p| format!("{p:?}")),
            self.tiers,
            self.scenario,
            self.reason,
            if self.refused {
                " (the refusal is asserted)"
            } else {
                ""
            },
        );
    }
}

/// The table.
pub const GAPS: &[Gap] = &[
    Gap {
        protocol: Some(Id::Responses),
        tiers: &[Tier::InProcess, Tier::Live],
        scenario: "stop_sequence",
        reason: "the Responses API has no stop sequences; ResponsesProvider refuses them as \
                 Error::Unsupported before sending",
        refused: true,
    },
    Gap {
        protocol: Some(Id::Responses),
        tiers: &[Tier::Live],
        scenario: "structured_output",
        reason: "llama-server's /v1/responses drops text.format (server-chat.cpp, \
                 server_chat_convert_responses_to_chatcmpl makes no response_format of it), so \
                 no grammar holds the model to the schema: SmolLM2 answers a fenced ```json \
                 block with other keys",
        refused: false,
    },
    Gap {
        protocol: Some(Id::Anthropic),
        tiers: &[Tier::Live],
        scenario: "structured_output",
        reason: "llama-server's /v1/messages ignores output_config.format (and the beta's \
                 output_format): measured with SmolLM2 at temperature 0, the answer with the \
                 field is byte for byte the one without it, a fenced ```json block with other \
                 keys; Ollama's /v1/messages reads only output_config.effort",
        refused: false,
    },
    Gap {
        protocol: Some(Id::OllamaNative),
        tiers: &[Tier::Live],
        scenario: "*",
        reason: "llama-server does not serve Ollama's native /api/chat",
        refused: false,
    },
    Gap {
        protocol: None,
        tiers: &[Tier::Live],
        scenario: "images",
        reason: "neither model here has a vision projector: llama-server answers 500 \"image \
                 input is not supported\"; the scenario asserts that answer reaches the caller \
                 as Error::Api with the server's message",
        refused: true,
    },
    Gap {
        protocol: None,
        tiers: &[Tier::Live],
        scenario: "midstream_error",
        reason: "a healthy llama-server cannot be made to fail in the middle of a stream",
        refused: false,
    },
    Gap {
        protocol: None,
        tiers: &[Tier::Live],
        scenario: "truncated_stream",
        reason: "a healthy llama-server always ends its streams",
        refused: false,
    },
    Gap {
        protocol: None,
        tiers: &[Tier::Live],
        scenario: "model_not_found",
        reason: "llama-server serves its one model under any name: there is no unknown model",
        refused: false,
    },
    Gap {
        protocol: None,
        tiers: &[Tier::Live],
        scenario: "retry_after",
        reason: "llama-server never answers 429 or 529",
        refused: false,
    },
    Gap {
        protocol: None,
        tiers: &[Tier::Live],
        scenario: "stream_split_anywhere",
        reason: "where llama-server's writes fall is not ours to choose",
        refused: false,
    },
];

/// The row for a protocol, tier and scenario, if any.
pub fn gap(protocol: Id, tier: Tier, scenario: &str) -> Option<&'static Gap> {
    GAPS.iter().find(|g| {
        g.protocol.is_none_or(|p| p == protocol)
            && g.tiers.contains(&tier)
            && (g.scenario == "*" || g.scenario == scenario)
    })
}

#[test]
fn the_gap_table_is_documented() {
    let doc = include_str!("../conformance.rs");
    for g in GAPS {
        g.note();
        let protocol = g.protocol.map_or("every".to_owned(), |p| format!("{p:?}"));
        for tier in g.tiers {
            let row = format!("| {protocol} | {tier:?} | {} |", g.scenario);
            assert!(
                doc.contains(&row),
                "conformance.rs documents the row {row:?}"
            );
        }
    }
}
