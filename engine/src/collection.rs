//! [`Collection`]: a handle for writing to and reading from one collection.

use std::sync::Arc;

use quiver_storage::{
    CollectionEntry, CollectionId, ColumnKind, EmbedRule, Error, FusionProfile, IndexSpec, Item,
    Result, Schema,
};

use crate::batch::{CommitInfo, WriteBatch};
use crate::database::{Database, added_column, check_collection_name};
use crate::index_build::IndexBuild;
use crate::shared::Shared;
use crate::snapshot::CollectionSnapshot;
use crate::state::CollectionState;

/// A named collection of a [`Database`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Collection {
    shared: Arc<Shared>,
    name: String,
}

impl Collection {
    pub(crate) fn new(shared: Arc<Shared>, name: &str) -> Self {
        Collection {
            shared,
            name: name.to_string(),
        }
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The database this collection belongs to (a handle on the same open database).
    pub fn database(&self) -> Database {
        Database {
            shared: self.shared.clone(),
        }
    }

    /// Commits a batch atomically: every op applies, or none does.
    pub fn commit(&self, batch: WriteBatch) -> Result<CommitInfo> {
        let db = Database {
            shared: self.shared.clone(),
        };
        let batch = db.apply_embed_rules(&self.name, batch)?;
        self.shared.commit(&self.name, batch)
    }

    /// Inserts one item; `DuplicateId` if the id is live.
    pub fn insert(&self, item: Item) -> Result<CommitInfo> {
        let mut b = WriteBatch::new();
        b.insert(item);
        self.commit(b)
    }

    /// Inserts or replaces one item.
    pub fn upsert(&self, item: Item) -> Result<CommitInfo> {
        let mut b = WriteBatch::new();
        b.upsert(item);
        self.commit(b)
    }

    /// Overwrites some columns of an existing item.
    pub fn update(&self, item: Item) -> Result<CommitInfo> {
        let mut b = WriteBatch::new();
        b.update(item);
        self.commit(b)
    }

    /// Deletes an item if it exists.
    pub fn delete(&self, id: &str) -> Result<CommitInfo> {
        let mut b = WriteBatch::new();
        b.delete(id);
        self.commit(b)
    }

    /// A point-in-time view of this collection.
    pub fn snapshot(&self) -> Result<CollectionSnapshot> {
        Database {
            shared: self.shared.clone(),
        }
        .snapshot()
        .collection(&self.name)
    }

    /// The collection's current schema.
    pub fn schema(&self) -> Result<Schema> {
        Ok(self.snapshot()?.schema().clone())
    }

    /// Live items now.
    pub fn count(&self) -> Result<u64> {
        Ok(self.snapshot()?.count())
    }

    /// Seals the memtable into an immutable segment.
    pub fn flush(&self) -> Result<()> {
        self.shared
            .with_writer(|shared, writer| shared.flush_locked(writer, &self.name))
    }

    /// Merges all segments into one, purging deleted rows and dropped columns.
    pub fn compact(&self) -> Result<()> {
        self.shared.compact(&self.name)
    }

    /// Adds a column (nullable when the collection has items: backfill it with
    /// [`WriteBatch::update`]).
    pub fn add_column(&self, name: &str, kind: ColumnKind, nullable: bool) -> Result<()> {
        let db = Database {
            shared: self.shared.clone(),
        };
        db.alter(&self.name, |schema, items| {
            added_column(schema, items, name, kind, nullable)
        })
    }

    /// Declares an ANN index on a vector column, e.g.
    /// `create_index("text_vec", IndexSpec::hnsw().m(16).ef_construction(200))`, and
    /// builds it for the data already sealed: each segment is rewritten with this
    /// column's index built as declared (replacing the one it had, if any) and the
    /// other columns' indexes copied as they are (no merge, nothing else rebuilt).
    /// Segments sealed later get it at flush and compaction.
    pub fn create_index(&self, column: &str, spec: IndexSpec) -> Result<()> {
        let db = Database {
            shared: self.shared.clone(),
        };
        db.alter(&self.name, |schema, _| {
            schema.with_index(column, Some(spec))
        })?;
        match self.shared.build_index(&self.name, column)? {
            IndexBuild::Done { .. } => Ok(()),
            // Another schema change raced this one: compaction builds what the schema
            // declares now.
            IndexBuild::SchemaChanged => self.compact(),
        }
    }

    /// Removes a column's index declaration; segments keep their graph bytes until
    /// compaction rewrites them, and searches scan exactly.
    pub fn drop_index(&self, column: &str) -> Result<()> {
        let db = Database {
            shared: self.shared.clone(),
        };
        db.alter(&self.name, |schema, _| schema.with_index(column, None))
    }

    /// Adds a nullable vector column filled from TEXT column `rule.from` by encoder
    /// `rule.encoder` on every later write that gives the text; [`Self::reembed`]
    /// fills it for the items already there.
    pub fn add_embedded_column(&self, name: &str, kind: ColumnKind, rule: EmbedRule) -> Result<()> {
        let db = self.database();
        let current = self.schema()?;
        let probe = current.with_column(name, kind, true)?;
        db.check_embed_rule(&probe, name, &rule.encoder)?;
        db.alter(&self.name, |schema, items| {
            added_column(schema, items, name, kind, true)?.with_embed_rule(name, Some(rule))
        })
    }

    /// Renames a column (metadata only: data, index, encoder and rules stay).
    pub fn rename_column(&self, from: &str, to: &str) -> Result<()> {
        self.database()
            .alter(&self.name, |schema, _| schema.with_renamed_column(from, to))
    }

    /// Switches vector column `name` to the vectors of `replacement` at one commit:
    /// `name` is dropped and `replacement` takes its name (with its index, encoder and
    /// rule), so every query naming `name` answers from the new vectors from then on.
    /// The old vectors' bytes go at the next compaction.
    pub fn replace_column(&self, name: &str, replacement: &str) -> Result<()> {
        self.database().alter(&self.name, |schema, _| {
            schema.with_column_replaced(name, replacement)
        })
    }

    /// Saves fusion profiles (`FUSE(PROFILE name ...)`; the profile `default` is
    /// `FUSE(DEFAULT, ...)`), each replacing any of its name and label, all at one
    /// commit or none.
    pub fn save_profiles(&self, profiles: &[FusionProfile]) -> Result<()> {
        self.database()
            .alter(&self.name, |schema, _| schema.with_profiles(profiles))
    }

    /// Drops fusion profile `name`, every label of it.
    pub fn drop_profile(&self, name: &str) -> Result<()> {
        self.database()
            .alter(&self.name, |schema, _| schema.without_profile(name))
    }

    /// Drops a column; its bytes stay in old segments until compaction rewrites them.
    pub fn drop_column(&self, name: &str) -> Result<()> {
        let db = Database {
            shared: self.shared.clone(),
        };
        db.alter(&self.name, |schema, _| schema.without_column(name))
    }
}

/// Creating and finding collections: here, so that `Database` never names `Collection`.
impl Database {
    /// Creates a collection.
    pub fn create_collection(&self, name: &str, schema: Schema) -> Result<Collection> {
        check_collection_name(name)?;
        self.shared.with_writer(|shared, writer| {
            let state = shared.state.read().clone();
            if state.collections.contains_key(name) {
                return Err(Error::CollectionExists {
                    name: name.to_string(),
                });
            }
            let mut manifest = writer.manifest.clone();
            let id = CollectionId(manifest.next_collection_id);
            manifest.next_collection_id += 1;
            manifest.last_lsn = state.last_lsn;
            manifest.collections.push(CollectionEntry {
                id,
                name: name.to_string(),
                schema: schema.clone(),
                flushed_lsn: state.last_lsn,
                segments: Vec::new(),
            });
            shared.store_manifest(writer, manifest)?;
            let cs = CollectionState::new(id, name.to_string(), schema, state.last_lsn);
            shared.publish_collection(&state, cs);
            Ok(())
        })?;
        self.collection(name)
    }

    /// A handle on an existing collection.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        let _ = self.shared.follow(false);
        self.shared.state.read().collection(name)?;
        Ok(Collection::new(self.shared.clone(), name))
    }
}
