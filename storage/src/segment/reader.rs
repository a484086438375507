//! Reading a segment in place from its memory map.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::codec::ByteReader;
use crate::directory::{Directory, MappedBytes};
use crate::elements::Vectors;
use crate::error::{Error, Result};
use crate::ids::{ColumnId, RowId, SegmentId};
use crate::row::decode_value;
use crate::schema::{Column, ColumnKind, DType, Schema};
use crate::sparse::SparseCell;
use crate::value::Value;

use super::layout::{Header, Region, RegionKind, decode_directory};
use super::segment_file_name;

/// An open, immutable segment. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Segment {
    id: SegmentId,
    path: PathBuf,
    bytes: MappedBytes,
    rows: u32,
    regions: HashMap<(RegionKind, ColumnId), Region>,
    /// File byte ranges of the id regions, resolved once at open: id lookups are the
    /// hottest read path (every get and every write probes them).
    ids: VarRegions,
    /// The same for every attribute column the segment stores (filters read them).
    attrs: HashMap<ColumnId, VarRegions>,
}

/// An offsets region (`u64[rows + 1]`) and the bytes it indexes, as file ranges.
#[derive(Clone, Debug, Default)]
struct VarRegions {
    offsets: Range<usize>,
    bytes: Range<usize>,
}

impl Segment {
    /// Maps segment `id` and checks its trailer, directory and region bounds against
    /// `schema` (columns added after the segment was written are simply absent).
    pub fn open(dir: &dyn Directory, id: SegmentId, schema: &Schema) -> Result<Segment> {
        let name = segment_file_name(id);
        let path = dir.path_of(&name);
        let bytes = dir.map(&name)?;
        Self::from_bytes(id, path, bytes, schema)
    }

    /// Checks and wraps segment bytes already in memory.
    pub fn from_bytes(
        id: SegmentId,
        path: PathBuf,
        bytes: MappedBytes,
        schema: &Schema,
    ) -> Result<Segment> {
        let header = Header::decode(bytes.as_bytes(), &path)?;
        let regions = decode_directory(bytes.as_bytes(), &header, &path)?;
        let mut map = HashMap::new();
        for r in regions {
            if map.insert((r.kind, r.column), r).is_some() {
                return Err(Error::corrupted(&path, r.offset, "region listed twice"));
            }
        }
        let mut segment = Segment {
            id,
            path,
            bytes,
            rows: header.rows as u32,
            regions: map,
            ids: VarRegions::default(),
            attrs: HashMap::new(),
        };
        segment.check_shapes(schema)?;
        segment.ids =
            segment.var_regions(RegionKind::IdOffsets, RegionKind::IdBytes, ColumnId(0))?;
        let mut attrs = HashMap::new();
        for column in schema.columns() {
            if column.attr().is_some() && segment.has_column(column) {
                let kinds = (RegionKind::AttrOffsets, RegionKind::AttrBytes);
                attrs.insert(column.id, segment.var_regions(kinds.0, kinds.1, column.id)?);
            }
        }
        segment.attrs = attrs;
        Ok(segment)
    }

