//! The search over the weight simplex (method in the parent module's doc): points are
//! integer compositions `units` of a resolution R (weight i = units[i] / R), each
//! scored at most once.

use std::collections::HashMap;

/// The coarse grid's resolution (step 1/20) and the refinement's (step 1/100).
const COARSE: u32 = 20;
const FINE: u32 = 100;
/// How far (in fine units) the refinement moves one weight per step.
const FINE_REACH: u32 = 4;
/// Every coarse grid point is scored when there are at most this many (up to 3
/// terms: 231); beyond, coordinate ascent.
pub const ENUMERATE_AT_MOST: usize = 300;
/// Coordinate-ascent passes at most, per start.
const MAX_PASSES: usize = 50;
/// Points scored at most per grid: bounds the search for many terms (a FUSE of 30
/// terms would otherwise start 31 ascents of up to 50 passes of 630 points).
pub const MAX_POINTS: usize = 20_000;

/// Scores each point once.
struct Memo<'f> {
    objective: &'f mut dyn FnMut(&[f32]) -> f64,
    seen: HashMap<Vec<u32>, f64>,
    resolution: u32,
    best: Option<(Vec<u32>, f64)>,
}

impl Memo<'_> {
    fn score(&mut self, units: &[u32]) -> f64 {
        if let Some(&s) = self.seen.get(units) {
            return s;
        }
        let weights: Vec<f32> = units
            .iter()
            .map(|&u| u as f32 / self.resolution as f32)
            .collect();
        let s = (self.objective)(&weights);
        self.seen.insert(units.to_vec(), s);
        if self.best.as_ref().is_none_or(|(_, b)| s > *b) {
            self.best = Some((units.to_vec(), s));
        }
        s
    }

    /// Coordinate ascent from `start`: each weight in turn is moved to the best value
    /// within `reach` units (the others re-scaled to keep the sum), until a pass
    /// improves nothing.
    fn ascend(&mut self, start: Vec<u32>, reach: u32) {
        let mut at = start;
        let mut score = self.score(&at);
        for _ in 0..MAX_PASSES {
            let mut moved = false;
            for i in 0..at.len() {
                if self.seen.len() >= MAX_POINTS {
                    return;
                }
                let lo = at[i].saturating_sub(reach);
                let hi = (at[i] + reach).min(self.resolution);
                for v in lo..=hi {
                    let next = with_weight(&at, i, v, self.resolution);
                    let s = self.score(&next);
                    if s > score {
                        (at, score, moved) = (next, s, true);
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
}

/// `units` with weight `i` set to `v` and the others scaled to sum `total - v`
/// (largest remainders rounded up; evenly when the others are all 0).
fn with_weight(units: &[u32], i: usize, v: u32, total: u32) -> Vec<u32> {
    let rest = total - v;
    let others: u32 = units
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(_, &u)| u)
        .sum();
    let n = units.len();
    let mut out = vec![0u32; n];
    out[i] = v;
    if n == 1 {
        out[i] = total;
        return out;
    }
    let share = |j: usize| -> f64 {
        match others {
            0 => rest as f64 / (n - 1) as f64,
            _ => rest as f64 * units[j] as f64 / others as f64,
        }
    };
    let mut remainders = Vec::with_capacity(n - 1);
    let mut given = 0;
    for j in (0..n).filter(|&j| j != i) {
        let exact = share(j);
        out[j] = exact.floor() as u32;
        given += out[j];
        remainders.push((exact - exact.floor(), j));
    }
    remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, j) in remainders.iter().take((rest - given) as usize) {
        out[j] += 1;
    }
    out
}

/// Every composition of `total` into `parts` non-negative integers, in lexicographic
/// order (largest first weight first).
fn compositions(parts: usize, total: u32) -> Vec<Vec<u32>> {
    if parts == 1 {
        return vec![vec![total]];
    }
    let mut out = Vec::new();
    for first in (0..=total).rev() {
        for mut rest in compositions(parts - 1, total - first) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

/// How many compositions of `total` into `parts` there are, capped at `cap + 1`.
fn count_compositions(parts: usize, total: u32, cap: usize) -> usize {
    // C(total + parts - 1, parts - 1), computed incrementally with an early cap.
    let (n, r) = (total as u128 + parts as u128 - 1, parts as u128 - 1);
    let mut c: u128 = 1;
    for i in 0..r {
        c = c * (n - i) / (i + 1);
        if c > cap as u128 {
            return cap + 1;
        }
    }
    c as usize
}

/// The weights (summing to 1) of `columns` terms that maximise `objective`, and its
/// value there.
pub fn search_weights(columns: usize, objective: &mut dyn FnMut(&[f32]) -> f64) -> (Vec<f32>, f64) {
    let columns = columns.max(1);
    let mut coarse = Memo {
        objective,
        seen: HashMap::new(),
        resolution: COARSE,
        best: None,
    };
    if count_compositions(columns, COARSE, ENUMERATE_AT_MOST) <= ENUMERATE_AT_MOST {
        for point in compositions(columns, COARSE) {
            coarse.score(&point);
        }
    } else {
        let centre = with_weight(&vec![1; columns], 0, COARSE / columns as u32, COARSE);
        coarse.ascend(centre, COARSE);
        for vertex in 0..columns {
            let mut start = vec![0; columns];
            start[vertex] = COARSE;
            coarse.ascend(start, COARSE);
        }
    }
    let (best, _) = coarse.best.take().expect("at least one point is scored");
    let mut fine = Memo {
        objective: coarse.objective,
        seen: HashMap::new(),
        resolution: FINE,
        best: None,
    };
    let scale = FINE / COARSE;
    fine.ascend(best.iter().map(|&u| u * scale).collect(), FINE_REACH);
    let (units, score) = fine.best.expect("the start is scored");
    let weights = units.iter().map(|&u| u as f32 / FINE as f32).collect();
    (weights, score)
}
