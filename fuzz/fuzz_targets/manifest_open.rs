//! Arbitrary bytes as a MANIFEST: decoding gives a manifest or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_storage::Manifest;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::decode(data, std::path::Path::new("MANIFEST"));
});
