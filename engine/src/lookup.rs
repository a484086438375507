//! Finding where an id currently lives, and removing it from there. An id is live in at
//! most one place: the memtable or one segment row not covered by a tombstone.

use std::sync::Arc;

use quiver_storage::{Result, Row, RowId, Value};

use crate::state::CollectionState;

/// Where a live item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    Memtable,
    /// Index into `CollectionState::segments`, and the row.
    Segment(usize, RowId),
}

impl CollectionState {
    /// Where `id` is live, if anywhere.
    pub fn locate(&self, id: &str) -> Result<Option<Location>> {
        if self.memtable.get(id).is_some() {
            return Ok(Some(Location::Memtable));
        }
        for (i, view) in self.segments.iter().enumerate().rev() {
            if let Some(row) = view.segment.find(id)?
                && !view.tombstones.is_deleted(row)
            {
                return Ok(Some(Location::Segment(i, row)));
            }
        }
        Ok(None)
    }

    /// The full row at a location, materialized from the segment if needed.
    pub fn row_at(&self, location: Location, id: &str) -> Result<Row> {
        match location {
            Location::Memtable => match self.memtable.get(id) {
                Some(row) => Ok(Row::clone(row)),
                None => Err(quiver_storage::Error::NotFound { id: id.to_string() }),
            },
            Location::Segment(i, row) => {
                let seg = &self.segments[i].segment;
                let mut cells = Vec::with_capacity(self.schema.columns().len());
                for column in self.schema.columns() {
                    cells.push(match column.vector() {
                        Some(_) => seg
                            .vector(column, row)?
                            .map_or(Value::Null, |v| Value::Vector(v.to_vec())),
                        None => seg.attr(column, row)?,
                    });
                }
                let id = quiver_storage::ItemId::new(seg.id_at(row)?)?;
                Ok(Row { id, cells })
            }
        }
    }

    /// Removes the live copy of `id`; false if there was none. A segment row gets a
    /// tombstone (copy-on-write: readers holding the old bitmap keep it).
    pub fn remove_live(&mut self, location: Location, id: &str) -> bool {
        match location {
            Location::Memtable => self.memtable.remove(id),
            Location::Segment(i, row) => {
                let view = &mut self.segments[i];
                let newly = Arc::make_mut(&mut view.tombstones).delete(row);
                view.dirty |= newly;
                newly
            }
        }
    }

    /// Writes a full row (replacing any live copy) during commit or replay.
    pub fn put_row(&mut self, row: Row) -> Result<()> {
        let location = self.locate(row.id.as_str())?;
        self.put_row_at(location, row);
        Ok(())
    }

    /// Writes a full row whose live copy, if any, is known to be at `location`.
    pub fn put_row_at(&mut self, location: Option<Location>, row: Row) {
        if let Some(location @ Location::Segment(..)) = location {
            self.remove_live(location, row.id.as_str());
        }
        self.memtable.put(row);
    }

    /// Deletes `id` if live; true if something was deleted.
    pub fn delete_id(&mut self, id: &str) -> Result<bool> {
        Ok(match self.locate(id)? {
            Some(location) => self.remove_live(location, id),
            None => false,
        })
    }
}
