//! Arbitrary bytes as a WAL file: reading and decoding must give records or a typed
//! error, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_storage::wal::{decode_ops, read_wal_file};
use quiver_storage::{Lsn, Metric, Schema};

fuzz_target!(|data: &[u8]| {
    let schema = Schema::builder()
        .vector("v", 4, Metric::L2)
        .attr("t", quiver_storage::AttrType::Text)
        .attr("tags", quiver_storage::AttrType::Tags)
        .build()
        .expect("a valid schema");
    if let Ok(file) = read_wal_file("fuzz.log".into(), data.to_vec(), Lsn(0)) {
        for record in &file.records {
            let _ = decode_ops(&schema, file.body(record), &file.path, record.body_start as u64);
        }
    }
});
