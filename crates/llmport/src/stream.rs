//! Streamed answers: [`ResponseStream`] and the [`Accumulator`] that folds one into a
//! [`GenResponse`]; and the one adapter that drives any [`Decoder`](crate::codec::Decoder)
//! over a response body (the idle and whole-stream deadlines, the size cap, the content type).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};

use crate::error::{Error, Result};
use crate::response::{Candidate, GenResponse};

mod decoded;

pub(crate) use decoded::{Decoded, open};

/// A stream of answer chunks, as returned by [`Provider::generate_stream`](crate::Provider::generate_stream).
///
/// Each item is a [`GenResponse`] holding what is new since the previous one. The stream is
/// `Send + 'static`, so it can be moved into a task; dropping it cancels the request.
#[must_use = "a stream does nothing unless polled"]
pub struct ResponseStream {
    inner: Pin<Box<dyn Stream<Item = Result<GenResponse>> + Send + 'static>>,
}

impl std::fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStream").finish_non_exhaustive()
    }
}

impl ResponseStream {
    /// Wraps any stream of chunks.
    pub fn new(stream: impl Stream<Item = Result<GenResponse>> + Send + 'static) -> Self {
        ResponseStream {
            inner: Box::pin(stream),
        }
    }

    /// Reads the whole stream and folds it into one [`GenResponse`], the same one a
    /// non-streaming call would have returned. The first error ends the collection.
    pub async fn collect_response(mut self) -> Result<GenResponse> {
        let mut acc = Accumulator::new();
        while let Some(chunk) = self.next().await {
            acc.push(&chunk?);
        }
        Ok(acc.finish())
    }

    /// Only the text deltas of the first candidate, as they arrive.
    pub fn text_deltas(self) -> impl Stream<Item = Result<String>> + Send + 'static {
        self.filter_map(|chunk| async move {
            match chunk {
                Ok(c) => {
                    let t = c.text();
                    (!t.is_empty()).then_some(Ok(t))
                }
                Err(e) => Some(Err(e)),
            }
        })
    }
}

impl Stream for ResponseStream {
    type Item = Result<GenResponse, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Folds stream chunks into one [`GenResponse`].
///
/// Text and reasoning deltas are concatenated per candidate (reasoning, one part per signed
/// block, then one text part, as a non-streaming answer has them), tool calls and token log probabilities
/// collected in order, the latest finish reason (and generate `context`) kept; metadata fields are taken from the chunk that has them (usage and
/// timings arrive on the last one). The result equals what a non-streaming call returns for
/// the same answer, apart from the client-measured timings.
#[derive(Debug, Default, Clone)]
pub struct Accumulator {
    response: GenResponse,
}

impl Accumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk.
    #[allow(
        clippy::indexing_slicing,
        reason = "`pos` is a position just found in `candidates`, or the index of the candidate \
                  just pushed to it"
    )]
    pub fn push(&mut self, chunk: &GenResponse) {
        for c in &chunk.candidates {
            let pos = match self
                .response
                .candidates
                .iter()
                .position(|x| x.index == c.index)
            {
                Some(p) => p,
                None => {
                    self.response.candidates.push(Candidate::new(c.index));
                    self.response.candidates.len() - 1
                }
            };
            let target = &mut self.response.candidates[pos];
            for part in &c.message.parts {
                target.absorb(part);
            }
            if c.finish_reason.is_some() {
                target.finish_reason = c.finish_reason.clone();
            }
            target.logprobs.extend_from_slice(&c.logprobs);
            if c.context.is_some() {
                target.context.clone_from(&c.context);
            }
        }
        let m = &chunk.meta;
        let acc = &mut self.response.meta;
        if m.id.is_some() && acc.id.is_none() {
            acc.id = m.id.clone();
        }
        if m.model.is_some() && acc.model.is_none() {
            acc.model = m.model.clone();
        }
        if m.usage.is_some() {
            acc.usage = m.usage;
        }
        if m.time_to_first_token.is_some() {
            acc.time_to_first_token = m.time_to_first_token;
        }
        if m.total_time.is_some() {
            acc.total_time = m.total_time;
        }
        if m.server_timings.is_some() {
            acc.server_timings = m.server_timings;
        }
    }

    /// The response so far.
    pub fn response(&self) -> &GenResponse {
        &self.response
    }

    /// The folded response, candidates in index order.
    pub fn finish(mut self) -> GenResponse {
        self.response.candidates.sort_by_key(|c| c.index);
        self.response
    }
}
