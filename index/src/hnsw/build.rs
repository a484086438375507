//! Parallel construction. Every node's neighbour list on every level sits behind its
//! own mutex while the graph grows; insertions run on the rayon pool in any order (as
//! hnswlib's parallel add does). The entry point changes under a write lock. At the
//! end the lists are flattened into [`HnswGraph`]'s arrays.

use parking_lot::{Mutex, RwLock};
use quiver_storage::{Metric, RowId};
use rayon::prelude::*;

use super::HnswParams;
use super::graph::{HnswGraph, NONE};
use super::heuristic::select;
use super::search::{F32Query, Links, NodeDistance, Scored, distance_to, greedy, search_layer};
use super::visited::with_visited;
use crate::kernels::RowDistance;
use crate::progress::Progress;
use crate::source::VectorSource;

/// Highest level drawn (keeps a pathological draw from allocating many levels).
const MAX_LEVEL: u8 = 16;

struct Growing {
    /// `lists[node][level]`.
    lists: Vec<Box<[Mutex<Vec<u32>>]>>,
}

impl Links for Growing {
    #[inline]
    fn with_neighbors<T>(&self, node: u32, level: u32, f: impl FnOnce(&[u32]) -> T) -> T {
        match self
            .lists
            .get(node as usize)
            .and_then(|l| l.get(level as usize))
        {
            Some(list) => f(&list.lock()),
            None => f(&[]),
        }
    }
}

