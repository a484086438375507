//! Recall-targeted search. At build time an index measures its own recall curve:
//! search parameter (HNSW `ef`, IVF `nprobe`) -> mean recall@10 against exact search,
//! on a held-out sample of the column's own vectors (each sample row queries the index
//! with itself excluded from both the answer and the truth). A query can then ask for a
//! recall instead of a parameter, and [`Calibration::pick`] reads the parameter off
//! the curve.

use quiver_storage::{Metric, RowId};
use rayon::prelude::*;

use crate::flat::{Hit, exact_top_k};
use crate::ivf::kmeans::{SplitMix, sample_indices};
use crate::kernels::RowDistance;
use crate::source::VectorSource;

/// Neighbours per calibration query (recall@10).
pub const CALIBRATION_K: usize = 10;
/// Held-out queries measured by default.
pub const CALIBRATION_QUERIES: usize = 200;
/// Below this many rows an index is not calibrated: exact search is cheap there.
pub const CALIBRATION_MIN_ROWS: usize = 1000;

/// run.py's `EF_SWEEP`: the HNSW curve's points.
pub const EF_POINTS: [u32; 12] = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];
/// run.py's `NPROBE_SWEEP`: the IVF curve's points (those up to nlist).
pub const NPROBE_POINTS: [u32; 13] = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256];

/// Measured `(parameter, recall@10)` points, parameters ascending, and the column's
/// typical distances measured on the same sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    pub points: Vec<(u32, f32)>,
    /// `None` when read back from [`Calibration::to_words`] (stored apart).
    pub span: Option<DistanceSpan>,
}

/// A column's typical distances, the scale of its fused scores: `near` is the mean
/// distance from a sample row to its nearest other row, `far` the mean distance
/// between two sample rows (a random pair). A fused query scores a distance `d` as
/// `(far - d) / (far - near)`: about 1 for a true near neighbour, about 0 for an
/// unrelated item, on every query and every column whatever its metric or spread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DistanceSpan {
    pub near: f32,
    pub far: f32,
}

impl DistanceSpan {
    /// Finite, with `far > near` (so the score's denominator is positive).
    pub fn is_valid(&self) -> bool {
        self.near.is_finite() && self.far.is_finite() && self.far > self.near
    }

    /// As stored in a segment: `[near bits, far bits]`.
    pub fn to_words(&self) -> [u32; 2] {
        [self.near.to_bits(), self.far.to_bits()]
    }

    /// Reads [`DistanceSpan::to_words`]; `None` unless two words of a valid span.
    pub fn from_words(words: &[u32]) -> Option<DistanceSpan> {
        let [near, far] = words else {
            return None;
        };
        let span = DistanceSpan {
            near: f32::from_bits(*near),
            far: f32::from_bits(*far),
        };
        span.is_valid().then_some(span)
    }
}

/// One search at a parameter: `(query, k, parameter, held_out) -> hits`, answering as
/// if row `held_out` (the query's own row) were not in the index: at least never
/// returned. For HNSW that is not enough (a row's own links lead straight to its
/// neighbours, and hiding it instead breaks the links its neighbours pruned because of
/// it): `Hnsw::build_calibrated` measures on the graph before the sample is inserted.
pub type CalibratedSearch<'a> = dyn Fn(&[f32], usize, u32, RowId) -> Vec<Hit> + Sync + 'a;

impl Calibration {
    /// Measures `search` at each of `params` on `queries` sample rows of `source`
    /// (in parallel on the rayon pool). `None` when the source has too few rows.
    pub fn measure<S: VectorSource + Sync>(
        source: &S,
        metric: Metric,
        params: &[u32],
        queries: usize,
        seed: u64,
        search: &CalibratedSearch<'_>,
    ) -> Option<Calibration> {
        let sample = Self::sample(source, queries, seed)?;
        Self::measure_on(source, metric, params, &sample, search)
    }

    /// The held-out rows [`Calibration::measure`] would query with: `queries` of the
    /// non-NULL rows, or `None` when there are too few rows to calibrate.
    pub fn sample<S: VectorSource + ?Sized>(
        source: &S,
        queries: usize,
        seed: u64,
    ) -> Option<Vec<RowId>> {
        let valid: Vec<u32> = (0..source.len() as u32)
            .filter(|&r| source.get(RowId(r)).is_some())
            .collect();
        if valid.len() < CALIBRATION_MIN_ROWS.max(CALIBRATION_K + 1) {
            return None;
        }
        let mut rng = SplitMix::new(seed);
        Some(
            sample_indices(valid.len(), queries.max(1), &mut rng)
                .into_iter()
                .map(|i| RowId(valid[i]))
                .collect(),
        )
    }

