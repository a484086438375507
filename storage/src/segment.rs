//! Immutable segments: one file per sealed memtable or compaction output, rows sorted by
//! item id. Every column is one contiguous, 64-byte-aligned, little-endian region that
//! readers view in place through the memory map (no copy, no deserialization). Opening
//! checks the header and directory checksums and every region's bounds: cost in
//! metadata, not data. Region checksums are checked by [`Segment::verify`].
//!
//! Byte layout: `docs/FORMAT.md`.

mod layout;
mod reader;
mod writer;

pub use layout::{Region, RegionKind, SEGMENT_MAGIC, SEGMENT_VERSION};
pub use reader::{ColumnBytes, MultiColumn, Segment};
pub use writer::{ExtraRegion, MAX_SEGMENT_ROWS, RowRefs, RowSource, SegmentWriter};

use crate::ids::SegmentId;

/// File name of a segment.
pub fn segment_file_name(id: SegmentId) -> String {
    format!("seg-{:010}.qseg", id.0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::directory::{Directory, FsDirectory};
    use crate::error::Error;
    use crate::ids::RowId;
    use crate::row::Row;
    use crate::schema::{AttrType, Metric, Schema};
    use crate::value::{Item, Value};

    /// Claims more rows than a segment can number; never asked for one.
    struct TooManyRows;

    impl RowSource for TooManyRows {
        fn len(&self) -> usize {
            MAX_SEGMENT_ROWS + 1
        }
        fn id(&self, _: usize) -> crate::Result<&str> {
            unreachable!("refused before reading rows")
        }
        fn vector(
            &self,
            _: usize,
            _: usize,
            _: &crate::Column,
        ) -> crate::Result<Option<crate::Vectors<'_>>> {
            unreachable!("refused before reading rows")
        }
        fn vectors(&self, _: usize, _: usize, _: &crate::Column) -> crate::Result<Option<&[f32]>> {
            unreachable!("refused before reading rows")
        }
        fn attr(&self, _: usize, _: usize, _: &crate::Column) -> crate::Result<Value> {
            unreachable!("refused before reading rows")
        }
    }

    #[test]
    fn more_rows_than_a_segment_can_number_are_refused_up_front() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = FsDirectory::open(tmp.path()).unwrap();
        let schema = Schema::builder()
            .vector("v", 2, Metric::L2)
            .build()
            .unwrap();
        let err = SegmentWriter::write(&dir, "seg.qseg", &schema, &TooManyRows).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("at most 4294967294 rows")),
            "{err}"
        );
        assert!(dir.list().unwrap().is_empty(), "nothing written");
    }

    #[test]
    fn rows_round_trip_and_verify_catches_a_flipped_bit() {
        let tmp = tempfile::tempdir().unwrap();
        let dir: Arc<dyn Directory> = Arc::new(FsDirectory::open(tmp.path()).unwrap());
        let schema = Schema::builder()
            .vector("v", 3, Metric::L2)
            .nullable_vector("w", 2, Metric::Dot)
            .attr("t", AttrType::Text)
            .build()
            .unwrap();
        let rows: Vec<Row> = (0..70)
            .map(|i| {
                let mut item = Item::new(format!("id{i:03}")).set("v", vec![i as f32, 1.0, 2.0]);
                if i % 3 == 0 {
                    item = item
                        .set("w", vec![-(i as f32), 0.5])
                        .set("t", format!("text {i}"));
                }
                Row::from_item(&schema, &item).unwrap()
            })
            .collect();
        let name = segment_file_name(SegmentId(1));
        SegmentWriter::write(
            dir.as_ref(),
            &name,
            &schema,
            &RowRefs(rows.iter().collect()),
        )
        .unwrap();
        let seg = Segment::open(dir.as_ref(), SegmentId(1), &schema).unwrap();
        seg.verify().unwrap();
        let (v, w, t) = (
            &schema.columns()[0],
            &schema.columns()[1],
            &schema.columns()[2],
        );
        for (i, row) in rows.iter().enumerate() {
            let r = seg.find(row.id.as_str()).unwrap().unwrap();
            assert_eq!(r, RowId(i as u32));
            assert_eq!(
                Value::Vector(seg.vector(v, r).unwrap().unwrap().to_vec()),
                row.cells[0]
            );
            let got_w = seg.vector(w, r).unwrap().map(|x| Value::Vector(x.to_vec()));
            assert_eq!(got_w.unwrap_or(Value::Null), row.cells[1]);
            assert_eq!(seg.attr(t, r).unwrap(), row.cells[2]);
        }
        assert_eq!(seg.find("nope").unwrap(), None);
        assert!(matches!(
            SegmentWriter::write(
                dir.as_ref(),
                "x.qseg",
                &schema,
                &RowRefs(vec![&rows[1], &rows[0]])
            ),
            Err(Error::InvalidArgument(_))
        ));

        let path = tmp.path().join(&name);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[640 + 3] ^= 0x10; // inside the id bytes region (offsets end at 632, aligned up to 640)
        std::fs::write(&path, &bytes).unwrap();
        let damaged = Segment::open(dir.as_ref(), SegmentId(1), &schema).unwrap();
        assert!(damaged.verify().unwrap_err().is_corruption());
    }

    #[test]
    fn multi_vector_rows_round_trip_and_elements_map_back_to_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let dir: Arc<dyn Directory> = Arc::new(FsDirectory::open(tmp.path()).unwrap());
        let schema = Schema::builder()
            .multi_vector("frames", 2, Metric::L2, true)
            .build()
            .unwrap();
        // Row i holds i % 4 vectors (0: NULL).
        let rows: Vec<Row> = (0..40)
            .map(|i| {
                let list: Vec<Vec<f32>> = (0..i % 4).map(|j| vec![i as f32, j as f32]).collect();
                let value = crate::MultiVector::new(list).unwrap();
                Row::from_item(
                    &schema,
                    &Item::new(format!("id{i:03}")).set("frames", value),
                )
                .unwrap()
            })
            .collect();
        let name = segment_file_name(SegmentId(1));
        SegmentWriter::write(
            dir.as_ref(),
            &name,
            &schema,
            &RowRefs(rows.iter().collect()),
        )
        .unwrap();
        let seg = Segment::open(dir.as_ref(), SegmentId(1), &schema).unwrap();
        seg.verify().unwrap();
        let column = &schema.columns()[0];
        let view = seg.multi_column(column).unwrap().unwrap();
        assert_eq!(view.element_count(), (0..40).map(|i| i % 4).sum::<usize>());
        for (i, row) in rows.iter().enumerate() {
            let got = seg.multi(column, RowId(i as u32)).unwrap();
            match &row.cells[0] {
                Value::Vectors(m) => assert_eq!(got, Some(m.as_flat())),
                _ => assert_eq!(got, None, "row {i} is NULL"),
            }
        }
        for e in 0..view.element_count() as u32 {
            let (row, j) = view.element_row(e).unwrap();
            let flat = seg.multi(column, row).unwrap().unwrap();
            assert_eq!(
                &flat[j as usize * 2..j as usize * 2 + 2],
                &view.elements()[e as usize * 2..e as usize * 2 + 2]
            );
        }
        assert!(view.element_row(view.element_count() as u32).is_err());
        let bytes = std::fs::read(tmp.path().join(&name)).unwrap();
        assert_eq!(
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
            3,
            "version 3"
        );
    }
}
