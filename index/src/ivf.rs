//! IVF-PQ: an inverted file of `nlist` lists (a k-means coarse quantizer assigns each
//! vector to its nearest centroid) whose entries are product-quantized residuals
//! (`vector - centroid`, `m` bytes each). A query visits its `nprobe` nearest lists
//! and scores every entry with `m` table lookups; optionally the best `k * refine`
//! are re-scored exactly from the raw column ("refine").
//!
//! Names follow FAISS where they fit: [`CoarseQuantizer`], [`ProductQuantizer`],
//! [`InvertedLists`]. Like HNSW, the index never owns the raw vectors, and every array
//! can be borrowed from a memory-mapped segment ([`IvfPqView`]).
//!
//! Distances (same conventions as the kernels, lower is closer), with `c` the list's
//! centroid and `r` the decoded residual:
//! - Dot: `-(<q, c> + <q, r>)`; Cosine: the same on unit vectors, plus 1;
//! - L2: `|q - c|² + (|r|² + 2<c, r>) - 2<q, r>`, where the bracket is computed at
//!   add time and stored per entry (`corrections`), so that every metric scans with
//!   one query-wide inner-product table and no per-list table.

mod build;
mod coarse;
pub mod kmeans;
pub mod pq;
pub mod rabitq;
mod search;
pub mod storage;

use quiver_storage::Metric;

use crate::hnsw::{GraphView, HnswGraph};

pub use build::IvfPqParams;
pub(crate) use build::prepared;
pub use pq::{KSUB, PqView, ProductQuantizer};
pub use rabitq::{IvfRabitq, IvfRabitqView};
pub use search::{IvfSearch, IvfStats};

/// Below this many lists the coarse quantizer is scanned exactly; from here on an
/// HNSW graph over the centroids finds the lists to probe.
pub const COARSE_GRAPH_MIN_LISTS: usize = 512;

/// The lists' centroids (`nlist x dim`: residuals are taken from them), for
/// inner-product columns the unit directions lists are chosen by (`nlist x dim`), and
/// an HNSW graph over the probing vectors (directions, else centroids) when there are
/// many lists.
#[derive(Clone, Debug, PartialEq)]
pub struct CoarseQuantizer {
    pub centroids: Vec<f32>,
    pub directions: Option<Vec<f32>>,
    pub graph: Option<HnswGraph>,
}

/// Entries grouped by list: list `l` holds entries `offsets[l]..offsets[l + 1]`; entry
/// `i` is segment row `rows[i]` with code `codes[i * m..][..m]` and (L2 only)
/// correction `corrections[i]`. Within a list, rows ascend.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvertedLists {
    pub offsets: Vec<u32>,
    pub rows: Vec<u32>,
    pub codes: Vec<u8>,
    pub corrections: Vec<f32>,
}

/// An owned IVF-PQ index.
#[derive(Clone, Debug, PartialEq)]
pub struct IvfPq {
    pub metric: Metric,
    pub dim: usize,
    pub coarse: CoarseQuantizer,
    pub pq: ProductQuantizer,
    pub lists: InvertedLists,
}

/// An IVF-PQ index over borrowed arrays, checked for consistent shapes.
#[derive(Clone, Copy, Debug)]
pub struct IvfPqView<'a> {
    pub(crate) metric: Metric,
    pub(crate) dim: usize,
    pub(crate) nlist: usize,
    pub(crate) centroids: &'a [f32],
    pub(crate) directions: Option<&'a [f32]>,
    pub(crate) graph: Option<GraphView<'a>>,
    pub(crate) pq: PqView<'a>,
    pub(crate) offsets: &'a [u32],
    pub(crate) rows: &'a [u32],
    pub(crate) codes: &'a [u8],
    pub(crate) corrections: &'a [f32],
}

/// The borrowed arrays an [`IvfPqView`] is made of.
#[derive(Clone, Copy, Debug)]
pub struct IvfPqParts<'a> {
    pub metric: Metric,
    pub dim: usize,
    pub m: usize,
    pub centroids: &'a [f32],
    pub directions: Option<&'a [f32]>,
    pub graph: Option<GraphView<'a>>,
    pub codebooks: &'a [f32],
    pub offsets: &'a [u32],
    pub rows: &'a [u32],
    pub codes: &'a [u8],
    pub corrections: &'a [f32],
}

