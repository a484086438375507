//! The indexes a segment stores, viewed in place from its memory map: sizes are
//! checked here (cheaply), so a damaged file gives `Corrupted` instead of a bad read;
//! links out of range are harmless (searches skip them).

use quiver_index::calibration::DistanceSpan;
use quiver_index::hnsw::{GraphView, NONE};
use quiver_index::ivf::IvfPqParts;
use quiver_index::sq8::Sq8View;
use quiver_index::{Calibration, IvfPqView};
use quiver_storage::segment::RegionKind;
use quiver_storage::{Column, Error, Result, Segment};

use crate::indexes::{GraphKinds, HNSW_KINDS, IVF_GRAPH_KINDS};

/// The HNSW graph a segment stores for `column`, viewed in place; `None` if it has none.
pub(crate) fn segment_graph<'a>(
    segment: &'a Segment,
    column: &Column,
) -> Result<Option<GraphView<'a>>> {
    graph_view(
        segment,
        column,
        RegionKind::HnswMeta,
        HNSW_KINDS,
        segment.rows() as usize,
    )
}

/// The 8-bit codes a segment stores for `column`'s graph, viewed in place; `None` if
/// it has none (an index declared without them, or a segment written before them).
pub(crate) fn segment_codes<'a>(
    segment: &'a Segment,
    column: &Column,
) -> Result<Option<Sq8View<'a>>> {
    let Some(ranges) = segment.f32_region(RegionKind::Sq8Ranges, column.id)? else {
        return Ok(None);
    };
    let codes = segment
        .region_of(RegionKind::Sq8Codes, column.id)
        .ok_or_else(|| damaged(segment, "Sq8Codes region is missing".into()))?;
    let shape = column
        .vector()
        .ok_or_else(|| damaged(segment, "8-bit codes on a non-vector column".into()))?;
    let rows = segment.rows() as usize;
    Sq8View::new(shape.metric, shape.dim as usize, ranges, codes, rows)
        .map(Some)
        .map_err(|reason| damaged(segment, format!("column {}: {reason}", column.name)))
}

/// A graph stored under `meta_kind` and `kinds`, which must have `n` nodes.
fn graph_view<'a>(
    segment: &'a Segment,
    column: &Column,
    meta_kind: RegionKind,
    kinds: GraphKinds,
    n: usize,
) -> Result<Option<GraphView<'a>>> {
    let Some(meta) = segment.u32_region(meta_kind, column.id)? else {
        return Ok(None);
    };
    let region = |kind| -> Result<&'a [u32]> {
        segment
            .u32_region(kind, column.id)?
            .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
    };
    let levels = segment
        .region_of(kinds[0], column.id)
        .ok_or_else(|| damaged(segment, format!("{:?} region is missing", kinds[0])))?;
    let [m, m0, entry, max_level] = <[u32; 4]>::try_from(meta)
        .map_err(|_| damaged(segment, format!("{meta_kind:?} is not 4 words")))?;
    let view = GraphView {
        m,
        m0,
        entry,
        max_level,
        levels,
        level0: region(kinds[1])?,
        upper_offsets: region(kinds[2])?,
        upper: region(kinds[3])?,
    };
    let entry_ok = entry == NONE || ((entry as usize) < n && max_level <= u8::MAX as u32);
    if view.levels.len() != n
        || view.level0.len() != n * (1 + m0 as usize)
        || view.upper_offsets.len() != n
        || !entry_ok
    {
        return Err(damaged(
            segment,
            format!(
                "graph arrays of column {} do not match {n} nodes",
                column.name
            ),
        ));
    }
    Ok(Some(view))
}

