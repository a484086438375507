//! Training (coarse k-means on a sample, then the product quantizer on the sample's
//! residuals) and adding every vector of the source, in parallel blocks.

use quiver_storage::{Metric, RowId};
use rayon::prelude::*;

use super::kmeans::{self, Init, KMeansParams, SplitMix, assign_serial, sample_indices};
use super::pq::{PqView, ProductQuantizer};
use super::{COARSE_GRAPH_MIN_LISTS, CoarseQuantizer, InvertedLists, IvfPq, normalized};
use crate::hnsw::HnswGraph;
use crate::hnsw::{Hnsw, HnswParams};
use crate::progress::Progress;
use crate::source::{SliceSource, VectorSource};

/// Rows added per parallel block.
const ADD_BLOCK: usize = 4096;

/// Build parameters.
#[derive(Clone, Copy, Debug)]
pub struct IvfPqParams {
    /// Lists (coarse centroids); fewer when the source has fewer vectors.
    pub nlist: usize,
    /// Bytes per code; must divide the dimension.
    pub m: usize,
    /// Train on at most this many vectors; 0 = FAISS's bench default,
    /// `max(50 * nlist, 20_000)`.
    pub train_points: usize,
    /// Lloyd iterations of the coarse k-means (FAISS: 10).
    pub coarse_iterations: usize,
    /// Lloyd iterations of each sub-quantizer's k-means (FAISS: 25).
    pub pq_iterations: usize,
    /// Each sub-quantizer trains on at most `256 *` this many residuals (FAISS: 256;
    /// 128 halves the training time; recall at equal nprobe within ~0.002 of 256,
    /// measured on minilm-384).
    pub pq_points_per_centroid: usize,
    pub seed: u64,
}

impl IvfPqParams {
    pub fn new(nlist: usize, m: usize) -> Self {
        IvfPqParams {
            nlist,
            m,
            train_points: 0,
            coarse_iterations: 10,
            pq_iterations: 25,
            pq_points_per_centroid: 128,
            seed: 1,
        }
    }
}

/// One vector prepared for the index: unit length for Cosine, as is otherwise.
pub(crate) fn prepared(metric: Metric, v: &[f32]) -> Vec<f32> {
    if metric == Metric::Cosine {
        normalized(v)
    } else {
        v.to_vec()
    }
}

impl IvfPq {
    /// Trains on a sample of the source's non-NULL rows and adds all of them.
    pub fn build<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        params: &IvfPqParams,
    ) -> IvfPq {
        IvfPq::build_reporting(source, metric, params, &Progress::default())
    }

    /// As [`IvfPq::build`], reporting its stages (training, then encoding rows) to
    /// `progress`.
    pub fn build_reporting<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        params: &IvfPqParams,
        progress: &Progress,
    ) -> IvfPq {
        let dim = source.dim();
        let TrainedCoarse {
            valid,
            mut sample,
            labels,
            centroids,
            directions,
        } = train_coarse(source, metric, params, "IVF-PQ", progress);
        // The product quantizer learns the sample's residuals.
        for (x, (list, _)) in sample.chunks_exact_mut(dim).zip(labels) {
            let c = &centroids[list as usize * dim..][..dim];
            x.iter_mut().zip(c).for_each(|(x, c)| *x -= c);
        }
        let pq_params = KMeansParams {
            iterations: params.pq_iterations,
            seed: params.seed.wrapping_add(1000),
            max_points_per_centroid: params.pq_points_per_centroid,
            ..KMeansParams::new(super::KSUB)
        };
        progress.begin(format!("IVF-PQ: training {} codebooks", params.m), 0);
        let pq = ProductQuantizer::train(&sample, dim, params.m, &pq_params);
        drop(sample);
        let probe_by = directions.as_deref().unwrap_or(&centroids);
        progress.begin(
            format!("IVF-PQ: encoding {} vectors", valid.len()),
            valid.len() as u64,
        );
        let lists = add_all(
            source,
            metric,
            &valid,
            probe_by,
            &centroids,
            pq.view(),
            progress,
        );
        progress.end();
        let graph = coarse_graph(probe_by, dim, metric);
        IvfPq {
            metric,
            dim,
            coarse: CoarseQuantizer {
                centroids,
                directions,
                graph,
            },
            pq,
            lists,
        }
    }
}

