//! Absurd sizes in file headers whose checksums are recomputed to match (so the
//! decoders' size logic, not a checksum, must catch them): a segment claiming four
//! billion rows or four billion regions, a region running past the file, a manifest
//! claiming a 4 GiB body or a 4-million-dimension column, WAL records claiming a
//! gigabyte, four billion ops or a vector of two billion floats, a deletion file for
//! four billion rows. Each is a typed error (or, for a record that would run past the
//! end of the newest WAL file, a torn tail), and decoding it runs with the heap capped
//! at 1 MiB above what the test already holds.

mod support;

use std::alloc::System;
use std::path::Path;

use cap::Cap;
use quiver_storage::wal::{decode_ops, read_wal_file, wal_header};
use quiver_storage::{
    CollectionId, Error, Lsn, Manifest, MappedBytes, Segment, SegmentId, Tombstones,
};
use support::samples::{manifest_bytes, schema, segment_bytes, wal_bytes};

/// Every allocation of this test binary goes through a cap (the `cap` crate: unsafe
/// code is denied here) that each case lowers to 1 MiB above what is already held: a
/// decoder that tried to allocate for an absurd size would abort the test.
#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Runs `f` allowed at most `budget` bytes of heap above what is held now; returns
/// the heap it still holds afterwards above the start.
fn within_budget<T>(budget: usize, f: impl FnOnce() -> T) -> T {
    ALLOCATOR
        .set_limit(ALLOCATOR.allocated() + budget)
        .expect("a limit above the current use");
    let out = f();
    ALLOCATOR.set_limit(usize::MAX).expect("lifting the limit");
    out
}

const BUDGET: usize = 1 << 20;

