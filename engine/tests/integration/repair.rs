//! REPAIR: a damaged index is rebuilt from the column data and nothing is lost; a
//! segment whose rows are damaged is left alone unless dropping it is asked for, and
//! then exactly its live items are reported lost while every other item (other
//! segments, unflushed writes) survives; a segment that keeps the database from
//! opening is handled before the open; an open database's repair and the writer lock.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use quiver::{
    Database, Error, IndexSpec, Item, LostItems, Metric, RepairOptions, RepairOutcome, Schema,
    SearchOptions, Value, WriteBatch,
};
use quiver_storage::segment::RegionKind;
use quiver_storage::{Segment, SegmentId};

const DROP: RepairOptions = RepairOptions {
    drop_damaged_segments: true,
};

fn vector(part: usize, i: usize) -> Vec<f32> {
    (0..8)
        .map(|d| ((i * 7 + d * 3 + part * 5) % 23) as f32 + d as f32 * 0.01 + part as f32 * 0.1)
        .collect()
}

fn id(part: usize, i: usize) -> String {
    format!("{part}-{i:04}")
}

/// Two flushed segments of 200 items (seg 1: part 0, seg 2: part 1) with an HNSW
/// index on `v`, `0-0003` deleted (and saved), and 20 unflushed items of part 2.
/// Returns the live ids.
fn build(path: &Path) -> BTreeSet<String> {
    let db = Database::open(path).unwrap();
    let schema = Schema::builder()
        .vector("v", 8, Metric::L2)
        .attr("title", quiver::AttrType::Text)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    c.create_index("v", IndexSpec::hnsw().m(8).ef_construction(32))
        .unwrap();
    let mut live = BTreeSet::new();
    for (part, n) in [(0, 200), (1, 200), (2, 20)] {
        let mut batch = WriteBatch::new();
        for i in 0..n {
            batch.insert(
                Item::new(id(part, i))
                    .set("v", vector(part, i))
                    .set("title", format!("title {part} {i}")),
            );
            live.insert(id(part, i));
        }
        c.commit(batch).unwrap();
        if part < 2 {
            c.flush().unwrap();
        }
        if part == 0 {
            c.delete("0-0003").unwrap();
            live.remove("0-0003");
        }
    }
    live
}

/// Flips one byte in the middle of segment `seg`'s `kind` region of column `v`
/// (the id regions for `IdBytes`).
fn damage(path: &Path, seg: u64, kind: RegionKind) {
    damage_column(path, seg, "v", kind);
}

/// Flips a byte in the middle of `column`'s region `kind` of segment `seg`.
fn damage_column(path: &Path, seg: u64, column: &str, kind: RegionKind) {
    let schema = Database::open_with(path, quiver::OpenOptions::default().read_only(true))
        .unwrap()
        .collection("c")
        .unwrap()
        .schema()
        .unwrap();
    let dir = quiver::FsDirectory::open_existing(path).unwrap();
    let segment = Segment::open(&dir, SegmentId(seg), &schema).unwrap();
    let v = schema.column(column).unwrap().1.id;
    let region = segment
        .regions()
        .into_iter()
        .find(|r| r.kind == kind && (r.column == v || kind == RegionKind::IdBytes))
        .unwrap_or_else(|| panic!("no {kind:?} region"));
    drop(segment);
    flip(
        &segment_path(path, seg),
        (region.offset + region.len / 2) as usize,
    );
}

