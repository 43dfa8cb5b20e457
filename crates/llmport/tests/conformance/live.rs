//! The live tier: the same scenarios against llama.cpp's real `llama-server`, one process
//! serving `/v1/chat/completions`, `/v1/messages` and `/v1/responses`. Two servers:
//!
//! - `LLMPORT_LIVE_BASE_URL` (e.g. `http://127.0.0.1:18080/v1`; key `LLMPORT_LIVE_API_KEY`,
//!   model `LLMPORT_LIVE_MODEL`, default `tiny-random-llama`): the random-weight model, where
//!   exact counts matter (`max_tokens` → `Length`, usage, stream = whole with a fixed seed,
//!   tools: its weights call a tool whenever tools are offered).
//! - `LLMPORT_LIVE_SMOLLM2_BASE_URL` (key `LLMPORT_LIVE_SMOLLM2_API_KEY`): SmolLM2-135M-Instruct
//!   (alias `smollm2-135m-instruct`), where a real answer is needed: a fact, an instruction
//!   followed, a turn remembered, a JSON object of a schema, a stop sequence in real text.
//!
//! Without them every live test passes after one `SKIPPED …` line on stderr. The tests take
//! turns (one lock): llama-server batches concurrent requests, which can change sampling.

use llmport::{
    Error, FinishReason, GenResponse, Message, Options, Provider, ProviderExt, RetryConfig,
};

use crate::gaps::{Tier, gap};
use crate::protocol::Protocol;
use crate::scenarios::{City, PNG, streamed, weather_tool};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Which of the two live servers a scenario needs.
#[derive(Clone, Copy, Debug)]
enum Model {
    /// The random-weight model.
    Tiny,
    /// SmolLM2-135M-Instruct.
    Smollm2,
}

struct Live {
    _serial: tokio::sync::MutexGuard<'static, ()>,
    root: String,
    key: Option<String>,
    model: String,
}

fn skip(what: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}: {why}");
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The server for `scenario`, or `None` (after saying why) when the scenario does not run.
async fn live(p: &dyn Protocol, scenario: &str, model: Model) -> Option<Live> {
    if let Some(g) = gap(p.id(), Tier::Live, scenario) {
        g.note();
        if !g.refused {
            return None;
        }
    }
    let (url_var, key_var) = match model {
        Model::Tiny => ("LLMPORT_LIVE_BASE_URL", "LLMPORT_LIVE_API_KEY"),
        Model::Smollm2 => (
            "LLMPORT_LIVE_SMOLLM2_BASE_URL",
            "LLMPORT_LIVE_SMOLLM2_API_KEY",
        ),
    };
    let Some(url) = var(url_var) else {
        // Once per server, not once per test.
        static TINY: std::sync::Once = std::sync::Once::new();
        static SMOLLM2: std::sync::Once = std::sync::Once::new();
        let once = match model {
            Model::Tiny => &TINY,
            Model::Smollm2 => &SMOLLM2,
        };
        once.call_once(|| {
            skip(
                &format!("the live conformance tests that need the {model:?} model"),
                &format!("{url_var} is not set (see .ci/run and tests/conformance.rs)"),
            );
        });
        return None;
    };
    let url = url.trim_end_matches('/');
    let model = match model {
        Model::Tiny => var("LLMPORT_LIVE_MODEL").unwrap_or_else(|| "tiny-random-llama".into()),
        Model::Smollm2 => "smollm2-135m-instruct".into(),
    };
    Some(Live {
        _serial: SERIAL.lock().await,
        root: url.strip_suffix("/v1").unwrap_or(url).to_owned(),
        key: var(key_var),
        model,
    })
}

impl Live {
    fn provider(&self, p: &dyn Protocol) -> Box<dyn Provider> {
        p.provider(&self.root, self.key.as_deref(), RetryConfig::none())
    }

    async fn ask(&self, p: &dyn Protocol, messages: &[Message], options: &Options) -> GenResponse {
        self.provider(p)
            .generate(&self.model, messages, options)
            .await
            .expect("an answer")
    }

    /// Asks whole and streamed; both must agree on what the protocol makes deterministic.
    async fn ask_both(
        &self,
        p: &dyn Protocol,
        messages: &[Message],
        options: &Options,
    ) -> [GenResponse; 2] {
        let whole = self.ask(p, messages, options).await;
        let provider = self.provider(p);
        let (stream, _) = streamed(provider.as_ref(), &self.model, messages, options).await;
        [whole, stream]
    }
}

/// Greedy sampling, a bound, and the system prompt SmolLM2 answers best with.
fn helpful(max_tokens: u32) -> Options {
    Options::builder()
        .system("You are a helpful assistant.")
        .temperature(0.0)
        .max_tokens(max_tokens)
        .build()
}