/// A named check run under the heap cap.
type Case = (&'static str, Box<dyn FnOnce()>);

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// The segment's trailer (last 64 bytes) with its checksum recomputed after `edit`.
fn edit_trailer(mut bytes: Vec<u8>, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let at = bytes.len() - 64;
    edit(&mut bytes[at..]);
    let crc = crc32fast::hash(&bytes[at..at + 60]);
    put_u32(&mut bytes, at + 60, crc);
    bytes
}

/// The segment's region directory edited, its checksum recomputed in the trailer.
fn edit_directory(bytes: Vec<u8>, edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let trailer = bytes.len() - 64;
    let start = get_u64(&bytes, trailer + 8) as usize;
    let len = get_u64(&bytes, trailer + 16) as usize;
    let mut bytes = bytes;
    edit(&mut bytes[start..start + len]);
    let crc = crc32fast::hash(&bytes[start..start + len]);
    edit_trailer(bytes, |t| put_u32(t, 24, crc))
}

fn open_segment(bytes: Vec<u8>) -> Result<Segment, Error> {
    let bytes = MappedBytes::from_vec(bytes);
    Segment::from_bytes(SegmentId(1), "seg.qseg".into(), bytes, &schema())
}

/// A manifest whose JSON body went through `edit`, header length and CRC recomputed.
fn edit_manifest(edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let bytes = manifest_bytes();
    let body = edit(String::from_utf8(bytes[20..].to_vec()).unwrap());
    let mut out = bytes[..20].to_vec();
    put_u32(&mut out, 12, body.len() as u32);
    put_u32(&mut out, 16, crc32fast::hash(body.as_bytes()));
    out.extend_from_slice(body.as_bytes());
    out
}

/// A WAL file holding one record with `payload` (LSN 1, collection 1 prepended), its
/// frame's checksums correct and its length field `len` (the payload's when `None`).
fn wal_with_record(ops: &[u8], len: Option<u32>) -> Vec<u8> {
    let mut payload = Vec::new();
    payload.extend_from_slice(&1u64.to_le_bytes());
    payload.extend_from_slice(&1u64.to_le_bytes());
    payload.extend_from_slice(ops);
    let len = len.unwrap_or(payload.len() as u32).to_le_bytes();
    let mut out = wal_header().to_vec();
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc32fast::hash(&len).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn is_corrupted<T: std::fmt::Debug>(what: &str, result: Result<T, Error>) {
    match result {
        Err(Error::Corrupted { .. }) => {}
        other => panic!("{what}: expected Corrupted, got {other:?}"),
    }
}

#[test]
fn absurd_sizes_are_typed_errors_within_a_small_allocation() {
    let segment = segment_bytes();
    let mut cases: Vec<Case> = Vec::new();

    let s = segment.clone();
    cases.push((
        "segment: 4e9 rows",
        Box::new(move || {
            let s = edit_trailer(s, |t| put_u64(t, 0, 4_000_000_000));
            is_corrupted("4e9 rows", open_segment(s));
        }),
    ));
    let s = segment.clone();
    cases.push((
        "segment: 2^40 rows",
        Box::new(move || {
            let s = edit_trailer(s, |t| put_u64(t, 0, 1 << 40));
            is_corrupted("2^40 rows", open_segment(s));
        }),
    ));
    let s = segment.clone();
    cases.push((
        "segment: u32::MAX regions",
        Box::new(move || {
            let s = edit_directory(s, |d| put_u32(d, 0, u32::MAX));
            is_corrupted("regions", open_segment(s));
        }),
    ));
    let s = segment.clone();
    cases.push((
        "segment: a region of 2^64 - 2^20 bytes",
        Box::new(move || {
            // The first entry's length (after count u32, kind u8, column u32, offset u64).
            let s = edit_directory(s, |d| put_u64(d, 4 + 1 + 4 + 8, u64::MAX - (1 << 20)));
            is_corrupted("region length", open_segment(s));
        }),
    ));
    let s = segment.clone();
    cases.push((
        "segment: directory past the file",
        Box::new(move || {
            let s = edit_trailer(s, |t| put_u64(t, 16, u64::MAX - 8));
            is_corrupted("directory length", open_segment(s));
        }),
    ));
    cases.push((
        "manifest: header says 4 GiB",
        Box::new(|| {
            let mut m = manifest_bytes();
            put_u32(&mut m, 12, u32::MAX);
            is_corrupted("manifest length", Manifest::decode(&m, Path::new("M")));
        }),
    ));
    cases.push((
        "manifest: a 4,000,000-dimension column",
        Box::new(|| {
            let m = edit_manifest(|b| b.replacen("\"dim\": 4,", "\"dim\": 4000000,", 1));
            let result = Manifest::decode(&m, Path::new("M"));
            let text = format!("{result:?}");
            is_corrupted("dimension", result);
            assert!(text.contains("4000000"), "{text}");
        }),
    ));
    cases.push((
        "manifest: a segment of u32::MAX rows, 2^63 LSN",
        Box::new(|| {
            let m = edit_manifest(|b| {
                b.replacen("\"rows\": 40", "\"rows\": 4294967295", 1)
                    .replacen("\"last_lsn\": 9", "\"last_lsn\": 9223372036854775808", 1)
            });
            // Decodes (numbers in range); opening checks rows against the segment.
            let manifest = Manifest::decode(&m, Path::new("M")).unwrap();
            assert_eq!(manifest.collections[0].segments[0].rows, u32::MAX);
        }),
    ));
    cases.push((
        "wal: a record claiming 1 GiB in a short newest file",
        Box::new(|| {
            let file = wal_with_record(&[1, 0, 0, 0], Some(1 << 30));
            let read = read_wal_file("w.log".into(), file, Lsn(0)).unwrap();
            assert!(read.torn_tail && read.records.is_empty());
        }),
    ));
    cases.push((
        "wal: a record claiming 4 GiB",
        Box::new(|| {
            let file = wal_with_record(&[1, 0, 0, 0], Some(u32::MAX));
            let read = read_wal_file("w.log".into(), file, Lsn(0));
            assert!(
                matches!(&read, Err(Error::Corrupted { .. })) || read.as_ref().unwrap().torn_tail,
                "{read:?}"
            );
        }),
    ));
    cases.push((
        "wal: u32::MAX ops",
        Box::new(|| {
            let file = wal_with_record(&[0xff, 0xff, 0xff, 0xff, 2, 1, 0, 0, 0, b'x'], None);
            let read = read_wal_file("w.log".into(), file, Lsn(0)).unwrap();
            let body = read.body(&read.records[0]);
            is_corrupted("ops", decode_ops(&schema(), body, &read.path, 0));
        }),
    ));
    cases.push((
        "wal: a vector of 2^31 floats",
        Box::new(|| {
            let mut ops = vec![1, 0, 0, 0, 1]; // one op: Put
            ops.extend_from_slice(&[1, 0, 0, 0, b'x']); // id "x"
            ops.extend_from_slice(&[1, 0, 0, 0]); // one cell
            ops.extend_from_slice(&[0, 0, 0, 0, 6]); // column 0, VECTOR
            ops.extend_from_slice(&(1u32 << 31).to_le_bytes());
            let file = wal_with_record(&ops, None);
            let read = read_wal_file("w.log".into(), file, Lsn(0)).unwrap();
            let body = read.body(&read.records[0]);
            is_corrupted("vector length", decode_ops(&schema(), body, &read.path, 0));
        }),
    ));
    cases.push((
        "wal: the sample file still reads",
        Box::new(|| {
            let read = read_wal_file("w.log".into(), wal_bytes(), Lsn(0)).unwrap();
            assert_eq!(read.records[0].collection, CollectionId(1));
        }),
    ));
    cases.push((
        "deletions: a file for 4e9 rows",
        Box::new(|| {
            let mut t = Tombstones::new(64).encode();
            put_u32(&mut t, 12, 4_000_000_000);
            let result = Tombstones::decode(&t, Path::new("t.del"), 4_000_000_000);
            is_corrupted("deletion rows", result);
        }),
    ));

    for (what, case) in cases {
        println!("{what}");
        within_budget(BUDGET, case);
    }
}