/// A trained coarse quantizer: the rows with a vector (ascending), the training sample
/// (prepared) with each point's list, the lists' centroids and, for inner products,
/// the unit directions lists are chosen by.
pub(crate) struct TrainedCoarse {
    pub valid: Vec<u32>,
    pub sample: Vec<f32>,
    pub labels: Vec<(u32, f32)>,
    pub centroids: Vec<f32>,
    pub directions: Option<Vec<f32>>,
}

/// Trains `params.nlist` lists (fewer for fewer rows) on a sample of `source`'s
/// non-NULL rows: k-means (spherical for inner products), as FAISS trains an IVF.
pub(crate) fn train_coarse<S: VectorSource + Sync + ?Sized>(
    source: &S,
    metric: Metric,
    params: &IvfPqParams,
    what: &str,
    progress: &Progress,
) -> TrainedCoarse {
    let dim = source.dim();
    let valid: Vec<u32> = (0..source.len() as u32)
        .filter(|&r| source.get(RowId(r)).is_some())
        .collect();
    let nlist = params.nlist.clamp(1, valid.len().max(1));
    let mut rng = SplitMix::new(params.seed);
    let train_points = match params.train_points {
        0 => (50 * nlist).max(20_000),
        t => t,
    };
    let picked = sample_indices(valid.len(), train_points, &mut rng);
    let mut sample = Vec::with_capacity(picked.len() * dim);
    for &i in &picked {
        if let Some(v) = source.get(RowId(valid[i])) {
            sample.extend_from_slice(&prepared(metric, &v.to_f32()));
        }
    }
    let coarse_params = KMeansParams {
        k: nlist,
        iterations: params.coarse_iterations,
        max_points_per_centroid: usize::MAX / nlist.max(1),
        spherical: metric != Metric::L2,
        init: Init::Sample,
        seed: params.seed,
    };
    progress.begin(format!("{what}: training {nlist} lists"), 0);
    let trained = kmeans::train(&sample, dim, &coarse_params);
    let labels = kmeans::assign(&sample, dim, &trained);
    // Inner-product columns: lists are chosen by direction (the unit centroids of
    // spherical k-means, as FAISS does), but residuals are taken from each list's
    // mean, which is closer to its members than a unit vector, so the same bytes
    // encode a smaller residual more precisely.
    let (centroids, directions) = if coarse_params.spherical {
        (list_means(&sample, dim, &labels, &trained), Some(trained))
    } else {
        (trained, None)
    };
    TrainedCoarse {
        valid,
        sample,
        labels,
        centroids,
        directions,
    }
}

/// For many lists, an HNSW graph over their probing vectors (L2 for L2 columns, inner
/// product otherwise); `None` below [`COARSE_GRAPH_MIN_LISTS`].
pub(crate) fn coarse_graph(probe_by: &[f32], dim: usize, metric: Metric) -> Option<HnswGraph> {
    let nlist = probe_by.len() / dim.max(1);
    (nlist >= COARSE_GRAPH_MIN_LISTS).then(|| {
        let cs = SliceSource::new(probe_by, dim).expect("nlist x dim");
        let coarse_metric = if metric == Metric::L2 {
            Metric::L2
        } else {
            Metric::Dot
        };
        Hnsw::build(&cs, coarse_metric, &HnswParams::default())
            .graph()
            .clone()
    })
}

/// Each row of `valid`'s list by `probe_by`, in blocks on the rayon pool.
pub(crate) fn assign_rows<S: VectorSource + Sync + ?Sized>(
    source: &S,
    metric: Metric,
    valid: &[u32],
    probe_by: &[f32],
) -> Vec<u32> {
    let dim = source.dim();
    valid
        .par_chunks(ADD_BLOCK)
        .flat_map_iter(|rows| {
            let mut block = Vec::with_capacity(rows.len() * dim);
            for &r in rows {
                let v = source.get(RowId(r)).expect("valid rows have vectors");
                block.extend_from_slice(&prepared(metric, &v.to_f32()));
            }
            assign_serial(&block, dim, probe_by)
                .into_iter()
                .map(|(l, _)| l)
        })
        .collect()
}

