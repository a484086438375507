//! An ORDER BY compiled into the core's [`Query`]: each `column <-> ...` term becomes a
//! [`Term`], FUSE's fusion, NORMALIZE and MISSING its fused-query settings. SELECT,
//! EXPLAIN and EVALUATE all rank through here.

use quiver::sql::{FusionSpec, MaxSimQuery, MissingSpec, NormalizeSpec, Order, QueryVector};
use quiver::{FusionChoice, Missing, Normalization, NormalizationChoice, Query, Target};

/// The query `order` ranks by, for the best `k`.
pub fn compile(order: &Order, k: usize) -> Query {
    match order {
        Order::Distance(n) => Query::nearest(&n.column, target(&n.query), k),
        Order::Fuse(spec, terms, options) => {
            let mut query = Query::fused(fusion(spec), k);
            for n in terms {
                query = query.term(&n.column, target(&n.query));
            }
            query.missing = match options.missing {
                None | Some(MissingSpec::Skip) => Missing::Skip,
                Some(MissingSpec::Partial) => Missing::ScorePresent,
            };
            query.normalization = options.normalize.map(|n| match n {
                NormalizeSpec::None => NormalizationChoice::Given(Normalization::None),
                NormalizeSpec::MinMax => NormalizationChoice::Given(Normalization::MinMax),
                NormalizeSpec::ZScore => NormalizationChoice::Given(Normalization::ZScore),
                NormalizeSpec::Calibrated => NormalizationChoice::Calibrated,
            });
            query
        }
    }
}

/// FUSE's fusion; `DEFAULT` is the collection's saved one.
pub fn fusion(spec: &FusionSpec) -> FusionChoice {
    spec.to_fusion()
        .map_or(FusionChoice::SavedDefault, FusionChoice::Given)
}

fn target(query: &QueryVector) -> Target {
    match query {
        QueryVector::Literal(v) => Target::Vector(v.clone()),
        QueryVector::Sparse(v) => Target::Sparse(v.clone()),
        QueryVector::Of(id) => Target::Item(id.clone()),
        QueryVector::Embed(call) => Target::Embed(call.clone()),
        QueryVector::Query => Target::Labelled,
        QueryVector::Match(Some(text)) => Target::Match(text.clone()),
        QueryVector::Match(None) => Target::LabelledText,
        QueryVector::MaxSim(MaxSimQuery::Literal(v)) => Target::Vectors(v.clone()),
        QueryVector::MaxSim(MaxSimQuery::Of(id)) => Target::ItemVectors(id.clone()),
        QueryVector::MaxSim(MaxSimQuery::Query) => Target::Labelled,
    }
}
