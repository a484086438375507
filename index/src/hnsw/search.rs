//! Layer search, shared by insertion (over locked lists) and queries (over flat
//! arrays): a best-first beam of width `ef` with a visited set.

use std::cell::Cell;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use quiver_storage::RowId;

use super::graph::GraphView;
use super::visited::{Visited, with_visited};
use crate::flat::Hit;
use crate::kernels::{RowDistance, prefetch_bytes, prefetch_u32};
use crate::source::VectorSource;

/// How many neighbours ahead of the one being computed are prefetched: far enough to
/// cover memory latency, near enough not to flood the line-fill buffers.
const PREFETCH_AHEAD: usize = 2;
/// Cache lines of a vector prefetched ahead (covers 768 f32 dimensions).
const PREFETCH_LINES: usize = 48;

/// Read access to neighbour lists: `f` sees the links of `node` on `level`.
pub trait Links {
    fn with_neighbors<T>(&self, node: u32, level: u32, f: impl FnOnce(&[u32]) -> T) -> T;

    /// Starts loading a node's links, to be read soon (a hint; default: nothing).
    fn prefetch_links(&self, _node: u32, _level: u32) {}
}

impl Links for GraphView<'_> {
    #[inline]
    fn with_neighbors<T>(&self, node: u32, level: u32, f: impl FnOnce(&[u32]) -> T) -> T {
        f(self.neighbors(node, level))
    }

    #[inline]
    fn prefetch_links(&self, node: u32, level: u32) {
        if level == 0 {
            let slot = 1 + self.m0 as usize;
            if let Some(links) = self
                .level0
                .get(node as usize * slot..(node as usize + 1) * slot)
            {
                prefetch_u32(links);
            }
        }
    }
}

/// A node and its distance to the query, ordered by distance (then id).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub distance: f32,
    pub node: u32,
}

impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then(self.node.cmp(&other.node))
    }
}

/// How far each node is from the query being searched.
pub trait NodeDistance {
    fn distance(&self, node: u32) -> f32;
    /// Starts loading the node's vector (a hint).
    fn prefetch(&self, node: u32);
    /// How many neighbours ahead of the one being computed to prefetch (`usize::MAX`:
    /// all of them before the first is scored). Deeper pays only for small vectors:
    /// on minilm-384, 4 ahead instead of 2 cost `f32` vectors (24 lines each) 5 % of
    /// their QPS at recall 0.95, while 8-bit codes (7 lines) gained 38 % from prefetching
    /// every neighbour.
    fn prefetch_ahead(&self) -> usize {
        PREFETCH_AHEAD
    }
}

/// Exact `f32` distances through a [`VectorSource`].
pub struct F32Query<'a, S: ?Sized> {
    pub source: &'a S,
    pub dist: RowDistance,
    pub query: &'a [f32],
}

impl<S: VectorSource + ?Sized> NodeDistance for F32Query<'_, S> {
    #[inline]
    fn distance(&self, node: u32) -> f32 {
        distance_to(self.source, self.dist, self.query, node)
    }
    #[inline]
    fn prefetch(&self, node: u32) {
        if let Some(v) = self.source.get(RowId(node)) {
            prefetch_bytes(v.bytes(), PREFETCH_LINES);
        }
    }
}

/// Distance from `query` to a node's vector; NULL rows are infinitely far.
#[inline]
pub fn distance_to<S: VectorSource + ?Sized>(
    source: &S,
    dist: RowDistance,
    query: &[f32],
    node: u32,
) -> f32 {
    match source.get(RowId(node)) {
        Some(v) => dist.to(query, v),
        None => f32::INFINITY,
    }
}

/// Greedy walk on one level (beam width 1) from `start`: the closest node found.
pub fn greedy<L: Links, D: NodeDistance>(
    links: &L,
    scorer: &D,
    mut start: Scored,
    level: u32,
) -> Scored {
    loop {
        let best = links.with_neighbors(start.node, level, |nbs| {
            let mut best = start;
            for &nb in nbs {
                let d = scorer.distance(nb);
                if d < best.distance {
                    best = Scored {
                        distance: d,
                        node: nb,
                    };
                }
            }
            best
        });
        if best.node == start.node {
            return start;
        }
        start = best;
    }
}