/// One encoded entry before grouping: list, row, correction (codes kept aside).
struct Entry {
    list: u32,
    row: u32,
    correction: f32,
}

/// Each list's mean over the sample (a list with no sample point keeps `fallback`'s
/// centroid).
fn list_means(sample: &[f32], dim: usize, labels: &[(u32, f32)], fallback: &[f32]) -> Vec<f32> {
    let nlist = fallback.len() / dim;
    let mut sums = vec![0f64; nlist * dim];
    let mut counts = vec![0usize; nlist];
    for (x, &(list, _)) in sample.chunks_exact(dim).zip(labels) {
        let l = list as usize;
        counts[l] += 1;
        for (s, &v) in sums[l * dim..(l + 1) * dim].iter_mut().zip(x) {
            *s += v as f64;
        }
    }
    let mut means = fallback.to_vec();
    for (l, &count) in counts.iter().enumerate() {
        if count > 0 {
            for d in 0..dim {
                means[l * dim + d] = (sums[l * dim + d] / count as f64) as f32;
            }
        }
    }
    means
}

/// Assigns every row in `valid` (ascending) to its list by `probe_by`, encodes its
/// residual from the list's `centroids` entry, and groups the entries by list.
fn add_all<S: VectorSource + Sync + ?Sized>(
    source: &S,
    metric: Metric,
    valid: &[u32],
    probe_by: &[f32],
    centroids: &[f32],
    pq: PqView<'_>,
    progress: &Progress,
) -> InvertedLists {
    let dim = source.dim();
    let m = pq.m();
    let nlist = centroids.len() / dim;
    let blocks: Vec<(Vec<Entry>, Vec<u8>)> = valid
        .par_chunks(ADD_BLOCK)
        .map(|rows| {
            let mut block = Vec::with_capacity(rows.len() * dim);
            for &r in rows {
                let v = source.get(RowId(r)).expect("valid rows have vectors");
                block.extend_from_slice(&prepared(metric, &v.to_f32()));
            }
            let labels = assign_serial(&block, dim, probe_by);
            for (x, &(list, _)) in block.chunks_exact_mut(dim).zip(&labels) {
                let c = &centroids[list as usize * dim..][..dim];
                x.iter_mut().zip(c).for_each(|(x, c)| *x -= c);
            }
            let codes = pq.encode_serial(&block);
            progress.advance(rows.len() as u64);
            let mut decoded = vec![0f32; dim];
            let entries = rows
                .iter()
                .zip(&labels)
                .zip(codes.chunks_exact(m))
                .map(|((&row, &(list, _)), code)| {
                    let correction = if metric == Metric::L2 {
                        pq.decode(code, &mut decoded);
                        let c = &centroids[list as usize * dim..][..dim];
                        decoded
                            .iter()
                            .zip(c)
                            .map(|(r, c)| r * r + 2.0 * r * c)
                            .sum()
                    } else {
                        0.0
                    };
                    Entry {
                        list,
                        row,
                        correction,
                    }
                })
                .collect();
            (entries, codes)
        })
        .collect();

    // Counting sort by list; blocks are in row order, so rows ascend within a list.
    let mut offsets = vec![0u32; nlist + 1];
    for (entries, _) in &blocks {
        for e in entries {
            offsets[e.list as usize + 1] += 1;
        }
    }
    for l in 0..nlist {
        offsets[l + 1] += offsets[l];
    }
    let n = valid.len();
    let mut next: Vec<usize> = offsets[..nlist].iter().map(|&o| o as usize).collect();
    let mut rows = vec![0u32; n];
    let mut codes = vec![0u8; n * m];
    let mut corrections = vec![0f32; if metric == Metric::L2 { n } else { 0 }];
    for (entries, block_codes) in &blocks {
        for (e, code) in entries.iter().zip(block_codes.chunks_exact(m)) {
            let at = next[e.list as usize];
            next[e.list as usize] += 1;
            rows[at] = e.row;
            codes[at * m..(at + 1) * m].copy_from_slice(code);
            if let Some(slot) = corrections.get_mut(at) {
                *slot = e.correction;
            }
        }
    }
    InvertedLists {
        offsets,
        rows,
        codes,
        corrections,
    }
}
