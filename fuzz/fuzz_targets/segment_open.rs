//! Arbitrary bytes as a segment file: opening and reading every row gives values or a
//! typed error, never a panic or an out-of-bounds read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_storage::exercise::{read_segment_bytes, schema_with_every_kind};

fuzz_target!(|data: &[u8]| read_segment_bytes(&schema_with_every_kind(), data));
