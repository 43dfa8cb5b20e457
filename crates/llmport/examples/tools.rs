//! A multi-turn tool round trip: ask, receive a tool call, run a Rust function, send its
//! result back, get the final answer.
//!
//! ```sh
//! ollama pull llama3.2
//! cargo run -p llmport --example tools -- "What is the weather in Tokyo?"
//! ```
//!
//! `OLLAMA_HOST` picks the server, `LLMPORT_MODEL` the model (a tool-capable one; default
//! `llama3.2`). The test suite runs [`ask_with_tools`] against the in-process wire server
//! (`tests/tools.rs`).

use llmport::{Message, OllamaProvider, Options, Provider, Tool, ToolCall};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The arguments of `get_weather`: the model sees their JSON Schema, derived from this type.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WeatherArgs {
    /// City name
    pub city: String,
}

/// What `get_weather` returns; sent back to the model as JSON.
#[derive(Debug, Serialize)]
pub struct Weather {
    /// Temperature in °C.
    pub temp_c: i32,
    /// The state of the sky.
    pub sky: &'static str,
}

/// The Rust function the model may call. (A real program would ask a weather service.)
pub fn get_weather(args: &WeatherArgs) -> Weather {
    match args.city.to_lowercase().as_str() {
        "tokyo" => Weather {
            temp_c: 18,
            sky: "clear",
        },
        "paris" => Weather {
            temp_c: 11,
            sky: "rain",
        },
        _ => Weather {
            temp_c: 20,
            sky: "unknown",
        },
    }
}

/// The tools offered to the model.
pub fn tools() -> Vec<Tool> {
    vec![Tool::for_type::<WeatherArgs>(
        "get_weather",
        "Get current weather for a city",
    )]
}

/// Runs one tool call and returns the text to send back. A call the program cannot run
/// (unknown tool, arguments of the wrong shape) is answered with an error text, so that the
/// model can correct itself.
pub fn run_tool(call: &ToolCall) -> String {
    match call.name.as_str() {
        "get_weather" => match call.parse_arguments::<WeatherArgs>() {
            Ok(args) => {
                serde_json::to_string(&get_weather(&args)).unwrap_or_else(|e| format!("error: {e}"))
            }
            Err(e) => format!("error: {e}"),
        },
        other => format!("error: there is no tool named {other:?}"),
    }
}

/// The most model turns one question may take.
pub const MAX_TURNS: usize = 5;

/// Asks `question` and runs the tool calls the model makes until it answers in text.
/// Returns the answer and the whole conversation (question, tool calls, results, answer).
pub async fn ask_with_tools(
    provider: &dyn Provider,
    model: &str,
    question: &str,
) -> Result<(String, Vec<Message>), llmport::Error> {
    let options = Options::builder().tools(tools()).build();
    let mut history = vec![Message::user(question)];
    for _ in 0..MAX_TURNS {
        let answer = provider.generate(model, &history, &options).await?;
        let message = answer
            .message()
            .ok_or_else(|| llmport::Error::decode("the server returned no answer"))?;
        // The assistant turn goes into the history as it is: its tool calls are replayed.
        history.push(message.clone());
        let calls: Vec<&ToolCall> = message.tool_calls().collect();
        if calls.is_empty() {
            return Ok((answer.text(), history));
        }
        for call in calls {
            history.push(Message::tool_result(&call.id, run_tool(call)));
        }
    }
    Err(llmport::Error::stream(format!(
        "no answer after {MAX_TURNS} turns of tool calls"
    )))
}

async fn run() -> Result<(), llmport::Error> {
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "What is the weather in Tokyo?".into());
    let ollama = OllamaProvider::from_env()?;
    let model = std::env::var("LLMPORT_MODEL").unwrap_or_else(|_| "llama3.2".into());
    let (answer, history) = ask_with_tools(&ollama, &model, &question).await?;
    for m in &history {
        for call in m.tool_calls() {
            eprintln!("called {}({})", call.name, call.arguments_json());
        }
    }
    println!("{answer}");
    Ok(())
}

/// Runs the example. On failure Rust prints the [`llmport::Report`]: the error's message (what
/// failed and what to do), then its causes, and the exit status is 1.
#[tokio::main]
async fn main() -> Result<(), llmport::Report> {
    Ok(run().await?)
}