/// The IVF-PQ index a segment stores for `column`, viewed in place; `None` if none.
pub(crate) fn segment_ivf<'a>(
    segment: &'a Segment,
    column: &Column,
) -> Result<Option<IvfPqView<'a>>> {
    let Some(meta) = segment.u32_region(RegionKind::IvfMeta, column.id)? else {
        return Ok(None);
    };
    let [nlist, m, dim, has_graph] = <[u32; 4]>::try_from(meta)
        .map_err(|_| damaged(segment, "IvfMeta is not 4 words".into()))?;
    let floats = |kind| -> Result<&'a [f32]> {
        segment
            .f32_region(kind, column.id)?
            .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
    };
    let words = |kind| -> Result<&'a [u32]> {
        segment
            .u32_region(kind, column.id)?
            .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
    };
    let graph = if has_graph == 1 {
        let g = graph_view(
            segment,
            column,
            RegionKind::IvfGraphMeta,
            IVF_GRAPH_KINDS,
            nlist as usize,
        )?;
        Some(g.ok_or_else(|| damaged(segment, "IvfGraphMeta region is missing".into()))?)
    } else {
        None
    };
    let metric = column
        .vector()
        .map(|v| v.metric)
        .ok_or_else(|| damaged(segment, "IVF-PQ on a non-vector column".into()))?;
    let parts = IvfPqParts {
        metric,
        dim: dim as usize,
        m: m as usize,
        centroids: floats(RegionKind::IvfCentroids)?,
        directions: segment.f32_region(RegionKind::IvfDirections, column.id)?,
        graph,
        codebooks: floats(RegionKind::IvfCodebooks)?,
        offsets: words(RegionKind::IvfOffsets)?,
        rows: words(RegionKind::IvfRows)?,
        codes: segment
            .region_of(RegionKind::IvfCodes, column.id)
            .ok_or_else(|| damaged(segment, "IvfCodes region is missing".into()))?,
        corrections: segment
            .f32_region(RegionKind::IvfCorrections, column.id)?
            .unwrap_or(&[]),
    };
    let view = IvfPqView::new(parts).map_err(|reason| {
        damaged(
            segment,
            format!("IVF-PQ of column {}: {reason}", column.name),
        )
    })?;
    if view.nlist() != nlist as usize || column.vector().map(|v| v.dim) != Some(dim) {
        return Err(damaged(
            segment,
            format!("IVF-PQ of column {} does not match its meta", column.name),
        ));
    }
    Ok(Some(view))
}

/// The index's recall curve in this segment, if it has one.
pub(crate) fn segment_calibration(
    segment: &Segment,
    column: &Column,
) -> Result<Option<Calibration>> {
    words_region(
        segment,
        RegionKind::IndexCalibration,
        column,
        "recall curve",
        Calibration::from_words,
    )
}

/// The column's measured distance span in this segment, if its index recorded one.
pub(crate) fn segment_span(segment: &Segment, column: &Column) -> Result<Option<DistanceSpan>> {
    words_region(
        segment,
        RegionKind::ColumnSpan,
        column,
        "distance span",
        DistanceSpan::from_words,
    )
}

/// A `u32` region of `column` read by `parse`; `Corrupted` naming `what` when it does
/// not parse.
fn words_region<T>(
    segment: &Segment,
    kind: RegionKind,
    column: &Column,
    what: &str,
    parse: impl Fn(&[u32]) -> Option<T>,
) -> Result<Option<T>> {
    match segment.u32_region(kind, column.id)? {
        None => Ok(None),
        Some(words) => parse(words).map(Some).ok_or_else(|| {
            damaged(
                segment,
                format!("{what} of column {} is malformed", column.name),
            )
        }),
    }
}

