//! VERIFY: a sound database checks clean; each checked-in damaged fixture is reported
//! in the file that is damaged (and the others still check); a byte flipped in one
//! segment is found by its checksums while the other segment stays clean, by the
//! open database's VERIFY too.

use std::path::{Path, PathBuf};

use quiver::{Database, IndexSpec, Item, Metric, Schema, WriteBatch};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The checks that failed, as (file, check).
fn problems(report: &quiver::VerifyReport) -> Vec<(String, String)> {
    report
        .problems()
        .map(|c| (c.file.clone(), c.what.clone()))
        .collect()
}

#[test]
fn fixtures_are_reported_in_the_damaged_file() {
    let good = quiver::verify_path(fixture("good")).unwrap();
    assert!(good.is_ok(), "{:?}", problems(&good));
    let whats: Vec<&str> = good.checks.iter().map(|c| c.what.as_str()).collect();
    for expected in [
        "checksum and format",
        "structure",
        "row count",
        "checksums",
        "ids",
        "records",
    ] {
        assert!(
            whats.contains(&expected),
            "{expected} missing from {whats:?}"
        );
    }

    for (name, file, what) in [
        ("manifest_bad_crc", "MANIFEST", "checksum and format"),
        ("segment_truncated", "seg-0000000001.qseg", "structure"),
        ("segment_wrong_magic", "seg-0000000001.qseg", "structure"),
        ("segment_wrong_version", "seg-0000000001.qseg", "structure"),
        (
            "wal_bad_crc_mid_log",
            "wal-00000000000000000002.log",
            "records",
        ),
        (
            "wal_wrong_version",
            "wal-00000000000000000002.log",
            "records",
        ),
    ] {
        let report = quiver::verify_path(fixture(name)).unwrap();
        let found = problems(&report);
        assert_eq!(found, vec![(file.to_string(), what.to_string())], "{name}");
        let problem = report.problems().next().unwrap().problem.clone().unwrap();
        assert!(problem.contains(file), "{name}: {problem}");
    }
    // A torn tail in the newest WAL file is what a crash leaves: reported, not a problem.
    let torn = quiver::verify_path(fixture("torn_wal_tail")).unwrap();
    assert!(torn.is_ok(), "{:?}", problems(&torn));
    assert!(torn.checks.iter().any(|c| c.detail.contains("torn tail")));
}

#[test]
fn a_flipped_byte_is_found_in_its_segment_only() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let schema = Schema::builder()
            .vector("v", 8, Metric::L2)
            .build()
            .unwrap();
        let c = db.create_collection("c", schema).unwrap();
        // The index is declared after the first segment is sealed (built into it then)
        // and built at flush for the second.
        for part in 0..2 {
            let mut batch = WriteBatch::new();
            for i in 0..300 {
                let v: Vec<f32> = (0..8)
                    .map(|d| ((i * 7 + d * 3 + part) % 17) as f32)
                    .collect();
                batch.insert(Item::new(format!("{part}-{i:04}")).set("v", v));
            }
            c.commit(batch).unwrap();
            c.flush().unwrap();
            if part == 0 {
                c.create_index("v", IndexSpec::hnsw().m(8).ef_construction(32))
                    .unwrap();
            }
        }
        c.delete("0-0003").unwrap();
        c.flush().unwrap();
        let report = db.verify().unwrap();
        assert!(report.is_ok(), "{:?}", problems(&report));
        let whats: Vec<&str> = report.checks.iter().map(|c| c.what.as_str()).collect();
        assert!(
            whats.contains(&"index v") && whats.contains(&"deletions"),
            "{whats:?}"
        );
    }
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "qseg"))
        .collect();
    segments.sort();
    assert_eq!(segments.len(), 2);
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&segments[0], &bytes).unwrap();

    let report = quiver::verify_path(dir.path()).unwrap();
    let damaged = segments[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let found = problems(&report);
    assert!(!found.is_empty());
    assert!(found.iter().all(|(file, _)| *file == damaged), "{found:?}");
    assert!(
        found.iter().any(|(_, what)| what == "checksums"),
        "{found:?}"
    );
    // The other segment's checks all ran and held.
    let other = segments[1]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(report.checks.iter().filter(|c| c.file == other).count() >= 4);

    // The open database's VERIFY finds the same.
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(problems(&db.verify().unwrap()), found);
}
