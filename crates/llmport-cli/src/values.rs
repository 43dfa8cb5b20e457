//! Parsers for flag values with a valid range. clap runs them while it reads the command
//! line, so a value out of range is a usage error (exit status 2) that names the range,
//! before anything is sent. The ranges are the documented ones of the OpenAI API that
//! Ollama, llama.cpp and vLLM implement (Ollama's native settings have no upper bound).

/// A count that must be at least 1 (`--max-tokens`, `--ctx`, `--dimensions`): 0 would mean
/// "no limit" to Ollama, "nothing" to others.
pub(crate) fn at_least_one(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err(format!("must be at least 1 (1 to {})", u32::MAX)),
        Ok(n) => u32::try_from(n).map_err(|_| format!("must be from 1 to {}", u32::MAX)),
        Err(_) => Err(format!("expected a whole number from 1 to {}", u32::MAX)),
    }
}

/// A sampling temperature: from 0 to 2.
pub(crate) fn temperature(s: &str) -> Result<f32, String> {
    within(s, 0.0, 2.0, true)
}

/// A nucleus-sampling probability mass: above 0, at most 1 (with 0 no token is left).
pub(crate) fn probability(s: &str) -> Result<f32, String> {
    within(s, 0.0, 1.0, false)
}

/// A stop text: not empty (an empty one makes llama.cpp return nothing, and Ollama's
/// runner stop at once).
pub(crate) fn stop_text(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("a stop text cannot be empty".into())
    } else {
        Ok(s.to_owned())
    }
}

/// A number from `low` (included when `low_included`) to `high` (included); JSON has no
/// NaN or infinity, which are refused too.
fn within(s: &str, low: f32, high: f32, low_included: bool) -> Result<f32, String> {
    let range = if low_included {
        format!("from {low} to {high}")
    } else {
        format!("above {low} and at most {high}")
    };
    match s.trim().parse::<f32>() {
        Ok(v) if (low..=high).contains(&v) && (low_included || v > low) => Ok(v),
        Ok(_) => Err(format!("must be {range}")),
        Err(_) => Err(format!("expected a number {range}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_start_at_one() {
        assert_eq!(at_least_one("1"), Ok(1));
        assert_eq!(at_least_one("4294967295"), Ok(u32::MAX));
        assert!(at_least_one("0").unwrap_err().contains("at least 1"));
        assert!(at_least_one("4294967296").unwrap_err().contains("1 to"));
        assert!(at_least_one("-1").unwrap_err().contains("whole number"));
    }

    #[test]
    fn floats_must_be_finite_and_in_range() {
        assert_eq!(temperature("0"), Ok(0.0));
        assert_eq!(temperature("2"), Ok(2.0));
        assert_eq!(probability("0.9"), Ok(0.9));
        assert_eq!(probability("1"), Ok(1.0));
        for bad in ["-1", "2.5", "nan", "inf", "x"] {
            assert!(temperature(bad).unwrap_err().contains("0 to 2"), "{bad}");
        }
        for bad in ["7", "0", "-0.1", "nan"] {
            let e = probability(bad).unwrap_err();
            assert!(e.contains("above 0 and at most 1"), "{bad}: {e}");
        }
    }

    #[test]
    fn stop_texts_are_not_empty() {
        assert_eq!(stop_text("---"), Ok("---".into()));
        assert!(stop_text("").is_err());
    }
}
