//! Damaged files never panic: real WAL, segment and manifest bytes with random bit
//! flips, overwrites and truncations decode to values or to a typed error. The same
//! bodies as the cargo-fuzz targets in `fuzz/`, run here on the stable toolchain.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use quiver_storage::exercise::{
    read_manifest_bytes, read_segment_bytes, read_wal_bytes, schema_with_every_kind,
};
use quiver_storage::segment::{RowRefs, segment_file_name};
use quiver_storage::wal::{WalOp, encode_record, read_wal_file, wal_header};
use quiver_storage::{
    CollectionEntry, CollectionId, Directory, FsDirectory, Item, Lsn, Manifest, MappedBytes, Row,
    Schema, Segment, SegmentEntry, SegmentId, SegmentWriter,
};

fn schema() -> Schema {
    schema_with_every_kind()
}

fn rows() -> Vec<Row> {
    (0..40)
        .map(|i| {
            let mut item = Item::new(format!("id-{i:03}")).set("v", vec![i as f32; 4]);
            if i % 2 == 0 {
                item = item
                    .set("w", vec![1.0, -1.0])
                    .set("t", format!("t{i}"))
                    .set("tags", vec!["a".to_string()]);
            }
            Row::from_item(&schema(), &item).unwrap()
        })
        .collect()
}

fn wal_bytes() -> Vec<u8> {
    let mut bytes = wal_header().to_vec();
    for (i, chunk) in rows().chunks(7).enumerate() {
        let mut ops: Vec<WalOp> = chunk.iter().cloned().map(WalOp::Put).collect();
        ops.push(WalOp::Delete(chunk[0].id.clone()));
        bytes.extend(encode_record(Lsn(i as u64 + 1), CollectionId(1), &schema(), &ops).unwrap());
    }
    bytes
}

fn segment_bytes() -> Vec<u8> {
    let tmp = tempfile::tempdir().unwrap();
    let dir: Arc<dyn Directory> = Arc::new(FsDirectory::open(tmp.path()).unwrap());
    let name = segment_file_name(SegmentId(1));
    SegmentWriter::write(
        dir.as_ref(),
        &name,
        &schema(),
        &RowRefs(rows().iter().collect()),
    )
    .unwrap();
    dir.read(&name).unwrap()
}

fn manifest_bytes() -> Vec<u8> {
    let manifest = Manifest {
        next_segment_id: 2,
        next_collection_id: 2,
        last_lsn: Lsn(9),
        next_tombstone_generation: 1,
        collections: vec![CollectionEntry {
            id: CollectionId(1),
            name: "c".into(),
            schema: schema(),
            flushed_lsn: Lsn(3),
            segments: vec![SegmentEntry {
                id: SegmentId(1),
                rows: 40,
                tombstones: None,
                deleted: 0,
            }],
        }],
    };
    manifest.encode().unwrap()
}

#[derive(Clone, Debug)]
enum Damage {
    Flip(usize, u8),
    Overwrite(usize, Vec<u8>),
    Truncate(usize),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip(at, bit)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..9))
            .prop_map(|(at, b)| Damage::Overwrite(at, b)),
        any::<usize>().prop_map(Damage::Truncate),
    ];
    prop::collection::vec(one, 1..4)
}

fn apply(mut bytes: Vec<u8>, damage: &[Damage]) -> Vec<u8> {
    for d in damage {
        if bytes.is_empty() {
            break;
        }
        match d {
            Damage::Flip(at, bit) => {
                let i = at % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            Damage::Overwrite(at, with) => {
                let i = at % bytes.len();
                let n = with.len().min(bytes.len() - i);
                bytes[i..i + n].copy_from_slice(&with[..n]);
            }
            Damage::Truncate(at) => bytes.truncate(at % bytes.len()),
        }
    }
    bytes
}

#[test]
fn undamaged_files_read_back() {
    let wal = read_wal_file("w".into(), wal_bytes(), Lsn(0)).unwrap();
    assert_eq!(wal.records.len(), 6);
    let seg = Segment::from_bytes(
        SegmentId(1),
        "s".into(),
        MappedBytes::from_vec(segment_bytes()),
        &schema(),
    )
    .unwrap();
    seg.verify().unwrap();
    assert_eq!(seg.rows(), 40);
    Manifest::decode(&manifest_bytes(), Path::new("M")).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn damaged_wal_never_panics(d in damage()) {
        read_wal_bytes(&schema(), &apply(wal_bytes(), &d));
    }

    #[test]
    fn damaged_segment_never_panics(d in damage()) {
        read_segment_bytes(&schema(), &apply(segment_bytes(), &d));
    }

    #[test]
    fn damaged_manifest_never_panics(d in damage()) {
        read_manifest_bytes(&apply(manifest_bytes(), &d));
    }
}
