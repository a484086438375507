//! The mutable head of a collection: rows written since its last flush, sorted by id in
//! a persistent map so a snapshot is an O(1) clone and a commit copies only a path.

use std::sync::Arc;

use imbl::OrdMap;
use quiver_storage::{ItemId, Row};

#[derive(Clone, Debug, Default)]
pub(crate) struct Memtable {
    rows: OrdMap<ItemId, Arc<Row>>,
    bytes: usize,
}

impl Memtable {
    pub fn get(&self, id: &str) -> Option<&Arc<Row>> {
        self.rows.get(id)
    }

    pub fn put(&mut self, row: Row) {
        self.bytes += row.mem_size();
        if let Some(old) = self.rows.insert(row.id.clone(), Arc::new(row)) {
            self.bytes = self.bytes.saturating_sub(old.mem_size());
        }
    }

    pub fn remove(&mut self, id: &str) -> bool {
        match self.rows.remove(id) {
            Some(old) => {
                self.bytes = self.bytes.saturating_sub(old.mem_size());
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Rows in ascending id order.
    pub fn rows(&self) -> impl Iterator<Item = &Arc<Row>> {
        self.rows.values()
    }
}
