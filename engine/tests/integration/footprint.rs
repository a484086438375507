//! A collection's bytes by column (`CollectionSnapshot::footprint`): the rows' own
//! bytes, the index and its codes, ids and the memtable, against what the files hold.

use quiver::{Database, IndexSpec, Item, Metric, Quantize, Schema, WriteBatch};

const DIM: usize = 16;
const ROWS: usize = 300;

fn items(from: usize, n: usize) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in from..from + n {
        let v: Vec<f32> = (0..DIM)
            .map(|d| ((i * 7 + d * 13) % 29) as f32 - 14.0)
            .collect();
        w.insert(
            Item::new(format!("item{i:04}"))
                .set("v", v.clone())
                .set("w", v)
                .set("title", format!("title {i}")),
        );
    }
    w
}

#[test]
fn bytes_are_counted_per_column_and_add_up_to_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .vector("v", DIM as u32, Metric::Cosine)
        .vector("w", DIM as u32, Metric::L2)
        .attr("title", quiver::AttrType::Text)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    c.commit(items(0, ROWS)).unwrap();
    let before = db.snapshot().collection("c").unwrap().footprint();
    assert!(before.memtable > (ROWS * DIM * 4) as u64, "{before:?}");
    assert_eq!(before.segment_bytes(), 0);

    c.create_index("v", IndexSpec::hnsw()).unwrap();
    c.create_index("w", IndexSpec::hnsw().quantize(Quantize::None))
        .unwrap();
    let after = db.snapshot().collection("c").unwrap().footprint();
    assert_eq!(after.memtable, 0);
    let [v, w, title] = &after.columns[..] else {
        panic!("{after:?}")
    };
    assert_eq!((v.column.as_str(), w.column.as_str()), ("v", "w"));
    // A vector column's rows are its f32s, exactly.
    assert_eq!(v.rows, (ROWS * DIM * 4) as u64);
    assert_eq!(w.rows, v.rows);
    // HNSW on 8-bit codes: at least a byte per dimension and row, within the index.
    assert!(v.codes >= (ROWS * DIM) as u64 && v.codes < v.rows, "{v:?}");
    assert!(v.index > v.codes, "{v:?}");
    // HNSW on the vectors themselves: a graph, no codes.
    assert!(w.index > 0 && w.codes == 0, "{w:?}");
    assert!(
        title.rows > (ROWS * 7) as u64 && title.index == 0,
        "{title:?}"
    );
    assert!(after.ids >= (ROWS * 8) as u64, "{after:?}");

    // Everything counted is in the files, and little of the files is not counted
    // (headers and the region directory).
    let files: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".qseg"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    let counted = after.segment_bytes();
    assert!(
        counted <= files && counted * 100 >= files * 95,
        "{counted} of {files}"
    );
}
