//! The statements of the language, and their canonical text (`Display`), which parses
//! back to the same statement.

use quiver_storage::{DType, MultiVector, SparseVector};

mod display;

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    CreateCollection {
        name: String,
        columns: Vec<ColumnDef>,
    },
    CreateIndex {
        collection: String,
        column: String,
        kind: String,
        /// `WITH (name = value, ...)`: numbers, or strings (`quantize = 'sq8'`).
        with: Vec<(String, Literal)>,
    },
    Insert {
        collection: String,
        columns: Vec<String>,
        rows: Vec<Vec<Literal>>,
    },
    CopyFrom {
        collection: String,
        column: Option<String>,
        path: String,
    },
    CopyTo {
        collection: String,
        path: String,
    },
    Delete {
        collection: String,
        filter: Expr,
    },
    Select(Select),
    Explain(Select),
    ShowCollections,
    /// `VERIFY`: every checksum and structural invariant of the database's files.
    Verify,
    /// `REPAIR [DROP DAMAGED SEGMENTS]`: rebuilds damaged indexes from the column data;
    /// drops segments whose rows are damaged only when the clause says so.
    Repair {
        drop_damaged_segments: bool,
    },
    Describe(String),
    Flush(String),
    Compact(String),
    DropCollection(String),
    /// `ALTER COLLECTION c ...`: a schema change.
    Alter {
        collection: String,
        action: AlterAction,
    },
    /// `EVALUATE c USING 'queries.jsonl' ORDER BY ... [AT k] [PER QUERY]`.
    Evaluate(Evaluate),
    /// `EVALUATE RECALL c (column) ...`: an index's recall against exact search.
    EvaluateRecall(EvaluateRecall),
    /// `REEMBED c (column)`: fill the column from its EMBED rule where it is NULL.
    Reembed {
        collection: String,
        column: String,
    },
    /// `CREATE FUSION PROFILE name [FOR 'label'] ON c AS FUSE(fusion, col, ...
    /// [NORMALIZE ...])`.
    CreateFusionProfile(FusionProfileDef),
    /// `SHOW FUSION PROFILES [ON c]`.
    ShowFusionProfiles(Option<String>),
    /// `DROP FUSION PROFILE name ON c`: the profile and every label of it.
    DropFusionProfile {
        collection: String,
        name: String,
    },
}

/// A named fusion setting for queries over `columns` (see `docs/SQL.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct FusionProfileDef {
    pub collection: String,
    pub name: String,
    pub label: Option<String>,
    /// Never itself a profile.
    pub fusion: FusionSpec,
    pub columns: Vec<String>,
    /// NORMALIZE only (MISSING stays the query's).
    pub options: FuseOptions,
}

/// `TUNE WEIGHTS [PER LABEL] [FOLDS n] ... [SAVE AS name]` after EVALUATE's ORDER BY.
#[derive(Clone, Debug, PartialEq)]
pub struct Tune {
    /// One setting per query label instead of one for all queries.
    pub per_label: bool,
    /// k of the k-fold cross-validation (default 5).
    pub folds: u64,
    /// Save the tuned setting(s) as this fusion profile (per label: `name/label`).
    pub save_as: Option<String>,
}

/// Retrieval quality of an ORDER BY over labelled queries (see `docs/SQL.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluate {
    pub collection: String,
    /// The labelled queries (JSON lines).
    pub queries: String,
    /// `QRELS 'file'`: TREC judgements replacing the queries' own.
    pub qrels: Option<String>,
    /// The ranking, with `QUERY` where each labelled query's vector goes.
    pub order: Order,
    /// The cut-off K (default 10).
    pub k: u64,
    /// One row per query, worst first, instead of the summary.
    pub per_query: bool,
    /// Evaluate a family of rankings instead of one.
    pub sweep: Option<Sweep>,
    /// Fit the fusion to the queries instead (never with `sweep`).
    pub tune: Option<Tune>,
    /// `PLOT 'file.png'`: with SWEEP, NDCG@K per setting, one line per label; with
    /// TUNE, the tuned weights and in-sample vs held-out NDCG@K per label.
    pub plot: Option<String>,
    /// `SAVE BEST` (with SWEEP ALPHA or RRF K): the setting with the best overall NDCG@K
    /// becomes the collection's default fusion (`FUSE(DEFAULT, ...)`).
    pub save_best: bool,
}

