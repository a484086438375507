//! The public API end to end: schemas, writes, reads, reopen, flush, compaction,
//! columns added and dropped, locking, and bad input rejected whole.

use quiver::{
    AttrType, ColumnKind, Database, Error, Item, Metric, OpenOptions, Schema, Value, WriteBatch,
};

fn schema() -> Schema {
    Schema::builder()
        .attr("title", AttrType::Text)
        .attr("category", AttrType::Text)
        .attr("price", AttrType::Float)
        .attr("stock", AttrType::Int)
        .attr("sale", AttrType::Bool)
        .attr("tags", AttrType::Tags)
        .vector("text_vec", 4, Metric::Cosine)
        .nullable_vector("image_vec", 3, Metric::L2)
        .build()
        .unwrap()
}

fn product(i: u32) -> Item {
    let f = i as f32;
    Item::new(format!("p{i:04}"))
        .set("title", format!("product {i}"))
        .set(
            "category",
            if i.is_multiple_of(2) { "shoes" } else { "hats" },
        )
        .set("price", 10.0 + i as f64)
        .set("stock", i as i64)
        .set("sale", i.is_multiple_of(3))
        .set("tags", vec![format!("t{}", i % 5), "all".to_string()])
        .set("text_vec", vec![f, f + 1.0, f + 2.0, f + 3.0])
        .set(
            "image_vec",
            if i.is_multiple_of(4) {
                Value::Null
            } else {
                Value::Vector(vec![f, 0.5, -f])
            },
        )
}

fn assert_product(db: &Database, i: u32) {
    let snap = db.snapshot().collection("products").unwrap();
    let item = snap
        .get(&format!("p{i:04}"))
        .unwrap()
        .unwrap_or_else(|| panic!("p{i:04} missing"));
    let f = i as f32;
    assert_eq!(
        item.vector("text_vec").unwrap().unwrap().as_ref(),
        &[f, f + 1.0, f + 2.0, f + 3.0]
    );
    let image = item.vector("image_vec").unwrap();
    if i.is_multiple_of(4) {
        assert!(image.is_none());
    } else {
        assert_eq!(image.unwrap().as_ref(), &[f, 0.5, -f]);
    }
    assert_eq!(item.value("price").unwrap(), Value::Float(10.0 + i as f64));
    assert_eq!(
        item.value("sale").unwrap(),
        Value::Bool(i.is_multiple_of(3))
    );
    assert_eq!(
        item.value("tags").unwrap(),
        Value::Tags(vec![format!("t{}", i % 5), "all".into()])
    );
}

#[test]
fn write_read_flush_reopen_compact() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let products = db.create_collection("products", schema()).unwrap();
        let mut batch = WriteBatch::new();
        for i in 0..50 {
            batch.insert(product(i));
        }
        products.commit(batch).unwrap();
        products.flush().unwrap();
        let mut batch = WriteBatch::new();
        for i in 50..80 {
            batch.insert(product(i));
        }
        batch.delete("p0003");
        products.commit(batch).unwrap();
        products.upsert(product(7).set("title", "renamed")).unwrap();
        assert_eq!(products.count().unwrap(), 79);
        for i in [0, 1, 4, 49, 50, 79] {
            assert_product(&db, i);
        }
    }
    let db = Database::open(dir.path()).unwrap();
    let products = db.collection("products").unwrap();
    assert_eq!(products.count().unwrap(), 79);
    assert!(products.snapshot().unwrap().get("p0003").unwrap().is_none());
    let renamed = products
        .snapshot()
        .unwrap()
        .get("p0007")
        .unwrap()
        .unwrap()
        .value("title")
        .unwrap();
    assert_eq!(renamed, Value::Text("renamed".into()));
    products.flush().unwrap();
    products.compact().unwrap();
    let snap = products.snapshot().unwrap();
    assert_eq!(snap.segment_count(), 1);
    assert_eq!(snap.count(), 79);
    assert_eq!(snap.scan().count(), 79);
    for i in (0..80).filter(|&i| i != 3 && i != 7) {
        assert_product(&db, i);
    }
    drop((products, snap, db));
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.collection("products").unwrap().count().unwrap(), 79);
    assert_product(&db, 42);
}

#[test]
fn a_bad_item_rejects_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let products = db.create_collection("products", schema()).unwrap();
    products.insert(product(1)).unwrap();
    type Expect = fn(&Error) -> bool;
    let bad: Vec<(Item, Expect)> = vec![
        (product(2).set("text_vec", vec![1.0, 2.0]), |e| {
            matches!(e, Error::DimensionMismatch { .. })
        }),
        (
            product(2).set("text_vec", vec![1.0, f32::NAN, 0.0, 0.0]),
            |e| matches!(e, Error::NonFiniteVector { .. }),
        ),
        (product(2).set("colour", "red"), |e| {
            matches!(e, Error::UnknownColumn { .. })
        }),
        (product(2).set("price", "cheap"), |e| {
            matches!(e, Error::TypeMismatch { .. })
        }),
        (Item::new("p0002").set("title", "no vector"), |e| {
            matches!(e, Error::MissingValue { .. })
        }),
        (product(10), |e| matches!(e, Error::DuplicateId { .. })),
    ];
    for (item, expected) in bad {
        let mut batch = WriteBatch::new();
        batch.insert(product(10)).delete("p0001").insert(item);
        let err = products.commit(batch).unwrap_err();
        assert!(expected(&err), "got {err:?}");
        assert_eq!(
            products.count().unwrap(),
            1,
            "nothing of the batch is written"
        );
        assert!(products.snapshot().unwrap().get("p0010").unwrap().is_none());
    }
    let mut batch = WriteBatch::new();
    batch.insert(product(20)).insert(product(20));
    assert!(matches!(
        products.commit(batch),
        Err(Error::DuplicateId { .. })
    ));
    assert!(matches!(
        products.update(Item::new("nope").set("title", "x")),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        products.insert(Item::new("").set("text_vec", vec![0.0; 4])),
        Err(Error::InvalidId { .. })
    ));
    drop((products, db));
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.collection("products").unwrap().count().unwrap(), 1);
}

