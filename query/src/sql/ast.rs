//! The statements of the language, and their canonical text (`Display`), which parses
//! back to the same statement.

use std::fmt::{self, Display, Formatter};

use quiver_storage::SparseVector;

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
    /// `PLOT 'file.png'` (with SWEEP): NDCG@K per setting, one line per label.
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
    /// Dimension and metric name (`COSINE`, `DOT`, `L2`).
    Vector(u32, String),
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

impl Display for FuseOptions {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.normalize {
            f.write_str(match n {
                NormalizeSpec::None => " NORMALIZE NONE",
                NormalizeSpec::MinMax => " NORMALIZE MINMAX",
                NormalizeSpec::ZScore => " NORMALIZE ZSCORE",
                NormalizeSpec::Calibrated => " NORMALIZE CALIBRATED",
            })?;
        }
        if let Some(m) = self.missing {
            f.write_str(match m {
                MissingSpec::Skip => " MISSING SKIP",
                MissingSpec::Partial => " MISSING PARTIAL",
            })?;
        }
        Ok(())
    }
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
}

/// An encoder call: `EMBED('minilm', 'a red shoe')` embeds text,
/// `EMBED_IMAGE('effnet', 'images/p1.png')` an image file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embed {
    pub encoder: String,
    pub input: String,
    pub image: bool,
}

impl Display for Embed {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let call = if self.image { "EMBED_IMAGE" } else { "EMBED" };
        write!(
            f,
            "{call}({}, {})",
            Literal::Str(self.encoder.clone()),
            Literal::Str(self.input.clone())
        )
    }
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
    /// `DEFAULT`: the collection's saved default fusion for these columns.
    Default,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Number(f64),
    Bool(bool),
    Null,
    Vector(Vec<f32>),
    /// `{12: 0.5, 99: 1.25}`, checked when parsed.
    Sparse(SparseVector),
    /// Only as an INSERT value: the encoder's vector for the input.
    Embed(Embed),
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

/// Identifiers print bare when they are plain words, else double-quoted.
pub(crate) fn ident(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !super::parser::is_reserved(name);
    if plain {
        f.write_str(name)
    } else {
        write!(f, "\"{}\"", name.replace('"', "\"\""))
    }
}

struct Id<'a>(&'a str);
impl Display for Id<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        ident(f, self.0)
    }
}

fn list<T>(
    f: &mut Formatter<'_>,
    items: &[T],
    each: impl Fn(&mut Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, item)?;
    }
    Ok(())
}

fn vector(f: &mut Formatter<'_>, v: &[f32]) -> fmt::Result {
    f.write_str("[")?;
    list(f, v, |f, x| write!(f, "{x:?}"))?;
    f.write_str("]")
}

/// `{12: 0.5}` with weights printed so that they parse back to the same bits.
fn sparse(f: &mut Formatter<'_>, v: &SparseVector) -> fmt::Result {
    f.write_str("{")?;
    list(f, &v.entries().collect::<Vec<_>>(), |f, (i, w)| {
        write!(f, "{i}: {w:?}")
    })?;
    f.write_str("}")
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Number(n) => write!(f, "{n:?}"),
            Literal::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Literal::Null => f.write_str("NULL"),
            Literal::Vector(v) => vector(f, v),
            Literal::Sparse(v) => sparse(f, v),
            Literal::Embed(e) => write!(f, "{e}"),
        }
    }
}

impl Display for CmpOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        })
    }
}

impl Display for Expr {
    /// Fully parenthesized below the top, so precedence never changes on a round trip.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp(c, op, v) => write!(f, "{} {op} {v}", Id(c)),
            Expr::In(c, vs) => {
                write!(f, "{} IN (", Id(c))?;
                list(f, vs, |f, v| write!(f, "{v}"))?;
                f.write_str(")")
            }
            Expr::Contains(c, v) => write!(f, "{} CONTAINS {v}", Id(c)),
            Expr::Not(e) => write!(f, "NOT ({e})"),
            Expr::And(a, b) => write!(f, "({a}) AND ({b})"),
            Expr::Or(a, b) => write!(f, "({a}) OR ({b})"),
        }
    }
}

impl Display for Order {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Order::Distance(n) => write!(f, "{n}"),
            Order::Fuse(spec, ns, options) => {
                write!(f, "FUSE({spec}{options}, ")?;
                list(f, ns, |f, n| write!(f, "{n}"))?;
                f.write_str(")")
            }
        }
    }
}

