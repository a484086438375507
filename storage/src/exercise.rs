//! Read everything out of untrusted bytes and throw the results away: the bodies of the
//! cargo-fuzz targets (`fuzz/`) and of the damaged-file tests, kept in one place. Each
//! must return (with values or typed errors) for any input: never panic, never read out
//! of bounds, never allocate beyond what the input can hold.

use std::path::Path;

use crate::directory::MappedBytes;
use crate::ids::{Lsn, RowId, SegmentId};
use crate::manifest::Manifest;
use crate::schema::{AttrType, Metric, Schema};
use crate::segment::Segment;
use crate::wal::{decode_ops, read_wal_file};

/// A schema with every kind of column, for fuzzing and damaged-file tests.
pub fn schema_with_every_kind() -> Schema {
    Schema::builder()
        .vector("v", 4, Metric::L2)
        .nullable_vector("w", 2, Metric::Dot)
        .attr("t", AttrType::Text)
        .attr("tags", AttrType::Tags)
        .attr("n", AttrType::Int)
        .attr("x", AttrType::Float)
        .attr("b", AttrType::Bool)
        .build()
        .expect("a valid schema")
}

/// Parses `data` as a WAL file and decodes every record's ops against `schema`.
pub fn read_wal_bytes(schema: &Schema, data: &[u8]) {
    if let Ok(file) = read_wal_file("untrusted.log".into(), data.to_vec(), Lsn(0)) {
        for record in &file.records {
            let _ = decode_ops(
                schema,
                file.body(record),
                &file.path,
                record.body_start as u64,
            );
        }
    }
}

/// Opens `data` as a segment of `schema`, verifies it, and reads every cell of up to
/// 1,024 rows.
pub fn read_segment_bytes(schema: &Schema, data: &[u8]) {
    let bytes = MappedBytes::from_vec(data.to_vec());
    let Ok(segment) = Segment::from_bytes(SegmentId(1), "untrusted.qseg".into(), bytes, schema)
    else {
        return;
    };
    let _ = segment.verify();
    for row in (0..segment.rows().min(1024)).map(RowId) {
        if let Ok(id) = segment.id_at(row) {
            let _ = segment.find(id);
        }
        for column in schema.columns() {
            match column.vector() {
                Some(_) => drop(segment.vector(column, row)),
                None => drop(segment.attr(column, row)),
            }
        }
    }
}

/// Decodes `data` as a manifest.
pub fn read_manifest_bytes(data: &[u8]) {
    let _ = Manifest::decode(data, Path::new("MANIFEST"));
}
