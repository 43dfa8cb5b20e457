//! Captures everything `tracing` emits (every level, span open/close with all fields) into
//! a string, for tests that inspect traces.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

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

/// Makes tracing ask every live subscriber, not only the calling thread's, whether it wants a
/// callsite. Call it before `tracing::subscriber::set_default` in a binary whose tests run
/// in parallel.
///
/// tracing caches per callsite whether anyone wants its events. While exactly one
/// subscriber is registered, it takes that one for the global default and decides from the
/// *registering thread's* default: a callsite first hit by another test's thread (which has
/// none) is cached as unwanted, and the capturing test never sees its events (seen in
/// `tests/wire`: `unsupported::lenient_mode_drops_them_with_a_warning` got no warnings, once
/// in a few runs). A second subscriber, registered once and never dropped, turns that
/// shortcut off for the life of the process.
pub fn share_interest() {
    static ANCHOR: OnceLock<tracing::Dispatch> = OnceLock::new();
    ANCHOR.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
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
    share_interest();
    (captured, tracing::subscriber::set_default(subscriber))
}