/// The folder's files ending in `.ext`, in name order.
fn files_ending(path: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

/// Takes part `part`'s 200 flushed items out of `live` (their segment was dropped).
fn forget_part(live: &mut BTreeSet<String>, part: usize) {
    for i in 0..200 {
        live.remove(&id(part, i));
    }
}

fn segment_path(path: &Path, seg: u64) -> PathBuf {
    path.join(format!("seg-{seg:010}.qseg"))
}

fn flip(file: &Path, at: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 0x5a;
    std::fs::write(file, bytes).unwrap();
}

/// Every item present with the vector and title it was written with; the HNSW
/// search finds each of a sample of items by its own vector.
fn assert_intact(path: &Path, live: &BTreeSet<String>) {
    let db = Database::open(path).unwrap();
    let snap = db.snapshot().collection("c").unwrap();
    assert_eq!(snap.count(), live.len() as u64);
    for key in live {
        let (part, i) = key.split_once('-').unwrap();
        let (part, i): (usize, usize) = (part.parse().unwrap(), i.parse().unwrap());
        let item = snap
            .get(key)
            .unwrap()
            .unwrap_or_else(|| panic!("{key} lost"));
        assert_eq!(
            item.vector("v").unwrap().unwrap(),
            vector(part, i).as_slice()
        );
        assert_eq!(
            item.value("title").unwrap(),
            Value::Text(format!("title {part} {i}"))
        );
    }
    for key in live.iter().step_by(17) {
        let q = snap
            .get(key)
            .unwrap()
            .unwrap()
            .vector("v")
            .unwrap()
            .unwrap()
            .to_vec();
        let hits = snap.search("v", &q, 1, &SearchOptions::default()).unwrap();
        assert_eq!(hits[0].distance, 0.0, "{key}");
    }
    assert!(db.verify().unwrap().is_ok());
}

#[test]
fn a_damaged_index_is_rebuilt_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let live = build(dir.path());
    damage(dir.path(), 1, RegionKind::HnswLevel0);
    assert!(!quiver::verify_path(dir.path()).unwrap().is_ok());

    let report = quiver::repair_path(dir.path(), RepairOptions::default()).unwrap();
    assert_eq!(report.repairs.len(), 1, "{report:?}");
    let repair = &report.repairs[0];
    assert_eq!(repair.file, "seg-0000000001.qseg");
    assert!(repair.problem.contains("HnswLevel0"), "{}", repair.problem);
    // The deleted row is not carried into the rewrite.
    assert!(
        matches!(
            &repair.outcome,
            RepairOutcome::Rebuilt {
                file: Some(_),
                rows: 199
            }
        ),
        "{:?}",
        repair.outcome
    );
    assert!(report.is_complete() && report.lost_items().is_empty());
    assert!(!segment_path(dir.path(), 1).exists());
    assert_intact(dir.path(), &live);
    // A second REPAIR finds nothing to do.
    let again = quiver::repair_path(dir.path(), DROP).unwrap();
    assert!(again.repairs.is_empty(), "{again:?}");
}

#[test]
fn damaged_rows_are_dropped_only_when_asked_and_the_lost_items_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = build(dir.path());
    damage(dir.path(), 1, RegionKind::Vectors);
    let before = std::fs::read(segment_path(dir.path(), 1)).unwrap();

    let report = quiver::repair_path(dir.path(), RepairOptions::default()).unwrap();
    assert_eq!(report.repairs.len(), 1);
    assert_eq!(report.repairs[0].outcome, RepairOutcome::NeedsDrop);
    assert!(report.repairs[0].problem.contains("Vectors"));
    assert!(!report.is_complete());
    assert_eq!(std::fs::read(segment_path(dir.path(), 1)).unwrap(), before);

    let report = quiver::repair_path(dir.path(), DROP).unwrap();
    let expected: Vec<String> = (0..200)
        .map(|i| id(0, i))
        .filter(|k| k != "0-0003")
        .collect();
    let RepairOutcome::Dropped { lost, kept_as } = &report.repairs[0].outcome else {
        panic!("{report:?}")
    };
    assert_eq!(*lost, LostItems::Items(expected.clone()));
    assert_eq!(report.lost_items().len(), 199);
    assert!(kept_as.contains(&"seg-0000000001.qseg.damaged".to_string()));
    assert_eq!(
        std::fs::read(dir.path().join("seg-0000000001.qseg.damaged")).unwrap(),
        before
    );
    forget_part(&mut live, 0);
    // Segment 2 and the unflushed items survive.
    assert_intact(dir.path(), &live);
}

