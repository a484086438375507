//! An inverted index over one segment's SPARSE column: for each index that occurs, the
//! rows holding it (ascending) and their weights. A query visits only the postings of
//! its own indices, so its cost is the length of those lists, not the column's size.
//!
//! A returned score is summed per row in f64, the query's indices taken in ascending
//! order, one product `f64(q) · f64(w)` each: the same operations in the same order as
//! `quiver_storage::sparse::dot_sorted`, so a row's score has the same bits whichever
//! way it was computed.
//!
//! Top k without reading every list (MaxScore's idea, list at a time): each list's
//! contributions are at most `q · max weight`; lists are read highest bound first into
//! partial sums (lower bounds, every contribution being ≥ 0), and once the lists left
//! can add less than the k-th best partial sum, no row untouched yet can reach the top
//! k, so the rest is skipped. The rows that may still win (partial sum plus what is
//! left at least that k-th sum, less a margin far above f64 rounding) are then scored
//! exactly, in index order, by binary search in each of the query's lists.

use std::collections::HashMap;

/// What [`SparsePostings::top`] found.
#[derive(Debug)]
pub struct SparseTop {
    /// `(row, dot product)` of the best rows (ties with the k-th included), in no order.
    pub best: Vec<(u32, f64)>,
    /// Postings read.
    pub read: usize,
    /// Postings the query's lists hold (`read` is less when pruning skipped some).
    pub listed: usize,
    /// Rows scored: those sharing an index with the query that `keep` accepted.
    pub scored: usize,
}

/// Postings of one segment's SPARSE column, built in memory from its cells.
#[derive(Debug, Default)]
pub struct SparsePostings {
    /// Indices that occur, ascending.
    indices: Vec<u32>,
    /// `offsets[i]..offsets[i + 1]` are `indices[i]`'s entries in `rows` / `weights`.
    offsets: Vec<usize>,
    rows: Vec<u32>,
    weights: Vec<f32>,
    /// The largest weight of each index's list.
    max_weights: Vec<f32>,
    /// Rows of the segment (the accumulator's length).
    row_count: usize,
}

/// One query index's list: its query weight, the bound `q · max weight` on any of its
/// contributions, and its entries' range.
struct List {
    q: f64,
    bound: f64,
    range: std::ops::Range<usize>,
}

/// Partial sums per row: a map of the rows touched when few entries are read against
/// many rows, else one dense array over the segment.
enum Sums {
    Map(HashMap<u32, f64>),
    Dense(Vec<f64>, Vec<bool>, Vec<u32>),
}

impl Sums {
    fn add(&mut self, row: u32, x: f64) {
        match self {
            Sums::Map(m) => *m.entry(row).or_insert(0.0) += x,
            Sums::Dense(sums, touched, hit) => {
                if let Some(s) = sums.get_mut(row as usize) {
                    *s += x;
                    if !std::mem::replace(&mut touched[row as usize], true) {
                        hit.push(row);
                    }
                }
            }
        }
    }

    /// `(row, partial sum)` of every row touched.
    fn touched(&self) -> Vec<(u32, f64)> {
        match self {
            Sums::Map(m) => m.iter().map(|(&r, &s)| (r, s)).collect(),
            Sums::Dense(sums, _, hit) => hit.iter().map(|&r| (r, sums[r as usize])).collect(),
        }
    }
}

impl SparsePostings {
    /// The postings of `cells`: for each row (ascending, each once) its entries in any
    /// order with no index twice. `row_count` bounds the rows.
    pub fn build<I, E>(row_count: u32, cells: I) -> SparsePostings
    where
        I: Iterator<Item = (u32, E)> + Clone,
        E: Iterator<Item = (u32, f32)>,
    {
        // Two passes: count each index's entries, then place them, so the lists are
        // filled in row order without sorting.
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for (_, entries) in cells.clone() {
            for (index, _) in entries {
                *counts.entry(index).or_default() += 1;
            }
        }
        let mut indices: Vec<u32> = counts.keys().copied().collect();
        indices.sort_unstable();
        let mut offsets = Vec::with_capacity(indices.len() + 1);
        let mut next: HashMap<u32, usize> = HashMap::with_capacity(indices.len());
        let mut total = 0;
        for &index in &indices {
            offsets.push(total);
            next.insert(index, total);
            total += counts[&index];
        }
        offsets.push(total);
        let mut rows = vec![0u32; total];
        let mut weights = vec![0f32; total];
        for (row, entries) in cells {
            for (index, weight) in entries {
                if let Some(at) = next.get_mut(&index) {
                    rows[*at] = row;
                    weights[*at] = weight;
                    *at += 1;
                }
            }
        }
        let max_weights = offsets
            .windows(2)
            .map(|w| weights[w[0]..w[1]].iter().copied().fold(0f32, f32::max))
            .collect();
        SparsePostings {
            indices,
            offsets,
            rows,
            weights,
            max_weights,
            row_count: row_count as usize,
        }
    }

    /// Entries stored (the index's size is 8 bytes each plus 12 per distinct index).
    pub fn entries(&self) -> usize {
        self.rows.len()
    }

