//! `llmport pull MODEL`: download a model (or bring it up to date), showing its progress on
//! stderr — a progress bar per layer when stderr is a terminal, plain status lines
//! otherwise. Ctrl-C cancels the pull. `push` and `create` show their progress the same way
//! ([`show_progress`]). The server's status texts are printed without escape
//! sequences or control characters (see [`crate::sanitize`]).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use indicatif::style::ProgressTracker;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use llmport::OllamaProvider;
use llmport::ollama::{ProgressStream, PullOptions, PullProgress};

use crate::error::CliError;
use crate::format;
use crate::sanitize;
use crate::{GlobalArgs, native_api};

/// Flags and arguments of `llmport pull`.
#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// The model to download, e.g. llama3.2 or qwen3:8b.
    #[arg(value_name = "MODEL")]
    pub model: String,

    /// Allow a registry without TLS or with an invalid certificate.
    #[arg(long)]
    pub insecure: bool,
}

/// Runs `llmport pull`.
pub(crate) async fn run(args: PullArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let provider = crate::provider::build(global)?;
    let mut options = PullOptions::builder();
    if args.insecure {
        options = options.insecure(true);
    }
    let options = options.build();
    let start = provider.pull_with(&args.model, &options);
    show_progress(&provider, start, "pull", &args.model).await
}

/// The error when the user cancels `operation` (`pull`, `push`, `create`).
fn cancelled(operation: &str) -> CliError {
    CliError::Interrupted(format!("{operation} cancelled"))
}

/// Shows the progress of a pull, push or create (`operation`) of `model` on stderr, as
/// `llmport pull` does: bars on a terminal, plain lines otherwise; Ctrl-C cancels it.
pub(crate) async fn show_progress(
    provider: &OllamaProvider,
    start: impl Future<Output = llmport::Result<ProgressStream>>,
    operation: &str,
    model: &str,
) -> Result<(), CliError> {
    if io::stderr().is_terminal() {
        let mut bars = Bars::new(ProgressDrawTarget::stderr());
        follow(
            provider,
            start,
            operation,
            model,
            &mut bars,
            super::ctrl_c(),
        )
        .await
    } else {
        let mut lines = Lines::new(io::stderr());
        follow(
            provider,
            start,
            operation,
            model,
            &mut lines,
            super::ctrl_c(),
        )
        .await
    }
}

/// Starts the operation with `start` and shows each progress report on `view`, until the
/// server reports success, the operation fails, or `interrupt` resolves (then the request
/// or stream is dropped, which cancels it on the server, and the result is
/// [`CliError::Interrupted`]).
async fn follow(
    provider: &OllamaProvider,
    start: impl Future<Output = llmport::Result<ProgressStream>>,
    operation: &str,
    model: &str,
    view: &mut impl ProgressView,
    interrupt: impl Future<Output = ()>,
) -> Result<(), CliError> {
    tokio::pin!(interrupt);
    let started = tokio::select! {
        biased;
        () = &mut interrupt => return Err(cancelled(operation)),
        s = start => s,
    };
    let mut stream = match started {
        Ok(stream) => stream,
        Err(e) => {
            let what = format!("`llmport {operation}`");
            return Err(native_api::explain(provider, e.into(), &what, Some(model)).await);
        }
    };
    loop {
        let next = tokio::select! {
            biased;
            () = &mut interrupt => {
                drop(stream);
                view.stop();
                return Err(cancelled(operation));
            }
            next = stream.next() => next,
        };
        match next {
            Some(Ok(progress)) => view
                .report(&progress, Instant::now())
                .map_err(|e| CliError::io("cannot write to stderr", e))?,
            Some(Err(e)) => {
                view.stop();
                return Err(e.into());
            }
            None => return Ok(()),
        }
    }
}

/// Shows the progress of a pull.
trait ProgressView {
    /// Shows one report, received at `now`.
    fn report(&mut self, progress: &PullProgress, now: Instant) -> io::Result<()>;

