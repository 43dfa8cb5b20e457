//! What Ollama's OpenAI-compatible `/v1` API cannot do, refused before anything is sent.
//!
//! Two kinds of things are refused:
//!
//! - **Options Ollama silently ignores.** Its `/v1/chat/completions` binds the request with
//!   Go's `encoding/json`, which drops unknown fields without a word, and the handler never
//!   reads some known ones. A caller who sets `n: 3` would get one answer and no hint why.
//!   Every such option is listed in [`IGNORED_ON_V1`], whether it comes from a typed
//!   [`Options`] field or from [`Options::extra`]. The refusal becomes a warning (and the
//!   option is dropped) when the provider is built with
//!   [`OllamaProviderBuilder::lenient`](super::OllamaProviderBuilder::lenient).
//! - **Images Ollama cannot take**: http(s) URLs and MIME types other than PNG, JPEG and
//!   WebP. Ollama answers those with a 400; refusing them first gives a message that says
//!   what to do instead. Lenient mode does not change this (nothing could be dropped
//!   silently: the image is the question).
//!
//! The facts cited come from `../shared/research/ollama-wire.md` (Ollama at commit
//! `fb30760996871fa9460115c753afd2c60d4ab0f7`, v0.33.0-rc2).

use std::borrow::Cow;

use serde_json::{Value, json};

use super::options::OllamaOptions;
use crate::error::{Error, Result};
use crate::media::normalize_mime;
use crate::message::{Message, Part};
use crate::options::Options;
use crate::tool_schema::encode_tool_choice;

/// A `/v1/chat/completions` request key that Ollama accepts and ignores.
#[derive(Debug)]
pub(crate) struct IgnoredOption {
    /// The key in the request body.
    pub key: &'static str,
    /// The typed [`Options`] field that sets it, if there is one.
    pub field: Option<&'static str>,
    /// Values with which ignoring the option changes nothing (the server's behaviour is
    /// what the value asks for). `null` is always harmless.
    pub harmless: fn(&Value) -> bool,
    /// The wire fact: what Ollama does with it, and where that is established.
    pub fact: &'static str,
    /// What to do instead.
    pub instead: &'static str,
}

fn never(_: &Value) -> bool {
    false
}

/// Every option Ollama's `/v1/chat/completions` ignores: ollama-wire.md §2 "Ignored
/// (silently)" — no code under `openai/` or `middleware/` of Ollama reads these keys
/// (`ChatCompletionRequest` in `openai/openai.go` @ fb30760 has no field for most of them;
/// the others are decoded and never used).
pub(crate) const IGNORED_ON_V1: &[IgnoredOption] = &[
    IgnoredOption {
        key: "n",
        field: Some("candidate_count"),
        harmless: |v| v.as_u64() == Some(1),
        fact: "Ollama always returns exactly one choice (`n` is not a field of its \
               ChatCompletionRequest, openai/openai.go)",
        instead: "make one request per answer you need",
    },
    IgnoredOption {
        key: "tool_choice",
        field: Some("tool_choice"),
        harmless: |v| v == "auto",
        fact: "Ollama never reads `tool_choice` (openai/openai.go FromChatRequest): the model \
               always decides by itself whether to call a tool",
        instead: "leave it unset (the model decides), or send no tools to prevent tool calls",
    },
    IgnoredOption {
        key: "parallel_tool_calls",
        field: None,
        harmless: |v| v == &Value::Bool(true),
        fact: "Ollama never reads `parallel_tool_calls`: a model may always return several \
               calls at once",
        instead: "leave it out, and run only the first call if you want one at a time",
    },
    IgnoredOption {
        key: "logit_bias",
        field: None,
        harmless: |v| v.as_object().is_some_and(|m| m.is_empty()),
        fact: "Ollama has no logit bias: `logit_bias` is dropped when the request is decoded",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "max_completion_tokens",
        field: None,
        harmless: never,
        fact: "Ollama only maps `max_tokens` to `num_predict`; `max_completion_tokens` is \
               dropped, so the answer would not be limited",
        instead: "set Options::max_tokens instead",
    },
    IgnoredOption {
        key: "user",
        field: None,
        harmless: never,
        fact: "Ollama drops `user` when the request is decoded",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "service_tier",
        field: None,
        harmless: |v| v == "auto" || v == "default",
        fact: "Ollama has no service tiers: `service_tier` is dropped",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "store",
        field: None,
        harmless: |v| v == &Value::Bool(false),
        fact: "Ollama stores nothing: `store` is dropped",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "metadata",
        field: None,
        harmless: |v| v.as_object().is_some_and(|m| m.is_empty()),
        fact: "Ollama stores nothing, so `metadata` is dropped",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "modalities",
        field: None,
        harmless: |v| v == &json!(["text"]),
        fact: "Ollama's chat answers are text only: `modalities` is dropped",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "audio",
        field: None,
        harmless: never,
        fact: "Ollama's chat answers are text only: `audio` is dropped",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "prediction",
        field: None,
        harmless: never,
        fact: "Ollama has no predicted outputs: `prediction` is dropped",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "web_search_options",
        field: None,
        harmless: never,
        fact: "Ollama's /v1 chat does not search the web: `web_search_options` is dropped",
        instead: "leave it out",
    },
    IgnoredOption {
        key: "options",
        field: None,
        harmless: never,
        fact: "Ollama's /v1 API does not read the native `options` map",
        instead: "set an OllamaOptions extension (Options::builder().extension(…)), which the \
                  native chat API honours",
    },
    IgnoredOption {
        key: "num_ctx",
        field: None,
        harmless: never,
        fact: "Ollama's /v1 API does not read `num_ctx`; the context size cannot be set per \
               request there",
        instead: "set OllamaOptions::num_ctx (native chat API), or OLLAMA_CONTEXT_LENGTH on \
                  the server",
    },
    IgnoredOption {
        key: "keep_alive",
        field: None,
        harmless: never,
        fact: "Ollama's /v1 API does not read `keep_alive`",
        instead: "set OllamaOptions::keep_alive (native chat API), or OLLAMA_KEEP_ALIVE on \
                  the server",
    },
    IgnoredOption {
        key: "think",
        field: None,
        harmless: never,
        fact: "Ollama's /v1 API does not read `think`; it reads `reasoning_effort`",
        instead: "set Options::reasoning_effort",
    },
    IgnoredOption {
        key: "format",
        field: None,
        harmless: never,
        fact: "Ollama's /v1 API does not read `format`; it reads `response_format`",
        instead: "set Options::response_format",
    },
    IgnoredOption {
        key: "truncate",
        field: None,
        harmless: never,
        fact: "Ollama's /v1 API does not read `truncate`",
        instead: "leave it out (Ollama truncates by default), or use the native API",
    },
];