    /// The `k` rows `keep` accepts with the highest dot product with the query, and
    /// every row tied with the k-th (in no order: ties are the caller's to break), among
    /// the rows sharing an index with it; `query` yields `(index, weight)` strictly
    /// ascending.
    pub fn top(
        &self,
        query: impl Iterator<Item = (u32, f32)>,
        k: usize,
        keep: &dyn Fn(u32) -> bool,
    ) -> SparseTop {
        // The lists of the query's indices, in the query's (ascending) index order.
        let lists: Vec<List> = query
            .filter_map(|(index, q)| {
                let i = self.indices.binary_search(&index).ok()?;
                let q = f64::from(q);
                Some(List {
                    q,
                    bound: q * f64::from(self.max_weights[i]),
                    range: self.offsets[i]..self.offsets[i + 1],
                })
            })
            .collect();
        let mut order: Vec<usize> = (0..lists.len()).collect();
        order.sort_by(|&a, &b| lists[b].bound.total_cmp(&lists[a].bound));
        // left[j]: the most the lists from order[j] on can add to a row.
        let mut left = vec![0.0; order.len() + 1];
        for j in (0..order.len()).rev() {
            left[j] = left[j + 1] + lists[order[j]].bound;
        }
        let total: usize = lists.iter().map(|l| l.range.len()).sum();
        let mut sums = if total * 16 < self.row_count {
            Sums::Map(HashMap::with_capacity(total))
        } else {
            Sums::Dense(
                vec![0.0; self.row_count],
                vec![false; self.row_count],
                Vec::new(),
            )
        };
        let (mut read, mut rest) = (0, 0.0);
        for (j, &l) in order.iter().enumerate() {
            if j > 0 && k > 0 {
                let theta = kth_best(sums.touched().into_iter().filter(|&(r, _)| keep(r)), k);
                if theta.is_some_and(|t| left[j] < t * (1.0 - 1e-9)) {
                    rest = left[j];
                    break;
                }
            }
            let list = &lists[l];
            let range = list.range.clone();
            read += range.len();
            for (&row, &w) in self.rows[range.clone()].iter().zip(&self.weights[range]) {
                sums.add(row, list.q * f64::from(w));
            }
        }
        // Rows whose partial sum plus what was skipped can reach the k-th partial sum.
        let mut candidates: Vec<(u32, f64)> = sums
            .touched()
            .into_iter()
            .filter(|&(r, _)| keep(r))
            .collect();
        let scored = candidates.len();
        if let Some(theta) = kth_best(candidates.iter().copied(), k) {
            candidates.retain(|&(_, s)| s + rest >= theta * (1.0 - 1e-9));
        }
        let mut best: Vec<(u32, f64)> = candidates
            .into_iter()
            .map(|(row, _)| (row, self.exact(&lists, row)))
            .collect();
        if best.len() > k && k > 0 {
            best.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            let kth = best[k - 1].1;
            best.retain(|x| x.1 >= kth);
        }
        SparseTop {
            best,
            read,
            listed: total,
            scored,
        }
    }

    /// `row`'s dot product: its weight in each of `lists` (index order) found by binary
    /// search, summed in that order.
    fn exact(&self, lists: &[List], row: u32) -> f64 {
        let mut sum = 0.0;
        for list in lists {
            let rows = &self.rows[list.range.clone()];
            if let Ok(at) = rows.binary_search(&row) {
                sum += list.q * f64::from(self.weights[list.range.start + at]);
            }
        }
        sum
    }
}

/// The `k`-th highest of the scores, `None` when there are fewer than `k` (or `k` is 0).
fn kth_best(scores: impl Iterator<Item = (u32, f64)>, k: usize) -> Option<f64> {
    let mut all: Vec<f64> = scores.map(|(_, s)| s).collect();
    if k == 0 || all.len() < k {
        return None;
    }
    all.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    Some(all[k - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use quiver_storage::SparseVector;
    use quiver_storage::sparse::dot_sorted;

    fn vector(m: &std::collections::BTreeMap<u32, f32>) -> SparseVector {
        SparseVector::new(m.keys().copied().collect(), m.values().copied().collect()).unwrap()
    }

    proptest! {
        #[test]
        fn postings_give_every_sharing_row_its_exact_dot_product(
            rows in proptest::collection::vec(
                proptest::collection::btree_map(0u32..30, 0f32..3.0, 0..6), 0..40),
            query in proptest::collection::btree_map(0u32..30, 0f32..3.0, 1..6),
            k in 1usize..5,
        ) {
            let rows: Vec<SparseVector> = rows.iter().map(vector).collect();
            let query = vector(&query);
            let cells = rows.iter().enumerate().map(|(r, v)| (r as u32, v.entries()));
            let postings = SparsePostings::build(rows.len() as u32, cells);
            prop_assert_eq!(postings.entries(), rows.iter().map(SparseVector::len).sum::<usize>());
            let all = rows.len() + 1;
            let sorted = |mut v: Vec<(u32, f64)>| {
                v.sort_by_key(|h| h.0);
                v
            };
            let got = sorted(postings.top(query.entries(), all, &|_| true).best);
            // The same through the map (many rows, few of them touched).
            let mut wide = SparsePostings::build(
                rows.len() as u32,
                rows.iter().enumerate().map(|(r, v)| (r as u32, v.entries())),
            );
            wide.row_count = 1 << 20;
            prop_assert_eq!(&sorted(wide.top(query.entries(), all, &|_| true).best), &got);
            let want: Vec<(u32, f64)> = rows
                .iter()
                .enumerate()
                .filter_map(|(r, v)| {
                    dot_sorted(query.indices(), query.values(), v.entries()).map(|s| (r as u32, s))
                })
                .collect();
            prop_assert_eq!(&got, &want);
            // The best k among even rows: the k highest (and ties), nothing else.
            let even: Vec<&(u32, f64)> = want.iter().filter(|h| h.0 % 2 == 0).collect();
            let top = postings.top(query.entries(), k, &|r| r % 2 == 0).best;
            let mut scores: Vec<f64> = even.iter().map(|h| h.1).collect();
            scores.sort_by(|a, b| b.total_cmp(a));
            let expected = scores.iter().filter(|&&s| scores.len() <= k || s >= scores[k - 1]).count();
            prop_assert_eq!(top.len(), expected);
            prop_assert!(top.iter().all(|h| h.0 % 2 == 0 && even.contains(&h)));
        }
    }
}
