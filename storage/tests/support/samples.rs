//! Real, undamaged files to damage: a WAL of six records, a 40-row segment and a
//! manifest naming it, all over `schema_with_every_kind`.

use std::sync::Arc;

use quiver_storage::exercise::schema_with_every_kind;
use quiver_storage::segment::{RowRefs, segment_file_name};
use quiver_storage::wal::{WalOp, encode_record, wal_header};
use quiver_storage::{
    CollectionEntry, CollectionId, Directory, FsDirectory, Item, Lsn, Manifest, Row, Schema,
    SegmentEntry, SegmentId, SegmentWriter,
};

pub fn schema() -> Schema {
    schema_with_every_kind()
}

pub fn rows() -> Vec<Row> {
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

pub fn wal_bytes() -> Vec<u8> {
    let mut bytes = wal_header().to_vec();
    for (i, chunk) in rows().chunks(7).enumerate() {
        let mut ops: Vec<WalOp> = chunk.iter().cloned().map(WalOp::Put).collect();
        ops.push(WalOp::Delete(chunk[0].id.clone()));
        bytes.extend(encode_record(Lsn(i as u64 + 1), CollectionId(1), &schema(), &ops).unwrap());
    }
    bytes
}

pub fn segment_bytes() -> Vec<u8> {
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

pub fn manifest_bytes() -> Vec<u8> {
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
