//! Progress bars for long statements (COPY, CREATE INDEX, FLUSH, COMPACT): while a
//! statement runs, a second thread polls the database's [`quiver::Progress`] and draws
//! the current stage on stderr. Only when stdout is a terminal, and only for stages
//! still running after a short delay, so scripts, pipes and quick statements print
//! exactly what they did before.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use quiver::Database;

/// How often the bar is refreshed.
const POLL: Duration = Duration::from_millis(100);
/// A stage shorter than this never shows a bar.
const SHOW_AFTER: Duration = Duration::from_millis(400);

/// Runs `work`, drawing the database's progress meanwhile when stdout is a terminal.
pub fn with_progress<T>(db: &Database, work: impl FnOnce() -> T) -> T {
    if !std::io::stdout().is_terminal() {
        return work();
    }
    let progress = db.progress();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut bar: Option<(ProgressBar, String)> = None;
            let started = std::time::Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(POLL);
                let Some(now) = progress.now() else {
                    continue;
                };
                if started.elapsed() < SHOW_AFTER {
                    continue;
                }
                let fresh = bar.as_ref().is_none_or(|(_, stage)| *stage != now.stage);
                if fresh {
                    if let Some((old, _)) = bar.take() {
                        old.finish_and_clear();
                    }
                    bar = Some((new_bar(now.total, &now.stage), now.stage.clone()));
                }
                if let Some((b, _)) = &bar {
                    b.set_position(now.done);
                }
            }
            if let Some((b, _)) = bar {
                b.finish_and_clear();
            }
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        result
    })
}

fn new_bar(total: u64, stage: &str) -> ProgressBar {
    let bar = if total == 0 {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("a valid template"),
        );
        b.enable_steady_tick(POLL);
        b
    } else {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template("{msg} [{wide_bar}] {human_pos}/{human_len} eta {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        b
    };
    bar.set_message(stage.to_string());
    bar
}
