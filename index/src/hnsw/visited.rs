//! A reusable visited set: one `u16` mark per node compared against an epoch, so
//! clearing is O(1) (a real clear every 65,535 searches). Two bytes per node keep the
//! set small enough to stay in cache next to the vectors. One per thread, kept in a
//! thread-local between searches.

use std::cell::RefCell;

pub struct Visited {
    marks: Vec<u16>,
    epoch: u16,
}

impl Visited {
    /// Starts a new search over `n` nodes.
    fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.fill(0);
            self.epoch = 1;
        }
    }

    /// Marks `node`; true if it was not yet visited in this search.
    #[inline]
    pub fn insert(&mut self, node: u32) -> bool {
        match self.marks.get_mut(node as usize) {
            Some(mark) if *mark != self.epoch => {
                *mark = self.epoch;
                true
            }
            _ => false,
        }
    }
}

thread_local! {
    static VISITED: RefCell<Visited> = const { RefCell::new(Visited { marks: Vec::new(), epoch: 0 }) };
}

/// Runs `f` with this thread's visited set, cleared for `n` nodes.
pub fn with_visited<T>(n: usize, f: impl FnOnce(&mut Visited) -> T) -> T {
    VISITED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut visited) => {
            visited.reset(n);
            f(&mut visited)
        }
        // Re-entrant use (a search inside a search on one thread): a fresh set.
        Err(_) => {
            let mut fresh = Visited {
                marks: Vec::new(),
                epoch: 0,
            };
            fresh.reset(n);
            f(&mut fresh)
        }
    })
}