fn damaged(segment: &Segment, reason: String) -> Error {
    Error::corrupted(segment.path(), 0, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indexes::SealedIndexes;
    use quiver_storage::directory::FsDirectory;
    use quiver_storage::segment::{ExtraRegion, RowRefs, SegmentWriter, segment_file_name};
    use quiver_storage::{IndexSpec, Item, Metric, Row, Schema, SegmentId};

    /// A segment of 1,200 rows with an IVF-PQ index on `v`, its regions passed through
    /// `damage` before writing; returns what `segment_ivf` and `segment_calibration` say.
    fn open_with(damage: impl Fn(&mut Vec<(RegionKind, Vec<u8>)>)) -> (Result<bool>, Result<bool>) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = FsDirectory::open(tmp.path()).unwrap();
        let schema = Schema::builder()
            .vector("v", 8, Metric::L2)
            .build()
            .unwrap()
            .with_index("v", Some(IndexSpec::ivf_pq().nlist(8).m(2)))
            .unwrap();
        let rows: Vec<Row> = (0..1200)
            .map(|i| {
                let v: Vec<f32> = (0..8).map(|d| ((i * 7 + d * 13) % 31) as f32).collect();
                Row::from_item(&schema, &Item::new(format!("r{i:05}")).set("v", v)).unwrap()
            })
            .collect();
        let source = RowRefs(rows.iter().collect());
        let sealed = SealedIndexes::build(&schema, &source, &Default::default());
        let mut regions: Vec<(RegionKind, Vec<u8>)> = sealed
            .regions()
            .iter()
            .map(|r| (r.kind, r.bytes.to_vec()))
            .collect();
        damage(&mut regions);
        let column = &schema.columns()[0];
        let extra: Vec<ExtraRegion<'_>> = regions
            .iter()
            .map(|(kind, bytes)| ExtraRegion {
                kind: *kind,
                column: column.id,
                bytes,
            })
            .collect();
        let name = segment_file_name(SegmentId(1));
        SegmentWriter::write_with(&dir, &name, &schema, &source, &extra).unwrap();
        let segment = Segment::open(&dir, SegmentId(1), &schema).unwrap();
        (
            segment_ivf(&segment, column).map(|v| v.is_some()),
            segment_calibration(&segment, column).map(|c| c.is_some()),
        )
    }

    fn corrupted(r: &Result<bool>) -> bool {
        matches!(r, Err(Error::Corrupted { .. }))
    }

    #[test]
    fn intact_regions_open_with_a_curve() {
        let (ivf, curve) = open_with(|_| {});
        assert!(ivf.unwrap() && curve.unwrap());
    }

    #[test]
    fn damaged_ivf_regions_are_corrupted_not_panics() {
        let set_word = |kind: RegionKind, at: usize, value: u32| {
            move |regions: &mut Vec<(RegionKind, Vec<u8>)>| {
                let bytes = &mut regions.iter_mut().find(|r| r.0 == kind).unwrap().1;
                bytes[at * 4..at * 4 + 4].copy_from_slice(&value.to_le_bytes());
            }
        };
        let drop_kind = |kind: RegionKind| {
            move |regions: &mut Vec<(RegionKind, Vec<u8>)>| regions.retain(|r| r.0 != kind)
        };
        let truncate = |kind: RegionKind| {
            move |regions: &mut Vec<(RegionKind, Vec<u8>)>| {
                let bytes = &mut regions.iter_mut().find(|r| r.0 == kind).unwrap().1;
                bytes.truncate(bytes.len() - 4);
            }
        };
        assert!(corrupted(
            &open_with(set_word(RegionKind::IvfOffsets, 3, u32::MAX)).0
        ));
        assert!(corrupted(&open_with(set_word(RegionKind::IvfMeta, 0, 9)).0));
        assert!(corrupted(&open_with(set_word(RegionKind::IvfMeta, 2, 7)).0));
        assert!(corrupted(&open_with(set_word(RegionKind::IvfMeta, 3, 1)).0));
        assert!(corrupted(&open_with(drop_kind(RegionKind::IvfCodes)).0));
        assert!(corrupted(
            &open_with(drop_kind(RegionKind::IvfCorrections)).0
        ));
        assert!(corrupted(&open_with(truncate(RegionKind::IvfCodebooks)).0));
        assert!(corrupted(&open_with(truncate(RegionKind::IvfRows)).0));
        assert!(corrupted(
            &open_with(set_word(RegionKind::IndexCalibration, 1, 7.0f32.to_bits())).1
        ));
    }
}
