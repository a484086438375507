//! Damaged files never panic: real WAL, segment and manifest bytes with random bit
//! flips, overwrites and truncations decode to values or to a typed error. The same
//! bodies as the cargo-fuzz targets in `fuzz/`, run here on the stable toolchain.

mod support;

use std::path::Path;

use proptest::prelude::*;
use quiver_storage::exercise::{read_manifest_bytes, read_segment_bytes, read_wal_bytes};
use quiver_storage::wal::read_wal_file;
use quiver_storage::{Lsn, Manifest, MappedBytes, Segment, SegmentId};
use support::samples::{manifest_bytes, schema, segment_bytes, wal_bytes};

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
