//! How each statement prints: SQL that parses back to the same statement (names
//! quoted where needed, numbers in their shortest round-tripping form).

use std::fmt::{self, Display, Formatter};

use quiver_storage::{MultiVector, SparseVector};

use super::*;

/// Identifiers print bare when they are plain words, else double-quoted.
fn ident(f: &mut Formatter<'_>, name: &str) -> fmt::Result {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !crate::sql::parser::is_reserved(name);
    if plain {
        f.write_str(name)
    } else {
        write!(f, "\"{}\"", name.replace('"', "\"\""))
    }
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

/// `[[1.0, 2.0], [3.0, 4.0]]`, each number printed so that it parses back to the
/// same bits.
fn vectors(f: &mut Formatter<'_>, v: &MultiVector) -> fmt::Result {
    f.write_str("[")?;
    list(f, &v.to_lists(), |f, x| vector(f, x))?;
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
            Literal::Vectors(v) => vectors(f, v),
            Literal::Sparse(v) => sparse(f, v),
            Literal::Embed(e) => write!(f, "{e}"),
            Literal::EmbedImages { encoder, paths } => {
                write!(f, "EMBED_IMAGES({}, [", Literal::Str(encoder.clone()))?;
                list(f, paths, |f, p| write!(f, "{}", Literal::Str(p.clone())))?;
                f.write_str("])")
            }
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
        if let QueryVector::MaxSim(query) = &self.query {
            write!(f, "MAXSIM({}, ", Id(&self.column))?;
            match query {
                MaxSimQuery::Literal(v) => vectors(f, v)?,
                MaxSimQuery::Of(id) => write!(f, "VECTOR OF {}", Literal::Str(id.clone()))?,
                MaxSimQuery::Query => f.write_str("QUERY")?,
            }
            return f.write_str(")");
        }
        write!(f, "{} <-> ", Id(&self.column))?;
        match &self.query {
            QueryVector::Literal(v) => vector(f, v),
            QueryVector::Sparse(v) => sparse(f, v),
            QueryVector::Of(id) => write!(f, "VECTOR OF {}", Literal::Str(id.clone())),
            QueryVector::Embed(e) => write!(f, "{e}"),
            QueryVector::Query => f.write_str("QUERY"),
            QueryVector::Match(_) | QueryVector::MaxSim(_) => Ok(()),
        }
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
            FusionSpec::Profile { name, label } => {
                if name == quiver_storage::DEFAULT_PROFILE && label.is_none() {
                    return f.write_str("DEFAULT");
                }
                write!(f, "PROFILE {}", Id(name))?;
                match label {
                    Some(l) => write!(f, " FOR {}", Literal::Str(l.clone())),
                    None => Ok(()),
                }
            }
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
            ColumnType::Vector(d, t, m) => write!(f, " VECTOR({d}){} {m}", element(*t))?,
            ColumnType::MultiVector(d, t, m) => write!(f, " VECTOR({d})[]{} {m}", element(*t))?,
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
                if let Some(t) = &e.tune {
                    f.write_str(" TUNE WEIGHTS")?;
                    if t.per_label {
                        f.write_str(" PER LABEL")?;
                    }
                    write!(f, " FOLDS {}", t.folds)?;
                }
                if let Some(path) = &e.plot {
                    write!(f, " PLOT {}", Literal::Str(path.clone()))?;
                }
                if let Some(name) = e.tune.as_ref().and_then(|t| t.save_as.as_ref()) {
                    write!(f, " SAVE AS {}", Id(name))?;
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
            Statement::CreateFusionProfile(p) => {
                write!(f, "CREATE FUSION PROFILE {}", Id(&p.name))?;
                if let Some(l) = &p.label {
                    write!(f, " FOR {}", Literal::Str(l.clone()))?;
                }
                write!(
                    f,
                    " ON {} AS FUSE({}{}, ",
                    Id(&p.collection),
                    p.fusion,
                    p.options
                )?;
                list(f, &p.columns, |f, c| ident(f, c))?;
                f.write_str(")")
            }
            Statement::ShowFusionProfiles(None) => f.write_str("SHOW FUSION PROFILES"),
            Statement::ShowFusionProfiles(Some(c)) => {
                write!(f, "SHOW FUSION PROFILES ON {}", Id(c))
            }
            Statement::DropFusionProfile { collection, name } => {
                write!(f, "DROP FUSION PROFILE {} ON {}", Id(name), Id(collection))
            }
        }
    }
}

/// ` F16` / ` BF16` after `VECTOR(n)`; nothing for the default `F32`.
fn element(dtype: quiver_storage::DType) -> String {
    match dtype {
        quiver_storage::DType::F32 => String::new(),
        other => format!(" {}", other.sql_name()),
    }
}
