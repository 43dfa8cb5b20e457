//! [`Candidates`]: a response's alternative answers, the first kept inline.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Candidate;

/// The alternative answers of a [`GenResponse`](super::GenResponse): a list of
/// [`Candidate`]s that derefs to a slice (`resp.candidates[0]`, `.first()`, `.iter()`,
/// `.len()`), is built with [`push`](Self::push), `collect()`, or `From` a `Vec` or one
/// `Candidate`, and serializes as a JSON array.
///
/// Almost every response, and every chunk of a stream, has exactly one candidate, so a lone
/// candidate is stored inline rather than in a heap block of its own: one allocation and one
/// free fewer per stream chunk. Measured with callgrind on the benchmarked stream decoders
/// (`benches/stream.rs`, `STREAM_BENCH_ONCE`), instructions per chunk: the NDJSON chat
/// decoder 4,199 → 4,114 (−2.0 %), the SSE one 6,910 → 6,802 (−1.6 %).
///
/// It is an enum of its own (one candidate, or a `Vec`) rather than a `SmallVec`, because the
/// enum has no length field and leaves the compiler a spare bit pattern (a niche) in the
/// candidate: with it, `GenResponse` is 120 bytes and `Result<GenResponse>` too, so a
/// streamed chunk is moved with a few vector stores, never a `memcpy` call (see
/// [`LazyMeta`](super::LazyMeta) and "Instructions per line" in `bench/README.md`).
#[derive(Clone)]
pub struct Candidates(Repr);

#[derive(Clone)]
enum Repr {
    /// Exactly one candidate.
    One(Candidate),
    /// Any other number (none: an empty `Vec`, which owns no heap block).
    Many(Vec<Candidate>),
}

impl Default for Candidates {
    fn default() -> Self {
        Candidates::new()
    }
}

impl Candidates {
    /// No candidates.
    pub fn new() -> Self {
        Candidates(Repr::Many(Vec::new()))
    }

    /// Adds a candidate at the end.
    pub fn push(&mut self, candidate: Candidate) {
        match &mut self.0 {
            Repr::Many(v) if v.is_empty() => self.0 = Repr::One(candidate),
            Repr::Many(v) => v.push(candidate),
            Repr::One(_) => {
                let mut v = Vec::with_capacity(4);
                v.extend(self.pop());
                v.push(candidate);
                self.0 = Repr::Many(v);
            }
        }
    }

    /// Removes and returns the last candidate.
    pub fn pop(&mut self) -> Option<Candidate> {
        match &mut self.0 {
            Repr::Many(v) => v.pop(),
            Repr::One(_) => match std::mem::replace(&mut self.0, Repr::Many(Vec::new())) {
                Repr::One(c) => Some(c),
                Repr::Many(_) => None,
            },
        }
    }

    /// Keeps the first `len` candidates.
    pub fn truncate(&mut self, len: usize) {
        match &mut self.0 {
            Repr::Many(v) => v.truncate(len),
            Repr::One(_) if len == 0 => self.0 = Repr::Many(Vec::new()),
            Repr::One(_) => {}
        }
    }

    /// Removes every candidate.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Keeps the candidates for which `keep` returns true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Candidate) -> bool) {
        match &mut self.0 {
            Repr::Many(v) => v.retain_mut(keep),
            Repr::One(c) => {
                if !keep(c) {
                    self.0 = Repr::Many(Vec::new());
                }
            }
        }
    }

    /// The candidates as a `Vec`.
    pub fn into_vec(self) -> Vec<Candidate> {
        match self.0 {
            Repr::One(c) => vec![c],
            Repr::Many(v) => v,
        }
    }
}

impl Deref for Candidates {
    type Target = [Candidate];

    fn deref(&self) -> &[Candidate] {
        match &self.0 {
            Repr::One(c) => std::slice::from_ref(c),
            Repr::Many(v) => v,
        }
    }
}

impl DerefMut for Candidates {
    fn deref_mut(&mut self) -> &mut [Candidate] {
        match &mut self.0 {
            Repr::One(c) => std::slice::from_mut(c),
            Repr::Many(v) => v,
        }
    }
}

impl fmt::Debug for Candidates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Vec<Candidate>> for Candidates {
    fn from(v: Vec<Candidate>) -> Self {
        Candidates(Repr::Many(v))
    }
}

impl From<Candidate> for Candidates {
    fn from(c: Candidate) -> Self {
        Candidates(Repr::One(c))
    }
}

