//! The neighbour-selection heuristic (HNSW paper, algorithm 4, as hnswlib applies it):
//! walk candidates from closest to farthest and keep one only if it is closer to the
//! base than to every neighbour kept so far. This keeps links pointing in different
//! directions, which is what makes the graph navigable on clustered data.

/// `candidates` sorted by ascending distance to the base node; returns at most `max`
/// ids. `between(a, b)` is the distance between two candidates.
pub fn select(
    candidates: &[(f32, u32)],
    max: usize,
    between: impl Fn(u32, u32) -> f32,
) -> Vec<u32> {
    if candidates.len() <= max {
        return candidates.iter().map(|&(_, id)| id).collect();
    }
    let mut kept: Vec<u32> = Vec::with_capacity(max);
    for &(to_base, candidate) in candidates {
        if kept.len() >= max {
            break;
        }
        if kept.iter().all(|&k| between(candidate, k) >= to_base) {
            kept.push(candidate);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_diverse_directions() {
        // Base at 0 on a line; candidates at 1, 2 (behind 1), and -3 (other side).
        let pos = |id: u32| [1.0f32, 2.0, -3.0][id as usize];
        let cands = [(1.0, 0), (2.0, 1), (3.0, 2)];
        let kept = select(&cands, 2, |a, b| (pos(a) - pos(b)).abs());
        assert_eq!(
            kept,
            vec![0, 2],
            "2 is shadowed by 1; -3 is another direction"
        );
        assert_eq!(
            select(&cands, 3, |_, _| 0.0),
            vec![0, 1, 2],
            "fits: all kept"
        );
    }
}
