//! EXPLAIN's rows: the plan stage by stage (per column: each part's strategy, filter
//! mode, rows, vectors compared and time; then union, re-scoring and fusion), then one
//! row per result with each column's raw distance, normalized score, rank and
//! contribution to the fused score.

use quiver::{FusedExplain, Hit, Hits, PartStats, Plan, Result, SearchStats, ms};

fn part_line(p: &PartStats) -> String {
    format!("  {p}")
}

/// EXPLAIN's lines for `hits` (none when the query kept no plan), `k` the query's.
pub fn lines(hits: &Hits<'_>, k: usize) -> Result<Vec<String>> {
    match &hits.plan {
        None => Ok(Vec::new()),
        Some(Plan::Nearest { column, stats }) => single(column, k, stats, &hits.hits, hits.micros),
        Some(Plan::Fused {
            fusion,
            profile,
            columns,
            explain,
        }) => {
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            let fusion = match profile {
                Some(p) => format!("{fusion} from profile {p}"),
                None => fusion.to_string(),
            };
            fused(&fusion, &columns, k, explain, &hits.hits, hits.micros)
        }
    }
}

/// The plan of a one-column nearest-neighbour search.
fn single(
    column: &str,
    k: usize,
    stats: &SearchStats,
    hits: &[Hit<'_>],
    micros: u128,
) -> Result<Vec<String>> {
    let mut lines = vec![format!("nearest {k} on {column}: {}", ms(micros))];
    lines.extend(stats.parts.iter().map(part_line));
    for (rank, h) in hits.iter().enumerate() {
        let distance = h.parts[0].as_ref().map_or(f32::NAN, |p| p.distance);
        lines.push(format!(
            "result {}: {} {column} distance {distance:.4} score {:.4}",
            rank + 1,
            h.item.id()?,
            h.score
        ));
    }
    Ok(lines)
}

/// The plan of a fused search over `columns`.
fn fused(
    fusion: &str,
    columns: &[&str],
    k: usize,
    explain: &FusedExplain,
    hits: &[Hit<'_>],
    micros: u128,
) -> Result<Vec<String>> {
    let mut lines = vec![format!(
        "FUSE({fusion}) top {k} over {}: {}",
        columns.join(", "),
        ms(micros)
    )];
    for c in &explain.columns {
        lines.push(format!(
            "column {}: {} candidates, {}",
            c.column,
            c.candidates,
            ms(c.micros)
        ));
        lines.extend(c.stats.parts.iter().map(part_line));
    }
    lines.push(format!(
        "union: {} items; exact re-scoring: {} distances read from the columns, {}",
        explain.union,
        explain.rescored,
        ms(explain.rescore_micros)
    ));
    lines.push(format!(
        "fusion: normalization {}, {}",
        explain.normalization,
        ms(explain.fuse_micros)
    ));
    let kth = hits.get(k.saturating_sub(1)).map(|h| h.score);
    lines.push(match (explain.threshold, explain.proven, kth) {
        (Some(t), Some(true), _) if t < -1e20 => format!(
            "threshold: every item was a candidate; {} round(s)",
            explain.rounds
        ),
        (Some(t), Some(true), Some(s)) => format!(
            "threshold: k-th score {s:.4} >= {t:.4}, the best an unseen item could score: exact over what the column searches return; {} round(s)",
            explain.rounds
        ),
        (Some(t), _, _) => format!(
            "threshold: {t:.4} not reached after {} round(s): an unseen item might rank higher (FusedQuery::widen widens until it is)",
            explain.rounds
        ),
        (None, _, _) => format!(
            "threshold: none (normalization per query, RRF, MISSING PARTIAL or quantized distances); {} round(s)",
            explain.rounds
        ),
    });
    for (rank, h) in hits.iter().enumerate() {
        let parts: Vec<String> = h
            .parts
            .iter()
            .zip(columns)
            .map(|(p, column)| match p {
                Some(p) if p.rank == 0 => format!(
                    "{column} distance {:.4} score {:.4} not in its list +{:.4}",
                    p.distance, p.normalized, p.contribution
                ),
                Some(p) => format!(
                    "{column} distance {:.4} score {:.4} rank {} +{:.4}",
                    p.distance, p.normalized, p.rank, p.contribution
                ),
                None => format!("{column} none"),
            })
            .collect();
        lines.push(format!(
            "result {}: {} _score {:.4}: {}",
            rank + 1,
            h.item.id()?,
            h.score,
            parts.join("; ")
        ));
    }
    Ok(lines)
}