/// `EVALUATE RECALL c (column) [AT k] [SAMPLE n] [EF (..) | NPROBE (..) | TARGET (..)]`:
/// the collection's own vectors (a deterministic sample) as queries, each answered by
/// the index at every setting and by an exact scan.
#[derive(Clone, Debug, PartialEq)]
pub struct EvaluateRecall {
    pub collection: String,
    pub column: String,
    pub k: u64,
    pub sample: u64,
    pub settings: RecallSettings,
}

/// The search settings `EVALUATE RECALL` compares (one row each).
#[derive(Clone, Debug, PartialEq)]
pub enum RecallSettings {
    /// The column's defaults.
    Default,
    Ef(Vec<u64>),
    Nprobe(Vec<u64>),
    /// Recall targets, each picking ef / nprobe from the index's curve.
    Target(Vec<f64>),
}

/// The rankings a `SWEEP` evaluates, one row each.
#[derive(Clone, Debug, PartialEq)]
pub enum Sweep {
    /// `SWEEP ALPHA [STEP s]`: a two-term FUSE(WEIGHTED(...)) with weights (α, 1 − α)
    /// for α = 0, s, 2s, ..., 1 (s defaults to 0.1).
    Alpha { step: f64 },
    /// `SWEEP RRF K (k, ...)`: FUSE(RRF(k = ...)) for each k.
    RrfK(Vec<f64>),
    /// `SWEEP COLUMNS`: each term alone, every term but one, and all of them.
    Columns,
}

/// What `ALTER COLLECTION` changes.
#[derive(Clone, Debug, PartialEq)]
pub enum AlterAction {
    /// `ADD COLUMN def` (nullable: existing items have no value).
    AddColumn(ColumnDef),
    /// `DROP COLUMN name`.
    DropColumn(String),
    /// `RENAME COLUMN from TO to`.
    RenameColumn { from: String, to: String },
    /// `REPLACE COLUMN column WITH replacement`: drop `column` and give `replacement`
    /// its name, at one commit.
    ReplaceColumn { column: String, with: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    /// `NULL` / `NOT NULL` as written; `None` takes the default (attributes may be
    /// NULL, vectors may not), as in the issue's `CREATE COLLECTION` example.
    pub nullable: Option<bool>,
    /// `EMBED FROM attribute USING 'encoder'` on a vector column: filled from the
    /// attribute's text by the encoder whenever a write gives the text but not the
    /// vector.
    pub embed: Option<EmbedRuleDef>,
}

/// `EMBED FROM source USING 'encoder'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedRuleDef {
    pub from: String,
    pub encoder: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ColumnType {
    Text,
    Int,
    Float,
    Bool,
    Tags,
    /// `SPARSE`: u32 index → f32 weight, ranked by dot product.
    Sparse,
    /// Dimension, element type (`VECTOR(n) F16 ...`; F32 when not written) and
    /// metric name (`COSINE`, `DOT`, `L2`).
    Vector(u32, DType, String),
    /// `VECTOR(n)[] [F16|BF16] metric`: a list of vectors per item.
    MultiVector(u32, DType, String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    pub what: Projection,
    pub from: String,
    pub filter: Option<Expr>,
    pub order: Option<Order>,
    pub limit: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Projection {
    Star,
    Count,
    Columns(Vec<String>),
}

/// `ORDER BY` a distance or a fusion of distances.
#[derive(Clone, Debug, PartialEq)]
pub enum Order {
    Distance(Nearest),
    Fuse(FusionSpec, Vec<Nearest>, FuseOptions),
}

/// `NORMALIZE ...` and `MISSING ...` inside `FUSE(...)`; `None` = the engine's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuseOptions {
    pub normalize: Option<NormalizeSpec>,
    pub missing: Option<MissingSpec>,
}

/// How each column's distances become scores before fusion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormalizeSpec {
    /// `NONE`: score = -distance.
    None,
    /// `MINMAX` over the query's candidates.
    MinMax,
    /// `ZSCORE` over the query's candidates.
    ZScore,
    /// `CALIBRATED`: each column's distance span measured when its index was built.
    Calibrated,
}

/// What happens to an item without a value on a queried column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingSpec {
    /// `SKIP`: the item is left out.
    Skip,
    /// `PARTIAL`: the item is scored on the columns it has.
    Partial,
}