    /// The pull stopped before success (failed or cancelled): leave what is shown as it is.
    fn stop(&mut self);
}

/// The layer a report is about, with its size: `(digest, total)`, for reports that have a
/// digest and a non-zero size.
fn layer(progress: &PullProgress) -> Option<(&str, u64)> {
    match (&progress.digest, progress.total) {
        (Some(digest), Some(total)) if total > 0 => Some((digest, total)),
        _ => None,
    }
}

/// What a layer's line starts with: the server's status (`pulling ae75413e5438`), or, should
/// it be empty, `pulling` and the digest's first 12 hex digits.
fn layer_label(progress: &PullProgress, digest: &str) -> String {
    if progress.status.is_empty() {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        format!("pulling {}", sanitize::line(hex.get(..12).unwrap_or(hex)))
    } else {
        sanitize::line(&progress.status).into_owned()
    }
}

/// How often, at most, [`Lines`] reports on one layer (besides its first and its last line).
const LINE_INTERVAL: Duration = Duration::from_secs(1);

/// Plain status lines, for a stderr that is not a terminal (a log, a pipe): no escape codes.
///
/// A status without a layer (`pulling manifest`, `success`) is printed once, when it
/// changes. A layer is printed as `pulling ae75413e5438: 45% (1.0 GB/2.0 GB)` when its first
/// report arrives, then at most once every [`LINE_INTERVAL`], and once more when it is
/// complete.
#[derive(Debug)]
struct Lines<W> {
    out: W,
    layers: HashMap<String, LayerLine>,
    last_status: Option<String>,
}

/// When a layer's line was last printed, and whether it showed the layer complete.
#[derive(Debug, Clone, Copy)]
struct LayerLine {
    printed_at: Instant,
    complete: bool,
}

impl<W: Write> Lines<W> {
    fn new(out: W) -> Self {
        Lines {
            out,
            layers: HashMap::new(),
            last_status: None,
        }
    }
}

impl<W: Write> ProgressView for Lines<W> {
    fn report(&mut self, progress: &PullProgress, now: Instant) -> io::Result<()> {
        let Some((digest, total)) = layer(progress) else {
            if self.last_status.as_deref() != Some(progress.status.as_str()) {
                writeln!(self.out, "{}", sanitize::line(&progress.status))?;
                self.out.flush()?;
                self.last_status = Some(progress.status.clone());
            }
            return Ok(());
        };
        let done = progress.completed.unwrap_or(0).min(total);
        let complete = done == total;
        let due = match self.layers.get(digest) {
            None => true,
            Some(last) if last.complete => false,
            Some(last) => complete || now.duration_since(last.printed_at) >= LINE_INTERVAL,
        };
        if due {
            let percent = u128::from(done) * 100 / u128::from(total);
            writeln!(
                self.out,
                "{}: {percent}% ({}/{})",
                layer_label(progress, digest),
                format::bytes(done),
                format::bytes(total)
            )?;
            self.out.flush()?;
            self.layers.insert(
                digest.to_owned(),
                LayerLine {
                    printed_at: now,
                    complete,
                },
            );
        }
        self.last_status = None;
        Ok(())
    }

    fn stop(&mut self) {}
}

/// Progress bars on a terminal: one per layer (`pulling ae75413e5438: 45% ▕███   ▏ 1.0 GB/2.0
/// GB 31.2 MB/s`), and a spinner line for each status without a layer.
#[derive(Debug)]
struct Bars {
    multi: MultiProgress,
    layers: HashMap<String, ProgressBar>,
    status: Option<ProgressBar>,
}

impl Bars {
    fn new(target: ProgressDrawTarget) -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(target),
            layers: HashMap::new(),
            status: None,
        }
    }

    /// Ends the current status spinner, leaving its line (without the spinner) in place.
    fn end_status(&mut self) {
        if let Some(status) = self.status.take() {
            finish_status(&status);
        }
    }
}

