//! `EVALUATE ... ORDER BY FUSE(...) TUNE WEIGHTS [PER LABEL] [FOLDS k] [SAVE AS name]`:
//! the fusion fitted to the labelled queries by `quiver_query::tune`, reported with its
//! in-sample and cross-validated NDCG@K beside the ranking as written, and optionally
//! saved as fusion profiles (`name`, and per label `name/label`).
//!
//! Each applicable query's candidates are searched and re-scored ONCE
//! ([`Database::fused_candidates`]); every setting the tuner tries re-fuses those
//! tables. What it chooses among: weights on the simplex under each normalization —
//! the one the FUSE names, else MINMAX, ZSCORE, NONE and (when every column has a
//! measured span) CALIBRATED — and RRF for each k in [`RRF_KS`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use quiver::sql::Tune;
use quiver::{Database, Error, Fusion, FusionChoice, Normalization, NormalizationChoice, Query};
use quiver::{Result, Target};
use quiver_query::tune::{Gathered, Setting, Space, TuneOptions, TuneQuery, TuneReport, tune};
use quiver_storage::FusionProfile;

use super::vectors::QueryVectors;
use super::{LabelledQuery, filled, own_id};

/// RRF's k values the tuner tries besides weights.
pub const RRF_KS: [f32; 6] = [5.0, 10.0, 20.0, 40.0, 60.0, 100.0];
/// Seeds the folds, so a tuning run repeats exactly.
const FOLD_SEED: u64 = 0x5155_4956_4552;

/// A normalization the tuner may choose, with the keyword a profile saves.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedNormalization {
    pub keyword: &'static str,
    pub normalization: Normalization,
}

/// What a tuning run found, and what it cost.
#[derive(Clone, Debug)]
pub struct Tuning {
    pub k: usize,
    pub report: TuneReport,
    /// The columns fused, in order.
    pub columns: Vec<String>,
    /// The terms as they read (`MATCH(title)` for a BM25 term, else the column).
    pub terms: Vec<String>,
    /// Indexed by [`Setting::normalization`]; the written ranking's own comes last
    /// when it is none of the candidates.
    pub normalizations: Vec<NamedNormalization>,
    /// Queries left out, by label: no vector for some term, or nothing relevant.
    pub skipped: BTreeMap<String, usize>,
    /// Searching and re-scoring every query's candidates (query texts' embedding
    /// excluded), and fitting plus cross-validating.
    pub gather: Duration,
    pub fit: Duration,
    /// The profiles saved (`SAVE AS`), by full name.
    pub saved: Vec<String>,
}

impl Tuning {
    /// How `setting` reads: its fusion, and its normalization's keyword (weights only:
    /// RRF reads ranks).
    pub fn describe(&self, setting: &Setting) -> (String, Option<&'static str>) {
        let normalize = match setting.fusion {
            Fusion::Rrf { .. } | Fusion::RrfLists { .. } => None,
            _ => Some(self.normalizations[setting.normalization].keyword),
        };
        (setting.fusion.to_string(), normalize)
    }
}

/// The normalizations to choose among for `template` (its own, when it names one).
fn candidates(
    snap: &quiver::CollectionSnapshot,
    template: &Query,
) -> Result<Vec<NamedNormalization>> {
    let named = |keyword, normalization| NamedNormalization {
        keyword,
        normalization,
    };
    let spans = template
        .terms
        .iter()
        .map(|t| snap.distance_span(&t.column).ok().flatten())
        .collect::<Option<Vec<_>>>();
    Ok(match &template.normalization {
        Some(NormalizationChoice::Given(n)) => vec![named(keyword(n)?, n.clone())],
        Some(NormalizationChoice::Calibrated) => {
            let spans = spans.ok_or_else(|| {
                Error::InvalidArgument(
                    "NORMALIZE CALIBRATED: some column has no measured distance span (build an index on a segment of 1,000 rows or more)".into(),
                )
            })?;
            vec![named("CALIBRATED", Normalization::Calibrated(spans))]
        }
        None => {
            let mut all = vec![
                named("MINMAX", Normalization::MinMax),
                named("ZSCORE", Normalization::ZScore),
                named("NONE", Normalization::None),
            ];
            if let Some(spans) = spans {
                all.push(named("CALIBRATED", Normalization::Calibrated(spans)));
            }
            all
        }
    })
}

fn keyword(n: &Normalization) -> Result<&'static str> {
    Ok(match n {
        Normalization::None => "NONE",
        Normalization::MinMax => "MINMAX",
        Normalization::ZScore => "ZSCORE",
        Normalization::Calibrated(_) => "CALIBRATED",
        Normalization::Fixed(_) => {
            return Err(Error::InvalidArgument(
                "a fixed normalization has no NORMALIZE keyword to tune under".into(),
            ));
        }
    })
}

/// One query's candidates, owned (ids instead of item references).
struct Owned {
    ids: Vec<String>,
    distances: Vec<Vec<Option<f32>>>,
    list_ranks: Vec<Vec<Option<usize>>>,
}

