//! [`Text`]: a JSON string borrowed from the input unless it contains escapes, for the
//! providers' chunk decoders (`/v1`'s SSE chunks, Ollama's native NDJSON lines).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

/// A JSON string, borrowed from the input unless it contains escapes.
///
/// Not `Option<Cow<'a, str>>`: serde's `#[serde(borrow)]` special-cases only a bare
/// `Cow<str>` field; inside `Option` it falls back to `Cow`'s generic impl, which always
/// copies: one heap allocation per string per chunk (`id`, `model`, `delta.content`). With the
/// harness's client and a counting allocator, allocations per streamed chunk went from 7.0 to
/// 3.0 (these 3 strings and the `choices` `Vec`, see `openai::wire::parse_chunk`); the 3 left are the
/// caller's `GenResponse`. The idea comes from the harness's `client-limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl Text<'_> {
    /// The string, owned (a copy only if it is borrowed).
    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Text<'_>> for String {
    fn from(t: Text<'_>) -> String {
        t.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }

        d.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}
