//! Reading a streamed response body ahead of its consumer, in a task on the runtime, handing
//! the frames over in batches through a bounded channel.
//!
//! Why: hyper's connection task, which runs on a runtime worker, passes body frames to the
//! reader through a one-frame channel, so reader and connection task wake each other once per
//! frame. A stream polled straight from `#[tokio::main]`'s own future runs on the main thread,
//! not on a worker, so each of those wake-ups would cross threads (a futex call each way,
//! mostly system time). Ollama sends one frame per event, so that is one pair per token: the
//! benchmark harness measured 12.4 µs CPU per chunk for a hand-written decoder polled that way
//! against 1.25–1.73 µs for the same code in a spawned task (`bench/README.md`). Here the body
//! is read by a spawned task, next to the connection task (tokio runs a task woken from a
//! worker on that worker, so the per-frame ping-pong stays on one thread), and the consumer is
//! woken at most once per batch of frames.
//!
//! Only frames cross threads, not decoded items: decoding stays with the consumer, so the
//! items it receives are allocated and freed on its own thread, and a 64 KiB frame of ~280
//! events costs one hand-over, not 280.
//!
//! Memory stays bounded whatever the consumer's speed: at most [`CHANNEL_BATCHES`] batches of
//! at most [`MAX_BATCH_BYTES`] (or [`MAX_BATCH_FRAMES`]) wait in the channel, and while it is
//! full the task stops reading the body, so the server is held back by TCP flow control.
//!
//! The task ends with its consumer: dropping the [`Prefetched`] stream aborts it, which drops
//! the body and closes the connection.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// A batch is handed over once it holds this many frames (or [`MAX_BATCH_BYTES`]). With one
/// frame per event, 64 frames keep the consumer's wake-ups well below one per event under load.
const MAX_BATCH_FRAMES: usize = 64;

/// A batch is handed over once it holds this many bytes. With 64 KiB frames (a fast local server) every frame is its own
/// batch: one hand-over per ~280 events.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Batches that may wait in the channel: with the caps above, at most ~4 × 64 KiB of body
/// read ahead for a slow consumer (plus one batch being filled and one being consumed).
const CHANNEL_BATCHES: usize = 4;

/// What the task hands over at once: the bytes of the frames it read, joined, then the error
/// that ended the body, if one did.
struct Batch {
    bytes: Bytes,
    error: Option<Error>,
}

/// A body read ahead by a spawned task (or, without a tokio runtime, polled in place).
pub(crate) struct Prefetched {
    state: State,
}

enum State {
    /// No runtime to spawn on: the body is polled by the consumer.
    Inline(Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>),
    Spawned {
        rx: mpsc::Receiver<Batch>,
        /// What is left of the batch being handed out.
        bytes: Option<Bytes>,
        error: Option<Error>,
        task: JoinHandle<()>,
    },
    Done,
}

impl std::fmt::Debug for Prefetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Inline(_) => "inline",
            State::Spawned { .. } => "spawned",
            State::Done => "done",
        };
        f.debug_struct("Prefetched").field("state", &state).finish()
    }
}

/// Starts reading `body` in a task on the current tokio runtime.
pub(crate) fn spawn<S>(body: S) -> Prefetched
where
    S: Stream<Item = Result<Bytes>> + Send + 'static,
{
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return Prefetched {
            state: State::Inline(Box::pin(body)),
        };
    };
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let task = handle.spawn(feed(Box::pin(body), tx));
    Prefetched {
        state: State::Spawned {
            rx,
            bytes: None,
            error: None,
            task,
        },
    }
}

/// The task: gathers frames into batches and sends them until the body ends or the consumer
/// goes away.
async fn feed<S>(mut body: Pin<Box<S>>, tx: mpsc::Sender<Batch>)
where
    S: Stream<Item = Result<Bytes>> + ?Sized,
{
    let mut ended = false;
    while !ended {
        let mut gather = Gather::default();
        ended = std::future::poll_fn(|cx| gather.poll(body.as_mut(), cx)).await;
        let Some(batch) = gather.into_batch() else {
            continue;
        };
        // Waits for room: this is the backpressure. Fails only if the consumer is gone.
        if tx.send(batch).await.is_err() {
            return;
        }
    }
}

