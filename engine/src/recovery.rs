//! Opening a database: read the manifest, map the live segments and their tombstones,
//! replay the WAL records not yet sealed, cut a torn WAL tail, and (when writable)
//! remove files no manifest names (left by a crash between write and publish).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use quiver_storage::segment::segment_file_name;
use quiver_storage::wal::{WalFile, decode_ops, parse_wal_file_name, read_wal_file};
use quiver_storage::{
    CollectionEntry, CollectionId, Directory, Error, Lsn, Manifest, Result, Segment, SegmentEntry,
    SegmentId, Tombstones, WalWriter,
};

use crate::options::OpenOptions;
use crate::state::{CollectionState, DbState, SegmentView};
use crate::writer::{Writer, replay_ops};

pub(crate) struct Recovered {
    pub state: DbState,
    pub writer: Option<Writer>,
    /// Read-only: the manifest the state was built from and the newest WAL file with
    /// where its complete records end (where a following reader goes on from).
    pub follower: Option<(Manifest, Option<(String, u64)>)>,
}

pub(crate) fn recover(dir: Arc<dyn Directory>, options: &OpenOptions) -> Result<Recovered> {
    let manifest = match Manifest::load(dir.as_ref())? {
        Some(m) => m,
        None if options.read_only => {
            return Err(Error::InvalidArgument(format!(
                "{} is not a Quiver database (no MANIFEST)",
                dir.root().display()
            )));
        }
        None => {
            refuse_data_without_manifest(dir.as_ref())?;
            let m = Manifest {
                next_segment_id: 1,
                next_collection_id: 1,
                ..Manifest::default()
            };
            m.store(dir.as_ref())?;
            m
        }
    };
    let (mut state, by_id) = open_collections(dir.as_ref(), &manifest, options, None)?;

    let mut wal_files = list_wal_files(dir.as_ref())?;
    let mut last = Lsn(0);
    let mut tail_len = None;
    for (i, (_, name)) in wal_files.iter().enumerate() {
        let path = dir.path_of(name);
        let file = read_wal_file(path.clone(), dir.read(name)?, last)?;
        let is_last = i + 1 == wal_files.len();
        if file.torn_tail && !is_last && file.valid_len > 0 {
            return Err(Error::corrupted(
                path,
                file.valid_len,
                "incomplete record in a WAL file that is not the newest",
            ));
        }
        last = apply_records(&mut state, &by_id, &file)?.max(last);
        if is_last {
            tail_len = Some(file.valid_len);
        }
    }
    state.last_lsn = last.max(manifest.last_lsn);

    let follower = options.read_only.then(|| {
        let at = wal_files.last().zip(tail_len);
        (
            manifest.clone(),
            at.map(|((_, name), len)| (name.clone(), len)),
        )
    });
    let writer = if options.read_only {
        None
    } else {
        remove_orphans(dir.as_ref(), &manifest)?;
        let next_lsn = Lsn(state.last_lsn.0 + 1);
        let wal = match (wal_files.last(), tail_len) {
            (Some((_, name)), Some(valid_len)) => WalWriter::reopen(dir.clone(), name, valid_len)?,
            _ => {
                let w = WalWriter::create(dir.clone(), next_lsn)?;
                wal_files.push((next_lsn, w.name().to_string()));
                w
            }
        };
        Some(Writer {
            wal,
            wal_files,
            manifest,
            next_lsn,
            last_sync: Instant::now(),
            poisoned: None,
        })
    };
    Ok(Recovered {
        state,
        writer,
        follower,
    })
}

/// The collections of `manifest`, their segments mapped (or, from `previous`, the
/// views of segments it already holds: a segment never changes, and a view whose
/// tombstone file is the same is the same view), and each collection's name by id.
pub(crate) fn open_collections(
    dir: &dyn Directory,
    manifest: &Manifest,
    options: &OpenOptions,
    previous: Option<&DbState>,
) -> Result<(DbState, HashMap<CollectionId, String>)> {
    let held: HashMap<SegmentId, &SegmentView> = previous
        .iter()
        .flat_map(|s| s.collections.values())
        .flat_map(|c| c.segments.iter())
        .map(|v| (v.segment.id(), v))
        .collect();
    let mut state = DbState::default();
    let mut by_id: HashMap<CollectionId, String> = HashMap::new();
    for entry in &manifest.collections {
        let cs = open_collection(dir, entry, options, &held)?;
        by_id.insert(entry.id, entry.name.clone());
        state.collections.insert(entry.name.clone(), Arc::new(cs));
    }
    Ok((state, by_id))
}

/// The WAL files of `dir`, oldest first, with the first LSN each may hold.
pub(crate) fn list_wal_files(dir: &dyn Directory) -> Result<Vec<(Lsn, String)>> {
    let mut files: Vec<(Lsn, String)> = dir
        .list()?
        .into_iter()
        .filter_map(|n| parse_wal_file_name(&n).map(|lsn| (lsn, n)))
        .collect();
    files.sort();
    Ok(files)
}

