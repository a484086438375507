//! Vector columns stored at half precision (`F16`, `BF16`): values rounded once at
//! write, the same answers from the memtable and from segments, through compaction,
//! index builds and a reopen; values beyond the type's range refused.

use quiver::{DType, Database, Error, IndexSpec, Item, Metric, Schema, SearchOptions, WriteBatch};

const DIM: usize = 24;

fn vector(i: usize) -> Vec<f32> {
    (0..DIM)
        .map(|d| (((i * 31 + d * 17) % 97) as f32 - 48.0) / 7.3 + 1e-3 * i as f32)
        .collect()
}

fn batch(from: usize, n: usize) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in from..from + n {
        w.insert(
            Item::new(format!("i{i:04}"))
                .set("h", vector(i))
                .set("b", vector(i))
                .set("f", vector(i)),
        );
    }
    w
}

fn open(path: &std::path::Path) -> Database {
    Database::open(path).unwrap()
}

fn rounded(dtype: DType, mut v: Vec<f32>) -> Vec<f32> {
    dtype.round(&mut v).unwrap();
    v
}

/// Every item's (id, stored `h`, stored `b`).
type Stored = Vec<(String, Vec<f32>, Vec<f32>)>;

/// Every item's stored `h` and `b`, and the top 5 by each column for a few queries.
fn answers(db: &Database) -> (Stored, Vec<Vec<String>>) {
    let snap = db.snapshot().collection("c").unwrap();
    let mut values: Vec<(String, Vec<f32>, Vec<f32>)> = snap
        .scan()
        .map(|item| {
            (
                item.id().unwrap().to_string(),
                item.vector("h").unwrap().unwrap().to_vec(),
                item.vector("b").unwrap().unwrap().to_vec(),
            )
        })
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    let exact = SearchOptions::default().exact(true);
    let mut tops = Vec::new();
    for q in [3, 50, 101] {
        for column in ["h", "b", "f"] {
            let hits = snap.search(column, &vector(q), 5, &exact).unwrap();
            tops.push(
                hits.iter()
                    .map(|h| h.item.id().unwrap().to_string())
                    .collect(),
            );
        }
    }
    (values, tops)
}

#[test]
fn half_precision_columns_round_once_and_answer_alike_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let schema = Schema::builder()
        .typed_vector("h", DIM as u32, DType::F16, Metric::Cosine)
        .typed_vector("b", DIM as u32, DType::Bf16, Metric::L2)
        .vector("f", DIM as u32, Metric::Cosine)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    assert_eq!(
        c.schema().unwrap().column("h").unwrap().1.type_name(),
        "VECTOR(24) F16 COSINE"
    );
    c.commit(batch(0, 120)).unwrap();

    // Read back: the inputs rounded once, already in the memtable.
    let in_memory = answers(&db);
    for (id, h, b) in &in_memory.0 {
        let i: usize = id[1..].parse().unwrap();
        assert_eq!(h, &rounded(DType::F16, vector(i)), "{id}");
        assert_eq!(b, &rounded(DType::Bf16, vector(i)), "{id}");
        assert_ne!(h, &vector(i), "{id}: F16 keeps 11 significant bits");
    }
    // A query equal to a stored row finds that row first, at distance ~0.
    let snap = db.snapshot().collection("c").unwrap();
    let hits = snap
        .search(
            "h",
            &in_memory.0[7].1,
            1,
            &SearchOptions::default().exact(true),
        )
        .unwrap();
    assert_eq!(hits[0].item.id().unwrap(), in_memory.0[7].0);
    assert!(hits[0].distance.abs() < 1e-6, "{}", hits[0].distance);

    // Sealed into a segment (2 bytes per value), compacted, indexed, reopened: the
    // same values and the same answers.
    c.flush().unwrap();
    let footprint = db.snapshot().collection("c").unwrap().footprint();
    let bytes: Vec<u64> = footprint.columns.iter().map(|c| c.rows).collect();
    assert_eq!(
        bytes,
        vec![
            120 * DIM as u64 * 2,
            120 * DIM as u64 * 2,
            120 * DIM as u64 * 4
        ]
    );
    assert_eq!(answers(&db), in_memory);
    // Written as version 4, so a build that cannot read 2-byte elements refuses the
    // segment (UnsupportedVersion) instead of misreading it.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "qseg") {
            let head = std::fs::read(&path).unwrap();
            assert_eq!(u32::from_le_bytes(head[8..12].try_into().unwrap()), 4);
        }
    }
    c.commit(batch(120, 30)).unwrap();
    c.flush().unwrap();
    c.compact().unwrap();
    c.create_index("h", IndexSpec::hnsw()).unwrap();
    c.create_index("b", IndexSpec::ivf_pq()).unwrap();
    let all = answers(&db);
    assert_eq!(all.0[..120], in_memory.0[..]);
    drop((c, db));
    let db = open(dir.path());
    assert_eq!(answers(&db), all);

    // The indexes find what the exact scan finds on this small set.
    let snap = db.snapshot().collection("c").unwrap();
    let q = vector(77);
    for column in ["h", "b"] {
        let exact = snap
            .search(column, &q, 5, &SearchOptions::default().exact(true))
            .unwrap();
        let indexed = snap
            .search(column, &q, 5, &SearchOptions::default().ef(128))
            .unwrap();
        let ids = |h: &[quiver::SearchHit<'_>]| {
            h.iter()
                .map(|h| h.item.id().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&indexed)[0], ids(&exact)[0], "{column}");
    }
}

#[test]
fn values_beyond_the_range_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let schema = Schema::builder()
        .typed_vector("h", 2, DType::F16, Metric::L2)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    let mut w = WriteBatch::new();
    w.insert(Item::new("ok").set("h", vec![65_504.0, -1.0]));
    w.insert(Item::new("big").set("h", vec![1.0, -70_000.0]));
    let e = c.commit(w).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::OutOfRange {
                index: 1,
                dtype: "F16",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("±65504"), "{e}");
    assert_eq!(c.count().unwrap(), 0);
    let mut w = WriteBatch::new();
    w.insert(Item::new("ok").set("h", vec![65_504.0, -1.0]));
    c.commit(w).unwrap();
    assert_eq!(c.count().unwrap(), 1);

    // A list of vectors stays F32.
    let e = Schema::builder()
        .multi_vector("m", 2, Metric::L2, true)
        .build()
        .map(|s| {
            s.with_column(
                "m2",
                quiver::ColumnKind::MultiVector(quiver::VectorColumn {
                    dim: 2,
                    dtype: DType::F16,
                    metric: Metric::L2,
                }),
                true,
            )
        });
    assert!(matches!(e, Ok(Err(Error::InvalidArgument(_)))), "{e:?}");
}
