//! Re-embedding: filling a vector column from its EMBED rule for the items that have
//! no vector in it yet: a column added to a live collection (e.g. the same text
//! through a new model), while the old column keeps answering queries. Then
//! [`Collection::replace_column`] switches queries over at one commit.
//!
//! The backfill works from a snapshot in chunks: encode the chunk's texts (no lock
//! held), then commit each vector with a guarded update that applies only if the
//! item still holds the text that was encoded. An item updated meanwhile got its
//! vector from the rule at that update, and an item deleted meanwhile stays deleted;
//! both count as skipped. Items inserted meanwhile are filled by the rule.

use quiver_storage::{Error, Item, Result, Value};

use crate::batch::WriteBatch;
use crate::collection::Collection;
use crate::database::Database;
use crate::embedding::{encode_error, tag_of};

/// What a backfill did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReembedReport {
    /// Items that got a vector.
    pub filled: u64,
    /// Items changed or deleted while their text was being encoded (the rule already
    /// gave changed items their vector).
    pub skipped: u64,
    /// Items whose source text is NULL (their vector stays NULL).
    pub without_text: u64,
}

impl Collection {
    /// Fills vector column `column` from its EMBED rule for every item that has no
    /// vector there (see the module doc). The collection stays readable and writable
    /// throughout; each chunk of 256 items is its own commit.
    pub fn reembed(&self, column: &str) -> Result<ReembedReport> {
        let db = Database {
            shared: self.shared().clone(),
        };
        let snapshot = self.snapshot()?;
        let schema = snapshot.schema().clone();
        let (_, col) = schema.column(column)?;
        let rule = col.embed.clone().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "column {column} has no EMBED rule to fill it from (add the column with EMBED FROM text USING 'encoder')"
            ))
        })?;
        let mut report = ReembedReport::default();
        let mut todo: Vec<(String, String)> = Vec::new();
        for item in snapshot.scan() {
            if item.vector(column)?.is_some() {
                continue;
            }
            match item.value(&rule.from)? {
                Value::Text(text) => todo.push((item.id()?.to_string(), text)),
                _ => report.without_text += 1,
            }
        }
        drop(snapshot);
        db.embed_in_chunks(
            format!("{}.{column}", self.name()),
            format!("re-embedding {} with {}", rule.from, rule.encoder),
            (&schema, column, &rule.encoder),
            &todo,
            |chunk, vectors| {
                let mut batch = WriteBatch::new();
                for ((id, text), vector) in chunk.iter().zip(vectors) {
                    batch.update_if_unchanged(
                        Item::new(id.clone()).set(column, Value::Vector(vector)),
                        rule.from.clone(),
                        Value::Text(text.clone()),
                    );
                }
                let info = self.shared().commit(self.name(), batch)?;
                report.filled += info.written as u64;
                report.skipped += (chunk.len() - info.written) as u64;
                Ok(())
            },
        )?;
        // After the vectors, as the rules do: `embed_for_column` has checked that the
        // column holds no other model's vectors.
        if report.filled > 0 {
            let encoder = db.encoders().get(&rule.encoder).map_err(encode_error)?;
            db.record_encoder(self.name(), column, &tag_of(encoder.as_ref()))?;
        }
        Ok(report)
    }
}