/// Replays the records of `file` that a collection of `state` has not sealed yet (a
/// dropped collection's are skipped); returns the last record's LSN (0 if none).
pub(crate) fn apply_records(
    state: &mut DbState,
    by_id: &HashMap<CollectionId, String>,
    file: &WalFile,
) -> Result<Lsn> {
    let mut last = Lsn(0);
    for record in &file.records {
        last = record.lsn;
        let Some(name) = by_id.get(&record.collection) else {
            continue; // the collection was dropped
        };
        let Some(current) = state.collections.get(name) else {
            continue;
        };
        if record.lsn <= current.flushed_lsn {
            continue;
        }
        let mut cs = (**current).clone();
        let ops = decode_ops(
            &cs.schema,
            file.body(record),
            &file.path,
            record.body_start as u64,
        )?;
        replay_ops(&mut cs, ops, record.lsn)?;
        state.collections.insert(name.clone(), Arc::new(cs));
    }
    state.last_lsn = state.last_lsn.max(last);
    Ok(last)
}

fn open_collection(
    dir: &dyn Directory,
    entry: &CollectionEntry,
    options: &OpenOptions,
    held: &HashMap<SegmentId, &SegmentView>,
) -> Result<CollectionState> {
    let mut cs = CollectionState::new(
        entry.id,
        entry.name.clone(),
        entry.schema.clone(),
        entry.flushed_lsn,
    );
    for seg in &entry.segments {
        if let Some(view) = held
            .get(&seg.id)
            .filter(|v| v.tombstone_file == seg.tombstones)
        {
            cs.segments.push((*view).clone());
            continue;
        }
        let segment = match held.get(&seg.id) {
            Some(view) => view.segment.clone(),
            None => Arc::new(open_segment(dir, seg, &entry.schema, options)?),
        };
        let tombstones = match &seg.tombstones {
            Some(name) => load_tombstones(dir, seg, name, segment.rows())?,
            None => Tombstones::new(segment.rows()),
        };
        let mut view =
            SegmentView::new(segment, Arc::new(tombstones), seg.tombstones.clone(), false);
        if let Some(old) = held.get(&seg.id) {
            view.derived = old.derived.clone();
        }
        cs.segments.push(view);
    }
    Ok(cs)
}

/// Maps segment `seg`, its row count checked against the manifest's (and every
/// checksum, when the options ask).
fn open_segment(
    dir: &dyn Directory,
    seg: &SegmentEntry,
    schema: &quiver_storage::Schema,
    options: &OpenOptions,
) -> Result<Segment> {
    let segment = Segment::open(dir, seg.id, schema)?;
    if segment.rows() != seg.rows {
        return Err(Error::corrupted(
            segment.path(),
            0,
            format!(
                "segment has {} rows, the manifest says {}",
                segment.rows(),
                seg.rows
            ),
        ));
    }
    if options.verify_checksums {
        segment.verify()?;
    }
    if options.prefetch_indexes {
        segment.prefetch_indexes();
    }
    Ok(segment)
}

/// The deletion file `name` of segment `seg` (of `rows` rows), its count checked against
/// the manifest's.
pub(crate) fn load_tombstones(
    dir: &dyn Directory,
    seg: &SegmentEntry,
    name: &str,
    rows: u32,
) -> Result<Tombstones> {
    let t = Tombstones::decode(&dir.read(name)?, &dir.path_of(name), rows)?;
    if t.count() != seg.deleted {
        return Err(Error::corrupted(
            dir.path_of(name),
            0,
            format!("{} deletions, the manifest says {}", t.count(), seg.deleted),
        ));
    }
    Ok(t)
}

/// A folder holding Quiver data files but no MANIFEST lost its manifest: starting a
/// fresh database there would treat every segment as an orphan and delete it.
fn refuse_data_without_manifest(dir: &dyn Directory) -> Result<()> {
    let data = dir
        .list()?
        .into_iter()
        .find(|n| n.ends_with(".qseg") || n.ends_with(".del") || parse_wal_file_name(n).is_some());
    match data {
        Some(file) => Err(Error::corrupted(
            dir.path_of(quiver_storage::manifest::MANIFEST_FILE),
            0,
            format!(
                "the MANIFEST is missing but data files such as {file} are present; refusing to start a new database over them"
            ),
        )),
        None => Ok(()),
    }
}

/// Deletes temporary files and segment/tombstone files the manifest does not name.
fn remove_orphans(dir: &dyn Directory, manifest: &Manifest) -> Result<()> {
    let mut live = std::collections::HashSet::new();
    for c in &manifest.collections {
        for s in &c.segments {
            live.insert(segment_file_name(s.id));
            live.extend(s.tombstones.clone());
        }
    }
    for name in dir.list()? {
        let ours = name.ends_with(".tmp") || name.ends_with(".qseg") || name.ends_with(".del");
        if ours && !live.contains(&name) {
            dir.remove(&name)?;
        }
    }
    Ok(())
}