pub async fn plain_chat(p: &dyn Protocol) {
    let Some(l) = live(p, "plain_chat", Model::Smollm2).await else {
        return;
    };
    let r = l
        .ask(
            p,
            &[Message::user("What is the capital of France?")],
            &helpful(32),
        )
        .await;
    assert!(r.text().contains("Paris"), "a real answer: {:?}", r.text());
    assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
}

pub async fn system_instructions(p: &dyn Protocol) {
    let Some(l) = live(p, "system_instructions", Model::Smollm2).await else {
        return;
    };
    let options = Options::builder()
        .system("You are a helpful assistant. Answer in French.")
        .temperature(0.0)
        .max_tokens(24)
        .build();
    let r = l
        .ask(
            p,
            &[Message::user("What is the capital of France?")],
            &options,
        )
        .await;
    let text = r.text().to_lowercase();
    // Without the instruction the answer is "The capital of France is Paris."
    assert!(
        !text.contains("the capital") && ["le ", "la ", " de "].iter().any(|w| text.contains(w)),
        "answered in French: {text:?}"
    );
}

pub async fn multi_turn(p: &dyn Protocol) {
    let Some(l) = live(p, "multi_turn", Model::Smollm2).await else {
        return;
    };
    let history = [
        Message::user("What is the capital of Italy?"),
        Message::assistant("The capital of Italy is Rome."),
        Message::user("Tell me more about that city."),
    ];
    let r = l.ask(p, &history, &helpful(24)).await;
    assert!(
        r.text().contains("Rome"),
        "remembers turn 1: {:?}",
        r.text()
    );
}

pub async fn stream_equals_non_stream(p: &dyn Protocol) {
    let Some(l) = live(p, "stream_equals_non_stream", Model::Tiny).await else {
        return;
    };
    let mut options = Options::builder().temperature(0.0).max_tokens(16);
    if p.takes_seed() {
        options = options.seed(42);
    }
    let [whole, stream] = l
        .ask_both(p, &[Message::user("Say hello")], &options.build())
        .await;
    assert!(!whole.text().is_empty());
    assert_eq!(
        stream.candidates, whole.candidates,
        "same text, calls and finish"
    );
    assert_eq!(
        stream.meta.output_tokens(),
        whole.meta.output_tokens(),
        "same output tokens"
    );
}

pub async fn stop_sequence(p: &dyn Protocol) {
    let Some(l) = live(p, "stop_sequence", Model::Smollm2).await else {
        return;
    };
    let options = Options::builder()
        .system("You are a helpful assistant.")
        .temperature(0.0)
        .max_tokens(32)
        .stop(["Paris"])
        .build();
    if gap(p.id(), Tier::Live, "stop_sequence").is_some_and(|g| g.refused) {
        let result = l
            .provider(p)
            .generate(
                &l.model,
                &[Message::user("What is the capital of France?")],
                &options,
            )
            .await;
        assert!(
            matches!(result, Err(Error::Unsupported { .. })),
            "{result:?}"
        );
        return;
    }
    for r in l
        .ask_both(
            p,
            &[Message::user("What is the capital of France?")],
            &options,
        )
        .await
    {
        let text = r.text();
        assert!(
            text.contains("capital") && !text.contains("Paris"),
            "cut before the stop: {text:?}"
        );
        assert_eq!(r.finish_reason(), Some(&FinishReason::Stop));
    }
}

pub async fn max_tokens_length(p: &dyn Protocol) {
    let Some(l) = live(p, "max_tokens_length", Model::Tiny).await else {
        return;
    };
    // Greedy, the random model answers "hi" with 36 tokens (realserver README).
    let options = Options::builder().temperature(0.0).max_tokens(8).build();
    for r in l.ask_both(p, &[Message::user("hi")], &options).await {
        assert_eq!(r.finish_reason(), Some(&FinishReason::Length));
        assert_eq!(r.meta.output_tokens(), Some(8), "exactly max_tokens");
    }
}

/// The same prompt twice (the second time the server has it cached): the same
/// `input_tokens`, since it counts the whole prompt in every protocol, the cached part
/// included (llama-server's `/v1/messages` counts the two apart, as Anthropic does).
pub async fn usage(p: &dyn Protocol) {
    let Some(l) = live(p, "usage", Model::Tiny).await else {
        return;
    };
    let options = Options::builder().temperature(0.0).max_tokens(8).build();
    let answers = l.ask_both(p, &[Message::user("hi")], &options).await;
    let [whole, stream] = answers.map(|r| r.meta.usage.expect("usage"));
    for u in [whole, stream] {
        assert!(u.input_tokens > 0 && u.output_tokens > 0, "{u:?}");
        assert_eq!(u.total_tokens, u.input_tokens + u.output_tokens, "{u:?}");
        assert!(
            u.cached_input_tokens.unwrap_or(0) <= u.input_tokens,
            "{u:?}"
        );
    }
    assert_eq!(
        whole.input_tokens, stream.input_tokens,
        "{whole:?} vs {stream:?}"
    );
}

