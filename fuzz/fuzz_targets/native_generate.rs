//! A native `/api/generate` NDJSON body through the provider's own stream decoder
//! (`llmport::ollama::GenerateDecoder`: NDJSON lines → chunks, `context` and log
//! probabilities included): never panics; an error is always the last item; a stream without
//! a `"done": true` line always ends with an error; and a body cut into pieces gives the same
//! items as the whole body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmport_fuzz::{comparable, frame, native_generate};

fuzz_target!(|data: &[u8]| {
    let Some(input) = frame(data) else { return };
    let whole = native_generate(input.body, &[], input.max_line);
    if let Some(pos) = whole.iter().position(Result::is_err) {
        assert_eq!(pos, whole.len() - 1, "an item came after an error");
    } else {
        let done = input.body.windows(4).any(|w| w == b"done");
        assert!(done, "a stream without a done line ended without an error");
    }
    let split = native_generate(input.body, &input.splits, input.max_line);
    let a: Vec<_> = whole.iter().map(comparable).collect();
    let b: Vec<_> = split.iter().map(comparable).collect();
    assert_eq!(a, b, "a split changed the stream's items");
});