/// Checks `options` against [`IGNORED_ON_V1`]. Strict: the first ignored option is an
/// [`Error::Unsupported`] naming it. Lenient: every ignored option is dropped with a
/// warning, and the options without them are returned.
pub(crate) fn check_v1_options(options: &Options, lenient: bool) -> Result<Cow<'_, Options>> {
    let mut kept = Cow::Borrowed(options);
    // Provider-specific settings: /v1 reads none of them. Unset OllamaOptions are harmless.
    for name in options.extensions.type_names() {
        let unset = options
            .extension::<OllamaOptions>()
            .is_some_and(|o| !o.is_set() && name == std::any::type_name::<OllamaOptions>());
        if !unset {
            let option = format!("{name} (an Options extension)");
            let reason = "Ollama's /v1 API reads none of these settings; build the provider \
                          with `.chat_api(OllamaChatApi::Native)` (or the default `Auto`) to use \
                          the native /api/chat, which honours OllamaOptions";
            if !lenient {
                return Err(Error::unsupported(
                    "ollama",
                    option,
                    format!(
                        "{reason}. (To drop such options with a warning instead, build the \
                         provider with `.lenient(true)`.)"
                    ),
                ));
            }
            tracing::warn!(option = %option, "dropped: {reason}");
        }
    }
    if !options.extensions.is_empty() {
        kept.to_mut().extensions = Default::default();
    }
    for entry in IGNORED_ON_V1 {
        // Extra keys override typed fields on the wire, so check what would be sent.
        let (value, from_extra) = match options.extra.get(entry.key) {
            Some(v) => (Some(Cow::Borrowed(v)), true),
            None => (typed_value(options, entry.key).map(Cow::Owned), false),
        };
        let Some(value) = value else { continue };
        if value.is_null() || (entry.harmless)(&value) {
            continue;
        }
        let name = match (from_extra, entry.field) {
            (false, Some(field)) => format!("Options::{field} (`{}`)", entry.key),
            _ => format!("`{}` (in Options::extra)", entry.key),
        };
        if !lenient {
            return Err(Error::unsupported(
                "ollama",
                name,
                format!(
                    "{}; {}. (To drop such options with a warning instead, build the provider \
                     with `.lenient(true)`.)",
                    entry.fact, entry.instead
                ),
            ));
        }
        tracing::warn!(
            option = %name,
            "dropped: Ollama's /v1 API ignores it ({}); {}",
            entry.fact,
            entry.instead
        );
        let o = kept.to_mut();
        o.extra.remove(entry.key);
        match entry.key {
            "n" => o.candidate_count = None,
            "tool_choice" => o.tool_choice = None,
            _ => {}
        }
    }
    Ok(kept)
}

/// The wire value of a typed option that has an entry in [`IGNORED_ON_V1`].
fn typed_value(options: &Options, key: &str) -> Option<Value> {
    match key {
        "n" => options.candidate_count.map(Value::from),
        "tool_choice" => options.tool_choice.as_ref().map(encode_tool_choice),
        _ => None,
    }
}

