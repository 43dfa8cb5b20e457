//! Picking each token: the request's sampler chain, with its grammar (JSON mode, a JSON
//! Schema, tool calls) checked against the chain's pick rather than run over the whole
//! vocabulary first — the order llama.cpp's own `common_sampler` uses.
//!
//! Why: a grammar sampler applied to every candidate walks its parse stacks once per token
//! of the vocabulary (49,152 for SmolLM2) on every step. Checking the one token the chain
//! picked costs one such walk; only when the grammar rejects it are the candidates rebuilt,
//! masked by the grammar, and sampled again. The answer is the same (greedy: the best token
//! the grammar allows, either way; a random draw: a draw from the allowed tokens in
//! proportion to their probabilities, either way), and the cost of a token whose pick the
//! grammar accepts drops to the chain's own (figures in `bench/README.md`, "Local engine").

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

/// The sampler of one answer.
pub(crate) struct TokenSampler {
    /// Penalties, then greedy or top-k → top-p → min-p → temperature → a seeded draw.
    chain: LlamaSampler,
    /// The grammar the answer keeps to, if any.
    grammar: Option<LlamaSampler>,
    /// One entry per vocabulary token, kept between steps so that no step allocates it.
    candidates: Vec<LlamaTokenData>,
}

impl TokenSampler {
    pub(crate) fn new(chain: LlamaSampler, grammar: Option<LlamaSampler>) -> Self {
        TokenSampler {
            chain,
            grammar,
            candidates: Vec::new(),
        }
    }

    /// Picks the next token from the logits of output `idx` (`-1`: the last) and lets the
    /// samplers see it (penalties remember it, the grammar advances over it).
    pub(crate) fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        let TokenSampler {
            chain,
            grammar,
            candidates,
        } = self;
        let Some(grammar) = grammar else {
            // llama.cpp's own sample-and-accept, over its own candidate buffer.
            return chain.sample(ctx, idx);
        };
        let logits = ctx.get_logits_ith(idx);
        let mut cur = fill(std::mem::take(candidates), logits);
        chain.apply(&mut cur);
        #[cfg(test)]
        let picked = cur.selected_token().filter(|_| !tests::grammar_first());
        #[cfg(not(test))]
        let picked = cur.selected_token();
        let token = match picked {
            Some(t) if allows(grammar, t, logits) => t,
            _ => {
                #[cfg(test)]
                tests::resampled();
                cur = fill(cur.data, logits);
                grammar.apply(&mut cur);
                chain.apply(&mut cur);
                cur.selected_token().unwrap_or_else(|| best(&cur.data))
            }
        };
        grammar.accept(token);
        chain.accept(token);
        *candidates = cur.data;
        token
    }
}

/// The candidates for `logits`, in `buf`'s storage.
fn fill(mut buf: Vec<LlamaTokenData>, logits: &[f32]) -> LlamaTokenDataArray {
    buf.clear();
    buf.extend(
        (0_i32..)
            .zip(logits)
            .map(|(id, &logit)| LlamaTokenData::new(LlamaToken(id), logit, 0.0)),
    );
    LlamaTokenDataArray::new(buf, false)
}

/// Whether the grammar, in its current state, allows `token` next.
fn allows(grammar: &mut LlamaSampler, token: LlamaToken, logits: &[f32]) -> bool {
    let logit = usize::try_from(token.0)
        .ok()
        .and_then(|i| logits.get(i))
        .copied()
        .unwrap_or(0.0);
    let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, logit, 0.0)], false);
    grammar.apply(&mut one);
    one.data
        .first()
        .is_some_and(|d| d.logit() > f32::NEG_INFINITY)
}

/// The candidate with the highest logit (what greedy would pick), for a chain that selected
/// nothing.
fn best(data: &[LlamaTokenData]) -> LlamaToken {
    data.iter()
        .max_by(|a, b| a.logit().total_cmp(&b.logit()))
        .map_or(LlamaToken(0), LlamaTokenData::id)
}