#[test]
fn add_backfill_and_drop_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let products = db.create_collection("products", schema()).unwrap();
    for i in 0..10 {
        products.insert(product(i)).unwrap();
    }
    let clip = ColumnKind::Vector(quiver_storage_shape(512));
    assert!(matches!(
        products.add_column("clip_vec", clip, false),
        Err(Error::InvalidArgument(_))
    ));
    products.add_column("clip_vec", clip, true).unwrap();
    let snap = products.snapshot().unwrap();
    assert!(
        snap.get("p0001")
            .unwrap()
            .unwrap()
            .vector("clip_vec")
            .unwrap()
            .is_none()
    );
    let mut backfill = WriteBatch::new();
    for i in 0..10 {
        backfill.update(Item::new(format!("p{i:04}")).set("clip_vec", vec![i as f32; 512]));
    }
    products.commit(backfill).unwrap();
    assert_eq!(
        products
            .snapshot()
            .unwrap()
            .get("p0009")
            .unwrap()
            .unwrap()
            .vector("clip_vec")
            .unwrap()
            .unwrap(),
        &[9.0; 512][..]
    );
    assert_product(&db, 9); // the update kept the other columns
    products.drop_column("image_vec").unwrap();
    let snap = products.snapshot().unwrap();
    assert!(matches!(
        snap.get("p0001").unwrap().unwrap().vector("image_vec"),
        Err(Error::UnknownColumn { .. })
    ));
    // Re-adding the name gives a new, empty column: old bytes never come back.
    products
        .add_column(
            "image_vec",
            ColumnKind::Vector(quiver_storage_shape(3)),
            true,
        )
        .unwrap();
    products.compact().unwrap();
    drop((snap, products, db));
    let db = Database::open(dir.path()).unwrap();
    let snap = db.snapshot().collection("products").unwrap();
    let item = snap.get("p0001").unwrap().unwrap();
    assert!(item.vector("image_vec").unwrap().is_none());
    assert_eq!(item.vector("clip_vec").unwrap().unwrap(), &[1.0; 512][..]);
}

fn quiver_storage_shape(dim: u32) -> quiver::VectorColumn {
    quiver::VectorColumn {
        dim,
        dtype: quiver::DType::F32,
        metric: Metric::Cosine,
    }
}

#[test]
fn a_4096_dimensional_column_round_trips_through_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let schema = Schema::builder()
        .vector("big", 4096, Metric::Dot)
        .build()
        .unwrap();
    let c = db.create_collection("wide", schema).unwrap();
    let v: Vec<f32> = (0..4096).map(|i| i as f32 * 0.25).collect();
    c.insert(Item::new("a").set("big", v.clone())).unwrap();
    c.flush().unwrap();
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let snap = db.snapshot().collection("wide").unwrap();
    let got = snap
        .get("a")
        .unwrap()
        .unwrap()
        .vector("big")
        .unwrap()
        .unwrap();
    assert_eq!(got, &v[..]);
    assert_eq!(
        got.as_ptr() as usize % 64,
        0,
        "segment vectors are 64-byte aligned in the map"
    );
}

#[test]
fn one_writer_many_readers() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.create_collection("products", schema())
        .unwrap()
        .insert(product(1))
        .unwrap();
    assert!(matches!(
        Database::open(dir.path()),
        Err(Error::Locked { .. })
    ));
    let reader = OpenOptions::new().read_only(true).open(dir.path()).unwrap();
    assert_eq!(reader.collection("products").unwrap().count().unwrap(), 1);
    assert!(matches!(
        reader.collection("products").unwrap().insert(product(2)),
        Err(Error::ReadOnly)
    ));
    drop(db);
    let again = Database::open(dir.path()).unwrap();
    assert_eq!(again.collection_names(), vec!["products".to_string()]);
}

#[test]
fn snapshots_are_point_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let products = db.create_collection("products", schema()).unwrap();
    products.insert(product(1)).unwrap();
    let before = products.snapshot().unwrap();
    products.insert(product(2)).unwrap();
    products.delete("p0001").unwrap();
    products.flush().unwrap();
    products.compact().unwrap();
    assert_eq!(before.count(), 1);
    assert!(before.get("p0001").unwrap().is_some());
    assert!(before.get("p0002").unwrap().is_none());
    let after = products.snapshot().unwrap();
    assert!(after.get("p0001").unwrap().is_none());
    assert!(after.get("p0002").unwrap().is_some());
}

#[test]
fn collections_are_created_listed_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    db.create_collection("a", schema())
        .unwrap()
        .insert(product(1))
        .unwrap();
    assert!(matches!(
        db.create_collection("a", schema()),
        Err(Error::CollectionExists { .. })
    ));
    assert!(matches!(
        db.create_collection("bad name", schema()),
        Err(Error::InvalidArgument(_))
    ));
    db.collection("a").unwrap().flush().unwrap();
    db.drop_collection("a").unwrap();
    assert!(matches!(
        db.collection("a"),
        Err(Error::UnknownCollection { .. })
    ));
    let fresh = db.create_collection("a", schema()).unwrap();
    assert_eq!(fresh.count().unwrap(), 0);
    drop((fresh, db));
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(db.collection("a").unwrap().count().unwrap(), 0);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".qseg"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "dropped collection's segments removed: {leftovers:?}"
    );
}
