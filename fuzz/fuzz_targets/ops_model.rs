//! Arbitrary bytes as a sequence of database operations, power cuts and reopens on one
//! collection, checked after each against a plain map with brute-force kNN (see
//! `quiver::exercise::ops_model`). Each input runs in a fresh folder, in /dev/shm when
//! there is one (the folder's I/O is most of the cost).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver::exercise::ops_model;

fuzz_target!(|data: &[u8]| {
    let shm = std::path::Path::new("/dev/shm");
    let scratch = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("a scratch folder");
    ops_model(data, scratch.path());
});