/// Tunes `template`'s fusion on `queries` at cut-off `k` (see the module doc); saves
/// the profiles when `how` says so, after everything else succeeded.
pub fn run(
    db: &Database,
    collection: &str,
    queries: &[LabelledQuery],
    template: &Query,
    k: usize,
    how: &Tune,
) -> Result<Tuning> {
    let written_fusion = match &template.fusion {
        Some(FusionChoice::Given(f)) if template.terms.len() >= 2 => f.clone(),
        Some(FusionChoice::Profile { .. }) => {
            return Err(Error::InvalidArgument(
                "TUNE WEIGHTS fits the fusion itself: write FUSE(WEIGHTED(...) or RRF, ...) over the columns (its NDCG is reported as written)".into(),
            ));
        }
        _ => {
            return Err(Error::InvalidArgument(
                "TUNE WEIGHTS needs ORDER BY FUSE(...) over two terms or more".into(),
            ));
        }
    };
    if k == 0 {
        return Err(Error::InvalidArgument("EVALUATE needs K ≥ 1".into()));
    }
    let c = db.collection(collection)?;
    let snap = c.snapshot()?;
    let mut normalizations = candidates(&snap, template)?;
    let vectors = QueryVectors::resolve(db, &snap, queries, std::slice::from_ref(template))?;

    // 1. Every applicable query's candidates, searched and re-scored once.
    let started = Instant::now();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut gathered: Vec<(usize, Owned)> = Vec::new();
    let mut default_normalization = None;
    for (q, query) in queries.iter().enumerate() {
        let Some(targets) = vectors.targets(&template.terms, q) else {
            *skipped.entry(query.label.clone()).or_default() += 1;
            continue;
        };
        let found = db.fused_candidates(&snap, &filled(template, &targets, query, k))?;
        default_normalization.get_or_insert(found.default_normalization.clone());
        let ids = found
            .items
            .iter()
            .map(|item| item.id().map(str::to_string))
            .collect::<Result<_>>()?;
        let owned = Owned {
            ids,
            distances: found.distances,
            list_ranks: found.list_ranks,
        };
        gathered.push((q, owned));
    }
    let gather = started.elapsed();

    // 2. The written ranking's normalization is one of the tables too.
    let space = Space {
        normalizations: normalizations.len(),
        rrf_ks: RRF_KS.to_vec(),
    };
    let written_normalization = match &template.normalization {
        Some(_) => 0,
        None => {
            let default = default_normalization.unwrap_or(Normalization::MinMax);
            match normalizations
                .iter()
                .position(|n| n.normalization == default)
            {
                Some(at) => at,
                None => {
                    normalizations.push(NamedNormalization {
                        keyword: "default",
                        normalization: default,
                    });
                    normalizations.len() - 1
                }
            }
        }
    };
    let tables: Vec<Normalization> = normalizations
        .iter()
        .map(|n| n.normalization.clone())
        .collect();
    let mut tuned_queries = Vec::with_capacity(gathered.len());
    for (q, owned) in &gathered {
        let query = &queries[*q];
        let table = Gathered {
            ids: &owned.ids,
            distances: &owned.distances,
            list_ranks: &owned.list_ranks,
        };
        match TuneQuery::new(
            &query.qid,
            &query.label,
            table,
            own_id(query),
            &query.qrels,
            k,
            &tables,
            template.missing,
        ) {
            Some(t) => tuned_queries.push(t),
            None => *skipped.entry(query.label.clone()).or_default() += 1,
        }
    }
    drop(gathered);

    // 3. Fit and cross-validate.
    let started = Instant::now();
    let written = Setting {
        fusion: written_fusion,
        normalization: written_normalization,
    };
    let options = TuneOptions {
        k,
        folds: usize::try_from(how.folds).unwrap_or(usize::MAX),
        per_label: how.per_label,
        space,
        seed: FOLD_SEED,
    };
    let report = tune(&tuned_queries, &written, &options)
        .map_err(|e| Error::InvalidArgument(format!("TUNE WEIGHTS: {e}")))?;
    let fit = started.elapsed();
    let mut tuning = Tuning {
        k,
        report,
        columns: template.terms.iter().map(|t| t.column.clone()).collect(),
        terms: template
            .terms
            .iter()
            .map(|t| match t.target {
                Target::LabelledText => format!("MATCH({})", t.column),
                _ => t.column.clone(),
            })
            .collect(),
        normalizations,
        skipped,
        gather,
        fit,
        saved: Vec::new(),
    };

    // 4. Saved last, all at one commit: nothing is saved when anything failed.
    if let Some(name) = &how.save_as {
        let profiles = profiles(&tuning, name, how.folds);
        c.save_profiles(&profiles)?;
        tuning.saved = profiles.iter().map(FusionProfile::full_name).collect();
    }
    Ok(tuning)
}

/// The profiles a run saves as `name`: the setting for all queries, then (per label)
/// one per label.
fn profiles(tuning: &Tuning, name: &str, folds: u64) -> Vec<FusionProfile> {
    let k = tuning.k;
    tuning
        .report
        .fitted
        .iter()
        .map(|fitted| {
            let scope = fitted.label.as_deref().unwrap_or("*");
            let line = tuning.report.lines.iter().find(|l| l.label == scope);
            let origin = line.map(|l| {
                format!(
                    "TUNE WEIGHTS on {} queries{}: NDCG@{k} {:.4} in-sample, {:.4} held out ({folds} folds)",
                    l.queries,
                    fitted
                        .label
                        .as_ref()
                        .map_or(String::new(), |l| format!(" labelled '{l}'")),
                    l.in_sample,
                    l.held_out
                )
            });
            let (fusion, normalize) = tuning.describe(&fitted.setting);
            FusionProfile {
                name: name.to_string(),
                label: fitted.label.clone(),
                fusion,
                normalize: normalize.map(str::to_string),
                columns: tuning.columns.clone(),
                origin,
                stale: None,
            }
        })
        .collect()
}
