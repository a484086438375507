//! The level-0 beam over groups of nodes (a multi-vector column: nodes are elements,
//! a group is the item holding them): the beam keeps the best node of up to `ef`
//! distinct groups, so it stops once `ef` groups are found rather than `ef` nodes.
//! Several near-identical elements of one item then take one place in the beam, not
//! many, and the walk goes on to other items. Otherwise the same best-first search as
//! `search::search_layer`, from the same descent through the upper levels.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use quiver_storage::RowId;

use super::graph::GraphView;
use super::search::{Links, NodeDistance, Scored, descend};
use super::visited::{Visited, with_visited};

/// The beam's members: each group's best node so far. The heap may hold stale entries
/// (a group's earlier, worse node): they are skipped wherever the heap is read.
struct GroupBeam {
    heap: BinaryHeap<Scored>,
    /// Group → its best node. Fx: the keys are row numbers, hashed on every offer.
    best: FxHashMap<u32, Scored>,
}

impl GroupBeam {
    fn new(ef: usize) -> Self {
        GroupBeam {
            heap: BinaryHeap::with_capacity(ef * 2),
            best: FxHashMap::with_capacity_and_hasher(ef * 2, Default::default()),
        }
    }

    fn is_current(&self, s: &Scored, group: u32) -> bool {
        self.best.get(&group) == Some(s)
    }

    /// Drops stale entries off the top: the top is then the worst member.
    fn settle(&mut self, group: &impl Fn(u32) -> u32) {
        while let Some(top) = self.heap.peek() {
            if self.is_current(top, group(top.node)) {
                break;
            }
            self.heap.pop();
        }
    }

    fn worst(&mut self, group: &impl Fn(u32) -> u32) -> f32 {
        self.settle(group);
        self.heap.peek().map_or(f32::INFINITY, |w| w.distance)
    }

    fn groups(&self) -> usize {
        self.best.len()
    }

    /// Offers `s` as its group's node, then drops the worst group beyond `ef`.
    fn offer(&mut self, s: Scored, ef: usize, group: &impl Fn(u32) -> u32) {
        let g = group(s.node);
        if self
            .best
            .get(&g)
            .is_some_and(|old| old.distance <= s.distance)
        {
            return;
        }
        self.best.insert(g, s);
        self.heap.push(s);
        if self.best.len() > ef {
            self.settle(group);
            if let Some(worst) = self.heap.pop() {
                self.best.remove(&group(worst.node));
            }
        }
    }

    fn into_sorted(self) -> Vec<Scored> {
        let mut members: Vec<Scored> = self.best.into_values().collect();
        members.sort();
        members
    }
}

/// Best-first search of level 0 from `entry` keeping the best node of up to `ef`
/// distinct groups that `keep` accepts; their nodes, closest first.
fn search_groups<L: Links, D: NodeDistance, K: Fn(RowId) -> bool + ?Sized>(
    links: &L,
    scorer: &D,
    entry: Scored,
    ef: usize,
    visited: &mut Visited,
    keep: &K,
    group: &impl Fn(u32) -> u32,
) -> Vec<Scored> {
    let mut candidates = BinaryHeap::with_capacity(ef * 2);
    let mut beam = GroupBeam::new(ef);
    visited.insert(entry.node);
    candidates.push(Reverse(entry));
    if keep(RowId(entry.node)) {
        beam.offer(entry, ef, group);
    }
    let mut fresh: Vec<u32> = Vec::with_capacity(64);
    while let Some(Reverse(current)) = candidates.pop() {
        if beam.groups() >= ef && current.distance > beam.worst(group) {
            break;
        }
        links.with_neighbors(current.node, 0, |nbs| {
            fresh.clear();
            fresh.extend(nbs.iter().copied().filter(|&nb| visited.insert(nb)));
        });
        for &nb in &fresh {
            scorer.prefetch(nb);
        }
        for &nb in &fresh {
            let d = scorer.distance(nb);
            if beam.groups() < ef || d < beam.worst(group) {
                let scored = Scored {
                    distance: d,
                    node: nb,
                };
                candidates.push(Reverse(scored));
                if keep(RowId(nb)) {
                    beam.offer(scored, ef, group);
                }
            }
        }
    }
    beam.into_sorted()
}

/// Descends from the entry point and runs the grouped level-0 beam: the best node of
/// up to `ef` groups, closest first by `scorer`.
pub fn beam_grouped<D: NodeDistance, K: Fn(RowId) -> bool + ?Sized>(
    graph: &GraphView<'_>,
    scorer: &D,
    ef: usize,
    keep: &K,
    group: &impl Fn(u32) -> u32,
) -> Vec<Scored> {
    let Some(ep) = descend(graph, scorer).filter(|_| ef > 0) else {
        return Vec::new();
    };
    with_visited(graph.nodes(), |visited| {
        search_groups(graph, scorer, ep, ef, visited, keep, group)
    })
}