/// A layer's bar: label, percentage, bar, bytes done/total (as [`format::bytes`] words
/// them) and speed.
fn layer_style() -> ProgressStyle {
    let bytes_key = |value: fn(&ProgressState) -> u64| {
        move |state: &ProgressState, w: &mut dyn fmt::Write| {
            let _ = w.write_str(&format::bytes(value(state)));
        }
    };
    ProgressStyle::with_template("{prefix}: {percent:>3}% ▕{bar:25}▏ {done}/{total}  {speed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("done", bytes_key(ProgressState::pos))
        .with_key("total", bytes_key(|s| s.len().unwrap_or(0)))
        .with_key("speed", LayerSpeed::default())
        .progress_chars("█▌ ")
}

/// The `{speed}` of a layer's bar: bytes per second since the bar's first report. Unlike
/// indicatif's own estimate, it does not count the bytes that were already there when the
/// bar started (a resumed pull, a layer already on disk) as if they had just arrived.
#[derive(Debug, Clone, Default)]
struct LayerSpeed {
    /// When the bar first ticked, and its position then.
    start: Option<(Instant, u64)>,
    /// Bytes per second.
    rate: u64,
}

impl ProgressTracker for LayerSpeed {
    fn clone_box(&self) -> Box<dyn ProgressTracker> {
        Box::new(self.clone())
    }

    fn tick(&mut self, state: &ProgressState, now: Instant) {
        match self.start {
            None => self.start = Some((now, state.pos())),
            Some((t0, p0)) => {
                let secs = now.duration_since(t0).as_secs_f64();
                if secs > 0.0 {
                    #[allow(
                        clippy::cast_precision_loss,
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "byte counts far below 2^53 are exact as f64; the rate is \
                                  whole bytes, and `as` saturates a non-finite or negative \
                                  f64 (to 0 or u64::MAX), never panics"
                    )]
                    let rate = (state.pos().saturating_sub(p0) as f64 / secs) as u64;
                    self.rate = rate;
                }
            }
        }
    }

    fn reset(&mut self, state: &ProgressState, now: Instant) {
        *self = LayerSpeed {
            start: Some((now, state.pos())),
            rate: 0,
        };
    }

    fn write(&self, _state: &ProgressState, w: &mut dyn fmt::Write) {
        let _ = write!(w, "{}/s", format::bytes(self.rate));
    }
}

