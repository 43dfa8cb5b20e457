//! A streamed Responses API body through the provider's own stream decoder (`llmport::responses::StreamDecoder`:
//! SSE decoder → typed events → parts, tool calls assembled from their fragments): never
//! panics; an error is always the last item; a stream without its end marker (`response.completed` or `response.incomplete`)
//! always ends with an error (no partial answer presented as complete); and a body cut into
//! pieces gives the same items as the whole body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmport_fuzz::{comparable, frame, responses_stream};

fuzz_target!(|data: &[u8]| {
    let Some(input) = frame(data) else { return };
    let max_tool_arguments = input.max_line;
    let whole = responses_stream(input.body, &[], input.max_line, max_tool_arguments);
    if let Some(pos) = whole.iter().position(Result::is_err) {
        assert_eq!(pos, whole.len() - 1, "an item came after an error");
    } else {
        let ended = [b"response.completed".as_slice(), b"response.incomplete"]
            .iter()
            .any(|m| input.body.windows(m.len()).any(|w| w == *m));
        assert!(ended, "a stream without its end marker ended without an error");
    }
    let split = responses_stream(input.body, &input.splits, input.max_line, max_tool_arguments);
    let a: Vec<_> = whole.iter().map(comparable).collect();
    let b: Vec<_> = split.iter().map(comparable).collect();
    assert_eq!(a, b, "a split changed the stream's items");
});