impl IvfPq {
    pub fn view(&self) -> IvfPqView<'_> {
        IvfPqView::new(self.parts()).expect("a built index is consistent")
    }

    pub fn parts(&self) -> IvfPqParts<'_> {
        IvfPqParts {
            metric: self.metric,
            dim: self.dim,
            m: self.pq.m,
            centroids: &self.coarse.centroids,
            directions: self.coarse.directions.as_deref(),
            graph: self.coarse.graph.as_ref().map(HnswGraph::view),
            codebooks: &self.pq.codebooks,
            offsets: &self.lists.offsets,
            rows: &self.lists.rows,
            codes: &self.lists.codes,
            corrections: &self.lists.corrections,
        }
    }

    /// Bytes of the per-entry arrays (codes, row numbers, corrections).
    pub fn code_bytes(&self) -> usize {
        self.lists.codes.len() + 4 * (self.lists.rows.len() + self.lists.corrections.len())
    }

    /// All bytes: entries plus centroids, codebooks, list offsets and coarse graph.
    pub fn memory_bytes(&self) -> usize {
        self.code_bytes()
            + 4 * (self.coarse.centroids.len()
                + self.coarse.directions.as_ref().map_or(0, Vec::len)
                + self.pq.codebooks.len()
                + self.lists.offsets.len())
            + self
                .coarse
                .graph
                .as_ref()
                .map_or(0, HnswGraph::memory_bytes)
    }
}

impl<'a> IvfPqView<'a> {
    /// Checks every shape (O(nlist)), so that a search can never index out of range;
    /// `Err` says what does not fit (a damaged segment).
    pub fn new(p: IvfPqParts<'a>) -> Result<Self, String> {
        let dim = p.dim;
        if dim == 0 || !p.centroids.len().is_multiple_of(dim) {
            return Err(format!(
                "{} centroid floats for dim {dim}",
                p.centroids.len()
            ));
        }
        let nlist = p.centroids.len() / dim;
        let pq = PqView::new(dim, p.m, p.codebooks).ok_or_else(|| {
            format!(
                "codebooks of {} floats for dim {dim}, m {}",
                p.codebooks.len(),
                p.m
            )
        })?;
        let n = p.rows.len();
        if p.offsets.len() != nlist + 1
            || p.offsets.first() != Some(&0)
            || p.offsets.last().map(|&x| x as usize) != Some(n)
            || p.offsets.windows(2).any(|w| w[0] > w[1])
        {
            return Err(format!(
                "list offsets do not describe {n} entries in {nlist} lists"
            ));
        }
        if p.codes.len() != n * p.m {
            return Err(format!(
                "{} code bytes for {n} entries of {} bytes",
                p.codes.len(),
                p.m
            ));
        }
        let want_corrections = if p.metric == Metric::L2 { n } else { 0 };
        if p.corrections.len() != want_corrections {
            return Err(format!(
                "{} corrections for {n} entries",
                p.corrections.len()
            ));
        }
        if p.directions.is_some_and(|d| d.len() != p.centroids.len()) {
            return Err("directions and centroids differ in size".to_string());
        }
        if let Some(g) = &p.graph
            && g.nodes() != nlist
        {
            return Err(format!(
                "coarse graph of {} nodes for {nlist} lists",
                g.nodes()
            ));
        }
        Ok(IvfPqView {
            metric: p.metric,
            dim,
            nlist,
            centroids: p.centroids,
            directions: p.directions,
            graph: p.graph,
            pq,
            offsets: p.offsets,
            rows: p.rows,
            codes: p.codes,
            corrections: p.corrections,
        })
    }

    pub fn nlist(&self) -> usize {
        self.nlist
    }

    pub fn entries(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn coarse(&self) -> coarse::CoarseView<'a> {
        coarse::CoarseView {
            metric: self.metric,
            dim: self.dim,
            nlist: self.nlist,
            centroids: self.centroids,
            directions: self.directions,
            graph: self.graph,
        }
    }
}

/// Unit-length copy of `v` (a zero vector stays zero), for Cosine columns.
pub(crate) fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter().map(|x| x / norm).collect()
    } else {
        v.to_vec()
    }
}

#[cfg(test)]
mod tests;
