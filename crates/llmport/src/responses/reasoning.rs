//! A reasoning item's identity, carried through [`Part::Reasoning`]'s `signature`.
//!
//! A reasoning model's reasoning item must be passed back in the next turn's `input` (with
//! `store: false`, as its `encrypted_content`, which only the server can read). [`Part`] has
//! one opaque slot for that, the `signature`: it holds this small JSON object —
//! `{"id":"rs_…","encrypted_content":"…","summary":true}` — so the item goes back as it came
//! (its text back where it came from: `summary` or `content`). A signature that is not one of
//! these (an Anthropic signature, say) is not a Responses item and is not sent.
//!
//! [`Part`]: crate::Part
//! [`Part::Reasoning`]: crate::Part::Reasoning

use serde::{Deserialize, Serialize};

/// What a reasoning item needs to be sent back, besides its text.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasoningItem {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// The text came from `summary` (not `content`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub summary: bool,
}

impl ReasoningItem {
    /// The signature text; `None` when there is nothing to identify the item by.
    pub(crate) fn to_signature(&self) -> Option<String> {
        if self.id.is_none() && self.encrypted_content.is_none() {
            return None;
        }
        serde_json::to_string(self).ok()
    }

    /// The item a signature stands for, if it is one of ours.
    pub(crate) fn from_signature(signature: &str) -> Option<ReasoningItem> {
        if !signature.starts_with('{') {
            return None;
        }
        serde_json::from_str::<ReasoningItem>(signature)
            .ok()
            .filter(|r| r.id.is_some() || r.encrypted_content.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_foreign_signatures() {
        let item = ReasoningItem {
            id: Some("rs_1".into()),
            encrypted_content: Some("gAAA==".into()),
            summary: true,
        };
        let sig = item.to_signature().unwrap();
        assert_eq!(ReasoningItem::from_signature(&sig), Some(item));
        assert_eq!(
            ReasoningItem::from_signature("EqQBCgIYAhIM1gbcDa9GJwZA"),
            None
        );
        assert_eq!(ReasoningItem::from_signature("{\"other\":1}"), None);
        assert_eq!(ReasoningItem::default().to_signature(), None);
    }
}
