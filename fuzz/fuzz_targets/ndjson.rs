//! The NDJSON decoder: never panics, never delivers a line past its limit, and splits a body
//! cut into any pieces exactly as it splits the whole body (same lines, same error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmport::codec::{CodecError, NdjsonDecoder};
use llmport_fuzz::{frame, pieces};

fn decode(parts: &[&[u8]], max_line: usize) -> (Vec<String>, Result<(), CodecError>) {
    let mut decoder = NdjsonDecoder::with_max_line(max_line);
    let mut lines = Vec::new();
    let mut on_line = |line: &str| {
        assert!(line.len() <= max_line, "line past the limit");
        assert!(!line.contains('\n'), "a line holds a line feed");
        assert!(
            !line.bytes().all(|b| b.is_ascii_whitespace()),
            "a blank line was delivered"
        );
        lines.push(line.to_owned());
        Ok::<(), CodecError>(())
    };
    for part in parts {
        if let Err(e) = decoder.decode(part, &mut on_line) {
            return (lines, Err(e));
        }
    }
    let end = decoder.finish(&mut on_line);
    assert!(!decoder.has_pending(), "finish left bytes behind");
    (lines, end)
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = frame(data) else { return };
    let whole = decode(&[input.body], input.max_line);
    let split = decode(&pieces(input.body, &input.splits), input.max_line);
    assert_eq!(whole, split, "a split changed the decoded lines");
});
