//! The SSE decoder: never panics, never holds a line past its limit, and decodes a body cut
//! into any pieces exactly as it decodes the whole body (same events, same error).
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmport::codec::{CodecError, SseDecoder};
use llmport_fuzz::{frame, pieces};

#[derive(Debug, PartialEq)]
struct Event {
    event: String,
    data: String,
    id: Option<String>,
    retry: Option<u64>,
}

fn decode(parts: &[&[u8]], max_line: usize) -> (Vec<Event>, Result<bool, CodecError>) {
    let mut decoder = SseDecoder::with_max_line(max_line);
    let mut events = Vec::new();
    for part in parts {
        let r = decoder.decode(part, |ev| {
            assert!(ev.data.len() <= max_line, "event data past the limit");
            events.push(Event {
                event: ev.event.to_owned(),
                data: ev.data.to_owned(),
                id: ev.id.map(str::to_owned),
                retry: ev.retry,
            });
            Ok::<(), CodecError>(())
        });
        if let Err(e) = r {
            return (events, Err(e));
        }
    }
    (events, Ok(decoder.finish()))
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = frame(data) else { return };
    let whole = decode(&[input.body], input.max_line);
    let split = decode(&pieces(input.body, &input.splits), input.max_line);
    assert_eq!(whole, split, "a split changed the decoded events");
});
