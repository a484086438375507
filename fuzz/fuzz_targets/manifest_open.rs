//! Arbitrary bytes as a MANIFEST: decoding gives a manifest or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_storage::exercise::read_manifest_bytes;

fuzz_target!(|data: &[u8]| read_manifest_bytes(data));
