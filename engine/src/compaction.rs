//! Compaction: merge a collection's segments into one, dropping deleted rows and the
//! bytes of dropped columns. The merge runs outside the writer lock; deletions that
//! land meanwhile are carried over to the new segment when it is published. Readers
//! keep whatever snapshot they hold; the old files are unlinked but stay mapped.

use std::sync::Arc;

use quiver_storage::segment::{RowSource, segment_file_name};
use quiver_storage::{Column, Error, Result, RowId, SegmentId, Value};

use crate::database::Shared;
use crate::flush::segment_entries;
use crate::state::{CollectionState, SegmentView};

/// Live rows of several segments, merged in id order.
struct MergeSource<'a> {
    inputs: &'a [SegmentView],
    rows: Vec<(usize, RowId)>,
}

impl<'a> MergeSource<'a> {
    fn new(inputs: &'a [SegmentView]) -> Result<Self> {
        let mut keyed: Vec<(&'a str, usize, RowId)> = Vec::new();
        for (i, view) in inputs.iter().enumerate() {
            for r in (0..view.segment.rows()).map(RowId) {
                if !view.tombstones.is_deleted(r) {
                    keyed.push((view.segment.id_at(r)?, i, r));
                }
            }
        }
        keyed.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = keyed.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::corrupted(
                inputs[w[1].1].segment.path(),
                0,
                format!("item {:?} is live in two segments", w[0].0),
            ));
        }
        Ok(MergeSource {
            inputs,
            rows: keyed.into_iter().map(|(_, i, r)| (i, r)).collect(),
        })
    }
}

impl RowSource for MergeSource<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn id(&self, row: usize) -> Result<&str> {
        let (i, r) = self.rows[row];
        self.inputs[i].segment.id_at(r)
    }
    fn vector(&self, row: usize, _: usize, column: &Column) -> Result<Option<&[f32]>> {
        let (i, r) = self.rows[row];
        self.inputs[i].segment.vector(column, r)
    }
    fn attr(&self, row: usize, _: usize, column: &Column) -> Result<Value> {
        let (i, r) = self.rows[row];
        self.inputs[i].segment.attr(column, r)
    }
}

fn worth_compacting(cs: &CollectionState) -> bool {
    let has_dead_bytes = |v: &SegmentView| {
        v.tombstones.count() > 0
            || v.segment
                .column_ids()
                .iter()
                .any(|id| cs.schema.position_of(*id).is_none())
    };
    cs.segments.len() > 1 || cs.segments.iter().any(has_dead_bytes)
}

impl Shared {
    pub(crate) fn compact(&self, name: &str) -> Result<()> {
        let _one_at_a_time = self.compaction.lock();
        // 1. Seal the memtable and pick the inputs.
        let picked = self.with_writer(|shared, writer| {
            shared.flush_locked(writer, name)?;
            let state = shared.state.read().clone();
            let cs = state
                .collections
                .get(name)
                .ok_or_else(|| Error::UnknownCollection {
                    name: name.to_string(),
                })?
                .clone();
            if !worth_compacting(&cs) {
                return Ok(None);
            }
            let id = SegmentId(writer.manifest.next_segment_id);
            writer.manifest.next_segment_id += 1;
            Ok(Some((cs, id)))
        })?;
        let Some((input, id)) = picked else {
            return Ok(());
        };

        // 2. Merge without holding the writer lock.
        let source = MergeSource::new(&input.segments)?;
        let output = if source.is_empty() {
            None
        } else {
            Some(self.write_segment(id, &input.schema, &source)?)
        };

        // 3. Publish, carrying over deletions made since step 1.
        let published = self.with_writer(|shared, writer| {
            let state = shared.state.read().clone();
            let current = state
                .collections
                .get(name)
                .filter(|c| c.id == input.id)
                .ok_or_else(|| Error::UnknownCollection {
                    name: name.to_string(),
                })?;
            let n = input.segments.len();
            let same_inputs = current.segments.len() >= n
                && current.segments[..n]
                    .iter()
                    .zip(&input.segments)
                    .all(|(a, b)| a.segment.id() == b.segment.id());
            if !same_inputs {
                return Err(Error::InvalidArgument(
                    "segments changed during compaction".into(),
                ));
            }
            let mut segments = Vec::with_capacity(current.segments.len() - n + 1);
            if let Some(mut out) = output.clone() {
                for (now, then) in current.segments[..n].iter().zip(&input.segments) {
                    for row in now.tombstones.newer_than(&then.tombstones) {
                        let id = now.segment.id_at(row)?;
                        if let Some(r) = out.segment.find(id)? {
                            Arc::make_mut(&mut out.tombstones).delete(r);
                            out.dirty = true;
                        }
                    }
                }
                segments.push(out);
            }
            segments.extend(current.segments[n..].iter().cloned());
            let mut obsolete = crate::flush::files_of(&input);
            obsolete.extend(shared.save_tombstones(writer, &mut segments)?);
            let mut manifest = writer.manifest.clone();
            manifest.last_lsn = state.last_lsn;
            if let Some(entry) = manifest.collections.iter_mut().find(|c| c.id == input.id) {
                entry.segments = segment_entries(&segments);
            }
            shared.store_manifest(writer, manifest)?;
            let mut next_cs = (**current).clone();
            next_cs.segments = segments;
            let mut next = (*state).clone();
            next.collections.insert(name.to_string(), Arc::new(next_cs));
            *shared.state.write() = Arc::new(next);
            Ok(obsolete)
        });
        match published {
            Ok(obsolete) => {
                self.remove_files(obsolete);
                Ok(())
            }
            Err(e) => {
                // A failed manifest store poisons the writer, and the file on disk may
                // then be the NEW manifest naming the output (the rename happened, the
                // folder fsync failed): leave the output to the next open, which keeps
                // it if named or removes it as an orphan.
                let poisoned = self
                    .writer
                    .lock()
                    .as_ref()
                    .is_some_and(|w| w.poisoned.is_some());
                if output.is_some() && !poisoned {
                    self.remove_files(vec![segment_file_name(id)]);
                }
                Err(e)
            }
        }
    }
}