async fn tools_round_trip_in(p: &dyn Protocol, scenario: &str, streamed_mode: bool) {
    let Some(l) = live(p, scenario, Model::Tiny).await else {
        return;
    };
    let options = Options::builder()
        .tool(weather_tool())
        .temperature(0.0)
        .max_tokens(100)
        .build();
    let question = Message::user("What is the weather in Paris?");
    let provider = l.provider(p);
    let first = if streamed_mode {
        streamed(
            provider.as_ref(),
            &l.model,
            std::slice::from_ref(&question),
            &options,
        )
        .await
        .0
    } else {
        l.ask(p, std::slice::from_ref(&question), &options).await
    };
    // The random model's wired-in circuit calls a tool whenever tools are offered.
    assert_eq!(
        first.finish_reason(),
        Some(&FinishReason::ToolCalls),
        "{first:?}"
    );
    let call = (*first.tool_calls().first().expect("a tool call")).clone();
    assert_eq!(call.name, "get_weather");
    assert!(call.arguments.is_object(), "arguments as JSON: {call:?}");
    let history = [
        question,
        first.message().expect("a message").clone(),
        Message::tool_result(&call.id, "18 degrees"),
    ];
    let back = Options::builder()
        .tool(weather_tool())
        .temperature(0.0)
        .max_tokens(16)
        .build();
    let answer = if streamed_mode {
        streamed(provider.as_ref(), &l.model, &history, &back)
            .await
            .0
    } else {
        l.ask(p, &history, &back).await
    };
    assert!(
        answer.finish_reason().is_some(),
        "the server took the result: {answer:?}"
    );
}

pub async fn tools_round_trip(p: &dyn Protocol) {
    tools_round_trip_in(p, "tools_round_trip", false).await;
}

pub async fn tools_round_trip_streamed(p: &dyn Protocol) {
    tools_round_trip_in(p, "tools_round_trip_streamed", true).await;
}

pub async fn structured_output(p: &dyn Protocol) {
    let Some(l) = live(p, "structured_output", Model::Smollm2).await else {
        return;
    };
    let result = l
        .provider(p)
        .generate_json::<City>(
            &l.model,
            &[Message::user(
                "Give the name and population of Paris as JSON.",
            )],
            &helpful(100),
        )
        .await;
    if gap(p.id(), Tier::Live, "structured_output").is_some_and(|g| g.refused) {
        assert!(
            matches!(result, Err(Error::Unsupported { .. })),
            "{result:?}"
        );
        return;
    }
    let city = result.expect("JSON of the schema (the server enforces it with a grammar)");
    assert!(city.name.contains("Paris"), "{city:?}");
}

pub async fn images(p: &dyn Protocol) {
    let Some(l) = live(p, "images", Model::Tiny).await else {
        return;
    };
    let message =
        Message::user("What is in this picture?").add_binary("pixel.png", PNG, "image/png");
    let err = l
        .provider(p)
        .generate(
            &l.model,
            &[message],
            &Options::builder().max_tokens(8).build(),
        )
        .await
        .expect_err("no vision here");
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(
        err.to_string().contains("image input is not supported"),
        "{err}"
    );
}

pub async fn unauthorized(p: &dyn Protocol) {
    let Some(l) = live(p, "unauthorized", Model::Tiny).await else {
        return;
    };
    if l.key.is_none() {
        skip(
            &format!("live unauthorized over {:?}", p.id()),
            "the server takes no key (set LLMPORT_LIVE_API_KEY and start it with one)",
        );
        return;
    }
    let wrong = p.provider(&l.root, Some("sk-wrong"), RetryConfig::none());
    let err = wrong
        .generate(
            &l.model,
            &[Message::user("hi")],
            &Options::builder().max_tokens(4).build(),
        )
        .await
        .expect_err("a wrong key is refused");
    assert!(
        matches!(
            err,
            Error::Auth {
                status: Some(401),
                ..
            }
        ),
        "an authentication error: {err:?}"
    );
    let stream = wrong
        .generate_stream(&l.model, &[Message::user("hi")], &Options::default())
        .await;
    assert!(matches!(stream, Err(Error::Auth { .. })), "streamed too");
}
