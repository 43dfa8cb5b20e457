//! [`LazyMeta`]: a response's [`ResponseMeta`], in a heap block made only once something is set.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ResponseMeta;

/// The [`ResponseMeta`] of a [`GenResponse`](super::GenResponse): it derefs to it, so reading
/// and writing its fields reads as usual (`resp.meta.usage`, `resp.meta.model = …`,
/// `resp.meta.output_tokens()`), it is built `From` a `ResponseMeta` (or `Default`), and it
/// serializes as one.
///
/// In a stream only the first chunk (identifiers) and the last (usage, timings) carry any
/// metadata, so the `ResponseMeta` (216 bytes) lives in a heap block made on the first write,
/// and a chunk without metadata carries an empty pointer. With [`Candidates`](super::Candidates)'s
/// niche that keeps `GenResponse` (and `Poll<Option<Result<GenResponse>>>`) at 120 bytes,
/// which the compiler moves with a few vector stores; at 336 bytes each move was a `memcpy`
/// call, and a streamed chunk is moved five to seven times on its way from the decoder to
/// the caller's `next().await`. Measured with callgrind on the benchmark harness's client
/// (native `/api/chat`, 64 KiB writes, instructions per line from the difference of a
/// 300,000- and a 100,000-line run): 4,395 → 4,014 (−8.7 %; the floor is 3,212), `memcpy`
/// 428 → 44 per line.
#[derive(Clone, Default)]
pub struct LazyMeta(Option<Box<ResponseMeta>>);

/// What an empty [`LazyMeta`] derefs to.
static EMPTY: ResponseMeta = ResponseMeta::EMPTY;

impl LazyMeta {
    /// Whether no metadata was ever set (a stream's middle chunks). A metadata block whose
    /// fields were all set back to `None` still counts as set.
    pub fn is_unset(&self) -> bool {
        self.0.is_none()
    }

    /// The metadata, by value.
    pub fn into_inner(self) -> ResponseMeta {
        self.0.map(|b| *b).unwrap_or_default()
    }
}

impl Deref for LazyMeta {
    type Target = ResponseMeta;

    fn deref(&self) -> &ResponseMeta {
        self.0.as_deref().unwrap_or(&EMPTY)
    }
}

impl DerefMut for LazyMeta {
    /// Makes the heap block if there is none yet.
    fn deref_mut(&mut self) -> &mut ResponseMeta {
        self.0.get_or_insert_with(Box::default)
    }
}

impl From<ResponseMeta> for LazyMeta {
    fn from(meta: ResponseMeta) -> Self {
        LazyMeta(Some(Box::new(meta)))
    }
}

impl From<LazyMeta> for ResponseMeta {
    fn from(meta: LazyMeta) -> Self {
        meta.into_inner()
    }
}

impl PartialEq for LazyMeta {
    /// Compares the metadata: an unset `LazyMeta` equals one set to `ResponseMeta::default()`.
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<ResponseMeta> for LazyMeta {
    fn eq(&self, other: &ResponseMeta) -> bool {
        **self == *other
    }
}

impl fmt::Debug for LazyMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl Serialize for LazyMeta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LazyMeta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let meta = ResponseMeta::deserialize(deserializer)?;
        Ok(if meta == EMPTY {
            LazyMeta::default()
        } else {
            meta.into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{GenResponse, Usage};

    #[test]
    fn reads_through_an_empty_one_and_allocates_on_the_first_write() {
        let mut m = LazyMeta::default();
        assert!(m.is_unset());
        assert_eq!(m.usage, None);
        assert_eq!(m.output_tokens(), None);
        m.model = Some("m".into());
        assert!(!m.is_unset());
        assert_eq!(m.model.as_deref(), Some("m"));
        assert_eq!(m.into_inner().model.as_deref(), Some("m"));
    }

    #[test]
    fn equality_and_serde_are_the_metadata_s() {
        let unset = LazyMeta::default();
        let set_empty = LazyMeta::from(ResponseMeta::default());
        assert_eq!(unset, set_empty);
        assert_eq!(
            format!("{unset:?}"),
            format!("{:?}", ResponseMeta::default())
        );
        let m = ResponseMeta {
            usage: Some(Usage {
                input_tokens: 3,
                output_tokens: 4,
                total_tokens: 7,
                ..Usage::default()
            }),
            ..ResponseMeta::default()
        };
        let lazy = LazyMeta::from(m.clone());
        assert_eq!(lazy, m);
        assert_ne!(lazy, unset);
        let json = serde_json::to_value(&lazy).unwrap();
        assert_eq!(json, serde_json::to_value(&m).unwrap());
        let back: LazyMeta = serde_json::from_value(json).unwrap();
        assert_eq!(back, lazy);
        let empty: LazyMeta = serde_json::from_str("{}").unwrap();
        assert!(empty.is_unset(), "an empty object makes no heap block");
    }

    #[test]
    fn a_response_is_small_enough_to_move_without_a_memcpy_call() {
        // The reason this type exists: keep a chunk's moves inline (see the type's docs).
        use std::mem::size_of;
        use std::task::Poll;
        assert!(size_of::<GenResponse>() <= 128);
        // What a stream's poll returns: the candidate's niche leaves room for every tag.
        assert_eq!(
            size_of::<Poll<Option<crate::Result<GenResponse>>>>(),
            size_of::<GenResponse>()
        );
    }
}
