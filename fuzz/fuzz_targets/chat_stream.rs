//! A streamed Chat Completions body through the provider's own stream decoder
//! (`llmport::openai::StreamDecoder`: SSE decoder → chunk decoder → tool-call assembly): never panics; an error is always the last item; a stream
//! without `[DONE]` always ends with an error (no partial answer presented as complete); and a
//! body cut into pieces gives the same items as the whole body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmport_fuzz::{chat_stream, comparable, frame};

fuzz_target!(|data: &[u8]| {
    let Some(input) = frame(data) else { return };
    let max_tool_arguments = input.max_line;
    let whole = chat_stream(input.body, &[], input.max_line, max_tool_arguments);
    if let Some(pos) = whole.iter().position(Result::is_err) {
        assert_eq!(pos, whole.len() - 1, "an item came after an error");
    } else {
        let done = input.body.windows(6).any(|w| w == b"[DONE]");
        assert!(done, "a stream without [DONE] ended without an error");
    }
    let split = chat_stream(
        input.body,
        &input.splits,
        input.max_line,
        max_tool_arguments,
    );
    let a: Vec<_> = whole.iter().map(comparable).collect();
    let b: Vec<_> = split.iter().map(comparable).collect();
    assert_eq!(a, b, "a split changed the stream's items");
});
