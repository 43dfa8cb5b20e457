//! Property: however a streamed answer's bytes are cut into reads, the answer assembled from
//! the stream is the same. Runs every SSE transcript through the provider's own stream
//! (SSE decoder → chunk decoder → tool-call assembly): `llmport::openai::StreamDecoder`, the
//! decoder a real call reads its stream with, driven by `llmport::codec::decode_pieces`.

use bytes::Bytes;
use llmport::codec::decode_pieces;
use llmport::openai::StreamDecoder;
use llmport::testing::Transcript;
use llmport::{Accumulator, GenResponse};
use proptest::prelude::*;

/// The bodies of every transcript whose answer is an event stream.
fn sse_bodies() -> &'static [(String, Vec<u8>)] {
    static BODIES: std::sync::LazyLock<Vec<(String, Vec<u8>)>> = std::sync::LazyLock::new(load);
    &BODIES
}

fn load() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    Transcript::load_dir(dir)
        .expect("fixtures load")
        .into_iter()
        .filter(|t| {
            t.response.headers.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("content-type") && v.starts_with("text/event-stream")
            })
        })
        .map(|t| (t.case.clone(), t.reply().body_bytes().to_vec()))
        .collect()
}

/// The answer assembled from a body cut at `splits`, without timings (they differ per run),
/// or the error's text.
fn answer(body: &[u8], splits: &[usize]) -> Result<GenResponse, String> {
    let mut acc = Accumulator::new();
    for item in decode_pieces(StreamDecoder::default(), pieces(body, splits)) {
        acc.push(&item.map_err(|e| e.to_string())?);
    }
    let mut r = acc.finish();
    r.meta.time_to_first_token = None;
    r.meta.total_time = None;
    Ok(r)
}

/// `body` cut at `splits` (byte positions; out-of-range and repeated ones are ignored).
fn pieces(body: &[u8], splits: &[usize]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = splits
        .iter()
        .copied()
        .filter(|&s| s > 0 && s < body.len())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut start = 0;
    let mut out = Vec::with_capacity(cuts.len() + 1);
    for cut in cuts.into_iter().chain([body.len()]) {
        out.push(Bytes::copy_from_slice(&body[start..cut]));
        start = cut;
    }
    out
}

#[test]
fn the_transcripts_are_there() {
    let bodies = sse_bodies();
    assert!(bodies.len() >= 5, "{}", bodies.len());
    // And at least one of them assembles tool calls and one fails mid-stream.
    assert!(
        bodies
            .iter()
            .any(|(_, b)| answer(b, &[]).is_ok_and(|r| !r.tool_calls().is_empty()))
    );
    assert!(bodies.iter().any(|(_, b)| answer(b, &[]).is_err()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_split_of_a_transcript_gives_the_same_answer(
        which in any::<proptest::sample::Index>(),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..40),
    ) {
        let bodies = sse_bodies();
        let (case, body) = which.get(bodies);
        let splits: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
        prop_assert_eq!(answer(body, &splits), answer(body, &[]), "{}", case);
    }

    #[test]
    fn byte_at_a_time_gives_the_same_answer(which in any::<proptest::sample::Index>()) {
        let bodies = sse_bodies();
        let (case, body) = which.get(bodies);
        let every: Vec<usize> = (1..body.len()).collect();
        prop_assert_eq!(answer(body, &every), answer(body, &[]), "{}", case);
    }
}
