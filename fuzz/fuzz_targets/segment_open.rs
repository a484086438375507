//! Arbitrary bytes as a segment file: opening and reading every row must give values
//! or a typed error, never a panic or an out-of-bounds read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_storage::{AttrType, MappedBytes, Metric, RowId, Schema, Segment, SegmentId};

fuzz_target!(|data: &[u8]| {
    let schema = Schema::builder()
        .vector("v", 4, Metric::L2)
        .nullable_vector("w", 2, Metric::Dot)
        .attr("t", AttrType::Text)
        .build()
        .expect("a valid schema");
    let bytes = MappedBytes::from_vec(data.to_vec());
    let Ok(segment) = Segment::from_bytes(SegmentId(1), "fuzz.qseg".into(), bytes, &schema) else {
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
});
