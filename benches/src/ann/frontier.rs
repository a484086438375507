//! From raw sweep rows to curve points: medians over repetitions, the recall/QPS
//! Pareto frontier, and QPS at a target recall by log-QPS interpolation along it.
//! Each function mirrors its namesake in `shared/bench/peers/run.py`.

use serde_json::Value;

use super::report::Row;

/// One parameter point: medians over its repetitions.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub param: Value,
    pub recall: f64,
    pub qps: f64,
    pub qps_min: f64,
    pub qps_max: f64,
    pub n: usize,
}

/// Median as Python's `statistics.median` (mean of the middle two for even counts).
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    assert!(!v.is_empty(), "median of nothing");
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Groups rows by parameter (first-seen order) and takes medians (run.py `summarize`).
pub fn summarize(rows: &[Row]) -> Vec<Point> {
    let mut groups: Vec<(&Value, Vec<&Row>)> = Vec::new();
    for row in rows {
        match groups.iter_mut().find(|(p, _)| **p == row.param) {
            Some((_, g)) => g.push(row),
            None => groups.push((&row.param, vec![row])),
        }
    }
    groups
        .into_iter()
        .map(|(param, g)| {
            let qps: Vec<f64> = g.iter().map(|r| r.qps).collect();
            Point {
                param: param.clone(),
                recall: median(g.iter().map(|r| r.recall)),
                qps: median(qps.iter().copied()),
                qps_min: qps.iter().copied().fold(f64::INFINITY, f64::min),
                qps_max: qps.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                n: g.len(),
            }
        })
        .collect()
}

/// The points no other point beats in both recall and QPS, by increasing recall.
pub fn pareto_frontier(points: &[Point]) -> Vec<&Point> {
    let mut sorted: Vec<&Point> = points.iter().collect();
    // Recall descending, then QPS descending (a stable sort, as Python's).
    sorted.sort_by(|a, b| b.recall.total_cmp(&a.recall).then(b.qps.total_cmp(&a.qps)));
    let mut front = Vec::new();
    let mut best = -1.0;
    for p in sorted {
        if p.qps > best {
            best = p.qps;
            front.push(p);
        }
    }
    front.reverse();
    front
}

/// QPS at recall `target` (run.py `qps_at`): along the frontier, the first point
/// reaching the target and the last one below it, interpolated linearly in log QPS.
/// Also returns the point reaching the target. `None` when no point reaches it.
pub fn qps_at(points: &[Point], target: f64) -> Option<(f64, &Point)> {
    let front = pareto_frontier(points);
    let hi = *front.iter().find(|p| p.recall >= target)?;
    let Some(lo) = front.iter().rev().find(|p| p.recall < target) else {
        return Some((hi.qps, hi));
    };
    let f = (target - lo.recall) / (hi.recall - lo.recall);
    let log = lo.qps.ln() + f * (hi.qps.ln() - lo.qps.ln());
    Some((log.exp(), hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pt(param: i64, recall: f64, qps: f64) -> Point {
        Point {
            param: json!(param),
            recall,
            qps,
            qps_min: qps,
            qps_max: qps,
            n: 1,
        }
    }

    fn row(rep: usize, param: Value, recall: f64, qps: f64) -> Row {
        Row {
            rep,
            param,
            recall,
            id_recall: recall,
            qps,
            nq: 100,
            extra: Default::default(),
        }
    }

    #[test]
    fn medians_per_param_in_first_seen_order() {
        let rows = [
            row(0, json!(16), 0.80, 900.0),
            row(0, json!(10), 0.70, 1000.0),
            row(1, json!(16), 0.80, 1100.0),
            row(1, json!(10), 0.72, 1300.0),
            row(2, json!(16), 0.82, 1000.0),
        ];
        let pts = summarize(&rows);
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[0].param, json!(16));
        assert_eq!((pts[0].recall, pts[0].qps, pts[0].n), (0.80, 1000.0, 3));
        assert_eq!((pts[0].qps_min, pts[0].qps_max), (900.0, 1100.0));
        assert_eq!(pts[1].recall, 0.71);
        assert_eq!(pts[1].qps, 1150.0);
    }

    #[test]
    fn frontier_drops_dominated_points() {
        // (0.85, 500) is beaten by (0.9, 800).
        let pts = [
            pt(1, 0.5, 4000.0),
            pt(2, 0.85, 500.0),
            pt(3, 0.9, 800.0),
            pt(4, 0.99, 100.0),
        ];
        let front: Vec<i64> = pareto_frontier(&pts)
            .iter()
            .map(|p| p.param.as_i64().unwrap())
            .collect();
        assert_eq!(front, vec![1, 3, 4]);
    }

    #[test]
    fn interpolates_log_qps_between_frontier_neighbours() {
        let pts = [
            pt(1, 0.5, 4000.0),
            pt(2, 0.85, 500.0),
            pt(3, 0.9, 800.0),
            pt(4, 0.99, 100.0),
        ];
        // Exactly on a point: still interpolated (f = 1), as run.py does.
        let (q, p) = qps_at(&pts, 0.9).unwrap();
        assert!((q - 800.0).abs() < 1e-9, "{q}");
        assert_eq!(p.param.as_i64(), Some(3));
        // 0.95 is 5/9 of the way from (0.9, 800) to (0.99, 100), in log space:
        // exp(ln 800 + 5/9 (ln 100 - ln 800)) = 800 * 8^(-5/9) = 251.98...
        let (q, p) = qps_at(&pts, 0.95).unwrap();
        assert!((q - 251.9842).abs() < 1e-3, "{q}");
        assert_eq!(p.param.as_i64(), Some(4));
        // Below every point: the first frontier point that reaches it, no interpolation.
        let (q, _) = qps_at(&pts, 0.3).unwrap();
        assert_eq!(q, 4000.0);
        // 0.7 between (0.5, 4000) and (0.9, 800), skipping the dominated 0.85:
        // 4000 * (800/4000)^(0.2/0.4) = 4000 * sqrt(0.2) = 1788.85...
        let (q, _) = qps_at(&pts, 0.7).unwrap();
        assert!((q - 1788.8544).abs() < 1e-3, "{q}");
        assert!(qps_at(&pts, 0.995).is_none());
    }
}
