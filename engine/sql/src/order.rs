//! An ORDER BY compiled into the core's [`Query`]: each `column <-> ...` term becomes a
//! [`Term`], FUSE's fusion, NORMALIZE and MISSING its fused-query settings. SELECT,
//! EXPLAIN and EVALUATE all rank through here.

use quiver::sql::{FusionSpec, MaxSimQuery, MissingSpec, NormalizeSpec, Order, QueryVector};
use quiver::{
    Error, FusionChoice, Missing, Normalization, NormalizationChoice, Query, Result, Schema, Target,
};

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

/// Every `MAXSIM(column, ...)` term of `order` names a multi-vector column of
/// `schema`. (The engine checks this for given vectors and `VECTOR OF`; EVALUATE's
/// `MAXSIM(column, QUERY)` compiles to each query's vector, so it is checked here.)
pub fn check_maxsim(schema: &Schema, order: &Order) -> Result<()> {
    let terms = match order {
        Order::Distance(n) => std::slice::from_ref(n),
        Order::Fuse(_, terms, _) => terms.as_slice(),
    };
    for n in terms
        .iter()
        .filter(|n| matches!(n.query, QueryVector::MaxSim(_)))
    {
        let (_, column) = schema.column(&n.column)?;
        if column.multi().is_none() {
            return Err(Error::InvalidArgument(format!(
                "MAXSIM ranks a multi-vector column (VECTOR(n)[]); {} is {}",
                n.column,
                column.type_name()
            )));
        }
    }
    Ok(())
}

/// FUSE's fusion; `PROFILE` (and `DEFAULT`) one the collection saved.
pub fn fusion(spec: &FusionSpec) -> FusionChoice {
    match spec.to_fusion() {
        Ok(fusion) => FusionChoice::Given(fusion),
        Err((name, label)) => FusionChoice::Profile {
            name: name.to_string(),
            label: label.map(str::to_string),
        },
    }
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
