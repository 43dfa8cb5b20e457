//! A turn's signed and redacted thinking, carried through [`Part::Reasoning`]'s `signature`.
//!
//! The Messages API answers with `thinking` blocks (text + `signature`) and, when the
//! reasoning was flagged, `redacted_thinking` blocks (an opaque `data` string, no text). All
//! must go back unmodified, in their order, in the assistant turn of later requests (with
//! tool use, the API rejects the conversation otherwise). Each block is a reasoning part of
//! its own (a signature closes its part, see `Candidate::absorb`), so:
//!
//! - a `thinking` block keeps its text and its bare signature;
//! - a `redacted_thinking` block keeps no text and this small JSON object in the signature:
//!   `{"anthropic_thinking":[{"redacted_thinking":"…"}]}`.
//!
//! The request builder sends each part back as the block it came from. It also reads a list
//! of several blocks in one signature (`[{"signature":"…"},{"redacted_thinking":"…"}]`, the
//! text with the signed one): the form earlier versions kept a whole turn in, so histories
//! saved by them still replay.
//!
//! Anthropic's own signatures are base64 and never start with `{`; the Responses provider's
//! items (`responses/reasoning.rs`) have other fields and are refused by
//! `deny_unknown_fields`, as this type refuses theirs.
//!
//! [`Part::Reasoning`]: crate::Part::Reasoning

use serde::{Deserialize, Serialize};

use crate::message::Part;

/// One reasoning block of a turn, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Kept {
    /// A `thinking` block's signature.
    Signature(String),
    /// A `redacted_thinking` block's `data`.
    RedactedThinking(String),
}

/// A turn's reasoning blocks, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ThinkingBlocks {
    #[serde(rename = "anthropic_thinking")]
    pub blocks: Vec<Kept>,
}

impl ThinkingBlocks {
    /// The reasoning part of a `redacted_thinking` block.
    pub(crate) fn redacted_part(data: String) -> Part {
        let blocks = ThinkingBlocks {
            blocks: vec![Kept::RedactedThinking(data)],
        };
        Part::Reasoning {
            text: String::new(),
            // A list of one string cannot fail to encode.
            signature: Some(serde_json::to_string(&blocks).unwrap_or_default()),
        }
    }

    /// The blocks a signature stands for: one of ours, or a bare Anthropic signature.
    pub(crate) fn from_signature(signature: &str) -> ThinkingBlocks {
        if signature.starts_with('{')
            && let Ok(blocks) = serde_json::from_str::<ThinkingBlocks>(signature)
        {
            return blocks;
        }
        ThinkingBlocks {
            blocks: vec![Kept::Signature(signature.to_owned())],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redacted_block_and_a_saved_list_of_blocks_round_trip() {
        let Part::Reasoning { text, signature } =
            ThinkingBlocks::redacted_part("EmwKAhgBEgy3va3pzix".into())
        else {
            panic!("a reasoning part");
        };
        assert_eq!(text, "");
        let sig = signature.expect("a signature");
        assert_eq!(
            sig,
            r#"{"anthropic_thinking":[{"redacted_thinking":"EmwKAhgBEgy3va3pzix"}]}"#
        );
        assert_eq!(
            ThinkingBlocks::from_signature(&sig).blocks,
            [Kept::RedactedThinking("EmwKAhgBEgy3va3pzix".into())]
        );
        // The several-block form earlier versions saved.
        assert_eq!(
            ThinkingBlocks::from_signature(
                r#"{"anthropic_thinking":[{"signature":"EqQBCgIYAhIM"},{"redacted_thinking":"Emw"}]}"#
            )
            .blocks,
            [
                Kept::Signature("EqQBCgIYAhIM".into()),
                Kept::RedactedThinking("Emw".into())
            ]
        );
        assert_eq!(
            ThinkingBlocks::from_signature("EqQBCgIYAhIM").blocks,
            [Kept::Signature("EqQBCgIYAhIM".into())]
        );
        // A Responses reasoning item is not ours: sent as a (foreign, bare) signature.
        assert_eq!(
            ThinkingBlocks::from_signature(r#"{"id":"rs_1"}"#).blocks,
            [Kept::Signature(r#"{"id":"rs_1"}"#.into())]
        );
    }
}
