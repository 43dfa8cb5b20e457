//! The prompt: a conversation rendered by the model's own chat template.
//!
//! The template is the GGUF's `tokenizer.chat_template` (Jinja), rendered with `minijinja`
//! (and its Python-compatible string methods): llama.cpp's `llama_chat_apply_template`, the
//! one template API `llama-cpp-2` exposes, only recognises a fixed list of built-in
//! templates and cannot pass tools, so a model whose template renders tools (Qwen, Llama 3.1,
//! Mistral, Hermes) would lose them. A template that does not mention `tools` gets them as a
//! system instruction in the Hermes format instead, which [`super::tool_calls`] reads back.

use minijinja::{Environment, Error as JinjaError, ErrorKind, Value as JinjaValue};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::message::{Message, Part, Role};
use crate::options::{Options, Tool};

use super::PROVIDER;
use super::tool_calls::CallFormat;

/// ChatML, for a GGUF that carries no template (what llama.cpp falls back to as well).
const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// A compiled chat template and the special tokens it may print.
#[derive(Debug)]
pub(crate) struct ChatTemplate {
    env: Environment<'static>,
    knows_tools: bool,
    knows_tool_calls: bool,
    call_format: CallFormat,
    bos: String,
    eos: String,
}

#[derive(Serialize)]
struct WireMessage {
    role: &'static str,
    content: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl ChatTemplate {
    /// Compiles `source` (the GGUF's template, or `None` for ChatML).
    pub(crate) fn new(source: Option<String>, bos: String, eos: String) -> Result<Self> {
        let source = source.unwrap_or_else(|| CHATML.to_owned());
        let knows_tools = source.contains("tools");
        let knows_tool_calls = source.contains("tool_calls");
        let call_format = CallFormat::of_template(&source, knows_tools);
        let mut env = Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<JinjaValue, JinjaError> {
                Err(JinjaError::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_function("strftime_now", |format: String| -> String {
            // Templates ask for today's date for the system prompt; the day is enough.
            let now = time::OffsetDateTime::now_utc();
            format
                .replace("%d", &format!("{:02}", now.day()))
                .replace("%b", &month_abbrev(now.month()))
                .replace("%B", &now.month().to_string())
                .replace("%Y", &now.year().to_string())
        });
        env.add_template_owned("chat", source).map_err(|e| {
            Error::config_for(
                "model",
                format!(
                    "the model's chat template (tokenizer.chat_template) does not compile: {e}"
                ),
            )
        })?;
        Ok(ChatTemplate {
            env,
            knows_tools,
            knows_tool_calls,
            call_format,
            bos,
            eos,
        })
    }

    /// How the model writes a tool call, as its template (or the engine's system-prompt
    /// description of the tools) teaches it.
    pub(crate) fn call_format(&self) -> CallFormat {
        self.call_format
    }

    /// Renders the conversation, ending with the assistant's turn opened.
    pub(crate) fn render(
        &self,
        messages: &[Message],
        options: &Options,
        default_system: Option<&str>,
    ) -> Result<String> {
        let use_tools = !options.tools.is_empty()
            && !matches!(options.tool_choice, Some(crate::options::ToolChoice::None));
        let mut wire = Vec::with_capacity(messages.len() + 1);
        let has_system =
            options.system.is_some() || messages.iter().any(|m| m.role == Role::System);
        let mut system = options.system.clone().or_else(|| {
            (!has_system)
                .then(|| default_system.map(str::to_owned))
                .flatten()
        });
        if use_tools && !self.knows_tools {
            let instruction = tools_instruction(&options.tools);
            system = Some(match system {
                Some(s) => format!("{s}\n\n{instruction}"),
                None => instruction,
            });
        }
        if let Some(content) = system {
            wire.push(WireMessage {
                role: "system",
                content,
                tool_calls: Vec::new(),
                tool_call_id: None,
                name: None,
            });
        }
        for m in messages {
            wire.push(self.encode(m)?);
        }
        if wire.is_empty() {
            return Err(Error::config(
                "no messages to send: a chat needs at least one message",
            ));
        }
        let tools: Option<Vec<Value>> = (use_tools && self.knows_tools).then(|| {
            options
                .tools
                .iter()
                .map(|Tool::Function(f)| {
                    json!({"type": "function", "function": {
                        "name": f.name, "description": f.description, "parameters": f.parameters}})
                })
                .collect()
        });
        let template = self.env.get_template("chat").map_err(|e| {
            Error::config_for(
                "model",
                format!("the model's chat template is missing: {e}"),
            )
        })?;
        template
            .render(minijinja::context! {
                messages => wire,
                tools => tools,
                add_generation_prompt => true,
                bos_token => self.bos,
                eos_token => self.eos,
            })
            .map_err(|e| {
                Error::unsupported(
                    PROVIDER,
                    "this conversation",
                    format!("the model's chat template refused it: {e}"),
                )
            })
    }

    fn encode(&self, m: &Message) -> Result<WireMessage> {
        let mut content = String::new();
        let mut tool_calls = Vec::new();
        let mut tool_call_id = None;
        let mut name = None;
        for part in &m.parts {
            match part {
                Part::Text { text } => content.push_str(text),
                Part::Reasoning { .. } => {}
                Part::ToolCall(call) => {
                    if self.knows_tool_calls {
                        tool_calls.push(json!({"id": call.id, "type": "function", "function": {
                            "name": call.name, "arguments": call.arguments}}));
                    } else {
                        content.push_str(&format!(
                            "<tool_call>\n{}\n</tool_call>",
                            json!({"name": call.name, "arguments": call.arguments})
                        ));
                    }
                }
                Part::ToolResult(result) => {
                    content.push_str(&result.content);
                    tool_call_id = Some(result.call_id.clone());
                    name.clone_from(&result.name);
                }
                other => {
                    return Err(Error::unsupported(
                        PROVIDER,
                        format!("a {} part", other.kind()),
                        "the local engine reads images (an image/… binary part, or a file:// \
                         or data: URI of one, for a model with a vision projector) and nothing \
                         else that is not text: send other files through OllamaProvider, or \
                         put their text in the message",
                    ));
                }
            }
        }
        let role = match m.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        };
        Ok(WireMessage {
            role,
            content,
            tool_calls,
            tool_call_id,
            name,
        })
    }
}

/// Tools as a system instruction, for a template that has no place for them.
fn tools_instruction(tools: &[Tool]) -> String {
    let mut list = String::new();
    for Tool::Function(f) in tools {
        list.push_str(
            &json!({"type": "function", "function": {
                "name": f.name, "description": f.description, "parameters": f.parameters}})
            .to_string(),
        );
        list.push('\n');
    }
    format!(
        "You may call one or more functions to answer. The functions, as JSON Schema:\n<tools>\n\
         {list}</tools>\nTo call a function, answer with a JSON object of its name and arguments \
         inside <tool_call></tool_call> tags, like:\n<tool_call>\n{{\"name\": \"function name\", \
         \"arguments\": {{\"argument\": \"value\"}}}}\n</tool_call>"
    )
}

fn month_abbrev(m: time::Month) -> String {
    m.to_string().chars().take(3).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOL: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn renders_smollm2s_template_with_a_system_prompt() {
        let t = ChatTemplate::new(Some(SMOL.into()), String::new(), String::new()).unwrap();
        let options = Options::builder().system("Be brief.").build();
        let p = t.render(&[Message::user("Hi")], &options, None).unwrap();
        assert_eq!(
            p,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let p = t
            .render(&[Message::user("Hi")], &Options::default(), None)
            .unwrap();
        assert!(p.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"));
    }

    #[test]
    fn tools_go_to_the_template_or_to_the_system_prompt() {
        let tool = Tool::function("weather", "Weather of a city", json!({"type": "object"}));
        let options = Options::builder().tool(tool).build();
        let t = ChatTemplate::new(Some(SMOL.into()), String::new(), String::new()).unwrap();
        let p = t
            .render(&[Message::user("Paris?")], &options, None)
            .unwrap();
        assert!(p.contains("<tools>") && p.contains("\"weather\""), "{p}");
        let qwen_like = "{% if tools %}TOOLS:{{ tools | tojson }}{% endif %}{% for m in messages %}[{{ m.role }}]{{ m.content.strip() }}{% endfor %}";
        let t = ChatTemplate::new(Some(qwen_like.into()), String::new(), String::new()).unwrap();
        let p = t
            .render(&[Message::user(" Paris? ")], &options, None)
            .unwrap();
        assert!(
            p.starts_with("TOOLS:[{") && p.ends_with("[user]Paris?"),
            "{p}"
        );
    }

    #[test]
    fn parts_that_are_not_text_are_refused_and_raise_exception_is_an_error() {
        // Images never get here (`vision::with_markers` puts the projector's marker in their
        // place); anything else that is not text is refused.
        let t = ChatTemplate::new(None, String::new(), String::new()).unwrap();
        let m = Message::user("look").add_file("file:///x.pdf", "application/pdf");
        assert!(matches!(
            t.render(&[m], &Options::default(), None),
            Err(Error::Unsupported { .. })
        ));
        let t = ChatTemplate::new(
            Some("{{ raise_exception('no system role') }}".into()),
            String::new(),
            String::new(),
        )
        .unwrap();
        let e = t
            .render(&[Message::user("x")], &Options::default(), None)
            .unwrap_err();
        assert!(e.to_string().contains("no system role"), "{e}");
    }
}
