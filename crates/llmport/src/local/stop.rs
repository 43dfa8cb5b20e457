//! Stop strings over text that arrives a token at a time: nothing of a stop string is ever
//! emitted, even when it is split across tokens, and text that might begin one is held back
//! only until it is known not to.

/// Watches the generated text for any of the stop strings.
#[derive(Debug, Default)]
pub(crate) struct StopMatcher {
    stops: Vec<String>,
    /// Text received but not yet emitted: the tail that may begin a stop string.
    held: String,
}

/// What to do after a piece of text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Emit this text (possibly empty) and go on.
    Go(String),
    /// Emit this text, then stop: a stop string was found (it and what follows are dropped).
    Stop(String),
}

impl StopMatcher {
    pub(crate) fn new(stops: &[String]) -> Self {
        StopMatcher {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            held: String::new(),
        }
    }

    /// Takes the next piece of text.
    pub(crate) fn push(&mut self, text: &str) -> Step {
        if self.stops.is_empty() {
            return Step::Go(text.to_owned());
        }
        self.held.push_str(text);
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
        {
            let before = self.held.get(..at).unwrap_or_default().to_owned();
            self.held.clear();
            return Step::Stop(before);
        }
        // Keep the longest tail of `held` that is a prefix of some stop string.
        let keep = self
            .stops
            .iter()
            .map(|s| longest_suffix_prefix(&self.held, s))
            .max()
            .unwrap_or(0);
        let cut = self.held.len() - keep;
        let rest = self.held.split_off(cut);
        let out = std::mem::replace(&mut self.held, rest);
        Step::Go(out)
    }

    /// The text still held at the end of the answer (it began no stop string after all).
    pub(crate) fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// The length of the longest suffix of `text` that is a proper prefix of `stop`, on char
/// boundaries.
pub(crate) fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let max = stop.len().saturating_sub(1).min(text.len());
    (1..=max)
        .rev()
        .find(|&n| {
            let start = text.len() - n;
            text.is_char_boundary(start)
                && text.get(start..).is_some_and(|tail| stop.starts_with(tail))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = String::new();
        for p in pieces {
            match m.push(p) {
                Step::Go(t) => out.push_str(&t),
                Step::Stop(t) => {
                    out.push_str(&t);
                    return (out, true);
                }
            }
        }
        out.push_str(&m.flush());
        (out, false)
    }

    #[test]
    fn a_stop_split_across_pieces_is_never_emitted() {
        assert_eq!(
            run(&["END"], &["ab", "cE", "N", "Dxyz"]),
            ("abc".into(), true)
        );
        assert_eq!(run(&["END"], &["abEN", "x"]), ("abENx".into(), false));
        assert_eq!(run(&["\n\n", "END"], &["a\n", "\nb"]), ("a".into(), true));
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), false));
        assert_eq!(run(&["é!"], &["aé", "é", "!"]), ("aé".into(), true));
    }

    #[test]
    fn held_text_is_only_what_may_begin_a_stop() {
        let mut m = StopMatcher::new(&["xyz".to_string()]);
        assert_eq!(m.push("abx"), Step::Go("ab".into()));
        assert_eq!(m.push("q"), Step::Go("xq".into()));
    }
}