/// splitmix64: a small, seedable, well-mixed generator for the level draw.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Level of node `i`: floor(-ln(U) / ln(m)), the paper's exponential draw.
fn draw_level(seed: u64, i: usize, m: usize) -> u8 {
    let u = ((mix(seed ^ mix(i as u64)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let level = (-u.ln() / (m.max(2) as f64).ln()).floor();
    (level as u8).min(MAX_LEVEL)
}

pub fn build<S: VectorSource + Sync + ?Sized>(
    source: &S,
    metric: Metric,
    params: &HnswParams,
) -> HnswGraph {
    build_in_two_rounds(source, metric, params, &[], |_| {}, &Progress::default())
}

/// Builds in two rounds: every row but `late` first; then `between` sees the graph as
/// it stands (the `late` rows present as nodes without links, so no search reaches
/// them: they are truly held out); then the `late` rows are inserted. If every row is
/// late, there is one round and `between` sees the finished graph.
pub fn build_in_two_rounds<S: VectorSource + Sync + ?Sized>(
    source: &S,
    metric: Metric,
    params: &HnswParams,
    late: &[u32],
    between: impl FnOnce(&HnswGraph),
    progress: &Progress,
) -> HnswGraph {
    let m = params.m.max(2);
    let m0 = 2 * m;
    let n = source.len();
    let levels: Vec<u8> = (0..n)
        .map(|i| {
            if source.get(RowId(i as u32)).is_some() {
                draw_level(params.seed, i, m)
            } else {
                0
            }
        })
        .collect();
    let graph = Growing {
        lists: levels
            .iter()
            .map(|&l| {
                (0..=l as usize)
                    .map(|lv| Mutex::new(Vec::with_capacity(if lv == 0 { m0 } else { m })))
                    .collect()
            })
            .collect(),
    };
    let present: Vec<u32> = (0..n as u32)
        .filter(|&i| source.get(RowId(i)).is_some())
        .collect();
    let mut is_late = vec![false; n];
    for &r in late {
        if let Some(flag) = is_late.get_mut(r as usize) {
            *flag = true;
        }
    }
    let (mut early, mut second): (Vec<u32>, Vec<u32>) =
        present.iter().partition(|&&r| !is_late[r as usize]);
    if early.is_empty() {
        (early, second) = (second, Vec::new());
    }
    let Some((&first, rest)) = early.split_first() else {
        let empty = flatten(&graph, &levels, m, m0, NONE, 0);
        between(&empty);
        return empty;
    };
    let entry = RwLock::new((first, levels[first as usize]));
    let dist = RowDistance::new(metric);
    let inserter = Inserter {
        graph: &graph,
        source,
        dist,
        levels: &levels,
        m,
        m0,
        ef: params.ef_construction.max(m),
        entry: &entry,
    };
    progress.begin(
        format!("HNSW: inserting {} vectors", present.len()),
        present.len() as u64,
    );
    progress.advance(1);
    let insert = |&node: &u32| {
        inserter.insert(node);
        progress.advance(1);
    };
    rest.par_iter().for_each(insert);
    let (now, now_top) = *entry.read();
    between(&flatten(&graph, &levels, m, m0, now, now_top));
    second.par_iter().for_each(insert);
    progress.end();
    let (entry, top) = *entry.read();
    for _ in 0..REPAIR_ROUNDS {
        if !inserter.reconnect(entry, top, &present) {
            break;
        }
    }
    flatten(&graph, &levels, m, m0, entry, top)
}

/// Reconnection passes after the build (each can, rarely, strand another node).
const REPAIR_ROUNDS: usize = 3;

struct Inserter<'a, S: ?Sized> {
    graph: &'a Growing,
    source: &'a S,
    dist: RowDistance,
    levels: &'a [u8],
    m: usize,
    m0: usize,
    ef: usize,
    entry: &'a RwLock<(u32, u8)>,
}

impl<S: VectorSource + Sync + ?Sized> Inserter<'_, S> {
    fn insert(&self, node: u32) {
        let Some(query) = self.source.get(RowId(node)).map(|v| v.to_f32()) else {
            return;
        };
        let query = &query[..];
        let level = self.levels[node as usize];
        let (entry, top) = *self.entry.read();
        let mut ep = self.descend(query, entry, top, level as u32 + 1);
        for l in (0..=level.min(top) as u32).rev() {
            let found = self.search_level(query, ep, l, &|_| true);
            let candidates: Vec<(f32, u32)> = found.iter().map(|s| (s.distance, s.node)).collect();
            let chosen = select(&candidates, self.m, |a, b| self.between(a, b));
            // Merge, never overwrite: concurrent inserts may already have linked back
            // to `node` on this level, and dropping those links strands their nodes.
            self.add_links(node, &chosen, l);
            for &neighbor in &chosen {
                self.add_links(neighbor, &[node], l);
            }
            if let Some(&closest) = found.first() {
                ep = closest;
            }
        }
        if level > top {
            let mut entry = self.entry.write();
            if level > entry.1 {
                *entry = (node, level);
            }
        }
    }

    /// Nodes no search can reach: heuristic pruning of other lists can remove a node's
    /// last in-link, more often when threads interleave their inserts. Each one is
    /// linked from its nearest reachable node. Returns whether anything was stranded.
    fn reconnect(&self, entry: u32, top: u8, present: &[u32]) -> bool {
        let reachable = self.reachable_from(entry);
        let stranded: Vec<u32> = present
            .iter()
            .copied()
            .filter(|&n| !reachable[n as usize])
            .collect();
        for &node in &stranded {
            let Some(query) = self.source.get(RowId(node)).map(|v| v.to_f32()) else {
                continue;
            };
            let query = &query[..];
            let ep = self.descend(query, entry, top, 1);
            let found = self.search_level(query, ep, 0, &|r: RowId| r.0 != node);
            let Some(host) = found.iter().find(|s| reachable[s.node as usize]) else {
                continue;
            };
            let mut list = self.graph.lists[host.node as usize][0].lock();
            if list.len() >= self.m0 {
                // Replace the host's farthest link (its target keeps its other in-links,
                // or is picked up by the next round).
                let farthest = list
                    .iter()
                    .enumerate()
                    .max_by(|a, b| {
                        self.between(host.node, *a.1)
                            .total_cmp(&self.between(host.node, *b.1))
                    })
                    .map(|(i, _)| i);
                if let Some(i) = farthest {
                    list[i] = node;
                }
            } else {
                list.push(node);
            }
        }
        !stranded.is_empty()
    }

    /// Greedy descent from the entry point (on level `top`) down to `level`.
    fn descend(&self, query: &[f32], entry: u32, top: u8, level: u32) -> Scored {
        let scorer = F32Query {
            source: self.source,
            dist: self.dist,
            query,
        };
        let mut ep = Scored {
            distance: scorer.distance(entry),
            node: entry,
        };
        for l in (level..=top as u32).rev() {
            ep = greedy(self.graph, &scorer, ep, l);
        }
        ep
    }

    /// Beam search of one level with the construction beam width.
    fn search_level(
        &self,
        query: &[f32],
        ep: Scored,
        level: u32,
        keep: &dyn Fn(RowId) -> bool,
    ) -> Vec<Scored> {
        let scorer = F32Query {
            source: self.source,
            dist: self.dist,
            query,
        };
        with_visited(self.levels.len(), |visited| {
            search_layer(self.graph, &scorer, ep, self.ef, level, visited, keep)
        })
    }

    /// Which nodes a search from `entry` can reach, through the links of every level.
    fn reachable_from(&self, entry: u32) -> Vec<bool> {
        let mut seen = vec![false; self.levels.len()];
        let mut stack = vec![entry];
        seen[entry as usize] = true;
        while let Some(node) = stack.pop() {
            for list in self.graph.lists[node as usize].iter() {
                for &nb in list.lock().iter() {
                    if !std::mem::replace(&mut seen[nb as usize], true) {
                        stack.push(nb);
                    }
                }
            }
        }
        seen
    }

    fn between(&self, a: u32, b: u32) -> f32 {
        match self.source.get(RowId(a)) {
            Some(va) => distance_to(self.source, self.dist, &va.to_f32(), b),
            None => f32::INFINITY,
        }
    }

    /// Adds links `from -> to..` on `level`; when the list overflows its capacity the
    /// heuristic picks which to keep, by distance from `from`.
    fn add_links(&self, from: u32, to: &[u32], level: u32) {
        let cap = if level == 0 { self.m0 } else { self.m };
        let mut list = self.graph.lists[from as usize][level as usize].lock();
        for &t in to {
            if t != from && !list.contains(&t) {
                list.push(t);
            }
        }
        if list.len() <= cap {
            return;
        }
        let mut candidates: Vec<(f32, u32)> =
            list.iter().map(|&x| (self.between(from, x), x)).collect();
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *list = select(&candidates, cap, |a, b| self.between(a, b));
    }
}

fn flatten(graph: &Growing, levels: &[u8], m: usize, m0: usize, entry: u32, top: u8) -> HnswGraph {
    let n = levels.len();
    let mut level0 = vec![0u32; n * (1 + m0)];
    let mut upper_offsets = vec![NONE; n];
    let mut upper = Vec::new();
    for (node, lists) in graph.lists.iter().enumerate() {
        let slot = &mut level0[node * (1 + m0)..(node + 1) * (1 + m0)];
        let links = lists[0].lock();
        slot[0] = links.len() as u32;
        slot[1..1 + links.len()].copy_from_slice(&links);
        if lists.len() > 1 {
            upper_offsets[node] = upper.len() as u32;
            for list in &lists[1..] {
                let links = list.lock();
                let start = upper.len();
                upper.resize(start + 1 + m, 0);
                upper[start] = links.len() as u32;
                upper[start + 1..start + 1 + links.len()].copy_from_slice(&links);
            }
        }
    }
    HnswGraph {
        m: m as u32,
        m0: m0 as u32,
        entry,
        max_level: if entry == NONE { 0 } else { top as u32 },
        levels: levels.to_vec(),
        level0,
        upper_offsets,
        upper,
    }
}
