//! Scoring an item that holds several vectors (a multi-vector column) against a query:
//! the best of its vectors (`<->`), or late interaction (`MAXSIM`, ColBERT's sum over
//! the query's vectors of each one's best match). Every path that scores an item (the
//! memtable, an exact scan, the re-scoring of an index's candidates) calls these, so a
//! score has the same bits wherever it is computed.

use quiver_storage::Metric;

use crate::kernels::{DistanceFn, distance_fn};

/// What a multi-vector column is ranked by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MultiQuery<'q> {
    /// `column <-> [q]`: an item's distance is its nearest vector's.
    Nearest(&'q [f32]),
    /// `MAXSIM(column, [[q1], ...])`: Σ over the query's vectors of the best
    /// [`similarity`] with any of the item's vectors (flat, `dim` floats each).
    MaxSim(&'q [f32]),
}

/// An item's score under a [`MultiQuery`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiScore {
    /// Lower is closer: the nearest vector's distance, or −MAXSIM.
    pub distance: f32,
    /// Under [`MultiQuery::Nearest`], the place of the nearest vector in the item's
    /// list (the lowest place among ties).
    pub element: Option<u32>,
}

/// The similarity MAXSIM sums: the cosine for COSINE columns, the inner product for
/// DOT, the negated squared distance for L2 (higher is more similar).
pub fn similarity(metric: Metric, distance: f32) -> f32 {
    match metric {
        Metric::Cosine => 1.0 - distance,
        Metric::Dot | Metric::L2 => -distance,
    }
}

/// Scores items of one column against one query: the kernel is picked once.
#[derive(Clone, Copy, Debug)]
pub struct MultiScorer<'q> {
    query: MultiQuery<'q>,
    metric: Metric,
    dim: usize,
    distance: DistanceFn,
}

impl<'q> MultiScorer<'q> {
    /// `dim > 0`; the query's vectors must have `dim` floats (checked by the caller).
    pub fn new(query: MultiQuery<'q>, metric: Metric, dim: usize) -> Self {
        MultiScorer {
            query,
            metric,
            dim: dim.max(1),
            distance: distance_fn(metric),
        }
    }

    pub fn query(&self) -> MultiQuery<'q> {
        self.query
    }

    /// The query's vectors: one for `<->`, each of MAXSIM's.
    pub fn query_vectors(&self) -> impl Iterator<Item = &'q [f32]> + use<'q> {
        let flat = match self.query {
            MultiQuery::Nearest(q) | MultiQuery::MaxSim(q) => q,
        };
        flat.chunks_exact(self.dim)
    }

    /// The score of an item whose vectors are `item` (flat); `None` when it has none.
    pub fn score(&self, item: &[f32]) -> Option<MultiScore> {
        if item.is_empty() {
            return None;
        }
        let vectors = item.chunks_exact(self.dim);
        Some(match self.query {
            MultiQuery::Nearest(q) => {
                let (mut best, mut at) = (f32::INFINITY, 0u32);
                for (j, v) in vectors.enumerate() {
                    let d = (self.distance)(q, v);
                    if d < best {
                        (best, at) = (d, j as u32);
                    }
                }
                MultiScore {
                    distance: best,
                    element: Some(at),
                }
            }
            MultiQuery::MaxSim(_) => {
                let mut total = 0f64;
                for q in self.query_vectors() {
                    let nearest = vectors
                        .clone()
                        .map(|v| (self.distance)(q, v))
                        .fold(f32::INFINITY, f32::min);
                    total += similarity(self.metric, nearest) as f64;
                }
                MultiScore {
                    distance: -(total as f32),
                    element: None,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::scalar;

    #[test]
    fn nearest_takes_the_best_vector_and_maxsim_sums_the_best_matches() {
        let item = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
        let q = [0.0, 2.0];
        let near = MultiScorer::new(MultiQuery::Nearest(&q), Metric::L2, 2)
            .score(&item)
            .unwrap();
        assert_eq!(near.element, Some(1));
        assert_eq!(near.distance, scalar::l2_squared(&q, &item[2..4]));
        // Dot: q1 = (1, 1) best matches (1, 0) or (0, 1) at 1; q2 = (-2, 0) best
        // matches (-1, 0) at 2: MAXSIM 3.
        let qs = [1.0, 1.0, -2.0, 0.0];
        let maxsim = MultiScorer::new(MultiQuery::MaxSim(&qs), Metric::Dot, 2)
            .score(&item)
            .unwrap();
        assert_eq!((maxsim.distance, maxsim.element), (-3.0, None));
        // Cosine sums cosines: q1 at 45° from its best (cos √½), q2 aligned (1).
        let cos = MultiScorer::new(MultiQuery::MaxSim(&qs), Metric::Cosine, 2)
            .score(&item)
            .unwrap();
        assert!((-cos.distance - (1.0 + 0.5f32.sqrt())).abs() < 1e-6);
        assert_eq!(
            MultiScorer::new(MultiQuery::Nearest(&q), Metric::L2, 2).score(&[]),
            None
        );
    }
}
