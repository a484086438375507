//! Write batches: inserts, upserts, partial updates and deletes against one collection,
//! committed all or nothing.

use quiver_storage::{Item, Lsn, Value};

/// One requested change.
#[derive(Clone, Debug)]
pub(crate) enum BatchOp {
    /// Fails with `DuplicateId` if the id is live.
    Insert(Item),
    /// Replaces the whole item (columns left out become NULL).
    Upsert(Item),
    /// Overwrites only the given columns of an existing item (`NotFound` otherwise):
    /// how a new column is backfilled.
    Update(Item),
    /// Overwrites the given columns only while the item exists and `column` still
    /// holds `value`; otherwise skipped (no error). How a backfill writes a value
    /// derived from another column without undoing a change committed meanwhile.
    UpdateIfUnchanged {
        item: Item,
        column: String,
        value: Value,
    },
    /// Removes the item; deleting a missing id is a no-op.
    Delete(String),
}

impl BatchOp {
    /// The item an insert, upsert or update writes.
    pub(crate) fn item(&self) -> Option<&Item> {
        match self {
            BatchOp::Insert(i) | BatchOp::Upsert(i) | BatchOp::Update(i) => Some(i),
            BatchOp::UpdateIfUnchanged { item, .. } => Some(item),
            BatchOp::Delete(_) => None,
        }
    }

    pub(crate) fn item_mut(&mut self) -> Option<&mut Item> {
        match self {
            BatchOp::Insert(i) | BatchOp::Upsert(i) | BatchOp::Update(i) => Some(i),
            BatchOp::UpdateIfUnchanged { item, .. } => Some(item),
            BatchOp::Delete(_) => None,
        }
    }
}

/// An atomic group of changes to one collection.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    pub(crate) ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `item`; the commit fails with `DuplicateId` if its id is live.
    pub fn insert(&mut self, item: Item) -> &mut Self {
        self.ops.push(BatchOp::Insert(item));
        self
    }

    /// Adds or replaces `item` whole.
    pub fn upsert(&mut self, item: Item) -> &mut Self {
        self.ops.push(BatchOp::Upsert(item));
        self
    }

    /// Sets the columns `item` names on a live item (others keep their values); `NotFound` if none.
    pub fn update(&mut self, item: Item) -> &mut Self {
        self.ops.push(BatchOp::Update(item));
        self
    }

    /// An update that applies only if the item still exists and its `column` still
    /// holds `value` at commit time; skipped otherwise (see
    /// [`CommitInfo::written`] for how many applied).
    pub fn update_if_unchanged(
        &mut self,
        item: Item,
        column: impl Into<String>,
        value: Value,
    ) -> &mut Self {
        self.ops.push(BatchOp::UpdateIfUnchanged {
            item,
            column: column.into(),
            value,
        });
        self
    }

    /// Deletes `id` (nothing if it is not live).
    pub fn delete(&mut self, id: impl Into<String>) -> &mut Self {
        self.ops.push(BatchOp::Delete(id.into()));
        self
    }

    /// Operations in the batch.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// What a successful commit did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CommitInfo {
    /// The batch's log sequence number (unchanged for a batch that changed nothing).
    pub lsn: Lsn,
    /// Items written (inserted, upserted or updated).
    pub written: usize,
    /// Items that existed and were deleted.
    pub deleted: usize,
}