/// `column <-> query`.
#[derive(Clone, Debug, PartialEq)]
pub struct Nearest {
    pub column: String,
    pub query: QueryVector,
}

#[derive(Clone, Debug, PartialEq)]
pub enum QueryVector {
    Literal(Vec<f32>),
    /// `{index: weight, ...}` against a SPARSE column (ranked by dot product).
    Sparse(SparseVector),
    /// `VECTOR OF 'item-id'`: the item's vector on the same column.
    Of(String),
    /// `EMBED('encoder', 'text')` / `EMBED_IMAGE('encoder', 'path')`.
    Embed(Embed),
    /// `QUERY` (EVALUATE only): each labelled query's vector for the column: its text
    /// embedded by the column's encoder, or its query item's own vector.
    Query,
    /// `MATCH(column, 'text')`: BM25 of the text against a TEXT column (higher is
    /// better); `None` for `MATCH(column, QUERY)` (EVALUATE: each query's text).
    Match(Option<String>),
    /// `MAXSIM(column, ...)`: late interaction against a multi-vector column (higher
    /// is better).
    MaxSim(MaxSimQuery),
}

/// MAXSIM's query vectors.
#[derive(Clone, Debug, PartialEq)]
pub enum MaxSimQuery {
    /// `[[...], [...]]`.
    Literal(MultiVector),
    /// `VECTOR OF 'item-id'`: the item's vectors in the column.
    Of(String),
    /// `QUERY` (EVALUATE only): each labelled query's vectors.
    Query,
}

/// An encoder call: `EMBED('minilm', 'a red shoe')` embeds text,
/// `EMBED_IMAGE('effnet', 'images/p1.png')` an image file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embed {
    pub encoder: String,
    pub input: String,
    pub image: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FusionSpec {
    Weighted(Vec<f64>),
    Rrf(f64),
    /// `RRF(k = ..., LISTS)`: ranks within each term's own result list.
    RrfLists(f64),
    Min,
    Max,
    Avg,
    /// `PROFILE name [FOR 'label']`, or `DEFAULT` (the profile `default`): a fusion
    /// profile of the collection, for these columns.
    Profile {
        name: String,
        label: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Number(f64),
    Bool(bool),
    Null,
    Vector(Vec<f32>),
    /// `[[0.1, 0.2], [0.3, 0.4]]`: a multi-vector column's value, checked when parsed.
    Vectors(MultiVector),
    /// `{12: 0.5, 99: 1.25}`, checked when parsed.
    Sparse(SparseVector),
    /// Only as an INSERT value: the encoder's vector for the input.
    Embed(Embed),
    /// Only as an INSERT value of a multi-vector column: `EMBED_IMAGES('effnet',
    /// ['k1.png', 'k2.png'])`, one vector per image file, in one encoder batch.
    EmbedImages {
        encoder: String,
        paths: Vec<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Cmp(String, CmpOp, Literal),
    In(String, Vec<Literal>),
    Contains(String, Literal),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl FusionSpec {
    /// The fusion this spells, or the (name, label) of the profile it names (resolved
    /// by the engine).
    pub fn to_fusion(&self) -> Result<crate::Fusion, (&str, Option<&str>)> {
        use crate::Fusion;
        Ok(match self {
            FusionSpec::Weighted(w) => Fusion::Weighted(w.iter().map(|&x| x as f32).collect()),
            FusionSpec::Rrf(k) => Fusion::Rrf { k: *k as f32 },
            FusionSpec::RrfLists(k) => Fusion::RrfLists { k: *k as f32 },
            FusionSpec::Min => Fusion::Min,
            FusionSpec::Max => Fusion::Max,
            FusionSpec::Avg => Fusion::Avg,
            FusionSpec::Profile { name, label } => return Err((name, label.as_deref())),
        })
    }
}