#[cfg(test)]
mod tests {
    //! The claim above, checked on the real model: with the grammar checked after the chain's
    //! pick, greedy answers are the ones the grammar-first order gives, and most tokens are
    //! not sampled twice. The order is switched for the whole test process, so one test does
    //! both runs.

    use std::path::Path;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    use serde_json::json;

    use crate::message::Message;
    use crate::options::{Options, ResponseFormat, Tool, ToolChoice};
    use crate::provider::Provider;

    static GRAMMAR_FIRST: AtomicBool = AtomicBool::new(false);
    static RESAMPLED: AtomicU32 = AtomicU32::new(0);

    pub(super) fn grammar_first() -> bool {
        GRAMMAR_FIRST.load(Ordering::SeqCst)
    }

    pub(super) fn resampled() {
        RESAMPLED.fetch_add(1, Ordering::SeqCst);
    }

    fn model() -> Option<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.cache/models/smollm2-135m-instruct-q4_1.gguf");
        if path.is_file() {
            return Some(path.to_string_lossy().into_owned());
        }
        if std::env::var("LLMPORT_REQUIRE_REAL_SERVERS").is_ok_and(|v| v == "1") {
            panic!(
                "{} is missing: run scripts/fetch-smollm2.sh",
                path.display()
            );
        }
        eprintln!(
            "SKIPPED: no {}; fetch it with: scripts/fetch-smollm2.sh",
            path.display()
        );
        None
    }

    #[tokio::test]
    async fn checking_the_pick_gives_the_grammar_first_answers() {
        let Some(model) = model() else { return };
        let engine = crate::LocalEngine::builder().num_ctx(1024).build().unwrap();
        let json_answer = Options::builder()
            .temperature(0.0)
            .max_tokens(48)
            .response_format(ResponseFormat::json_schema(
                "numbers",
                json!({"type": "array", "items": {"type": "integer"}}),
            ))
            .build();
        let forced_call = Options::builder()
            .temperature(0.0)
            .max_tokens(48)
            .tool(Tool::function(
                "add",
                "Adds two numbers",
                json!({"type": "object",
                       "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]}),
            ))
            .tool_choice(ToolChoice::Required)
            .build();
        let cases = [
            ("Count from 1 to 20, separated by commas.", &json_answer),
            ("What is 2 plus 3?", &forced_call),
        ];
        for (question, options) in cases {
            let ask = [Message::user(question)];
            GRAMMAR_FIRST.store(false, Ordering::SeqCst);
            RESAMPLED.store(0, Ordering::SeqCst);
            let checked = engine.generate(&model, &ask, options).await.unwrap();
            let resampled = RESAMPLED.load(Ordering::SeqCst);
            GRAMMAR_FIRST.store(true, Ordering::SeqCst);
            let first = engine.generate(&model, &ask, options).await.unwrap();
            GRAMMAR_FIRST.store(false, Ordering::SeqCst);
            // The same answer (tool-call ids are unique in the process, so not compared).
            let calls = |r: &crate::GenResponse| -> Vec<(String, serde_json::Value)> {
                r.tool_calls()
                    .into_iter()
                    .map(|c| (c.name.clone(), c.arguments.clone()))
                    .collect()
            };
            assert_eq!(checked.text(), first.text(), "{question}");
            assert_eq!(calls(&checked), calls(&first), "{question}");
            assert_eq!(checked.finish_reason(), first.finish_reason(), "{question}");
            assert_eq!(checked.meta.usage, first.meta.usage, "{question}");
            let tokens = checked.meta.output_tokens().unwrap_or(0);
            assert!(tokens >= 4, "{question}: {checked:?}");
            eprintln!("{question}: {resampled} of {tokens} tokens sampled twice");
            // The grammar turned some picks down (the answer must open with `[` or the call's
            // tag), but far from all of them.
            assert!(
                resampled >= 1 && u64::from(resampled) < tokens / 2,
                "{question}: {resampled} of {tokens} tokens sampled twice"
            );
        }
    }
}