/// One batch being gathered.
///
/// The frames are joined into one buffer rather than handed over one by one. Each frame hyper
/// gives is a slice of its read buffer, sharing that buffer's reference count: handed over
/// as they are, the task takes a reference for frame *n + 1* on its thread while the consumer
/// drops frame *n*'s on another, so the count's cache line moves between the two cores twice
/// per frame. With one frame per event (Ollama flushes after each line) that cost no
/// instructions but ~0.2 µs of CPU per line: the harness's one-write-per-line native stream
/// polled in `#[tokio::main]` measured 1.37× the floor's CPU while its instruction count was
/// 1.18× (callgrind) and the same code on a current-thread runtime 1.17×. Copying the frames
/// (~130 bytes a line) is cheaper than that, and the consumer then feeds its decoder once per
/// batch instead of once per frame. A batch of one frame (64 KiB writes) is handed over as
/// it is, without a copy.
#[derive(Default)]
struct Gather {
    /// The batch's first frame, as the body gave it.
    first: Option<Bytes>,
    /// The first frame and those after it, once there is a second.
    joined: BytesMut,
    frames: usize,
    error: Option<Error>,
    yielded: bool,
}

impl Gather {
    /// Moves ready frames into the batch. Ready with `true` when the body ended (or failed),
    /// `false` when the batch should be handed over: it is full, or the body has nothing more
    /// ready.
    ///
    /// "Nothing more ready" is decided after giving the runtime one turn: when the body has no
    /// frame ready it is usually because hyper's connection task (woken by our read, and run
    /// next on this worker) has not yet put the next one in its one-frame channel. Handing over
    /// at the first `Pending` would wake the consumer for nearly every frame, which is the cost
    /// this module exists to avoid; so the task wakes itself, lets the connection task run, and
    /// hands over only if the body is still not ready then.
    fn poll<S>(&mut self, mut body: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<bool>
    where
        S: Stream<Item = Result<Bytes>> + ?Sized,
    {
        loop {
            match body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if frame.is_empty() {
                        continue;
                    }
                    self.push(frame);
                    self.yielded = false;
                    if self.frames >= MAX_BATCH_FRAMES || self.len() >= MAX_BATCH_BYTES {
                        return Poll::Ready(false);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    self.error = Some(e);
                    return Poll::Ready(true);
                }
                Poll::Ready(None) => return Poll::Ready(true),
                Poll::Pending if self.frames == 0 => return Poll::Pending,
                Poll::Pending if !self.yielded => {
                    self.yielded = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Pending => return Poll::Ready(false),
            }
        }
    }

    fn push(&mut self, frame: Bytes) {
        self.frames += 1;
        if let Some(first) = self.first.take() {
            self.joined.reserve(first.len() + frame.len());
            self.joined.extend_from_slice(&first);
        }
        if self.frames == 1 {
            self.first = Some(frame);
        } else {
            self.joined.extend_from_slice(&frame);
        }
    }

    fn len(&self) -> usize {
        self.first.as_ref().map_or(self.joined.len(), Bytes::len)
    }

    /// The batch, if it holds anything.
    fn into_batch(self) -> Option<Batch> {
        let bytes = match self.first {
            Some(first) => first,
            None => self.joined.freeze(),
        };
        (!bytes.is_empty() || self.error.is_some()).then_some(Batch {
            bytes,
            error: self.error,
        })
    }
}

impl Stream for Prefetched {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Inline(body) => return body.as_mut().poll_next(cx),
                State::Done => return Poll::Ready(None),
                State::Spawned {
                    rx,
                    bytes,
                    error,
                    task,
                } => {
                    if let Some(b) = bytes.take() {
                        return Poll::Ready(Some(Ok(b)));
                    }
                    if let Some(e) = error.take() {
                        return Poll::Ready(Some(Err(e)));
                    }
                    match rx.poll_recv(cx) {
                        Poll::Ready(Some(batch)) => {
                            *bytes = (!batch.bytes.is_empty()).then_some(batch.bytes);
                            *error = batch.error;
                        }
                        Poll::Pending => return Poll::Pending,
                        // The task dropped its sender: it finished, or it panicked.
                        Poll::Ready(None) => {
                            let outcome = match Pin::new(task).poll(cx) {
                                Poll::Ready(r) => r,
                                Poll::Pending => return Poll::Pending,
                            };
                            this.state = State::Done;
                            if let Err(e) = outcome
                                && e.is_panic()
                            {
                                return Poll::Ready(Some(Err(Error::stream(
                                    "the task reading the response body panicked",
                                ))));
                            }
                            return Poll::Ready(None);
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Prefetched {
    fn drop(&mut self) {
        if let State::Spawned { task, .. } = &self.state {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn frames(n: usize) -> Vec<Result<Bytes>> {
        (0..n).map(|i| Ok(Bytes::from(format!("{i},")))).collect()
    }

    async fn collect(p: Prefetched) -> Vec<String> {
        p.map(|f| String::from_utf8(f.unwrap().to_vec()).unwrap())
            .collect()
            .await
    }

    #[test]
    fn without_a_runtime_the_body_is_polled_in_place() {
        let p = spawn(futures::stream::iter(frames(3)));
        assert!(matches!(p.state, State::Inline(_)));
        assert_eq!(futures::executor::block_on(collect(p)), ["0,", "1,", "2,"]);
    }

    #[tokio::test]
    async fn frames_arrive_in_order_joined_in_batches() {
        let n = MAX_BATCH_FRAMES * CHANNEL_BATCHES * 3 + 7;
        let p = spawn(futures::stream::iter(frames(n)));
        assert!(matches!(p.state, State::Spawned { .. }));
        let got = collect(p).await;
        let want: String = (0..n).map(|i| format!("{i},")).collect();
        assert_eq!(got.concat(), want);
        // Every frame is ready at once here, so every batch is full but the last.
        assert_eq!(got.len(), n.div_ceil(MAX_BATCH_FRAMES), "{got:?}");
    }

    #[tokio::test]
    async fn a_large_frame_is_handed_over_without_a_copy() {
        let big = Bytes::from(vec![b'x'; MAX_BATCH_BYTES]);
        let at = big.as_ptr();
        let body = futures::stream::iter([Ok(big.clone()), Ok(Bytes::from_static(b"tail"))]);
        let mut p = spawn(body);
        let first = p.next().await.unwrap().unwrap();
        assert_eq!(first.as_ptr(), at, "the same buffer, not a copy");
        assert_eq!(&p.next().await.unwrap().unwrap()[..], b"tail");
        assert!(p.next().await.is_none());
    }

    #[tokio::test]
    async fn what_is_ready_is_handed_over_while_the_body_waits() {
        let (tx, rx) = mpsc::channel::<Result<Bytes>>(8);
        let body = tokio_stream_from(rx);
        let mut p = spawn(body);
        tx.send(Ok(Bytes::from_static(b"a"))).await.unwrap();
        tx.send(Ok(Bytes::from_static(b"b"))).await.unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), p.next())
            .await
            .expect("not held back until the body ends")
            .unwrap()
            .unwrap();
        assert!(got == "ab" || got == "a", "{got:?}");
        drop(tx);
        let rest: Vec<String> = collect(p).await;
        assert_eq!(
            format!("{}{}", String::from_utf8_lossy(&got), rest.concat()),
            "ab"
        );
    }

    fn tokio_stream_from(
        mut rx: mpsc::Receiver<Result<Bytes>>,
    ) -> impl Stream<Item = Result<Bytes>> + Send {
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    #[tokio::test]
    async fn an_error_is_the_last_item_after_the_bytes_before_it() {
        let body = futures::stream::iter(frames(2))
            .chain(futures::stream::iter([Err(Error::stream("cut"))]))
            .chain(futures::stream::pending());
        let mut p = spawn(body);
        assert_eq!(&p.next().await.unwrap().unwrap()[..], b"0,1,");
        assert!(p.next().await.unwrap().is_err());
        assert!(p.next().await.is_none());
    }
}