impl<const N: usize> From<[Candidate; N]> for Candidates {
    fn from(a: [Candidate; N]) -> Self {
        a.into_iter().collect()
    }
}

impl From<Candidates> for Vec<Candidate> {
    fn from(c: Candidates) -> Self {
        c.into_vec()
    }
}

impl FromIterator<Candidate> for Candidates {
    fn from_iter<I: IntoIterator<Item = Candidate>>(iter: I) -> Self {
        let mut c = Candidates::new();
        c.extend(iter);
        c
    }
}

impl Extend<Candidate> for Candidates {
    fn extend<I: IntoIterator<Item = Candidate>>(&mut self, iter: I) {
        for c in iter {
            self.push(c);
        }
    }
}

impl IntoIterator for Candidates {
    type Item = Candidate;
    /// A lone candidate, then a `Vec`'s: one of the two is empty.
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Candidate>, std::vec::IntoIter<Candidate>>;

    fn into_iter(self) -> Self::IntoIter {
        match self.0 {
            Repr::One(c) => Some(c).into_iter().chain(Vec::new()),
            Repr::Many(v) => None.into_iter().chain(v),
        }
    }
}

impl<'a> IntoIterator for &'a Candidates {
    type Item = &'a Candidate;
    type IntoIter = std::slice::Iter<'a, Candidate>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Candidates {
    type Item = &'a mut Candidate;
    type IntoIter = std::slice::IterMut<'a, Candidate>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl PartialEq for Candidates {
    /// Compares the candidates, however they are stored.
    fn eq(&self, other: &Candidates) -> bool {
        self[..] == other[..]
    }
}

impl PartialEq<Vec<Candidate>> for Candidates {
    fn eq(&self, other: &Vec<Candidate>) -> bool {
        self[..] == other[..]
    }
}

impl Serialize for Candidates {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self[..].serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Candidates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Vec::<Candidate>::deserialize(deserializer).map(Candidates::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_candidate_is_inline_and_more_spill_in_order() {
        let mut c = Candidates::new();
        assert!(c.is_empty());
        c.push(Candidate::new(0));
        assert!(matches!(c.0, Repr::One(_)), "a lone candidate lives inline");
        c.push(Candidate::new(1));
        c.push(Candidate::new(2));
        assert!(matches!(c.0, Repr::Many(_)));
        let order: Vec<u32> = c.iter().map(|c| c.index).collect();
        assert_eq!(order, [0, 1, 2]);
        assert_eq!(c.pop().map(|c| c.index), Some(2));
        assert_eq!(c.clone().into_vec().len(), 2);
        let owned: Vec<u32> = c.into_iter().map(|c| c.index).collect();
        assert_eq!(owned, [0, 1]);
    }

    #[test]
    fn a_lone_candidate_can_be_taken_trimmed_and_filtered() {
        let mut c = Candidates::from(Candidate::new(7));
        c[0].index = 8;
        assert_eq!(c.first().map(|c| c.index), Some(8));
        assert_eq!(
            c.clone().into_iter().map(|c| c.index).collect::<Vec<_>>(),
            [8]
        );
        c.truncate(1);
        assert_eq!(c.len(), 1);
        c.retain(|c| c.index == 8);
        assert_eq!(c.len(), 1);
        c.retain(|c| c.index != 8);
        assert!(c.is_empty());
        c.push(Candidate::new(1));
        assert!(matches!(c.0, Repr::One(_)), "inline again once emptied");
        assert_eq!(c.pop().map(|c| c.index), Some(1));
        assert_eq!(c.pop(), None);
        let lone = Candidates::from(Candidate::new(5));
        let in_a_vec = Candidates::from(vec![Candidate::new(5)]);
        assert!(matches!(in_a_vec.0, Repr::Many(_)));
        assert_eq!(lone, in_a_vec, "equal however stored");
        assert_ne!(lone, Candidates::new());
        let many: Candidates = (0..3).map(Candidate::new).collect();
        assert_eq!(many.len(), 3);
        let mut one = Candidates::from(Candidate::new(0));
        one.clear();
        assert!(one.is_empty());
    }

    #[test]
    fn serializes_as_a_plain_array_both_ways() {
        let c: Candidates = vec![Candidate::new(0), Candidate::new(1)].into();
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.is_array());
        assert_eq!(json.as_array().map(Vec::len), Some(2));
        let back: Candidates = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        assert_eq!(format!("{c:?}"), format!("{:?}", c.clone().into_vec()));
        let empty: Candidates = serde_json::from_str("[]").unwrap();
        assert!(empty.is_empty());
    }
}