    fn check_shapes(&self, schema: &Schema) -> Result<()> {
        let rows = self.rows as u64;
        let offsets_len = (rows + 1) * 8;
        self.expect_len(RegionKind::IdOffsets, ColumnId(0), offsets_len)?;
        self.region(RegionKind::IdBytes, ColumnId(0))?;
        for column in schema.columns() {
            match &column.kind {
                ColumnKind::Vector(v) if self.has_column(column) => {
                    self.expect_len(
                        RegionKind::Vectors,
                        column.id,
                        rows * v.dim as u64 * v.dtype.size_bytes() as u64,
                    )?;
                    if self
                        .regions
                        .contains_key(&(RegionKind::Validity, column.id))
                    {
                        self.expect_len(RegionKind::Validity, column.id, rows.div_ceil(64) * 8)?;
                    }
                }
                ColumnKind::MultiVector(v) if self.has_column(column) => {
                    self.expect_len(RegionKind::MultiOffsets, column.id, offsets_len)?;
                    let offsets = self.u64s(RegionKind::MultiOffsets, column.id)?;
                    let (first, elements) = (offsets[0], offsets[rows as usize]);
                    let floats = elements.checked_mul(v.dim as u64 * 4);
                    let region = self.region(RegionKind::MultiVectors, column.id)?;
                    if first != 0 || floats != Some(region.len) {
                        return Err(Error::corrupted(
                            &self.path,
                            region.offset,
                            format!(
                                "MultiVectors region of column {} is {} bytes; its offsets ({first}..{elements}) say {elements} vectors of {}",
                                column.name, region.len, v.dim
                            ),
                        ));
                    }
                }
                ColumnKind::Attr(_) if self.has_column(column) => {
                    self.expect_len(RegionKind::AttrOffsets, column.id, offsets_len)?;
                    self.region(RegionKind::AttrBytes, column.id)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn expect_len(&self, kind: RegionKind, column: ColumnId, len: u64) -> Result<()> {
        let r = self.region(kind, column)?;
        if r.len != len {
            return Err(Error::corrupted(
                &self.path,
                r.offset,
                format!(
                    "{kind:?} region of column {column} is {} bytes, expected {len}",
                    r.len
                ),
            ));
        }
        Ok(())
    }

    fn region(&self, kind: RegionKind, column: ColumnId) -> Result<&Region> {
        self.regions.get(&(kind, column)).ok_or_else(|| {
            Error::corrupted(
                &self.path,
                0,
                format!("{kind:?} region of column {column} is missing"),
            )
        })
    }

    fn region_bytes(&self, kind: RegionKind, column: ColumnId) -> Result<&[u8]> {
        let r = self.region(kind, column)?;
        Ok(&self.bytes.as_bytes()[r.offset as usize..(r.offset + r.len) as usize])
    }

    fn u64s(&self, kind: RegionKind, column: ColumnId) -> Result<&[u64]> {
        let raw = self.region_bytes(kind, column)?;
        bytemuck::try_cast_slice(raw).map_err(|e| self.cast_error(kind, column, e))
    }

    fn cast_error(&self, kind: RegionKind, column: ColumnId, e: bytemuck::PodCastError) -> Error {
        Error::corrupted(
            &self.path,
            0,
            format!("{kind:?} region of column {column}: {e:?}"),
        )
    }

    pub fn id(&self) -> SegmentId {
        self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Size of the file in bytes.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Ids of the columns this segment stores (including columns dropped since).
    pub fn column_ids(&self) -> Vec<ColumnId> {
        let mut ids: Vec<ColumnId> = self
            .regions
            .keys()
            .filter(|(kind, _)| {
                matches!(
                    kind,
                    RegionKind::Vectors | RegionKind::AttrOffsets | RegionKind::MultiOffsets
                )
            })
            .map(|(_, id)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// The bytes of a region, if the segment has it (e.g. an index graph array).
    pub fn region_of(&self, kind: RegionKind, column: ColumnId) -> Option<&[u8]> {
        let r = self.regions.get(&(kind, column))?;
        Some(&self.bytes.as_bytes()[r.range()])
    }

    /// A region viewed as `u32`s (regions are 64-byte aligned, so this never copies).
    pub fn u32_region(&self, kind: RegionKind, column: ColumnId) -> Result<Option<&[u32]>> {
        match self.region_of(kind, column) {
            None => Ok(None),
            Some(raw) => bytemuck::try_cast_slice(raw)
                .map(Some)
                .map_err(|e| self.cast_error(kind, column, e)),
        }
    }

    /// A region viewed as `f32`s (regions are 64-byte aligned, so this never copies).
    pub fn f32_region(&self, kind: RegionKind, column: ColumnId) -> Result<Option<&[f32]>> {
        match self.region_of(kind, column) {
            None => Ok(None),
            Some(raw) => bytemuck::try_cast_slice(raw)
                .map(Some)
                .map_err(|e| self.cast_error(kind, column, e)),
        }
    }

    /// Whether the segment stores this column (it may predate the column).
    pub fn has_column(&self, column: &Column) -> bool {
        let kind = match column.kind {
            ColumnKind::Vector(_) => RegionKind::Vectors,
            ColumnKind::MultiVector(_) => RegionKind::MultiOffsets,
            ColumnKind::Attr(_) => RegionKind::AttrOffsets,
        };
        self.regions.contains_key(&(kind, column.id))
    }

    fn var_regions(
        &self,
        offsets: RegionKind,
        bytes: RegionKind,
        column: ColumnId,
    ) -> Result<VarRegions> {
        Ok(VarRegions {
            offsets: self.region(offsets, column)?.range(),
            bytes: self.region(bytes, column)?.range(),
        })
    }

    /// Entry `row` of an offsets/bytes pair, bounds-checked, and its file offset.
    fn var_entry(&self, regions: &VarRegions, row: u32) -> Result<(&[u8], u64)> {
        let all = self.bytes.as_bytes();
        let offsets: &[u64] =
            bytemuck::try_cast_slice(&all[regions.offsets.clone()]).map_err(|e| {
                Error::corrupted(
                    &self.path,
                    regions.offsets.start as u64,
                    format!("offsets region: {e:?}"),
                )
            })?;
        let i = row as usize;
        let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
            return Err(Error::InvalidArgument(format!(
                "row {row} is beyond {} rows",
                self.rows
            )));
        };
        let data = &all[regions.bytes.clone()];
        if start > end || end > data.len() as u64 {
            let at = regions.offsets.start as u64 + i as u64 * 8;
            return Err(Error::corrupted(
                &self.path,
                at,
                format!("offsets {start}..{end} of row {row} are out of range"),
            ));
        }
        Ok((
            &data[start as usize..end as usize],
            regions.bytes.start as u64 + start,
        ))
    }

    /// The raw bytes of a row's id.
    fn id_bytes_at(&self, row: u32) -> Result<&[u8]> {
        Ok(self.var_entry(&self.ids, row)?.0)
    }

    /// The item id of a row.
    pub fn id_at(&self, row: RowId) -> Result<&str> {
        std::str::from_utf8(self.id_bytes_at(row.0)?).map_err(|_| {
            Error::corrupted(
                &self.path,
                self.ids.bytes.start as u64,
                format!("id of row {row} is not UTF-8"),
            )
        })
    }

    /// Binary search for an id (rows are sorted by id; `str` order is byte order, so
    /// probes compare bytes without UTF-8 checks). Ids outside the segment's first..last
    /// range cost two probes.
    pub fn find(&self, id: &str) -> Result<Option<RowId>> {
        let id = id.as_bytes();
        if self.rows == 0 || id < self.id_bytes_at(0)? || id > self.id_bytes_at(self.rows - 1)? {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0u32, self.rows);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.id_bytes_at(mid)?.cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Some(RowId(mid))),
            }
        }
        Ok(None)
    }

    /// All rows of a vector column, row-major (`rows * dim` elements of the column's
    /// type; NULL rows are zeros), viewed in place. `None` if the segment predates
    /// the column.
    pub fn vectors(&self, column: &Column) -> Result<Option<Vectors<'_>>> {
        if !self.has_column(column) {
            return Ok(None);
        }
        let dtype = column.expect_vector()?.dtype;
        let raw = self.region_bytes(RegionKind::Vectors, column.id)?;
        let cast = |e| self.cast_error(RegionKind::Vectors, column.id, e);
        Ok(Some(match dtype {
            DType::F32 => Vectors::F32(bytemuck::try_cast_slice(raw).map_err(cast)?),
            DType::F16 => Vectors::F16(bytemuck::try_cast_slice(raw).map_err(cast)?),
            DType::Bf16 => Vectors::Bf16(bytemuck::try_cast_slice(raw).map_err(cast)?),
        }))
    }

    /// The validity bitmap of a nullable vector column (bit set = row has a value);
    /// `None` for NOT NULL columns and columns the segment predates.
    pub fn validity(&self, column: &Column) -> Result<Option<&[u64]>> {
        if !self
            .regions
            .contains_key(&(RegionKind::Validity, column.id))
        {
            return Ok(None);
        }
        self.u64s(RegionKind::Validity, column.id).map(Some)
    }

    /// One row's vector, viewed in place; `None` when NULL or absent.
    pub fn vector(&self, column: &Column, row: RowId) -> Result<Option<Vectors<'_>>> {
        let dim = column.expect_vector()?.dim as usize;
        let Some(all) = self.vectors(column)? else {
            return Ok(None);
        };
        let i = row.0 as usize;
        if i >= self.rows as usize {
            return Err(Error::InvalidArgument(format!(
                "row {row} is beyond {} rows",
                self.rows
            )));
        }
        if self
            .regions
            .contains_key(&(RegionKind::Validity, column.id))
        {
            let validity = self.u64s(RegionKind::Validity, column.id)?;
            if validity[i / 64] & (1 << (i % 64)) == 0 {
                return Ok(None);
            }
        }
        Ok(all.get(i * dim..(i + 1) * dim))
    }

    /// A multi-vector column's regions, viewed in place; `None` if the segment
    /// predates the column.
    pub fn multi_column(&self, column: &Column) -> Result<Option<MultiColumn<'_>>> {
        let dim = column.expect_multi()?.dim as usize;
        if !self.has_column(column) {
            return Ok(None);
        }
        let raw = self.region_bytes(RegionKind::MultiVectors, column.id)?;
        let data = bytemuck::try_cast_slice(raw)
            .map_err(|e| self.cast_error(RegionKind::MultiVectors, column.id, e))?;
        Ok(Some(MultiColumn {
            path: &self.path,
            at: self.region(RegionKind::MultiOffsets, column.id)?.offset,
            offsets: self.u64s(RegionKind::MultiOffsets, column.id)?,
            data,
            dim,
        }))
    }