/// Best-first search of one level from `entry`; returns up to `ef` nodes that `keep`
/// accepts, closest first. Rejected nodes are still expanded.
#[allow(clippy::too_many_arguments)]
pub fn search_layer<L: Links, D: NodeDistance, K: Fn(RowId) -> bool + ?Sized>(
    links: &L,
    scorer: &D,
    entry: Scored,
    ef: usize,
    level: u32,
    visited: &mut Visited,
    keep: &K,
) -> Vec<Scored> {
    let mut candidates = BinaryHeap::with_capacity(ef * 2);
    let mut fresh: Vec<u32> = Vec::with_capacity(64);
    let mut results: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef + 1);
    visited.insert(entry.node);
    candidates.push(Reverse(entry));
    if keep(RowId(entry.node)) {
        results.push(entry);
    }
    while let Some(Reverse(current)) = candidates.pop() {
        let worst = results.peek().map_or(f32::INFINITY, |w| w.distance);
        if results.len() >= ef && current.distance > worst {
            break;
        }
        if let Some(Reverse(next)) = candidates.peek() {
            links.prefetch_links(next.node, level);
        }
        // Gather the unvisited neighbours first (into a buffer reused across
        // expansions), then walk them prefetching vectors a few neighbours ahead.
        links.with_neighbors(current.node, level, |nbs| {
            fresh.clear();
            fresh.extend(nbs.iter().copied().filter(|&nb| visited.insert(nb)));
        });
        let n = fresh.len();
        let ahead = |j: usize| {
            if j < n {
                scorer.prefetch(fresh[j]);
            }
        };
        let depth = scorer.prefetch_ahead();
        (0..depth.min(n)).for_each(ahead);
        for (j, &nb) in fresh[..n].iter().enumerate() {
            ahead(j.saturating_add(depth));
            let d = scorer.distance(nb);
            let worst = results.peek().map_or(f32::INFINITY, |w| w.distance);
            if results.len() < ef || d < worst {
                let scored = Scored {
                    distance: d,
                    node: nb,
                };
                candidates.push(Reverse(scored));
                if keep(RowId(nb)) {
                    results.push(scored);
                    if results.len() > ef {
                        results.pop();
                    }
                }
            }
        }
    }
    results.into_sorted_vec()
}

/// k-nearest-neighbour query on a finished graph, and how many distances it computed
/// (for EXPLAIN; counting costs one register add per distance).
pub fn knn<S: VectorSource + ?Sized, K: Fn(RowId) -> bool + ?Sized>(
    graph: &GraphView<'_>,
    source: &S,
    dist: RowDistance,
    query: &[f32],
    k: usize,
    ef: usize,
    keep: &K,
) -> (Vec<Hit>, usize) {
    if query.len() != source.dim() {
        return (Vec::new(), 0);
    }
    let scorer = Counted::new(F32Query {
        source,
        dist,
        query,
    });
    let hits = knn_by(graph, &scorer, k, ef, keep);
    (hits, scorer.count())
}

fn knn_by<D: NodeDistance, K: Fn(RowId) -> bool + ?Sized>(
    graph: &GraphView<'_>,
    scorer: &D,
    k: usize,
    ef: usize,
    keep: &K,
) -> Vec<Hit> {
    beam(graph, scorer, ef.max(k), keep)
        .into_iter()
        .take(k)
        .map(|s| Hit {
            row: RowId(s.node),
            distance: s.distance,
        })
        .collect()
}

/// A scorer that counts its distance computations.
pub struct Counted<D> {
    inner: D,
    count: Cell<usize>,
}

impl<D> Counted<D> {
    pub fn new(inner: D) -> Self {
        Counted {
            inner,
            count: Cell::new(0),
        }
    }

    pub fn count(&self) -> usize {
        self.count.get()
    }
}

impl<D: NodeDistance> NodeDistance for Counted<D> {
    #[inline]
    fn distance(&self, node: u32) -> f32 {
        self.count.set(self.count.get() + 1);
        self.inner.distance(node)
    }
    #[inline]
    fn prefetch(&self, node: u32) {
        self.inner.prefetch(node);
    }
    fn prefetch_ahead(&self) -> usize {
        self.inner.prefetch_ahead()
    }
}

/// Descends from the entry point and runs the level-0 beam of width `ef`: up to `ef`
/// nodes, closest first by `scorer`.
pub fn beam<D: NodeDistance, K: Fn(RowId) -> bool + ?Sized>(
    graph: &GraphView<'_>,
    scorer: &D,
    ef: usize,
    keep: &K,
) -> Vec<Scored> {
    let Some(ep) = descend(graph, scorer).filter(|_| ef > 0) else {
        return Vec::new();
    };
    with_visited(graph.nodes(), |visited| {
        search_layer(graph, scorer, ep, ef, 0, visited, keep)
    })
}

/// The greedy walk from the entry point down to level 1: where level 0's search
/// starts. `None` for an empty graph, or one read from a damaged file that names an
/// entry past the nodes or an absurd top level (levels are u8, so > 255 is never
/// real): answer nothing rather than walk garbage.
pub fn descend<D: NodeDistance>(graph: &GraphView<'_>, scorer: &D) -> Option<Scored> {
    let sane = (graph.entry as usize) < graph.nodes() && graph.max_level <= u8::MAX as u32;
    if !sane {
        return None;
    }
    let mut ep = Scored {
        distance: scorer.distance(graph.entry),
        node: graph.entry,
    };
    for level in (1..=graph.max_level).rev() {
        ep = greedy(graph, scorer, ep, level);
    }
    Some(ep)
}
