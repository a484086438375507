//! Sealing a collection's memtable into an immutable segment, writing its pending
//! tombstones, publishing the new manifest, and retiring WAL files nobody needs.
//! Runs under the writer lock (writers wait; readers never do).

use std::sync::Arc;

use quiver_storage::directory::publish;
use quiver_storage::segment::{ExtraRegion, RowRefs, RowSource, segment_file_name};
use quiver_storage::tombstones::tombstone_file_name;
use quiver_storage::{
    Lsn, Result, Schema, Segment, SegmentEntry, SegmentId, SegmentWriter, Tombstones,
};

use crate::indexes::SealedIndexes;
use crate::shared::Shared;
use crate::state::{CollectionState, DbState, SegmentView};
use crate::writer::Writer;

/// Every file a collection's state names.
pub(crate) fn files_of(cs: &CollectionState) -> Vec<String> {
    cs.segments.iter().flat_map(files_of_segment).collect()
}

/// A segment's file and its deletion file, if any.
pub(crate) fn files_of_segment(view: &SegmentView) -> Vec<String> {
    let mut files = vec![segment_file_name(view.segment.id())];
    files.extend(view.tombstone_file.clone());
    files
}

/// The manifest's description of a collection's segments.
pub(crate) fn segment_entries(segments: &[SegmentView]) -> Vec<SegmentEntry> {
    segments
        .iter()
        .map(|v| SegmentEntry {
            id: v.segment.id(),
            rows: v.segment.rows(),
            tombstones: v.tombstone_file.clone(),
            deleted: v.tombstones.count(),
        })
        .collect()
}

impl Shared {
    /// Writes a new segment holding `rows` and opens it. Leaves no file on failure.
    pub(crate) fn write_segment(
        &self,
        id: SegmentId,
        schema: &Schema,
        rows: &(dyn RowSource + Sync),
    ) -> Result<SegmentView> {
        let indexes = SealedIndexes::build(schema, rows, &self.progress);
        self.write_segment_with(id, schema, rows, &indexes.regions())
    }

