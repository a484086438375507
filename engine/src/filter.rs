//! WHERE clauses of the language evaluated on items: names are checked against the
//! schema before anything runs (unknown column → `UnknownColumn`, a vector, multi-vector or SPARSE
//! column → `TypeMismatch`), then each item is tested. SQL's NULL rule: a comparison with a
//! missing value is false (and `NOT` of it true).

use quiver_query::sql::{CmpOp, Expr, Literal};
use quiver_storage::{Error, Result, Schema, Value};

use crate::snapshot::ItemRef;

/// A WHERE condition checked against a collection's schema, ready to test items: a
/// [`Query`](crate::Query)'s filter.
#[derive(Clone, Debug)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// `expr` (from [`quiver_query::sql::parse_filter`]) for items of `schema`: an
    /// unknown column is `UnknownColumn`, a vector or SPARSE column `TypeMismatch`.
    pub fn new(schema: &Schema, expr: Expr) -> Result<Filter> {
        check(schema, &expr)?;
        Ok(Filter { expr })
    }

    /// Whether `item` satisfies the condition.
    pub fn matches(&self, item: &ItemRef<'_>) -> bool {
        matches(item, &self.expr)
    }
}

/// Checks every name `expr` uses; `id` is always allowed.
fn check(schema: &Schema, expr: &Expr) -> Result<()> {
    match expr {
        Expr::Cmp(c, _, _) | Expr::In(c, _) | Expr::Contains(c, _) => {
            if c == "id" {
                return Ok(());
            }
            let (_, column) = schema.column(c)?;
            if column.vector_shape().is_some() || column.is_sparse() {
                return Err(Error::TypeMismatch {
                    column: c.clone(),
                    expected: "an attribute".into(),
                    got: format!("a {} column", column.type_name()),
                });
            }
            Ok(())
        }
        Expr::Not(e) => check(schema, e),
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(schema, a)?;
            check(schema, b)
        }
    }
}

/// Whether `item` satisfies `expr` (names already checked).
fn matches(item: &ItemRef<'_>, expr: &Expr) -> bool {
    match expr {
        Expr::Cmp(c, op, lit) => value(item, c).is_some_and(|v| compare(&v, *op, lit)),
        Expr::In(c, lits) => {
            value(item, c).is_some_and(|v| lits.iter().any(|l| compare(&v, CmpOp::Eq, l)))
        }
        Expr::Contains(c, lit) => match (value(item, c), lit) {
            (Some(Value::Tags(tags)), Literal::Str(s)) => tags.iter().any(|t| t == s),
            (Some(Value::Text(text)), Literal::Str(s)) => text.contains(s.as_str()),
            _ => false,
        },
        Expr::Not(e) => !matches(item, e),
        Expr::And(a, b) => matches(item, a) && matches(item, b),
        Expr::Or(a, b) => matches(item, a) || matches(item, b),
    }
}

/// The item's value of a column (`id` included); `None` when NULL or unreadable.
fn value(item: &ItemRef<'_>, column: &str) -> Option<Value> {
    if column == "id" {
        return item.id().ok().map(|s| Value::Text(s.to_string()));
    }
    match item.value(column) {
        Ok(Value::Null) | Err(_) => None,
        Ok(v) => Some(v),
    }
}

fn compare(v: &Value, op: CmpOp, lit: &Literal) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (v, lit) {
        (Value::Int(a), Literal::Number(b)) => (*a as f64).partial_cmp(b),
        (Value::Float(a), Literal::Number(b)) => a.partial_cmp(b),
        (Value::Text(a), Literal::Str(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    };
    ord.is_some_and(|o| match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    })
}
