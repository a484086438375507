//! Progress of a long operation (an index build, a COPY), for a display to poll.
//!
//! The worker calls [`Progress::begin`] with a stage name and a total (0 when unknown),
//! then [`Progress::advance`] as it goes, and [`Progress::end`]; a display thread reads
//! [`Progress::now`] on its own schedule. Counters are relaxed atomics: the display may
//! see a count a moment late, never a torn one, and a worker pays one atomic add per
//! step (an HNSW insertion, a block of rows), never a lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// A stage and how far it has got.
#[derive(Debug, Default)]
pub struct Progress {
    /// What the stages belong to (e.g. `products.text_vec`), set by the caller.
    context: Mutex<String>,
    stage: Mutex<Option<String>>,
    done: AtomicU64,
    total: AtomicU64,
}

/// What [`Progress::now`] reports while a stage runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgressNow {
    pub stage: String,
    pub done: u64,
    /// 0 when the stage does not know its size.
    pub total: u64,
}

impl Progress {
    /// Names what the following stages belong to; shown before each stage's name.
    pub fn set_context(&self, context: impl Into<String>) {
        *self.context.lock() = context.into();
    }

    /// Starts a stage of `total` steps (0: unknown), replacing any previous stage.
    pub fn begin(&self, stage: impl Into<String>, total: u64) {
        let mut current = self.stage.lock();
        self.done.store(0, Relaxed);
        self.total.store(total, Relaxed);
        *current = Some(stage.into());
    }

    /// Records `steps` more steps done.
    pub fn advance(&self, steps: u64) {
        self.done.fetch_add(steps, Relaxed);
    }

    /// Ends the current stage; [`Progress::now`] then answers `None`.
    pub fn end(&self) {
        *self.stage.lock() = None;
    }

    /// The running stage, if any.
    pub fn now(&self) -> Option<ProgressNow> {
        let stage = self.stage.lock().clone()?;
        let context = self.context.lock();
        let stage = match context.is_empty() {
            true => stage,
            false => format!("{context}: {stage}"),
        };
        Some(ProgressNow {
            stage,
            done: self.done.load(Relaxed),
            total: self.total.load(Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_report_counts_and_end() {
        let p = Progress::default();
        assert_eq!(p.now(), None);
        p.begin("HNSW on v", 10);
        p.advance(3);
        p.advance(4);
        let now = p.now().unwrap();
        assert_eq!(
            (now.stage.as_str(), now.done, now.total),
            ("HNSW on v", 7, 10)
        );
        p.set_context("items.v");
        p.begin("encoding", 0);
        assert_eq!(p.now().unwrap().stage, "items.v: encoding");
        assert_eq!(p.now().unwrap().done, 0, "a new stage restarts the count");
        p.end();
        assert_eq!(p.now(), None);
    }
}
