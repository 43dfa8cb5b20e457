//! Lone UTF-16 surrogate escapes in JSON (`"\ud83d"` without its pair), which `serde_json`
//! refuses and Go's `encoding/json` decodes as U+FFFD. A model's byte-level tokens can cut an
//! emoji in half, and some servers then write half a surrogate pair: one such chunk must not
//! fail a whole answer.
//!
//! Only the failure path uses this: a text that does not parse is scanned, and parsed again
//! with every lone surrogate escape replaced by `\ufffd`. Valid JSON never pays for it.

/// `json` with every lone surrogate escape (`\uD800`–`\uDFFF` not forming a high–low pair)
/// replaced by `\ufffd`, or `None` if it has none.
pub(crate) fn replace_lone_surrogates(json: &str) -> Option<String> {
    let b = json.as_bytes();
    let mut out: Option<String> = None;
    // Bytes of `json` before `copied` are in `out` (once it exists).
    let mut copied = 0;
    let mut i = 0;
    while let Some(&byte) = b.get(i) {
        if byte != b'\\' {
            i += 1;
            continue;
        }
        let Some(code) = hex_escape(b, i) else {
            // Any other escape: skip the backslash and the escaped byte, so that `\\ud83d`
            // (an escaped backslash, then text) is left alone.
            i += 2;
            continue;
        };
        let paired = (0xD800..0xDC00).contains(&code)
            && hex_escape(b, i + 6).is_some_and(|low| (0xDC00..0xE000).contains(&low));
        if paired {
            i += 12;
        } else if (0xD800..0xE000).contains(&code) {
            let s = out.get_or_insert_with(|| String::with_capacity(json.len()));
            // `copied` and `i` are at ASCII bytes (a backslash or the end of an escape).
            s.push_str(json.get(copied..i).unwrap_or_default());
            s.push_str("\\ufffd");
            i += 6;
            copied = i;
        } else {
            i += 6;
        }
    }
    let mut s = out?;
    s.push_str(json.get(copied..).unwrap_or_default());
    Some(s)
}

/// The code unit of a `\uXXXX` escape starting at `at`, if there is one.
fn hex_escape(b: &[u8], at: usize) -> Option<u32> {
    let [b'\\', b'u', hex @ ..] = b.get(at..at.checked_add(6)?)? else {
        return None;
    };
    let hex = std::str::from_utf8(hex).ok()?;
    u32::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::replace_lone_surrogates as fix;

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(fix(r#""\ud83d""#).as_deref(), Some(r#""\ufffd""#));
        assert_eq!(fix(r#""a\uDE00b""#).as_deref(), Some(r#""a\ufffdb""#));
        assert_eq!(
            fix(r#"["\ud83d\ud83d\ude00", "\ud83d"]"#).as_deref(),
            Some(r#"["\ufffd\ud83d\ude00", "\ufffd"]"#)
        );
        assert_eq!(fix(r#""\ud83dx""#).as_deref(), Some(r#""\ufffdx""#));
    }

    #[test]
    fn pairs_other_escapes_and_escaped_backslashes_are_left_alone() {
        assert_eq!(fix(r#""\ud83d\ude00 \u00e9 \n""#), None);
        assert_eq!(fix(r#""\\ud83d""#), None);
        assert_eq!(fix(r#""\ud83"#), None);
        assert_eq!(fix("plain"), None);
    }

    #[test]
    fn the_result_parses() {
        let v: String = serde_json::from_str(&fix(r#""x\ud83d y""#).unwrap()).unwrap();
        assert_eq!(v, "x\u{fffd} y");
    }
}