    /// Writes `rows` as segment `id` with the index regions `extra` (built, or copied
    /// from another segment of the same rows) and opens it.
    pub(crate) fn write_segment_with(
        &self,
        id: SegmentId,
        schema: &Schema,
        rows: &dyn RowSource,
        extra: &[ExtraRegion<'_>],
    ) -> Result<SegmentView> {
        let name = segment_file_name(id);
        let written = SegmentWriter::write_with(self.dir.as_ref(), &name, schema, rows, extra)
            .and_then(|_| Segment::open(self.dir.as_ref(), id, schema));
        match written {
            Ok(segment) => {
                let tombstones = Arc::new(Tombstones::new(segment.rows()));
                Ok(SegmentView::new(Arc::new(segment), tombstones, None, false))
            }
            Err(e) => {
                let _ = self.dir.remove(&format!("{name}.tmp"));
                let _ = self.dir.remove(&name);
                Err(e)
            }
        }
    }

    /// Makes `segments` collection `current`'s: writes their unsaved deletions, stores
    /// a manifest naming them and publishes the state. Returns the files that are no
    /// longer named. `attempted` turns true once the manifest store begins: from then
    /// on the manifest on disk may name the new files, so an error must keep them.
    pub(crate) fn publish_segments(
        &self,
        writer: &mut Writer,
        state: &DbState,
        current: &CollectionState,
        mut segments: Vec<SegmentView>,
        attempted: &mut bool,
    ) -> Result<Vec<String>> {
        let obsolete = self.save_tombstones(writer, &mut segments)?;
        let mut manifest = writer.manifest.clone();
        manifest.last_lsn = state.last_lsn;
        if let Some(entry) = manifest.collections.iter_mut().find(|c| c.id == current.id) {
            entry.segments = segment_entries(&segments);
        }
        *attempted = true;
        self.store_manifest(writer, manifest)?;
        let mut next = current.clone();
        next.segments = segments;
        self.publish_collection(state, next);
        Ok(obsolete)
    }

    /// Writes tombstone files for segments with unsaved deletions and drops segments
    /// whose every row is deleted. Returns files that become unreferenced once the
    /// manifest naming the new ones is stored.
    pub(crate) fn save_tombstones(
        &self,
        writer: &mut Writer,
        segments: &mut Vec<SegmentView>,
    ) -> Result<Vec<String>> {
        let mut obsolete = Vec::new();
        let mut kept = Vec::with_capacity(segments.len());
        for mut view in segments.drain(..) {
            if view.live_rows() == 0 {
                obsolete.push(segment_file_name(view.segment.id()));
                obsolete.extend(view.tombstone_file.take());
                continue;
            }
            if view.dirty {
                let generation = writer.manifest.next_tombstone_generation;
                writer.manifest.next_tombstone_generation += 1;
                let name = tombstone_file_name(view.segment.id(), generation);
                publish(self.dir.as_ref(), &name, &view.tombstones.encode())?;
                obsolete.extend(view.tombstone_file.replace(name));
                view.dirty = false;
            }
            kept.push(view);
        }
        *segments = kept;
        Ok(obsolete)
    }

    /// Seals collection `name` if it has unflushed changes. Caller holds the writer.
    pub(crate) fn flush_locked(&self, writer: &mut Writer, name: &str) -> Result<()> {
        let state = self.state.read().clone();
        let cs = state.collection(name)?;
        if !cs.needs_flush() {
            return Ok(());
        }
        self.rotate_wal(writer)?;
        let mut segments = cs.segments.clone();
        if !cs.memtable.is_empty() {
            let id = SegmentId(writer.manifest.next_segment_id);
            writer.manifest.next_segment_id += 1;
            let rows = RowRefs(cs.memtable.rows().map(|r| r.as_ref()).collect());
            segments.push(self.write_segment(id, &cs.schema, &rows)?);
        }
        let obsolete = self.save_tombstones(writer, &mut segments)?;
        let mut manifest = writer.manifest.clone();
        manifest.last_lsn = state.last_lsn;
        if let Some(entry) = manifest.collections.iter_mut().find(|c| c.id == cs.id) {
            entry.segments = segment_entries(&segments);
            entry.flushed_lsn = state.last_lsn;
        }
        self.store_manifest(writer, manifest)?;
        let mut next_cs = (**cs).clone();
        next_cs.memtable = Default::default();
        next_cs.segments = segments;
        next_cs.flushed_lsn = state.last_lsn;
        next_cs.unflushed_since = None;
        self.publish_collection(&state, next_cs);
        self.remove_files(obsolete);
        self.retire_wal(writer);
        Ok(())
    }

    /// Starts a new WAL file so that older ones can be deleted once flushed.
    fn rotate_wal(&self, writer: &mut Writer) -> Result<()> {
        if writer.wal.is_empty() {
            return Ok(());
        }
        let first = writer.next_lsn;
        if let Err(e) = writer.wal.rotate(first) {
            writer.poison(format!("starting a new WAL file failed: {e}"));
            return Err(e);
        }
        writer
            .wal_files
            .push((first, writer.wal.name().to_string()));
        Ok(())
    }

    /// Deletes WAL files whose every record is sealed in segments.
    pub(crate) fn retire_wal(&self, writer: &mut Writer) {
        let state = self.state.read().clone();
        let keep_from: Lsn = state
            .collections
            .values()
            .filter_map(|c| c.unflushed_since)
            .min()
            .unwrap_or(writer.next_lsn);
        while writer.wal_files.len() > 1 && writer.wal_files[1].0 <= keep_from {
            let (_, name) = writer.wal_files.remove(0);
            let _ = self.dir.remove(&name);
        }
    }

    /// Seals `name` when its memtable outgrew the configured size.
    pub(crate) fn maybe_flush(&self, name: &str) {
        let big = self
            .state
            .read()
            .collections
            .get(name)
            .is_some_and(|c| c.memtable.bytes() >= self.options.memtable_bytes);
        if big {
            // A failure here leaves the data safe in the WAL; a poisoned writer reports
            // itself on the next write, otherwise the next commit retries the flush.
            let _ = self.with_writer(|shared, writer| shared.flush_locked(writer, name));
        }
    }
}
