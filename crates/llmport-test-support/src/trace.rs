//! Captures everything `tracing` emits (every level, span open/close with all fields) into
//! a string, for tests that inspect traces.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::format::FmtSpan;

/// The captured output.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture")).into_owned()
    }
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing on this thread (use a current-thread runtime) until the guard drops.
pub fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let buf = captured.0.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || Sink(buf.clone()))
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_target(true)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    // Tests running on other threads of the same binary, with no subscriber, may have cached
    // a callsite's interest as "never": recompute it now that this one is in place.
    tracing::callsite::rebuild_interest_cache();
    (captured, guard)
}
