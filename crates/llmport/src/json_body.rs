//! Request bodies as JSON bytes, with the caller's extra keys merged in — one implementation
//! for every endpoint of every provider.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// `value` as JSON bytes.
pub(crate) fn encode_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    // serde_json::to_vec starts at 128 bytes; a typical request is larger, so start where
    // most end instead of growing twice.
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, value).map_err(encode_error)?;
    Ok(out)
}

/// `value` as JSON bytes with `extra` keys merged in at the top level: they override typed
/// fields of the same name.
pub(crate) fn encode_with_extra<T: Serialize>(
    value: &T,
    extra: &Map<String, Value>,
) -> Result<Vec<u8>> {
    if extra.is_empty() {
        return encode_json(value);
    }
    // Through the encoded text, not `serde_json::to_value`: `to_value` widens an `f32` to
    // `f64` exactly, so a temperature of 0.05 would go out as 0.05000000074505806. The text
    // holds the shortest form of the f32 ("0.05"), which parses back to the same f64.
    let mut merged: Value = serde_json::from_slice(&encode_json(value)?).map_err(encode_error)?;
    if let Value::Object(map) = &mut merged {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    encode_json(&merged)
}

fn encode_error(e: serde_json::Error) -> Error {
    Error::Config {
        setting: None,
        message: "the request could not be encoded as JSON".into(),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Req {
        temperature: f32,
    }

    #[test]
    fn f32_values_keep_their_shortest_form_with_and_without_extra() {
        let mut extra = Map::new();
        assert_eq!(
            encode_with_extra(&Req { temperature: 0.05 }, &extra).unwrap(),
            br#"{"temperature":0.05}"#
        );
        extra.insert("k".into(), Value::from(1));
        assert_eq!(
            encode_with_extra(&Req { temperature: 0.05 }, &extra).unwrap(),
            br#"{"temperature":0.05,"k":1}"#
        );
    }
}
