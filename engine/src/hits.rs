//! What a query returns: [`Hits`], best first, each [`Hit`] with its score, each
//! term's part of it and the attributes asked for; and the [`Plan`] EXPLAIN renders.

use quiver_query::{ColumnPart, Fusion, Normalization};
use quiver_storage::Value;

use crate::search::SearchStats;
use crate::snapshot::ItemRef;

/// One ranked item.
#[derive(Clone, Debug)]
pub struct Hit<'s> {
    /// The item, read from the snapshot.
    pub item: ItemRef<'s>,
    /// Higher is better: the fused score, or the one column's similarity score.
    pub score: f32,
    /// Per term: raw distance, normalized score, rank among the candidates,
    /// contribution to `score`; `None` where the item has no value for that column.
    /// A one-column search fills `normalized` and `contribution` with `score`.
    pub parts: Vec<Option<ColumnPart>>,
    /// The values of [`Query::attributes`](crate::Query::attributes), in that order.
    pub attributes: Vec<Value>,
    /// A one-term `<->` search of a multi-vector column: the place of the item's
    /// nearest vector in its list (which keyframe matched). `None` otherwise.
    pub element: Option<u32>,
}

/// What a query did, for EXPLAIN.
#[derive(Clone, Debug)]
pub enum Plan {
    /// A one-column search.
    Nearest {
        /// The column searched.
        column: String,
        /// How each part of it was searched.
        stats: SearchStats,
    },
    /// A fused search.
    Fused {
        /// The fusion (a profile's, resolved).
        fusion: Fusion,
        /// The fusion profile it came from (`name` or `name/label`), if any.
        profile: Option<String>,
        /// The terms' columns.
        columns: Vec<String>,
        /// What each stage did.
        explain: FusedExplain,
    },
}

/// A query's answer, best first.
#[derive(Clone, Debug)]
pub struct Hits<'s> {
    /// Best first.
    pub hits: Vec<Hit<'s>>,
    /// The terms' columns (the order of [`Hit::parts`]).
    pub columns: Vec<String>,
    /// The requested attributes (the order of [`Hit::attributes`]).
    pub attributes: Vec<String>,
    /// What ran, when [`Query::explain`](crate::Query::explain).
    pub plan: Option<Plan>,
    /// Time spent ranking (query vectors found, hits taken; attributes not read).
    /// Time spent, in microseconds.
    pub micros: u128,
}

/// What one column's candidate search did.
#[derive(Clone, Debug)]
pub struct ColumnExplain {
    /// The column searched.
    pub column: String,
    /// How each part of it was searched.
    pub stats: SearchStats,
    /// Candidates it gave.
    pub candidates: usize,
    /// Time spent, in microseconds.
    pub micros: u128,
}

/// What a fused search did, stage by stage.
#[derive(Clone, Debug)]
pub struct FusedExplain {
    /// Each column's candidate search.
    pub columns: Vec<ColumnExplain>,
    /// The normalization used (the default resolved).
    pub normalization: Normalization,
    /// Distinct candidate items after the union.
    pub union: usize,
    /// Distances computed while re-scoring: those no column search had already
    /// computed exactly (NULL cells are not counted).
    pub rescored: usize,
    /// Reading and scoring the missing distances.
    pub rescore_micros: u128,
    /// Normalizing, fusing and taking the top k.
    pub fuse_micros: u128,
    /// Rounds run: each widens every column's candidates twofold.
    pub rounds: usize,
    /// Fagin's threshold in the last round: the best fused score an item outside the
    /// candidates could have (`None` where no bound holds; see `quiver_query::threshold`).
    pub threshold: Option<f32>,
    /// Whether the k-th score reached the threshold, i.e. the answer is the exact fused
    /// top k over everything the column searches can return.
    pub proven: Option<bool>,
}
