//! [`Candidates`]: a response's alternative answers, the first kept inline.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smallvec::SmallVec;

use super::Candidate;

/// The alternative answers of a [`GenResponse`](super::GenResponse): a list of
/// [`Candidate`]s that derefs to a slice (`resp.candidates[0]`, `.first()`, `.iter()`,
/// `.len()`), is built with [`push`](Self::push), `collect()`, or `From` a `Vec` or one
/// `Candidate`, and serializes as a JSON array.
///
/// Almost every response, and every chunk of a stream, has exactly one candidate, so the first
/// one is stored inline rather than in a heap block of its own: one allocation and one free
/// fewer per stream chunk. Measured with callgrind on the benchmarked stream decoders
/// (`benches/stream.rs`, `STREAM_BENCH_ONCE`), instructions per chunk: the NDJSON chat
/// decoder 4,199 → 4,114 (−2.0 %), the SSE one 6,910 → 6,802 (−1.6 %); the rest of the saved
/// malloc/free goes to moving the larger response ("Instructions per line" in
/// `bench/README.md`).
#[derive(Clone, Default, PartialEq)]
pub struct Candidates(SmallVec<[Candidate; 1]>);

impl Candidates {
    /// No candidates.
    pub fn new() -> Self {
        Candidates(SmallVec::new())
    }

    /// Adds a candidate at the end.
    pub fn push(&mut self, candidate: Candidate) {
        self.0.push(candidate);
    }

    /// Removes and returns the last candidate.
    pub fn pop(&mut self) -> Option<Candidate> {
        self.0.pop()
    }

    /// Keeps the first `len` candidates.
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Removes every candidate.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Keeps the candidates for which `keep` returns true, in order.
    pub fn retain(&mut self, keep: impl FnMut(&mut Candidate) -> bool) {
        self.0.retain(keep);
    }

    /// The candidates as a `Vec`.
    pub fn into_vec(self) -> Vec<Candidate> {
        self.0.into_vec()
    }
}

impl Deref for Candidates {
    type Target = [Candidate];

    fn deref(&self) -> &[Candidate] {
        &self.0
    }
}

impl DerefMut for Candidates {
    fn deref_mut(&mut self) -> &mut [Candidate] {
        &mut self.0
    }
}

impl fmt::Debug for Candidates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Vec<Candidate>> for Candidates {
    fn from(v: Vec<Candidate>) -> Self {
        Candidates(SmallVec::from_vec(v))
    }
}

impl From<Candidate> for Candidates {
    fn from(c: Candidate) -> Self {
        let mut v = SmallVec::new();
        v.push(c);
        Candidates(v)
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
        Candidates(iter.into_iter().collect())
    }
}

impl Extend<Candidate> for Candidates {
    fn extend<I: IntoIterator<Item = Candidate>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl IntoIterator for Candidates {
    type Item = Candidate;
    type IntoIter = smallvec::IntoIter<[Candidate; 1]>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Candidates {
    type Item = &'a Candidate;
    type IntoIter = std::slice::Iter<'a, Candidate>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a mut Candidates {
    type Item = &'a mut Candidate;
    type IntoIter = std::slice::IterMut<'a, Candidate>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
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
        let mut c = Candidates::from(Candidate::new(0));
        assert!(!c.0.spilled(), "the first candidate lives inline");
        c.push(Candidate::new(1));
        c.push(Candidate::new(2));
        assert!(c.0.spilled());
        let order: Vec<u32> = c.iter().map(|c| c.index).collect();
        assert_eq!(order, [0, 1, 2]);
        assert_eq!(c.pop().map(|c| c.index), Some(2));
        assert_eq!(c.into_vec().len(), 2);
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