impl Display for Nearest {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let QueryVector::Match(text) = &self.query {
            return match text {
                Some(t) => write!(
                    f,
                    "MATCH({}, {})",
                    Id(&self.column),
                    Literal::Str(t.clone())
                ),
                None => write!(f, "MATCH({}, QUERY)", Id(&self.column)),
            };
        }
        write!(f, "{} <-> ", Id(&self.column))?;
        match &self.query {
            QueryVector::Literal(v) => vector(f, v),
            QueryVector::Sparse(v) => sparse(f, v),
            QueryVector::Of(id) => write!(f, "VECTOR OF {}", Literal::Str(id.clone())),
            QueryVector::Embed(e) => write!(f, "{e}"),
            QueryVector::Query => f.write_str("QUERY"),
            QueryVector::Match(_) => Ok(()),
        }
    }
}

impl FusionSpec {
    /// The fusion this spells; `None` for `DEFAULT` (the collection's saved default,
    /// resolved by the engine).
    pub fn to_fusion(&self) -> Option<crate::Fusion> {
        use crate::Fusion;
        Some(match self {
            FusionSpec::Weighted(w) => Fusion::Weighted(w.iter().map(|&x| x as f32).collect()),
            FusionSpec::Rrf(k) => Fusion::Rrf { k: *k as f32 },
            FusionSpec::RrfLists(k) => Fusion::RrfLists { k: *k as f32 },
            FusionSpec::Min => Fusion::Min,
            FusionSpec::Max => Fusion::Max,
            FusionSpec::Avg => Fusion::Avg,
            FusionSpec::Default => return None,
        })
    }
}

impl Display for FusionSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FusionSpec::Weighted(w) => {
                f.write_str("WEIGHTED(")?;
                list(f, w, |f, x| write!(f, "{x:?}"))?;
                f.write_str(")")
            }
            FusionSpec::Rrf(k) => write!(f, "RRF(k = {k:?})"),
            FusionSpec::RrfLists(k) => write!(f, "RRF(k = {k:?}, LISTS)"),
            FusionSpec::Min => f.write_str("MIN"),
            FusionSpec::Max => f.write_str("MAX"),
            FusionSpec::Avg => f.write_str("AVG"),
            FusionSpec::Default => f.write_str("DEFAULT"),
        }
    }
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        match &self.what {
            Projection::Star => f.write_str("*")?,
            Projection::Count => f.write_str("COUNT(*)")?,
            Projection::Columns(cs) => list(f, cs, |f, c| ident(f, c))?,
        }
        write!(f, " FROM {}", Id(&self.from))?;
        if let Some(e) = &self.filter {
            write!(f, " WHERE {e}")?;
        }
        if let Some(order) = &self.order {
            write!(f, " ORDER BY {order}")?;
        }
        if let Some(n) = self.limit {
            write!(f, " LIMIT {n}")?;
        }
        Ok(())
    }
}

