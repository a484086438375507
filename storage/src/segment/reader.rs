//! Reading a segment in place from its memory map.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::codec::ByteReader;
use crate::directory::{Directory, MappedBytes};
use crate::error::{Error, Result};
use crate::ids::{ColumnId, RowId, SegmentId};
use crate::row::decode_value;
use crate::schema::{Column, ColumnKind, Schema};
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
    id_offsets: Range<usize>,
    id_bytes: Range<usize>,
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
            id_offsets: 0..0,
            id_bytes: 0..0,
        };
        segment.check_shapes(schema)?;
        segment.id_offsets = segment.region(RegionKind::IdOffsets, ColumnId(0))?.range();
        segment.id_bytes = segment.region(RegionKind::IdBytes, ColumnId(0))?.range();
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
                    self.expect_len(RegionKind::Vectors, column.id, rows * v.dim as u64 * 4)?;
                    if self
                        .regions
                        .contains_key(&(RegionKind::Validity, column.id))
                    {
                        self.expect_len(RegionKind::Validity, column.id, rows.div_ceil(64) * 8)?;
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
            .filter(|(kind, _)| matches!(kind, RegionKind::Vectors | RegionKind::AttrOffsets))
            .map(|(_, id)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// Whether the segment stores this column (it may predate the column).
    pub fn has_column(&self, column: &Column) -> bool {
        let kind = match column.kind {
            ColumnKind::Vector(_) => RegionKind::Vectors,
            ColumnKind::Attr(_) => RegionKind::AttrOffsets,
        };
        self.regions.contains_key(&(kind, column.id))
    }

    /// Byte range of entry `row` in an offsets/bytes pair, checked.
    fn var_range(
        &self,
        kinds: (RegionKind, RegionKind),
        column: ColumnId,
        row: RowId,
    ) -> Result<Range<usize>> {
        let offsets = self.u64s(kinds.0, column)?;
        let data_len = self.region(kinds.1, column)?.len;
        let i = row.0 as usize;
        let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
            return Err(Error::InvalidArgument(format!(
                "row {row} is beyond {} rows",
                self.rows
            )));
        };
        if start > end || end > data_len {
            return Err(Error::corrupted(
                &self.path,
                self.region(kinds.0, column)?.offset + i as u64 * 8,
                format!("offsets {start}..{end} of row {row} exceed {data_len} bytes"),
            ));
        }
        Ok(start as usize..end as usize)
    }

    /// The raw bytes of a row's id.
    fn id_bytes_at(&self, row: u32) -> Result<&[u8]> {
        let all = self.bytes.as_bytes();
        let offsets: &[u64] = bytemuck::try_cast_slice(&all[self.id_offsets.clone()])
            .map_err(|e| self.cast_error(RegionKind::IdOffsets, ColumnId(0), e))?;
        let i = row as usize;
        let (Some(&start), Some(&end)) = (offsets.get(i), offsets.get(i + 1)) else {
            return Err(Error::InvalidArgument(format!(
                "row {row} is beyond {} rows",
                self.rows
            )));
        };
        let ids = &all[self.id_bytes.clone()];
        if start > end || end > ids.len() as u64 {
            let at = self.id_offsets.start as u64 + i as u64 * 8;
            return Err(Error::corrupted(
                &self.path,
                at,
                format!("id offsets {start}..{end} of row {row} are out of range"),
            ));
        }
        Ok(&ids[start as usize..end as usize])
    }

    /// The item id of a row.
    pub fn id_at(&self, row: RowId) -> Result<&str> {
        std::str::from_utf8(self.id_bytes_at(row.0)?).map_err(|_| {
            Error::corrupted(
                &self.path,
                self.id_bytes.start as u64,
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

    /// All rows of a vector column, row-major (`rows * dim` floats; NULL rows are
    /// zeros), viewed in place. `None` if the segment predates the column.
    pub fn vectors(&self, column: &Column) -> Result<Option<&[f32]>> {
        if !self.has_column(column) {
            return Ok(None);
        }
        let raw = self.region_bytes(RegionKind::Vectors, column.id)?;
        let floats = bytemuck::try_cast_slice(raw)
            .map_err(|e| self.cast_error(RegionKind::Vectors, column.id, e))?;
        Ok(Some(floats))
    }

    /// One row's vector, viewed in place; `None` when NULL or absent.
    pub fn vector(&self, column: &Column, row: RowId) -> Result<Option<&[f32]>> {
        let Some(dim) = column.vector().map(|v| v.dim as usize) else {
            return Err(Error::TypeMismatch {
                column: column.name.clone(),
                expected: "VECTOR".into(),
                got: column.type_name(),
            });
        };
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
        Ok(Some(&all[i * dim..(i + 1) * dim]))
    }

    /// One row's attribute value (NULL when absent).
    pub fn attr(&self, column: &Column, row: RowId) -> Result<Value> {
        if !self.has_column(column) {
            return Ok(Value::Null);
        }
        let kinds = (RegionKind::AttrOffsets, RegionKind::AttrBytes);
        let range = self.var_range(kinds, column.id, row)?;
        if range.is_empty() {
            return Ok(Value::Null);
        }
        let region = self.region(RegionKind::AttrBytes, column.id)?;
        let raw = &self.region_bytes(RegionKind::AttrBytes, column.id)?[range.clone()];
        let mut r = ByteReader::new(raw, &self.path, region.offset + range.start as u64);
        let value = decode_value(&mut r)?;
        crate::row::coerce(column, value).map_err(|e| r.error(e.to_string()))
    }

    /// Checks every region's checksum (reads the whole file).
    pub fn verify(&self) -> Result<()> {
        let mut regions: Vec<_> = self.regions.values().collect();
        regions.sort_by_key(|r| r.offset);
        for r in regions {
            let raw = &self.bytes.as_bytes()[r.offset as usize..(r.offset + r.len) as usize];
            if crc32fast::hash(raw) != r.crc {
                return Err(Error::corrupted(
                    &self.path,
                    r.offset,
                    format!(
                        "{:?} region of column {} fails its checksum",
                        r.kind, r.column
                    ),
                ));
            }
        }
        Ok(())
    }
}
