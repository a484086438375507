//! The codes a vector index searches instead of the column's vectors, whatever their
//! kind ([`Sq8`] or [`Rabitq`]): built from the column, stored as regions, viewed in
//! place, and scored through one [`NodeDistance`] by HNSW's walk or a FLAT scan. Either
//! way the best candidates are then re-scored exactly from the column.

use quiver_storage::segment::RegionKind;
use quiver_storage::{Column, Metric, Quantize, Result, Segment};

use crate::hnsw::search::NodeDistance;
use crate::rabitq::{Rabitq, RabitqQuery, RabitqView};
use crate::source::VectorSource;
use crate::sq8::{Sq8, Sq8Query, Sq8View};
use crate::stored::{Regions, damaged, indexed_count};

/// Seed of the RaBitQ rotation, so rebuilding a segment gives the same codes.
const ROTATION_SEED: u64 = 23;

/// Codes built for a column, ready to be written.
#[derive(Debug)]
pub enum BuiltCodes {
    Sq8(Sq8),
    Rabitq(Rabitq),
}

impl BuiltCodes {
    /// The codes `quantize` names over `source`; `None` for [`Quantize::None`].
    pub fn build<S: VectorSource + Sync + ?Sized>(
        source: &S,
        metric: Metric,
        quantize: Quantize,
    ) -> Option<BuiltCodes> {
        match (quantize, quantize.rabitq_bits()) {
            (Quantize::Sq8, _) => Some(BuiltCodes::Sq8(Sq8::build(source, metric))),
            (_, Some(bits)) => Some(BuiltCodes::Rabitq(Rabitq::build(
                source,
                metric,
                bits,
                ROTATION_SEED,
            ))),
            _ => None,
        }
    }

    pub fn view(&self) -> Codes<'_> {
        match self {
            BuiltCodes::Sq8(c) => Codes::Sq8(c.view()),
            BuiltCodes::Rabitq(c) => Codes::Rabitq(c.view()),
        }
    }

    /// Bytes the codes take (what a search reads), their ranges or rotation included.
    pub fn memory_bytes(&self) -> usize {
        match self {
            BuiltCodes::Sq8(c) => c.memory_bytes(),
            BuiltCodes::Rabitq(c) => c.memory_bytes(),
        }
    }

    pub(crate) fn regions<'a>(&'a self, out: &mut Regions<'a>) {
        match self {
            BuiltCodes::Sq8(c) => {
                out.push((RegionKind::Sq8Ranges, bytemuck::cast_slice(c.ranges())));
                out.push((RegionKind::Sq8Codes, c.codes()));
            }
            BuiltCodes::Rabitq(c) => BuiltCodes::rabitq_regions(c, out),
        }
    }

    /// RaBitQ codes' regions (a FLAT or HNSW index's, or an IVF's over its entries).
    pub(crate) fn rabitq_regions<'a>(codes: &'a Rabitq, out: &mut Regions<'a>) {
        out.push((RegionKind::RabitqMeta, bytemuck::cast_slice(codes.meta())));
        out.push((
            RegionKind::RabitqCentroid,
            bytemuck::cast_slice(codes.centroid()),
        ));
        out.push((RegionKind::RabitqCodes, codes.codes()));
    }
}

/// A column's codes, viewed in place.
#[derive(Clone, Copy, Debug)]
pub enum Codes<'a> {
    Sq8(Sq8View<'a>),
    Rabitq(RabitqView<'a>),
}

impl<'a> Codes<'a> {
    /// The codes `segment` stores for `column`; `None` if it has none.
    pub fn load(segment: &'a Segment, column: &Column) -> Result<Option<Codes<'a>>> {
        let shape = || {
            column
                .vector_shape()
                .ok_or_else(|| damaged(segment, "codes on a non-vector column".into()))
        };
        let region = |kind| {
            segment
                .region_of(kind, column.id)
                .ok_or_else(|| damaged(segment, format!("{kind:?} region is missing")))
        };
        let bad = |reason: String| damaged(segment, format!("column {}: {reason}", column.name));
        let rows = indexed_count(segment, column)?;
        if let Some(ranges) = segment.f32_region(RegionKind::Sq8Ranges, column.id)? {
            let shape = shape()?;
            let codes = region(RegionKind::Sq8Codes)?;
            return Sq8View::new(shape.metric, shape.dim as usize, ranges, codes, rows)
                .map(|v| Some(Codes::Sq8(v)))
                .map_err(bad);
        }
        if let Some(meta) = segment.u32_region(RegionKind::RabitqMeta, column.id)? {
            let shape = shape()?;
            let centroid = segment
                .f32_region(RegionKind::RabitqCentroid, column.id)?
                .ok_or_else(|| damaged(segment, "RabitqCentroid region is missing".into()))?;
            let codes = region(RegionKind::RabitqCodes)?;
            let view = RabitqView::new(shape.metric, shape.dim as usize, meta, centroid, codes)
                .map_err(bad)?;
            if view.rows() != rows {
                return Err(bad(format!(
                    "RaBitQ codes hold {} rows, not {rows}",
                    view.rows()
                )));
            }
            return Ok(Some(Codes::Rabitq(view)));
        }
        Ok(None)
    }

    /// Which codes these are.
    pub fn quantize(&self) -> Quantize {
        match self {
            Codes::Sq8(_) => Quantize::Sq8,
            Codes::Rabitq(c) => Codes::quantize_of_bits(c.bits()),
        }
    }

    /// The RaBitQ kind with `bits` (1, 2 or 4) per dimension.
    pub fn quantize_of_bits(bits: u32) -> Quantize {
        match bits {
            1 => Quantize::Rabitq1,
            2 => Quantize::Rabitq2,
            _ => Quantize::Rabitq4,
        }
    }

    /// The metric the code distances estimate.
    pub fn metric(&self) -> Metric {
        match self {
            Codes::Sq8(c) => c.metric(),
            Codes::Rabitq(c) => c.metric(),
        }
    }

    /// Rows coded.
    pub fn rows(&self) -> usize {
        match self {
            Codes::Sq8(c) => c.rows(),
            Codes::Rabitq(c) => c.rows(),
        }
    }

    /// The query prepared against the codes; `None` when its dimension differs.
    pub fn query(&self, query: &[f32]) -> Option<CodeQuery<'a>> {
        match self {
            Codes::Sq8(c) => c.query(query).map(CodeQuery::Sq8),
            Codes::Rabitq(c) => c.query(query).map(CodeQuery::Rabitq),
        }
    }
}

/// A query against either kind of codes.
#[derive(Debug)]
pub enum CodeQuery<'a> {
    Sq8(Sq8Query<'a>),
    Rabitq(RabitqQuery<'a>),
}

impl NodeDistance for CodeQuery<'_> {
    #[inline]
    fn distance(&self, node: u32) -> f32 {
        match self {
            CodeQuery::Sq8(q) => q.distance(node),
            CodeQuery::Rabitq(q) => q.distance(node),
        }
    }

    #[inline]
    fn prefetch(&self, node: u32) {
        match self {
            CodeQuery::Sq8(q) => q.prefetch(node),
            CodeQuery::Rabitq(q) => q.prefetch(node),
        }
    }

    fn prefetch_ahead(&self) -> usize {
        match self {
            CodeQuery::Sq8(q) => q.prefetch_ahead(),
            CodeQuery::Rabitq(q) => q.prefetch_ahead(),
        }
    }
}