#[test]
fn a_segment_that_stops_the_open_is_dropped_before_opening() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = build(dir.path());
    let file = segment_path(dir.path(), 2);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 100]).unwrap();
    assert!(Database::open(dir.path()).is_err());

    let report = quiver::repair_path(dir.path(), RepairOptions::default()).unwrap();
    assert_eq!(report.repairs[0].outcome, RepairOutcome::NeedsDrop);
    assert!(Database::open(dir.path()).is_err(), "nothing was changed");

    let report = quiver::repair_path(dir.path(), DROP).unwrap();
    assert_eq!(report.repairs.len(), 1, "{report:?}");
    let RepairOutcome::Dropped { lost, .. } = &report.repairs[0].outcome else {
        panic!("{report:?}")
    };
    assert_eq!(
        *lost,
        LostItems::Unreadable {
            rows: 200,
            deleted: 0
        }
    );
    forget_part(&mut live, 1);
    assert_intact(dir.path(), &live);
}

#[test]
fn an_unreadable_deletion_file_loses_at_most_its_segments_items() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = build(dir.path());
    let del = files_ending(dir.path(), "del").remove(0);
    flip(&del, 2);
    assert!(Database::open(dir.path()).is_err());
    let report = quiver::repair_path(dir.path(), DROP).unwrap();
    let RepairOutcome::Dropped { lost, .. } = &report.repairs[0].outcome else {
        panic!("{report:?}")
    };
    let all: Vec<String> = (0..200).map(|i| id(0, i)).collect();
    assert_eq!(*lost, LostItems::AtMost(all));
    forget_part(&mut live, 0);
    assert_intact(dir.path(), &live);
}

#[test]
fn the_open_database_repairs_itself_and_the_lock_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let live = build(dir.path());
    damage(dir.path(), 2, RegionKind::HnswUpper);
    let db = Database::open(dir.path()).unwrap();
    assert!(matches!(
        quiver::repair_path(dir.path(), DROP),
        Err(Error::Locked { .. })
    ));
    let report = db.repair(RepairOptions::default()).unwrap();
    assert_eq!(report.repairs.len(), 1);
    assert_eq!(report.repairs[0].file, "seg-0000000002.qseg");
    let (action, lost) = report.repairs[0].outcome.describe();
    assert!(action.starts_with("rebuilt as seg-"), "{action}");
    assert_eq!(lost, "none");
    // The open database answers from the rebuilt segment at once.
    assert!(db.verify().unwrap().is_ok());
    drop(db);
    assert_intact(dir.path(), &live);
}

/// Absurd sizes written into real files with their checksums made to match: a record
/// frame claiming a gigabyte at the end of the newest WAL file is a torn tail (the
/// database opens with everything acknowledged); a segment trailer claiming four
/// billion rows stops the open with `Corrupted`, and REPAIR drops that segment.
#[test]
fn absurd_sizes_in_headers_leave_a_database_that_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = build(dir.path());
    let wal = files_ending(dir.path(), "log").pop().unwrap();
    let len = (1u32 << 30).to_le_bytes();
    let mut frame = len.to_vec();
    frame.extend(crc32fast::hash(&len).to_le_bytes());
    frame.extend([0; 24]);
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend(&frame);
    std::fs::write(&wal, bytes).unwrap();
    assert_intact(dir.path(), &live);

    let file = segment_path(dir.path(), 2);
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 64;
    bytes[at..at + 8].copy_from_slice(&4_000_000_000u64.to_le_bytes());
    let crc = crc32fast::hash(&bytes[at..at + 60]);
    bytes[at + 60..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&file, bytes).unwrap();
    assert!(matches!(
        Database::open(dir.path()),
        Err(Error::Corrupted { .. })
    ));
    let report = quiver::repair_path(dir.path(), DROP).unwrap();
    assert_eq!(report.lost_count(), 200, "{report:?}");
    forget_part(&mut live, 1);
    assert_intact(dir.path(), &live);
}

