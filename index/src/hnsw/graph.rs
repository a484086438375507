//! The finished graph as flat arrays. Level 0, where almost all search time goes, is
//! one contiguous `u32` array with a fixed slot per node: `[count, n_1 .. n_m0]`. Nodes
//! above level 0 (about 1/m of them) have their upper slots, `[count, n_1 .. n_m]` per
//! level, in a second array found through `upper_offsets`.

/// Marks a node without upper levels in `upper_offsets`, and an empty graph's entry.
pub const NONE: u32 = u32::MAX;

/// An owned HNSW graph.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HnswGraph {
    pub m: u32,
    pub m0: u32,
    pub entry: u32,
    pub max_level: u32,
    /// Level of each node (0 for nodes never inserted, e.g. NULL rows).
    pub levels: Vec<u8>,
    /// `nodes * (1 + m0)` words.
    pub level0: Vec<u32>,
    /// Per node: word index in `upper` of its level-1 slot, or [`NONE`].
    pub upper_offsets: Vec<u32>,
    /// Slots of `1 + m` words, `levels[node]` of them per node with levels.
    pub upper: Vec<u32>,
}

impl HnswGraph {
    pub fn view(&self) -> GraphView<'_> {
        GraphView {
            m: self.m,
            m0: self.m0,
            entry: self.entry,
            max_level: self.max_level,
            levels: &self.levels,
            level0: &self.level0,
            upper_offsets: &self.upper_offsets,
            upper: &self.upper,
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.levels.len() + 4 * (self.level0.len() + self.upper_offsets.len() + self.upper.len())
    }
}

/// A borrowed graph: from an [`HnswGraph`] or straight from a memory-mapped segment.
#[derive(Clone, Copy, Debug)]
pub struct GraphView<'a> {
    pub m: u32,
    pub m0: u32,
    pub entry: u32,
    pub max_level: u32,
    pub levels: &'a [u8],
    pub level0: &'a [u32],
    pub upper_offsets: &'a [u32],
    pub upper: &'a [u32],
}

impl<'a> GraphView<'a> {
    pub fn nodes(&self) -> usize {
        self.levels.len()
    }

    /// Links of `node` on `level`. Out-of-range data (a damaged file) gives no links
    /// rather than a panic.
    #[inline]
    pub fn neighbors(&self, node: u32, level: u32) -> &'a [u32] {
        let (slots, start, cap) = if level == 0 {
            (
                self.level0,
                node as usize * (1 + self.m0 as usize),
                self.m0 as usize,
            )
        } else {
            let Some(&base) = self.upper_offsets.get(node as usize) else {
                return &[];
            };
            if base == NONE {
                return &[];
            }
            let at = base as usize + (level as usize - 1) * (1 + self.m as usize);
            (self.upper, at, self.m as usize)
        };
        let Some(&count) = slots.get(start) else {
            return &[];
        };
        let count = (count as usize).min(cap);
        slots.get(start + 1..start + 1 + count).unwrap_or(&[])
    }

    /// Checks the arrays are consistent with each other (for graphs read from disk):
    /// sizes, every link in range, every offset in range.
    pub fn check(&self) -> Result<(), String> {
        let n = self.nodes();
        if self.level0.len() != n * (1 + self.m0 as usize) || self.upper_offsets.len() != n {
            return Err("graph array sizes do not match the node count".into());
        }
        if n > 0
            && (self.entry as usize >= n
                || self.levels[self.entry as usize] as u32 != self.max_level)
        {
            return Err("graph entry point is out of range or not on the top level".into());
        }
        for node in 0..n as u32 {
            let level = self.levels[node as usize] as u32;
            if level > 0 {
                let base = self.upper_offsets[node as usize];
                let end = base as usize + level as usize * (1 + self.m as usize);
                if base == NONE || end > self.upper.len() {
                    return Err(format!("upper links of node {node} are out of range"));
                }
            }
            for l in 0..=level {
                if self.neighbors(node, l).iter().any(|&x| x as usize >= n) {
                    return Err(format!("node {node} links past the last node on level {l}"));
                }
            }
        }
        Ok(())
    }
}
