//! Point-in-time reads. A [`Snapshot`] pins one published state: later commits,
//! flushes and compactions never change what it shows, and the segments it maps stay
//! mapped until it is dropped.

use std::sync::Arc;

use quiver_storage::sparse::dot_sorted;
use quiver_storage::{
    Column, ColumnKind, Error, Item, MultiVector, Result, Row, RowId, Schema, SparseVector, Value,
    Vectors,
};

use crate::state::{CollectionState, DbState, SegmentView};

/// A consistent view of the whole database.
#[derive(Clone, Debug)]
pub struct Snapshot {
    state: Arc<DbState>,
}

impl Snapshot {
    pub(crate) fn new(state: Arc<DbState>) -> Self {
        Snapshot { state }
    }

    /// One collection as of this snapshot.
    pub fn collection(&self, name: &str) -> Result<CollectionSnapshot> {
        self.state
            .collections
            .get(name)
            .map(|c| CollectionSnapshot { state: c.clone() })
            .ok_or_else(|| Error::UnknownCollection {
                name: name.to_string(),
            })
    }

    /// The LSN of the newest commit this snapshot shows.
    pub fn lsn(&self) -> u64 {
        self.state.last_lsn.0
    }
}

/// A consistent view of one collection.
#[derive(Clone, Debug)]
pub struct CollectionSnapshot {
    state: Arc<CollectionState>,
}

/// Where an item's bytes are.
#[derive(Clone, Copy, Debug)]
enum Place<'a> {
    Memtable(&'a Row),
    Segment(&'a SegmentView, RowId),
}

/// A borrowed view of one live item. Vectors are slices into the memory-mapped segment
/// or the memtable row: no copy.
#[derive(Clone, Copy, Debug)]
pub struct ItemRef<'a> {
    schema: &'a Schema,
    place: Place<'a>,
}

impl CollectionSnapshot {
    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The collection's schema as of the snapshot.
    pub fn schema(&self) -> &Schema {
        &self.state.schema
    }

    /// Live items.
    pub fn count(&self) -> u64 {
        self.state.count()
    }

    /// Number of immutable segments.
    pub fn segment_count(&self) -> usize {
        self.state.segments.len()
    }

    /// Items in the memtable (not yet sealed).
    pub fn memtable_len(&self) -> usize {
        self.state.memtable.len()
    }

    pub(crate) fn memtable_bytes(&self) -> usize {
        self.state.memtable.bytes()
    }

    pub(crate) fn segments(&self) -> &[SegmentView] {
        &self.state.segments
    }

    /// Memtable rows in id order.
    pub(crate) fn memtable_rows(&self) -> impl Iterator<Item = &Row> {
        self.state.memtable.rows().map(|r| r.as_ref())
    }

    pub(crate) fn item_at<'s>(&'s self, view: &'s SegmentView, row: RowId) -> ItemRef<'s> {
        ItemRef {
            schema: &self.state.schema,
            place: Place::Segment(view, row),
        }
    }

    pub(crate) fn item_of_row<'s>(&'s self, row: &'s Row) -> ItemRef<'s> {
        ItemRef {
            schema: &self.state.schema,
            place: Place::Memtable(row),
        }
    }

    /// The live item with this id.
    pub fn get(&self, id: &str) -> Result<Option<ItemRef<'_>>> {
        let schema = &*self.state.schema;
        if let Some(row) = self.state.memtable.get(id) {
            return Ok(Some(ItemRef {
                schema,
                place: Place::Memtable(row),
            }));
        }
        for view in self.state.segments.iter().rev() {
            if let Some(row) = view.segment.find(id)?
                && !view.tombstones.is_deleted(row)
            {
                return Ok(Some(ItemRef {
                    schema,
                    place: Place::Segment(view, row),
                }));
            }
        }
        Ok(None)
    }

    /// Every live item: segments oldest first, then the memtable; within each part in
    /// id order.
    pub fn scan(&self) -> impl Iterator<Item = ItemRef<'_>> + '_ {
        let schema = &*self.state.schema;
        let sealed = self.state.segments.iter().flat_map(move |view| {
            (0..view.segment.rows())
                .map(RowId)
                .filter(|&r| !view.tombstones.is_deleted(r))
                .map(move |r| ItemRef {
                    schema,
                    place: Place::Segment(view, r),
                })
        });
        let fresh = self.state.memtable.rows().map(move |row| ItemRef {
            schema,
            place: Place::Memtable(row),
        });
        sealed.chain(fresh)
    }
}

