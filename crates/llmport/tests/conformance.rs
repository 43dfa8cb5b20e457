//! The conformance suite: one set of scenarios, written once (`conformance/scenarios.rs` and
//! `conformance/live.rs`), run over every protocol path the library speaks — object_store's
//! `integration.rs` idea. Each path is one value implementing
//! [`protocol::Protocol`] (how to build its provider for a base URL and a key, what its
//! server answers for a scenario in the protocol's exact shape, where each request setting
//! lives on its wire) and one `suite!` line below:
//!
//! | path | provider | server shapes from |
//! |---|---|---|
//! | `OpenAiChat` | `OpenAiProvider` | llama.cpp `llama-server` (captured; `conformance/chat_completions.rs`) |
//! | `OllamaV1` | `OllamaProvider`, `OllamaChatApi::OpenAiCompatible` | Ollama's `openai/` (`conformance/chat_completions.rs`) |
//! | `OllamaNative` | `OllamaProvider`, `OllamaChatApi::Native` | Ollama's `server/routes.go` (`conformance/native_chat.rs`) |
//! | `Anthropic` | `AnthropicProvider` | Anthropic's API reference, llama.cpp (`conformance/messages.rs`) |
//! | `Responses` | `ResponsesProvider` | OpenAI's API reference, llama.cpp (`conformance/responses.rs`) |
//!
//! Two tiers, one test per scenario and path in each:
//!
//! - **in-process** (`<path>::<scenario>`): `llmport::testing`'s server. Streamed scenarios
//!   ask twice, whole and streamed, and assert both give the same `GenResponse` (candidates,
//!   usage, id, model). `cargo test -p llmport --test conformance`.
//! - **live** (`<path>::live::<scenario>`): llama.cpp's `llama-server`, when
//!   `LLMPORT_LIVE_BASE_URL` (random model) and `LLMPORT_LIVE_SMOLLM2_BASE_URL`
//!   (SmolLM2-135M-Instruct) say where; see `conformance/live.rs` and `.ci/run`:
//!
//! ```sh
//! PID1=$(../shared/tools/realserver/start.sh 18080)
//! PID2=$(REALSERVER_MODEL=smollm2 ../shared/tools/realserver/start.sh 18081)
//! LLMPORT_LIVE_BASE_URL=http://127.0.0.1:18080/v1 \
//! LLMPORT_LIVE_SMOLLM2_BASE_URL=http://127.0.0.1:18081/v1 \
//!   cargo test -p llmport --test conformance live::
//! kill $PID1 $PID2
//! ```
//!
//! ## What cannot be expressed
//!
//! Never silently skipped: the test prints `NOT EXPRESSIBLE …`; a *refused* row still runs
//! and asserts the refusal. The table is `gaps::GAPS`; `the_gap_table_is_documented` checks
//! this copy.
//!
//! | protocol | tier | scenario | reason |
//! |---|---|---|---|
//! | Responses | InProcess | stop_sequence | no stop sequences in the Responses API: refused (`Error::Unsupported`) before sending |
//! | Responses | Live | stop_sequence | the same refusal |
//! | Responses | Live | structured_output | llama-server's `/v1/responses` drops `text.format` (no grammar; `server-chat.cpp`): SmolLM2 answers a fenced block with other keys |
//! | Anthropic | Live | structured_output | llama-server's `/v1/messages` ignores `output_config.format` (measured: SmolLM2's answer is the same with and without it, a fenced block with other keys); Ollama's reads only `output_config.effort` |
//! | OllamaNative | Live | * | llama-server does not serve Ollama's native `/api/chat` |
//! | every | Live | images | no vision projector for either model: the server's 500 "image input is not supported" is asserted to reach the caller |
//! | every | Live | midstream_error | a healthy llama-server cannot be made to fail mid-stream |
//! | every | Live | truncated_stream | a healthy llama-server always ends its streams |
//! | every | Live | model_not_found | llama-server serves its one model under any name |
//! | every | Live | retry_after | llama-server never answers 429 or 529 |
//! | every | Live | stream_split_anywhere | where llama-server's writes fall is not ours to choose |
//!
//! Also known, not a row: the seed. The Messages and Responses APIs have none
//! (`Protocol::takes_seed`), so their stream-equals-whole scenario relies on
//! `temperature: 0` alone. SmolLM2's chat template
//! has no tool syntax (llama-server answers text even with `tool_choice: required`), so the
//! live tool scenarios use the random model, whose weights call a tool whenever tools are
//! offered.

#[path = "conformance/chat_completions.rs"]
mod chat_completions;
#[path = "conformance/gaps.rs"]
mod gaps;
#[path = "conformance/live.rs"]
mod live;
#[path = "conformance/messages.rs"]
mod messages;
#[path = "conformance/native_chat.rs"]
mod native_chat;
#[path = "conformance/protocol.rs"]
mod protocol;
#[path = "conformance/responses.rs"]
mod responses;
#[path = "conformance/scenarios.rs"]
mod scenarios;

/// The tests of one protocol path: every scenario in-process, and in the live tier all but
/// the ones no live server here can produce (each of those is a `Live` row of `gaps::GAPS`
/// for every protocol; `every_scenario_runs_or_is_listed` checks it).
macro_rules! suite {
    ($module:ident, $protocol:expr) => {
        mod $module {
            use crate::gaps::{Tier, gap};

            suite!(@in_process $protocol; plain_chat, system_instructions, multi_turn,
                stream_equals_non_stream, stop_sequence, max_tokens_length, usage,
                tools_round_trip, tools_round_trip_streamed, structured_output, images,
                midstream_error, truncated_stream, unauthorized, model_not_found, retry_after,
                stream_split_anywhere);

            pub mod live {
                suite!(@live $protocol; plain_chat, system_instructions, multi_turn,
                    stream_equals_non_stream, stop_sequence, max_tokens_length, usage,
                    tools_round_trip, tools_round_trip_streamed, structured_output, images,
                    unauthorized);
            }
        }
    };
    (@in_process $protocol:expr; $($scenario:ident),*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                let protocol = $protocol;
                if let Some(g) = gap(crate::protocol::Protocol::id(&protocol), Tier::InProcess, stringify!($scenario)) {
                    g.note();
                    if !g.refused {
                        return;
                    }
                }
                crate::scenarios::$scenario(&protocol).await;
            }
        )*
        /// The scenario names of the in-process tier.
        #[allow(dead_code)]
        pub const IN_PROCESS: &[&str] = &[$(stringify!($scenario)),*];
    };
    (@live $protocol:expr; $($scenario:ident),*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                crate::live::$scenario(&$protocol).await;
            }
        )*
        /// The scenario names of the live tier.
        #[allow(dead_code)]
        pub const LIVE: &[&str] = &[$(stringify!($scenario)),*];
    };
}

suite!(openai_chat, crate::chat_completions::LLAMA_CPP);
suite!(ollama_v1, crate::chat_completions::OLLAMA);
suite!(ollama_native, crate::native_chat::OllamaNative);
suite!(anthropic, crate::messages::Messages);
suite!(openai_responses, crate::responses::Responses);

/// A scenario the live tier leaves out is a `Live` row for every protocol in the gap table.
#[test]
fn every_scenario_runs_or_is_listed() {
    for scenario in openai_chat::IN_PROCESS {
        if !openai_chat::live::LIVE.contains(scenario) {
            assert!(
                gaps::GAPS.iter().any(|g| g.protocol.is_none()
                    && g.tiers.contains(&gaps::Tier::Live)
                    && g.scenario == *scenario),
                "{scenario} is neither live nor listed in gaps::GAPS"
            );
        }
    }
}