/// A status line while it is current: a spinner, then the status.
fn status_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Ends a status line: the status alone stays on the screen.
fn finish_status(status: &ProgressBar) {
    status.set_style(
        ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    status.finish();
}

impl ProgressView for Bars {
    fn report(&mut self, progress: &PullProgress, _now: Instant) -> io::Result<()> {
        if let Some((digest, total)) = layer(progress) {
            let done = progress.completed.unwrap_or(0).min(total);
            let bar = match self.layers.get(digest) {
                Some(bar) => bar.clone(),
                None => {
                    self.end_status();
                    // Starting at what is already there (a resumed pull, a layer already on
                    // disk) keeps that out of the speed.
                    let bar = self.multi.add(
                        ProgressBar::new(total)
                            .with_position(done)
                            .with_style(layer_style())
                            .with_prefix(layer_label(progress, digest)),
                    );
                    self.layers.insert(digest.to_owned(), bar.clone());
                    bar
                }
            };
            if bar.is_finished() {
                return Ok(());
            }
            bar.set_length(total);
            bar.set_position(done);
            if done == total {
                bar.finish();
            }
            return Ok(());
        }
        let message = sanitize::line(&progress.status).into_owned();
        if self.status.as_ref().is_some_and(|s| s.message() == message) {
            return Ok(());
        }
        self.end_status();
        let status = self.multi.add(
            ProgressBar::new_spinner()
                .with_style(status_style())
                .with_message(message),
        );
        if progress.is_success() {
            finish_status(&status);
        } else {
            status.enable_steady_tick(Duration::from_millis(100));
            self.status = Some(status);
        }
        Ok(())
    }

    fn stop(&mut self) {
        for bar in self.layers.values().chain(&self.status) {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
        self.status = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::InMemoryTerm;
    use llmport::testing::{Reply, TestServer, Transcript};
    use serde_json::{Value, json};
    use tokio::sync::Notify;

    use super::*;

    /// The progress reports of `native_pull_progress.json`.
    fn fixture_reports() -> Vec<PullProgress> {
        let t = Transcript::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../llmport/tests/fixtures/native_pull_progress.json"
        ))
        .unwrap();
        serde_json::from_value(t.raw()["response"]["ndjson_lines"].clone()).unwrap()
    }

    fn report(
        status: &str,
        digest: Option<&str>,
        total: Option<u64>,
        done: Option<u64>,
    ) -> PullProgress {
        serde_json::from_value(json!({
            "status": status, "digest": digest, "total": total, "completed": done
        }))
        .unwrap()
    }

    #[test]
    fn lines_show_each_status_once_and_each_layer_at_start_and_end() {
        let mut lines = Lines::new(Vec::new());
        let now = Instant::now();
        for r in fixture_reports() {
            lines.report(&r, now).unwrap();
        }
        assert_eq!(
            String::from_utf8(lines.out).unwrap(),
            "pulling manifest\n\
             pulling ae75413e5438: 0% (0 B/2.0 GB)\n\
             pulling ae75413e5438: 100% (2.0 GB/2.0 GB)\n\
             pulling 9d92c9f59e5a: 100% (1.4 KB/1.4 KB)\n\
             pulling e3059d27c8ef: 100% (7.7 KB/7.7 KB)\n\
             pulling e4d8fe0868b7: 100% (6.0 KB/6.0 KB)\n\
             pulling ed13b9418543: 100% (96 B/96 B)\n\
             pulling 8fe2bb857828: 100% (561 B/561 B)\n\
             verifying sha256 digest\n\
             writing manifest\n\
             removing unused layers\n\
             success\n"
        );
    }

    #[test]
    fn lines_report_a_layer_at_most_once_a_second() {
        let mut lines = Lines::new(Vec::new());
        let start = Instant::now();
        let d = Some("sha256:8934d96d3f08aaaaaaaa");
        let total = Some(2_019_377_376);
        let at = |ms| start + Duration::from_millis(ms);
        for (ms, done) in [
            (0, 0),
            (400, 100_000_000),
            (999, 200_000_000),
            (1000, 908_719_820),
            (1500, 1_000_000_000),
            (2100, 1_514_533_032),
            (2200, 2_019_377_376),
            (2300, 2_019_377_376),
        ] {
            let r = report("pulling 8934d96d3f08", d, total, Some(done));
            lines.report(&r, at(ms)).unwrap();
        }
        assert_eq!(
            String::from_utf8(lines.out).unwrap(),
            "pulling 8934d96d3f08: 0% (0 B/2.0 GB)\n\
             pulling 8934d96d3f08: 45% (908 MB/2.0 GB)\n\
             pulling 8934d96d3f08: 75% (1.5 GB/2.0 GB)\n\
             pulling 8934d96d3f08: 100% (2.0 GB/2.0 GB)\n"
        );
    }

    #[test]
    fn layers_are_throttled_each_on_their_own_clock() {
        let mut lines = Lines::new(Vec::new());
        let t = Instant::now();
        let a = |done| report("", Some("sha256:aaaaaaaaaaaabbbb"), Some(100), Some(done));
        let b = |done| report("", Some("sha256:cccccccccccc"), Some(100), Some(done));
        lines.report(&a(10), t).unwrap();
        lines
            .report(&b(10), t + Duration::from_millis(600))
            .unwrap();
        lines
            .report(&a(20), t + Duration::from_millis(1100))
            .unwrap();
        lines
            .report(&b(20), t + Duration::from_millis(1200))
            .unwrap();
        assert_eq!(
            String::from_utf8(lines.out).unwrap(),
            "pulling aaaaaaaaaaaa: 10% (10 B/100 B)\n\
             pulling cccccccccccc: 10% (10 B/100 B)\n\
             pulling aaaaaaaaaaaa: 20% (20 B/100 B)\n"
        );
    }

    #[test]
    fn bars_show_every_layer_with_its_bytes_and_the_statuses() {
        let term = InMemoryTerm::new(30, 120);
        let mut bars = Bars::new(ProgressDrawTarget::term_like(Box::new(term.clone())));
        let now = Instant::now();
        for r in fixture_reports() {
            bars.report(&r, now).unwrap();
        }
        let screen = term.contents();
        let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
        assert!(lines.contains(&"pulling manifest"), "{screen}");
        assert!(lines.contains(&"success"), "{screen}");
        let layer = lines
            .iter()
            .find(|l| l.starts_with("pulling ae75413e5438: 100% ▕"))
            .unwrap_or_else(|| panic!("{screen}"));
        assert!(layer.contains("▏ 2.0 GB/2.0 GB  "), "{layer}");
        assert!(layer.ends_with("/s"), "the speed: {layer}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("pulling ed13b9418543: 100% ▕") && l.contains("96 B/96 B")),
            "{screen}"
        );
        // One line per layer and per status: 6 layers, 5 statuses.
        assert_eq!(
            lines.iter().filter(|l| !l.is_empty()).count(),
            11,
            "{screen}"
        );
    }

    #[test]
    fn a_bar_in_progress_shows_its_share() {
        let term = InMemoryTerm::new(10, 120);
        let mut bars = Bars::new(ProgressDrawTarget::term_like(Box::new(term.clone())));
        let d = Some("sha256:8934d96d3f08aaaaaaaa");
        bars.report(
            &report(
                "pulling 8934d96d3f08",
                d,
                Some(2_019_377_376),
                Some(908_719_820),
            ),
            Instant::now(),
        )
        .unwrap();
        bars.stop();
        let screen = term.contents();
        assert!(
            screen.contains("pulling 8934d96d3f08:  45% ▕")
                && screen.contains("908 MB/2.0 GB  0 B/s"),
            "{screen}"
        );
    }

    /// A writer that keeps what is written and wakes a waiter on every write.
    #[derive(Clone, Default)]
    struct Screen {
        bytes: Arc<Mutex<Vec<u8>>>,
        written: Arc<Notify>,
    }

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.lock().unwrap().extend_from_slice(buf);
            self.written.notify_one();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_interrupt_drops_the_pull_and_says_it_was_cancelled() {
        let reply = Reply::ndjson([
            json!({"status": "pulling manifest"}),
            json!({"status": "pulling ae75413e5438", "digest": "sha256:ae75413e5438",
                   "total": 100, "completed": 1}),
        ])
        .hang_after_body();
        let server = TestServer::builder()
            .route("POST", "/api/pull", reply)
            .start()
            .await;
        let provider = OllamaProvider::builder()
            .host(server.url())
            .build()
            .unwrap();
        let screen = Screen::default();
        let written = screen.written.clone();
        let mut lines = Lines::new(screen.clone());
        let result = tokio::time::timeout(
            Duration::from_secs(30),
            follow(
                &provider,
                provider.pull_with("llama3.2", &PullOptions::new()),
                "pull",
                "llama3.2",
                &mut lines,
                async move {
                    written.notified().await;
                },
            ),
        )
        .await
        .expect("the interrupt stops the hanging pull");
        let e = result.unwrap_err();
        assert_eq!(e.line(), "llmport: pull cancelled");
        assert_eq!(e.exit_code(), 130);
        let text = String::from_utf8(screen.bytes.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("pulling manifest\n"), "{text}");
        let body: Value = server.last_request().unwrap().json().unwrap();
        assert_eq!(body, json!({"model": "llama3.2"}));
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.active_connections() > 0 {
            assert!(
                Instant::now() < deadline,
                "the pull's connection is still open"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