impl<'a> ItemRef<'a> {
    /// The item's id.
    pub fn id(&self) -> Result<&'a str> {
        match self.place {
            Place::Memtable(row) => Ok(row.id.as_str()),
            Place::Segment(view, row) => view.segment.id_at(row),
        }
    }

    fn column(&self, name: &str) -> Result<(usize, &'a Column)> {
        self.schema.column(name)
    }

    /// A vector column's value as `f32`: viewed in place (no copy) for an `f32`
    /// column, widened for an `F16`/`BF16` one; `None` when NULL.
    pub fn vector(&self, name: &str) -> Result<Option<std::borrow::Cow<'a, [f32]>>> {
        Ok(self.stored_vector(name)?.map(|v| v.to_f32()))
    }

    /// A vector column's value as stored (`f32`, or half precision for an
    /// `F16`/`BF16` column), viewed in place; `None` when NULL.
    pub fn stored_vector(&self, name: &str) -> Result<Option<Vectors<'a>>> {
        let (pos, column) = self.column(name)?;
        column.expect_vector()?;
        match self.place {
            Place::Memtable(row) => Ok(match &row.cells[pos] {
                Value::Vector(v) => Some(Vectors::F32(v.as_slice())),
                _ => None,
            }),
            Place::Segment(view, row) => view.segment.vector(column, row),
        }
    }

    /// A multi-vector column's vectors back to back, viewed in place; `None` when
    /// NULL.
    pub fn multi(&self, name: &str) -> Result<Option<&'a [f32]>> {
        let (pos, column) = self.column(name)?;
        column.expect_multi()?;
        match self.place {
            Place::Memtable(row) => Ok(match &row.cells[pos] {
                Value::Vectors(v) => Some(v.as_flat()),
                _ => None,
            }),
            Place::Segment(view, row) => view.segment.multi(column, row),
        }
    }

    /// The dot product of a SPARSE column's value with `query`, read in place (0 when
    /// they share no index); `None` when NULL.
    pub fn sparse_dot(&self, name: &str, query: &SparseVector) -> Result<Option<f64>> {
        let (pos, column) = self.column(name)?;
        column.expect_sparse()?;
        let (q, w) = (query.indices(), query.values());
        Ok(match self.place {
            Place::Memtable(row) => match &row.cells[pos] {
                Value::Sparse(v) => Some(dot_sorted(q, w, v.entries()).unwrap_or(0.0)),
                _ => None,
            },
            Place::Segment(view, row) => view
                .segment
                .sparse_cell(column, row)?
                .map(|cell| dot_sorted(q, w, cell.entries()).unwrap_or(0.0)),
        })
    }

    /// Any column's value, copied (vectors become `Value::Vector`, lists of vectors
    /// `Value::Vectors`).
    pub fn value(&self, name: &str) -> Result<Value> {
        let (pos, column) = self.column(name)?;
        match self.place {
            Place::Memtable(row) => Ok(row.cells[pos].clone()),
            Place::Segment(view, row) => match &column.kind {
                ColumnKind::Vector(_) => Ok(view
                    .segment
                    .vector(column, row)?
                    .map_or(Value::Null, |v| Value::Vector(v.to_vec()))),
                ColumnKind::MultiVector(shape) => Ok(match view.segment.multi(column, row)? {
                    None => Value::Null,
                    Some(flat) => MultiVector::from_flat(shape.dim as usize, flat.to_vec())
                        .map(Value::Vectors)
                        .ok_or_else(|| {
                            Error::corrupted(
                                view.segment.path(),
                                0,
                                format!("row {row} of column {name} is not a list of vectors"),
                            )
                        })?,
                }),
                ColumnKind::Attr(_) => view.segment.attr(column, row),
            },
        }
    }

    /// The whole item, copied: every non-NULL column.
    pub fn to_item(&self) -> Result<Item> {
        let mut item = Item::new(self.id()?);
        for column in self.schema.columns() {
            let value = self.value(&column.name)?;
            if !value.is_null() {
                item = item.set(column.name.clone(), value);
            }
        }
        Ok(item)
    }
}