    /// [`Calibration::measure`] with the held-out rows given.
    pub fn measure_on<S: VectorSource + Sync>(
        source: &S,
        metric: Metric,
        params: &[u32],
        sample: &[RowId],
        search: &CalibratedSearch<'_>,
    ) -> Option<Calibration> {
        if sample.is_empty() || params.is_empty() {
            return None;
        }
        let distance = RowDistance::new(metric);
        // The sample's rows as f32 queries (widened once when stored at half precision).
        let vectors: Vec<(RowId, Vec<f32>)> = sample
            .iter()
            .filter_map(|&me| Some((me, source.get(me)?.to_vec())))
            .collect();
        // Per query: a hit count per parameter, the nearest other row's distance, and
        // the mean distance to the other sample rows.
        let measured: Vec<(Vec<usize>, f32, f64)> = vectors
            .par_iter()
            .map(|(me, q)| {
                let (me, q) = (*me, &q[..]);
                let others = |r: RowId| r != me;
                let truth = exact_top_k(source, metric, q, CALIBRATION_K, &others);
                let counts = params
                    .iter()
                    .map(|&p| {
                        let got = search(q, CALIBRATION_K, p, me);
                        got.iter()
                            .take(CALIBRATION_K)
                            .filter(|h| truth.iter().any(|t| t.row == h.row))
                            .count()
                    })
                    .collect();
                let nearest = truth.first().map_or(f32::NAN, |t| t.distance);
                let pairs: f64 = vectors
                    .iter()
                    .filter(|(other, _)| *other != me)
                    .map(|(_, v)| distance.to(q, quiver_storage::Vectors::F32(v)) as f64)
                    .sum();
                (counts, nearest, pairs / (vectors.len() - 1).max(1) as f64)
            })
            .collect();
        let n = measured.len() as f64;
        let span = DistanceSpan {
            near: (measured.iter().map(|m| m.1 as f64).sum::<f64>() / n) as f32,
            far: (measured.iter().map(|m| m.2).sum::<f64>() / n) as f32,
        };
        let span = span.is_valid().then_some(span);
        let counts: Vec<Vec<usize>> = measured.into_iter().map(|m| m.0).collect();
        if counts.is_empty() {
            return None;
        }
        let total = (counts.len() * CALIBRATION_K) as f32;
        let points = params
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, counts.iter().map(|c| c[i]).sum::<usize>() as f32 / total))
            .collect();
        Some(Calibration { points, span })
    }

    /// The smallest parameter whose recall reaches `target`, interpolated between the
    /// measured points in log(parameter) (recall grows about linearly in it). The curve
    /// is read as its running maximum, so noise never makes a larger parameter look
    /// worse. `None` when no measured point reaches the target.
    pub fn pick(&self, target: f32) -> Option<u32> {
        let mut best = f32::NEG_INFINITY;
        let mut previous: Option<(u32, f32)> = None;
        for &(p, r) in &self.points {
            let r = r.max(best);
            best = r;
            if r >= target {
                let Some((p0, r0)) = previous else {
                    return Some(p);
                };
                if r <= r0 {
                    return Some(p);
                }
                let f = ((target - r0) / (r - r0)) as f64;
                let (l0, l1) = ((p0 as f64).ln(), (p as f64).ln());
                let chosen = (l0 + f * (l1 - l0)).exp().ceil() as u32;
                return Some(chosen.clamp(p0 + 1, p));
            }
            previous = Some((p, r));
        }
        None
    }

    /// As stored in a segment: `[parameter, recall bits]` per point.
    pub fn to_words(&self) -> Vec<u32> {
        self.points
            .iter()
            .flat_map(|&(p, r)| [p, r.to_bits()])
            .collect()
    }

    /// Reads [`Calibration::to_words`]; `None` if the words do not form a curve
    /// (odd length, parameters not ascending, recall outside 0..=1).
    pub fn from_words(words: &[u32]) -> Option<Calibration> {
        if !words.len().is_multiple_of(2) {
            return None;
        }
        let points: Vec<(u32, f32)> = words
            .chunks_exact(2)
            .map(|w| (w[0], f32::from_bits(w[1])))
            .collect();
        let ascending = points.windows(2).all(|w| w[0].0 < w[1].0);
        let sane = points.iter().all(|&(_, r)| (0.0..=1.0).contains(&r));
        (ascending && sane).then_some(Calibration { points, span: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hnsw::{Hnsw, HnswParams};
    use crate::progress::Progress;
    use crate::source::SliceSource;

    #[test]
    fn pick_interpolates_and_refuses_the_unreachable() {
        let c = Calibration {
            points: vec![(10, 0.5), (20, 0.8), (40, 0.9), (80, 0.85), (160, 0.97)],
            span: None,
        };
        assert_eq!(c.pick(0.3), Some(10));
        assert_eq!(c.pick(0.8), Some(20));
        let mid = c.pick(0.85).unwrap();
        assert!((21..40).contains(&mid), "{mid}");
        assert_eq!(c.pick(0.9), Some(40));
        // 80 measured worse than 40: read as 0.9, so 0.93 lies between 80 and 160.
        let late = c.pick(0.93).unwrap();
        assert!((81..160).contains(&late), "{late}");
        assert_eq!(c.pick(0.99), None);
        assert_eq!(Calibration::from_words(&c.to_words()), Some(c));
        assert!(Calibration::from_words(&[1, 0, 1, 0]).is_none());
        assert!(Calibration::from_words(&[1, 2.0f32.to_bits()]).is_none());
        assert!(Calibration::from_words(&[1]).is_none());
    }

    #[test]
    fn hnsw_curve_rises_and_predicts_recall_on_fresh_queries() {
        let dim = 16;
        let mut rng = SplitMix::new(3);
        let data: Vec<f32> = (0..4000 * dim).map(|_| rng.unit() as f32).collect();
        let source = SliceSource::new(&data, dim).unwrap();
        let params = HnswParams {
            m: 6,
            ef_construction: 40,
            ..HnswParams::default()
        };
        let (index, curve, _) = Hnsw::build_calibrated(
            &source,
            Metric::L2,
            None,
            &params,
            &EF_POINTS,
            100,
            1,
            &Progress::default(),
        );
        let curve = curve.unwrap();
        assert_eq!(curve.points.len(), EF_POINTS.len());
        let first = curve.points[0].1;
        let last = curve.points.last().unwrap().1;
        assert!(first < last && last > 0.95, "{curve:?}");
        // Fresh queries from the same distribution land near the target.
        let target = ((first + last) / 2.0).min(0.95);
        let ef = curve.pick(target).unwrap();
        let queries: Vec<f32> = (0..200 * dim).map(|_| rng.unit() as f32).collect();
        let mut hits = 0;
        let (mut nearest, mut random) = (0f64, 0f64);
        for (i, q) in queries.chunks_exact(dim).enumerate() {
            let truth = exact_top_k(&source, Metric::L2, q, 10, &|_| true);
            nearest += truth[0].distance as f64 / 200.0;
            let other = source.get(RowId(i as u32 * 7)).unwrap().to_vec();
            random += crate::distance(Metric::L2, q, &other) as f64 / 200.0;
            let got = index.search(&source, q, 10, ef as usize);
            hits += got
                .iter()
                .filter(|h| truth.iter().any(|t| t.row == h.row))
                .count();
        }
        let achieved = hits as f32 / 2000.0;
        assert!(
            (achieved - target).abs() < 0.05,
            "target {target} achieved {achieved} at ef {ef}"
        );
        // The span measured on the held-out sample matches fresh queries' distances.
        let span = curve.span.unwrap();
        assert!(
            (span.near as f64 / nearest - 1.0).abs() < 0.15,
            "{span:?} vs mean 1-NN distance {nearest}"
        );
        assert!(
            (span.far as f64 / random - 1.0).abs() < 0.15,
            "{span:?} vs mean random-pair distance {random}"
        );
        assert_eq!(DistanceSpan::from_words(&span.to_words()), Some(span));
        assert_eq!(
            DistanceSpan::from_words(&[2.0f32.to_bits(), 1.0f32.to_bits()]),
            None
        );
        let tiny = SliceSource::new(&data[..100 * dim], dim).unwrap();
        let (_, none, _) = Hnsw::build_calibrated(
            &tiny,
            Metric::L2,
            None,
            &params,
            &EF_POINTS,
            10,
            1,
            &Progress::default(),
        );
        assert!(none.is_none());
    }
}
