//! The NDJSON progress stream of Ollama's pull, push and create through the provider's own
//! decoder (`llmport::ollama::ProgressDecoder`: NDJSON lines → `Progress` reports): never
//! panics; an error is always the last item; a stream that ends without an error ended with
//! its one `success` report (nothing after it, no second one); and a body cut into pieces
//! gives the same items as the whole body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmport_fuzz::{frame, progress};

fuzz_target!(|data: &[u8]| {
    let Some(input) = frame(data) else { return };
    let whole = progress(input.body, &[], input.max_line);
    if let Some(pos) = whole.iter().position(Result::is_err) {
        assert_eq!(pos, whole.len() - 1, "an item came after an error");
    } else {
        let successes = whole
            .iter()
            .filter(|p| p.as_ref().is_ok_and(|p| p.is_success()))
            .count();
        assert_eq!(
            successes, 1,
            "a stream ended without an error and without one success"
        );
        let last = whole.last().and_then(|p| p.as_ref().ok());
        assert!(
            last.is_some_and(|p| p.is_success()),
            "a report came after success"
        );
    }
    let split = progress(input.body, &input.splits, input.max_line);
    let as_text = |items: &[Result<llmport::ollama::Progress, llmport::Error>]| {
        items
            .iter()
            .map(|i| i.as_ref().map(Clone::clone).map_err(ToString::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        as_text(&whole),
        as_text(&split),
        "a split changed the stream's items"
    );
});