    /// One row's vectors in a multi-vector column, back to back, viewed in place;
    /// `None` when NULL or absent.
    pub fn multi(&self, column: &Column, row: RowId) -> Result<Option<&[f32]>> {
        match self.multi_column(column)? {
            None => Ok(None),
            Some(view) => view.row(row),
        }
    }

    /// One row's attribute value (NULL when absent).
    pub fn attr(&self, column: &Column, row: RowId) -> Result<Value> {
        let Some(regions) = self.attrs.get(&column.id) else {
            return Ok(Value::Null);
        };
        let (raw, at) = self.var_entry(regions, row.0)?;
        if raw.is_empty() {
            return Ok(Value::Null);
        }
        let mut r = ByteReader::new(raw, &self.path, at);
        let value = decode_value(&mut r)?;
        crate::row::coerce(column, value).map_err(|e| r.error(e.to_string()))
    }

    /// One row's SPARSE cell, read in place (`None` when NULL); `Corrupted` when its
    /// bytes are not a valid sparse value.
    pub fn sparse_cell(&self, column: &Column, row: RowId) -> Result<Option<SparseCell<'_>>> {
        let Some(regions) = self.attrs.get(&column.id) else {
            return Ok(None);
        };
        let (raw, at) = self.var_entry(regions, row.0)?;
        if raw.is_empty() {
            return Ok(None);
        }
        crate::row::sparse_cell(raw).map(Some).ok_or_else(|| {
            Error::corrupted(
                &self.path,
                at,
                format!(
                    "row {} of column {} is not a valid sparse vector",
                    row.0, column.name
                ),
            )
        })
    }

    /// Checks every region's checksum (reads the whole file); the first that fails is
    /// the error.
    pub fn verify(&self) -> Result<()> {
        match self.damaged_regions().first() {
            None => Ok(()),
            Some(r) => Err(self.damaged_region_error(r)),
        }
    }

    /// Every region's place in the file, in file order.
    pub fn regions(&self) -> Vec<Region> {
        let mut regions: Vec<Region> = self.regions.values().copied().collect();
        regions.sort_by_key(|r| r.offset);
        regions
    }

    /// Bytes of this segment's file: the ids, and by column what holds the rows and
    /// what the indexes derived from them take (codes among them).
    pub fn bytes_by_column(&self) -> (u64, HashMap<ColumnId, ColumnBytes>) {
        let mut ids = 0;
        let mut by = HashMap::<ColumnId, ColumnBytes>::new();
        for r in self.regions.values() {
            // Id regions carry column 0, which is also a real column's id.
            if matches!(r.kind, RegionKind::IdOffsets | RegionKind::IdBytes) {
                ids += r.len;
                continue;
            }
            let entry = by.entry(r.column).or_default();
            if r.kind.holds_rows() {
                entry.rows += r.len;
            } else {
                entry.index += r.len;
                if r.kind.holds_codes() {
                    entry.codes += r.len;
                }
            }
        }
        (ids, by)
    }

    /// Asks the kernel to read the index regions (graphs, codes) ahead, so the first
    /// searches do not fault them in one page at a time; the rows stay where they
    /// are until read. Advice only: it never fails.
    pub fn prefetch_indexes(&self) {
        for r in self.regions.values() {
            if !r.kind.holds_rows() {
                self.bytes.will_need(r.range());
            }
        }
    }

    /// Every region whose checksum fails, in file order (reads the whole file).
    pub fn damaged_regions(&self) -> Vec<Region> {
        let mut regions = self.regions();
        regions.retain(|r| crc32fast::hash(&self.bytes.as_bytes()[r.range()]) != r.crc);
        regions
    }

    /// The `Corrupted` error describing damaged region `r`.
    pub fn damaged_region_error(&self, r: &Region) -> Error {
        Error::corrupted(
            &self.path,
            r.offset,
            format!(
                "{:?} region of column {} fails its checksum",
                r.kind, r.column
            ),
        )
    }
}