impl Display for ColumnDef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        ident(f, &self.name)?;
        match &self.ty {
            ColumnType::Text => f.write_str(" TEXT")?,
            ColumnType::Int => f.write_str(" INT")?,
            ColumnType::Float => f.write_str(" FLOAT")?,
            ColumnType::Bool => f.write_str(" BOOL")?,
            ColumnType::Tags => f.write_str(" TEXT[]")?,
            ColumnType::Sparse => f.write_str(" SPARSE")?,
            ColumnType::Vector(d, m) => write!(f, " VECTOR({d}) {m}")?,
        }
        match self.nullable {
            Some(true) => f.write_str(" NULL")?,
            Some(false) => f.write_str(" NOT NULL")?,
            None => {}
        }
        if let Some(rule) = &self.embed {
            f.write_str(" EMBED FROM ")?;
            ident(f, &rule.from)?;
            write!(f, " USING {}", Literal::Str(rule.encoder.clone()))?;
        }
        Ok(())
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateCollection { name, columns } => {
                write!(f, "CREATE COLLECTION {} (", Id(name))?;
                list(f, columns, |f, c| write!(f, "{c}"))?;
                f.write_str(")")
            }
            Statement::CreateIndex {
                collection,
                column,
                kind,
                with,
            } => {
                write!(
                    f,
                    "CREATE INDEX ON {} ({}) USING {kind}",
                    Id(collection),
                    Id(column)
                )?;
                if !with.is_empty() {
                    f.write_str(" WITH (")?;
                    list(f, with, |f, (k, v)| write!(f, "{} = {v}", Id(k)))?;
                    f.write_str(")")?;
                }
                Ok(())
            }
            Statement::Insert {
                collection,
                columns,
                rows,
            } => {
                write!(f, "INSERT INTO {} (", Id(collection))?;
                list(f, columns, |f, c| ident(f, c))?;
                f.write_str(") VALUES ")?;
                list(f, rows, |f, row| {
                    f.write_str("(")?;
                    list(f, row, |f, v| write!(f, "{v}"))?;
                    f.write_str(")")
                })
            }
            Statement::CopyFrom {
                collection,
                column,
                path,
            } => {
                write!(f, "COPY {}", Id(collection))?;
                if let Some(c) = column {
                    write!(f, " ({})", Id(c))?;
                }
                write!(f, " FROM {}", Literal::Str(path.clone()))
            }
            Statement::CopyTo { collection, path } => {
                write!(
                    f,
                    "COPY {} TO {}",
                    Id(collection),
                    Literal::Str(path.clone())
                )
            }
            Statement::Delete { collection, filter } => {
                write!(f, "DELETE FROM {} WHERE {filter}", Id(collection))
            }
            Statement::Select(s) => write!(f, "{s}"),
            Statement::Explain(s) => write!(f, "EXPLAIN {s}"),
            Statement::ShowCollections => f.write_str("SHOW COLLECTIONS"),
            Statement::Verify => f.write_str("VERIFY"),
            Statement::Repair {
                drop_damaged_segments,
            } => f.write_str(if *drop_damaged_segments {
                "REPAIR DROP DAMAGED SEGMENTS"
            } else {
                "REPAIR"
            }),
            Statement::Describe(n) => write!(f, "DESCRIBE {}", Id(n)),
            Statement::Flush(n) => write!(f, "FLUSH {}", Id(n)),
            Statement::Compact(n) => write!(f, "COMPACT {}", Id(n)),
            Statement::DropCollection(n) => write!(f, "DROP COLLECTION {}", Id(n)),
            Statement::Alter { collection, action } => {
                write!(f, "ALTER COLLECTION {} ", Id(collection))?;
                match action {
                    AlterAction::AddColumn(def) => write!(f, "ADD COLUMN {def}"),
                    AlterAction::DropColumn(c) => write!(f, "DROP COLUMN {}", Id(c)),
                    AlterAction::RenameColumn { from, to } => {
                        write!(f, "RENAME COLUMN {} TO {}", Id(from), Id(to))
                    }
                    AlterAction::ReplaceColumn { column, with } => {
                        write!(f, "REPLACE COLUMN {} WITH {}", Id(column), Id(with))
                    }
                }
            }
            Statement::Evaluate(e) => {
                write!(
                    f,
                    "EVALUATE {} USING {}",
                    Id(&e.collection),
                    Literal::Str(e.queries.clone())
                )?;
                if let Some(q) = &e.qrels {
                    write!(f, " QRELS {}", Literal::Str(q.clone()))?;
                }
                write!(f, " ORDER BY {} AT {}", e.order, e.k)?;
                if e.per_query {
                    f.write_str(" PER QUERY")?;
                }
                match &e.sweep {
                    None => {}
                    Some(Sweep::Alpha { step }) => write!(f, " SWEEP ALPHA STEP {step:?}")?,
                    Some(Sweep::RrfK(ks)) => {
                        f.write_str(" SWEEP RRF K (")?;
                        list(f, ks, |f, k| write!(f, "{k:?}"))?;
                        f.write_str(")")?;
                    }
                    Some(Sweep::Columns) => f.write_str(" SWEEP COLUMNS")?,
                }
                if let Some(path) = &e.plot {
                    write!(f, " PLOT {}", Literal::Str(path.clone()))?;
                }
                match e.save_best {
                    true => f.write_str(" SAVE BEST"),
                    false => Ok(()),
                }
            }
            Statement::EvaluateRecall(e) => {
                write!(
                    f,
                    "EVALUATE RECALL {} ({}) AT {} SAMPLE {}",
                    Id(&e.collection),
                    Id(&e.column),
                    e.k,
                    e.sample
                )?;
                let (word, values): (&str, Vec<String>) = match &e.settings {
                    RecallSettings::Default => return Ok(()),
                    RecallSettings::Ef(v) => ("EF", v.iter().map(u64::to_string).collect()),
                    RecallSettings::Nprobe(v) => ("NPROBE", v.iter().map(u64::to_string).collect()),
                    RecallSettings::Target(v) => {
                        ("TARGET", v.iter().map(|x| format!("{x:?}")).collect())
                    }
                };
                write!(f, " {word} ({})", values.join(", "))
            }
            Statement::Reembed { collection, column } => {
                write!(f, "REEMBED {} ({})", Id(collection), Id(column))
            }
        }
    }
}
