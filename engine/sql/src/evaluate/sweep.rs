//! `SWEEP`: the family of rankings an EVALUATE compares, derived from its ORDER BY:
//! fusion weights (α, 1 − α) over a grid, RRF's k over a list, or column ablations
//! (each term alone, every term but one, all).

use quiver_query::sql::{FuseOptions, FusionSpec, Order, Sweep};
use quiver_storage::{DEFAULT_PROFILE, Error, FusionProfile, Result};

use super::Evaluation;
use quiver::Database;

/// `(setting, ranking)` for every point of `sweep` over `order`.
pub fn orders(order: &Order, sweep: &Sweep) -> Result<Vec<(String, Order)>> {
    let fused = |what: &str| match order {
        Order::Fuse(spec, terms, options) => Ok((spec, terms, options)),
        Order::Distance(_) => Err(Error::InvalidArgument(format!(
            "SWEEP {what} needs ORDER BY FUSE(...) with several terms"
        ))),
    };
    match sweep {
        Sweep::Alpha { step } => {
            let (_, terms, options) = fused("ALPHA")?;
            if terms.len() != 2 {
                return Err(Error::InvalidArgument(format!(
                    "SWEEP ALPHA weighs two terms (α and 1 − α); this FUSE has {}",
                    terms.len()
                )));
            }
            let points = (1.0 / step).round().max(1.0) as usize;
            Ok((0..=points)
                .map(|i| {
                    let alpha = (i as f64 * step).min(1.0);
                    let spec = FusionSpec::Weighted(vec![alpha, 1.0 - alpha]);
                    let label = format!("alpha={alpha:.2} ({} weight)", terms[0].column);
                    (label, Order::Fuse(spec, terms.clone(), options.clone()))
                })
                .collect())
        }
        Sweep::RrfK(ks) => {
            // RRF over the lists stays over the lists; any other fusion sweeps RRF.
            let (spec, terms, options) = fused("RRF K")?;
            let lists = matches!(spec, FusionSpec::RrfLists(_));
            Ok(ks
                .iter()
                .map(|&k| {
                    let spec = match lists {
                        true => FusionSpec::RrfLists(k),
                        false => FusionSpec::Rrf(k),
                    };
                    let order = Order::Fuse(spec, terms.clone(), options.clone());
                    (format!("rrf k={k}"), order)
                })
                .collect())
        }
        Sweep::Columns => {
            let (spec, terms, options) = fused("COLUMNS")?;
            let mut out: Vec<(String, Order)> = terms
                .iter()
                .map(|t| (format!("only {}", t.column), Order::Distance(t.clone())))
                .collect();
            if terms.len() > 2 {
                for drop in 0..terms.len() {
                    let kept: Vec<_> = (0..terms.len()).filter(|&i| i != drop).collect();
                    let spec = match spec {
                        FusionSpec::Weighted(w) => FusionSpec::Weighted(
                            kept.iter().filter_map(|&i| w.get(i).copied()).collect(),
                        ),
                        other => other.clone(),
                    };
                    let kept_terms = kept.iter().map(|&i| terms[i].clone()).collect();
                    out.push((
                        format!("without {}", terms[drop].column),
                        Order::Fuse(spec, kept_terms, options.clone()),
                    ));
                }
            }
            out.push(("all".to_string(), order.clone()));
            Ok(out)
        }
    }
}

/// `SAVE BEST`: stores the fusion of the setting with the best overall NDCG@K (the
/// first of equals) as `collection`'s fusion profile `default` (`FUSE(DEFAULT, ...)`),
/// with the sweep's NORMALIZE; returns its index. Only sweeps whose
/// settings are fusions over the same columns (ALPHA, RRF K) can be saved.
pub fn save_best(
    db: &Database,
    collection: &str,
    sweep: &Sweep,
    results: &[(String, Evaluation)],
    orders: &[Order],
) -> Result<usize> {
    if matches!(sweep, Sweep::Columns) {
        return Err(Error::InvalidArgument(
            "SAVE BEST saves a fusion: use it with SWEEP ALPHA or SWEEP RRF K".into(),
        ));
    }
    let best = results
        .iter()
        .enumerate()
        .filter(|(_, (_, ev))| ev.overall.queries > 0)
        .fold(None::<(usize, f64)>, |best, (i, (_, ev))| match best {
            Some((_, b)) if b >= ev.overall.mean.ndcg => best,
            _ => Some((i, ev.overall.mean.ndcg)),
        })
        .ok_or_else(|| Error::InvalidArgument("SAVE BEST: no setting scored any query".into()))?
        .0;
    let Order::Fuse(spec, terms, options) = &orders[best] else {
        return Err(Error::InvalidArgument(
            "SAVE BEST: the best setting is not a fusion".into(),
        ));
    };
    let profile = FusionProfile {
        name: DEFAULT_PROFILE.into(),
        label: None,
        fusion: spec.to_string(),
        normalize: options.normalize.map(|n| {
            let text = FuseOptions {
                normalize: Some(n),
                missing: None,
            }
            .to_string();
            text.trim_start_matches(" NORMALIZE ").to_string()
        }),
        columns: terms.iter().map(|t| t.column.clone()).collect(),
        origin: Some(format!("SAVE BEST of a sweep: {}", results[best].0)),
        stale: None,
    };
    db.collection(collection)?.save_profiles(&[profile])?;
    Ok(best)
}
