//! Arbitrary bytes as a WAL file: reading and decoding gives records or a typed error,
//! never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_storage::exercise::{read_wal_bytes, schema_with_every_kind};

fuzz_target!(|data: &[u8]| read_wal_bytes(&schema_with_every_kind(), data));