/// The image types Ollama decodes: `decodeImageURL` in `openai/openai.go` @ fb30760 accepts
/// exactly the data-URI prefixes `data:image/jpeg;base64,`, `data:image/jpg;base64,`,
/// `data:image/png;base64,` and `data:image/webp;base64,` (plus a blank type); anything else
/// is a 400 `invalid image input` (ollama-wire.md §5).
pub(crate) const OLLAMA_IMAGE_TYPES: [&str; 4] =
    ["image/png", "image/jpeg", "image/jpg", "image/webp"];

/// Refuses images Ollama cannot take: http(s) URLs (Ollama answers 400 `image URLs are not
/// currently supported, please use base64 encoded data instead`, ollama-wire.md §5) and
/// types outside [`OLLAMA_IMAGE_TYPES`].
pub(crate) fn check_images(messages: &[Message]) -> Result<()> {
    for part in messages.iter().flat_map(|m| &m.parts) {
        match part {
            Part::File { uri, mime_type } => {
                let scheme = uri.split(':').next().unwrap_or("").to_ascii_lowercase();
                if scheme == "http" || scheme == "https" {
                    return Err(Error::unsupported(
                        "ollama",
                        format!("the image URL {uri}"),
                        "Ollama takes images only as inline base64 data and answers HTTP 400 \
                         to image URLs: download the image and add it with \
                         Message::add_binary, or refer to a local copy with a file:// URI",
                    ));
                }
                if let Some(rest) = uri.strip_prefix("data:") {
                    let Some((mime, _)) = rest.split_once(";base64,") else {
                        return Err(Error::unsupported(
                            "ollama",
                            "a data: URI without base64 encoding",
                            "Ollama takes images only as `data:<type>;base64,<data>`",
                        ));
                    };
                    check_image_type(mime, mime)?;
                } else if uri.starts_with("file:") {
                    // The bytes decide what is sent, not the declared type.
                    let mime = crate::media::sniff_file_uri(uri, mime_type)?;
                    check_image_type(mime, mime)?;
                } else {
                    check_image_type(mime_type, &normalize_mime(mime_type))?;
                }
            }
            Part::Binary { mime_type, .. } => {
                let mime = normalize_mime(mime_type);
                if mime.starts_with("image/") {
                    check_image_type(mime_type, &mime)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `mime` is the type as it will be sent; `given` as the caller wrote it.
pub(crate) fn check_image_type(given: &str, mime: &str) -> Result<()> {
    if mime.is_empty() || OLLAMA_IMAGE_TYPES.contains(&mime) {
        return Ok(());
    }
    Err(Error::unsupported(
        "ollama",
        format!("an image of type {given}"),
        "Ollama decodes only PNG, JPEG and WebP images (it answers HTTP 400 `invalid image \
         input` to others): convert the image to PNG or JPEG first",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ToolChoice;

    #[test]
    fn every_entry_has_a_fact_and_a_remedy_and_keys_are_unique() {
        let mut keys: Vec<_> = IGNORED_ON_V1.iter().map(|e| e.key).collect();
        for e in IGNORED_ON_V1 {
            assert!(!e.fact.is_empty() && !e.instead.is_empty(), "{}", e.key);
        }
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
        // `logprobs` and `top_logprobs` are honoured since Ollama v0.12.11.
        assert!(!keys.contains(&"logprobs") && !keys.contains(&"top_logprobs"));
    }

    #[test]
    fn harmless_values_pass_and_others_are_refused() {
        let ok = Options::builder()
            .candidate_count(1)
            .tool_choice(ToolChoice::Auto)
            .extra("parallel_tool_calls", true)
            .extra("store", false)
            .extra("user", Value::Null)
            .extra("logprobs", true)
            .extra("top_logprobs", 3)
            .build();
        assert!(matches!(check_v1_options(&ok, false), Ok(Cow::Borrowed(_))));

        let e =
            check_v1_options(&Options::builder().candidate_count(2).build(), false).unwrap_err();
        let Error::Unsupported { option, reason, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(option, "Options::candidate_count (`n`)");
        assert!(
            reason.contains("one choice") && reason.contains("lenient"),
            "{reason}"
        );

        let e = check_v1_options(&Options::builder().extra("n", 3).build(), false).unwrap_err();
        assert!(e.to_string().starts_with("`n` (in Options::extra)"), "{e}");
    }

    #[test]
    fn lenient_mode_drops_typed_and_extra_options() {
        let o = Options::builder()
            .candidate_count(3)
            .tool_choice(ToolChoice::Required)
            .extra("max_completion_tokens", 5)
            .extra("logprobs", true)
            .build();
        let kept = check_v1_options(&o, true).unwrap().into_owned();
        assert_eq!(kept.candidate_count, None);
        assert_eq!(kept.tool_choice, None);
        assert!(!kept.extra.contains_key("max_completion_tokens"));
        assert_eq!(kept.extra["logprobs"], true);
    }
}
