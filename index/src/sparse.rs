//! An inverted index over one segment's SPARSE column: for each index that occurs, the
//! rows holding it (ascending) and their weights. A query visits only the postings of
//! its own indices, so its cost is the length of those lists, not the column's size.
//!
//! Scores are summed per row in f64, the query's indices taken in ascending order, one
//! product `f64(q) · f64(w)` each: the same operations in the same order as
//! `quiver_storage::sparse::dot_sorted`, so a row's score has the same bits whichever
//! way it was computed.

use std::collections::HashMap;

/// What [`SparsePostings::top`] found.
#[derive(Debug)]
pub struct SparseTop {
    /// `(row, dot product)` of the best rows (ties with the k-th included), in no order.
    pub best: Vec<(u32, f64)>,
    /// Postings read.
    pub read: usize,
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
    /// Rows of the segment (the accumulator's length).
    row_count: usize,
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
        SparsePostings {
            indices,
            offsets,
            rows,
            weights,
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
        let lists: Vec<(f64, std::ops::Range<usize>)> = query
            .filter_map(|(index, q)| {
                let i = self.indices.binary_search(&index).ok()?;
                Some((f64::from(q), self.offsets[i]..self.offsets[i + 1]))
            })
            .collect();
        let read: usize = lists.iter().map(|(_, r)| r.len()).sum();
        // Few entries against many rows: a map of the rows touched; else one dense
        // accumulator over the segment (cheaper per entry, but sized by its rows).
        let mut found: Vec<(u32, f64)> = if read * 16 < self.row_count {
            let mut sums: HashMap<u32, f64> = HashMap::with_capacity(read);
            self.accumulate(&lists, |row, x| *sums.entry(row).or_insert(0.0) += x);
            sums.into_iter().filter(|&(row, _)| keep(row)).collect()
        } else {
            let mut sums = vec![0f64; self.row_count];
            let mut touched = vec![false; self.row_count];
            let mut hit: Vec<u32> = Vec::new();
            self.accumulate(&lists, |row, x| {
                let r = row as usize;
                if r < sums.len() {
                    sums[r] += x;
                    if !std::mem::replace(&mut touched[r], true) {
                        hit.push(row);
                    }
                }
            });
            hit.into_iter()
                .filter(|&row| keep(row))
                .map(|row| (row, sums[row as usize]))
                .collect()
        };
        let scored = found.len();
        if found.len() > k && k > 0 {
            found.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            let kth = found[k - 1].1;
            found.retain(|x| x.1 >= kth);
        }
        SparseTop {
            best: found,
            read,
            scored,
        }
    }

    /// Hands each posting's product `q · w` to `add`, list after list.
    fn accumulate(&self, lists: &[(f64, std::ops::Range<usize>)], mut add: impl FnMut(u32, f64)) {
        for (q, range) in lists {
            let rows = &self.rows[range.clone()];
            let weights = &self.weights[range.clone()];
            for (&row, &w) in rows.iter().zip(weights) {
                add(row, q * f64::from(w));
            }
        }
    }
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