/// A segment's multi-vector column: every row's vectors (its "elements") back to back,
/// and each row's element range. Element numbers are what an index over the column
/// stores; [`MultiColumn::element_row`] maps one back to its row.
#[derive(Clone, Copy, Debug)]
pub struct MultiColumn<'a> {
    path: &'a Path,
    /// File offset of the offsets region, for errors.
    at: u64,
    /// `rows + 1` element offsets, `offsets[0] == 0` and the last equal to the
    /// elements stored (both checked at open); monotonic unless damaged, which every
    /// read checks.
    offsets: &'a [u64],
    data: &'a [f32],
    dim: usize,
}

impl<'a> MultiColumn<'a> {
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Every element, row-major (`elements * dim` floats).
    pub fn elements(&self) -> &'a [f32] {
        self.data
    }

    /// How many elements the segment stores in this column.
    pub fn element_count(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }

    /// Row `row`'s element range; `Corrupted` when its offsets are out of order.
    pub fn range(&self, row: RowId) -> Result<std::ops::Range<usize>> {
        let i = row.0 as usize;
        let (Some(&start), Some(&end)) = (self.offsets.get(i), self.offsets.get(i + 1)) else {
            return Err(Error::InvalidArgument(format!(
                "row {row} is beyond {} rows",
                self.offsets.len().saturating_sub(1)
            )));
        };
        if start > end || end as usize > self.element_count() {
            return Err(Error::corrupted(
                self.path,
                self.at + i as u64 * 8,
                format!("element offsets {start}..{end} of row {row} are out of range"),
            ));
        }
        Ok(start as usize..end as usize)
    }

    /// Row `row`'s vectors back to back; `None` when it has none (NULL).
    pub fn row(&self, row: RowId) -> Result<Option<&'a [f32]>> {
        let r = self.range(row)?;
        Ok((!r.is_empty()).then(|| &self.data[r.start * self.dim..r.end * self.dim]))
    }

    /// The row holding element `element`, and the element's place in that row's list.
    pub fn element_row(&self, element: u32) -> Result<(RowId, u32)> {
        let e = element as u64;
        // The first row whose end passes `e`.
        let rows = self.offsets.len().saturating_sub(1);
        let row = self.offsets[1..].partition_point(|&end| end <= e);
        if row >= rows {
            return Err(Error::InvalidArgument(format!(
                "element {element} is beyond {} elements",
                self.element_count()
            )));
        }
        let r = self.range(RowId(row as u32))?;
        if !r.contains(&(element as usize)) {
            return Err(Error::corrupted(
                self.path,
                self.at,
                format!("element offsets are out of order around element {element}"),
            ));
        }
        Ok((RowId(row as u32), (element as usize - r.start) as u32))
    }
}

/// One column's bytes in a segment file ([`Segment::bytes_by_column`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnBytes {
    /// The rows' own bytes (vectors, validity, attribute values, ids).
    pub rows: u64,
    /// The indexes derived from them (graphs, codes, lists, postings, calibration).
    pub index: u64,
    /// Of `index`, the quantized codes a search reads per candidate.
    pub codes: u64,
}