/// Readers keep answering, from whole snapshots, while REPAIR rebuilds a segment of
/// the open database; a writer's commit waits for it and lands.
#[test]
fn readers_and_a_writer_run_beside_a_live_repair() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let mut live = build(dir.path());
    damage(dir.path(), 1, RegionKind::HnswLevel0);
    let db = Database::open(dir.path()).unwrap();
    let done = AtomicBool::new(false);
    let reads = std::thread::scope(|s| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut reads = 0u32;
                    while !done.load(Ordering::Relaxed) || reads == 0 {
                        let snap = db.snapshot().collection("c").unwrap();
                        assert!(snap.count() >= live.len() as u64);
                        let q = vector(1, 7);
                        let hits = snap.search("v", &q, 3, &SearchOptions::default()).unwrap();
                        assert_eq!(hits[0].distance, 0.0);
                        assert!(snap.get("0-0005").unwrap().is_some());
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        let writer = s.spawn(|| {
            db.collection("c")
                .unwrap()
                .insert(
                    Item::new(id(2, 100))
                        .set("v", vector(2, 100))
                        .set("title", "title 2 100"),
                )
                .unwrap();
        });
        let report = db.repair(RepairOptions::default()).unwrap();
        assert!(matches!(
            report.repairs[0].outcome,
            RepairOutcome::Rebuilt { rows: 199, .. }
        ));
        writer.join().unwrap();
        done.store(true, Ordering::Relaxed);
        readers.into_iter().map(|r| r.join().unwrap()).sum::<u32>()
    });
    assert!(reads > 0);
    assert!(db.verify().unwrap().is_ok());
    drop(db);
    live.insert(id(2, 100));
    assert_intact(dir.path(), &live);
}

/// A damaged BM25 region (a TEXT column's postings) is found by VERIFY and rebuilt by
/// REPAIR from the column's text; MATCH answers as before and nothing is lost.
#[test]
fn a_damaged_bm25_index_is_rebuilt_from_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let live = build(dir.path());
    let top = |path: &Path| -> Vec<String> {
        let db = Database::open(path).unwrap();
        let snap = db.snapshot().collection("c").unwrap();
        let (hits, _) = snap.search_text("title", "title 0 7", 3, None).unwrap();
        hits.iter()
            .map(|h| h.item.id().unwrap().to_string())
            .collect()
    };
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db.collection("c").unwrap();
        c.create_index("title", IndexSpec::bm25()).unwrap();
    }
    let before = top(dir.path());
    assert_eq!(before[0], id(0, 7));
    let first = files_ending(dir.path(), "qseg")[0].clone();
    let name = first.file_name().unwrap().to_string_lossy().into_owned();
    let seg: u64 = name["seg-".len()..name.len() - ".qseg".len()]
        .parse()
        .unwrap();
    damage_column(dir.path(), seg, "title", RegionKind::Bm25PostingRows);
    let report = quiver::verify_path(dir.path()).unwrap();
    let problems: Vec<_> = report
        .problems()
        .map(|c| (c.file.clone(), c.what.clone()))
        .collect();
    assert!(
        problems.iter().all(|(file, _)| *file == name),
        "{problems:?}"
    );
    assert!(!problems.is_empty());
    let repaired = quiver::repair_path(dir.path(), RepairOptions::default()).unwrap();
    assert_eq!(repaired.repairs.len(), 1);
    assert!(matches!(
        repaired.repairs[0].outcome,
        RepairOutcome::Rebuilt { .. }
    ));
    assert!(quiver::verify_path(dir.path()).unwrap().is_ok());
    assert_eq!(top(dir.path()), before);
    assert_intact(dir.path(), &live);
}
