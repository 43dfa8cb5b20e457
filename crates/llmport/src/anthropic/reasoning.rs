//! A turn's signed and redacted thinking, carried through [`Part::Reasoning`]'s `signature`.
//!
//! The Messages API answers with `thinking` blocks (text + `signature`) and, when the
//! reasoning was flagged, `redacted_thinking` blocks (an opaque `data` string, no text). Both
//! must go back unmodified in the assistant turn of later requests (with tool use, the API
//! rejects the conversation otherwise). A candidate holds one [`Part::Reasoning`] (its text
//! is every thinking block's text; the last signature wins, see `Candidate::absorb`), so:
//!
//! - a turn with signed thinking only keeps the bare signature, as before;
//! - a turn with a `redacted_thinking` block keeps this small JSON object in the signature
//!   (set once, at the end of the answer), the turn's reasoning blocks in their order —
//!   `{"anthropic_thinking":[{"signature":"…"},{"redacted_thinking":"…"}]}` — and the
//!   request builder sends them back as they came (the text with the signed block).
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
    /// Adds a block.
    pub(crate) fn push(&mut self, block: Kept) {
        self.blocks.push(block);
    }

    /// The reasoning part that carries every block so far, when one is redacted: added once,
    /// at the end of the answer (its signature then replaces the bare one a signed block's
    /// part carried, see `Candidate::absorb`), so that encoding stays linear in the blocks.
    pub(crate) fn redacted_part(&self) -> Option<Part> {
        self.blocks
            .iter()
            .any(|b| matches!(b, Kept::RedactedThinking(_)))
            .then(|| Part::Reasoning {
                text: String::new(),
                signature: Some(self.signature()),
            })
    }

    /// The signature text: the bare signature while no block is redacted.
    pub(crate) fn signature(&self) -> String {
        match self.blocks.as_slice() {
            [Kept::Signature(s)] => s.clone(),
            _ => serde_json::to_string(self).unwrap_or_default(),
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
    fn a_lone_signature_stays_bare_and_redacted_blocks_round_trip() {
        let mut t = ThinkingBlocks::default();
        t.push(Kept::Signature("EqQBCgIYAhIM".into()));
        assert_eq!(t.signature(), "EqQBCgIYAhIM");
        assert_eq!(t.redacted_part(), None);
        t.push(Kept::RedactedThinking("EmwKAhgBEgy3va3pzix".into()));
        let sig = t.signature();
        assert_eq!(
            sig,
            r#"{"anthropic_thinking":[{"signature":"EqQBCgIYAhIM"},{"redacted_thinking":"EmwKAhgBEgy3va3pzix"}]}"#
        );
        assert_eq!(ThinkingBlocks::from_signature(&sig), t);
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
