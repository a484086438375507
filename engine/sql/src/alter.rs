//! `ALTER COLLECTION`: adding (with an optional EMBED rule), dropping, renaming and
//! replacing columns: the statements of a model switch (add the new column, REEMBED
//! it while the old one serves, REPLACE the old with it).

use quiver_query::sql::{AlterAction, ColumnDef, ColumnType};
use quiver_storage::{AttrColumn, ColumnKind, DType, EmbedRule, Error, Result, VectorColumn};

use crate::statements::{Output, attr_type, parse_metric};
use quiver::Database;

/// The column kind a definition declares.
pub(crate) fn column_kind(def: &ColumnDef) -> Result<ColumnKind> {
    let shape = |dim: &u32, dtype: &DType, metric: &str| {
        Ok::<_, Error>(VectorColumn {
            dim: *dim,
            dtype: *dtype,
            metric: parse_metric(metric)?,
        })
    };
    Ok(match &def.ty {
        ColumnType::Vector(dim, dtype, metric) => ColumnKind::Vector(shape(dim, dtype, metric)?),
        ColumnType::MultiVector(dim, dtype, metric) => {
            ColumnKind::MultiVector(shape(dim, dtype, metric)?)
        }
        ty => ColumnKind::Attr(AttrColumn { ty: attr_type(ty) }),
    })
}

pub(crate) fn alter_collection(db: &Database, name: &str, action: &AlterAction) -> Result<Output> {
    let c = db.collection(name)?;
    let done = match action {
        AlterAction::AddColumn(def) => {
            if def.nullable == Some(false) {
                return Err(Error::InvalidArgument(format!(
                    "column {} is added to existing items, which have no value for it: it cannot be NOT NULL",
                    def.name
                )));
            }
            let kind = column_kind(def)?;
            match &def.embed {
                Some(rule) => {
                    let rule = EmbedRule {
                        from: rule.from.clone(),
                        encoder: rule.encoder.clone(),
                    };
                    c.add_embedded_column(&def.name, kind, rule)?;
                    format!(
                        "added column {name}.{}; REEMBED {name} ({}) fills it for the items already there",
                        def.name, def.name
                    )
                }
                None => {
                    c.add_column(&def.name, kind, true)?;
                    format!("added column {name}.{}", def.name)
                }
            }
        }
        AlterAction::DropColumn(column) => {
            c.drop_column(column)?;
            format!("dropped column {name}.{column}")
        }
        AlterAction::RenameColumn { from, to } => {
            c.rename_column(from, to)?;
            format!("renamed column {name}.{from} to {to}")
        }
        AlterAction::ReplaceColumn { column, with } => {
            c.replace_column(column, with)?;
            format!("{name}.{column} now answers from the vectors of {with}")
        }
    };
    Ok(Output::Done(done))
}
