//! Writing a segment: regions streamed column by column into a temporary file, then the
//! directory and trailer, fsync, rename into place, fsync the folder.

use crate::codec::ByteWriter;
use crate::directory::{Directory, WriteFile};
use crate::elements::Vectors;
use crate::error::{Error, Result};
use crate::ids::ColumnId;
use crate::row::{Row, encode_value};
use crate::schema::{Column, ColumnKind, DType, Schema};
use crate::value::Value;

use super::layout::{
    Header, REGION_ALIGN, Region, RegionKind, encode_directory, preamble, version_for,
};

/// Rows to seal, in ascending id order. Sources: the memtable (flush) or live rows of
/// older segments (compaction). `pos` is the column's position in the schema written.
/// The most rows one segment holds: row ids are `u32` and `u32::MAX` is the graphs'
/// "no row" mark. More (a compaction of over four billion items) is refused up front.
pub const MAX_SEGMENT_ROWS: usize = u32::MAX as usize - 1;

pub trait RowSource {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn id(&self, row: usize) -> Result<&str>;
    /// A vector cell as its source holds it (memtable rows: `f32`, already rounded
    /// to the column's type; segments: the stored type); `None` when NULL.
    fn vector(&self, row: usize, pos: usize, column: &Column) -> Result<Option<Vectors<'_>>>;
    /// A multi-vector cell's vectors back to back; `None` when NULL.
    fn vectors(&self, row: usize, pos: usize, column: &Column) -> Result<Option<&[f32]>>;
    fn attr(&self, row: usize, pos: usize, column: &Column) -> Result<Value>;
}

/// A region whose bytes someone else built (e.g. an HNSW graph array).
#[derive(Clone, Copy, Debug)]
pub struct ExtraRegion<'a> {
    pub kind: RegionKind,
    pub column: ColumnId,
    pub bytes: &'a [u8],
}

/// Rows held in memory, already sorted by id, as a segment source (a memtable flush).
#[derive(Debug)]
pub struct RowRefs<'a>(pub Vec<&'a Row>);

impl RowSource for RowRefs<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn id(&self, row: usize) -> Result<&str> {
        Ok(self.0[row].id.as_str())
    }
    fn vector(&self, row: usize, pos: usize, _: &Column) -> Result<Option<Vectors<'_>>> {
        Ok(match &self.0[row].cells[pos] {
            Value::Vector(v) => Some(Vectors::F32(v)),
            _ => None,
        })
    }
    fn vectors(&self, row: usize, pos: usize, _: &Column) -> Result<Option<&[f32]>> {
        Ok(match &self.0[row].cells[pos] {
            Value::Vectors(v) => Some(v.as_flat()),
            _ => None,
        })
    }
    fn attr(&self, row: usize, pos: usize, _: &Column) -> Result<Value> {
        Ok(self.0[row].cells[pos].clone())
    }
}

/// Bytes buffered before each write call.
const WRITE_CHUNK: usize = 4 << 20;

/// Streams one segment file.
#[derive(Debug)]
pub struct SegmentWriter {
    file: Box<dyn WriteFile>,
    buf: Vec<u8>,
    offset: u64,
    region_start: u64,
    hasher: crc32fast::Hasher,
    regions: Vec<Region>,
}

impl SegmentWriter {
    /// Writes `rows` of `schema` as segment `name`, published atomically and durably.
    /// Returns the file's size in bytes.
    pub fn write(
        dir: &dyn Directory,
        name: &str,
        schema: &Schema,
        rows: &dyn RowSource,
    ) -> Result<u64> {
        Self::write_with(dir, name, schema, rows, &[])
    }

    /// As [`SegmentWriter::write`], plus regions built by others (index graphs), which
    /// go after the column regions.
    pub fn write_with(
        dir: &dyn Directory,
        name: &str,
        schema: &Schema,
        rows: &dyn RowSource,
        extra: &[ExtraRegion<'_>],
    ) -> Result<u64> {
        if rows.len() > MAX_SEGMENT_ROWS {
            return Err(Error::InvalidArgument(format!(
                "a segment holds at most {MAX_SEGMENT_ROWS} rows (row ids are u32, and u32::MAX marks \"no row\" in graphs); {} were given",
                rows.len()
            )));
        }
        let tmp = format!("{name}.tmp");
        let mut w = SegmentWriter {
            file: dir.create(&tmp)?,
            buf: Vec::with_capacity(WRITE_CHUNK),
            offset: 0,
            region_start: 0,
            hasher: crc32fast::Hasher::new(),
            regions: Vec::new(),
        };
        let multi = schema
            .columns()
            .iter()
            .filter(|c| c.multi().is_some())
            .map(|_| RegionKind::MultiOffsets);
        let half = schema
            .columns()
            .iter()
            .any(|c| c.vector_shape().is_some_and(|v| v.dtype != DType::F32));
        w.raw(&preamble(version_for(
            extra.iter().map(|r| r.kind).chain(multi),
            half,
        )))?;
        w.write_ids(rows)?;
        for (pos, column) in schema.columns().iter().enumerate() {
            match &column.kind {
                ColumnKind::Vector(v) => w.write_vectors(rows, pos, column, v.dim as usize)?,
                ColumnKind::MultiVector(v) => w.write_multi(rows, pos, column, v.dim as usize)?,
                ColumnKind::Attr(_) => w.write_attrs(rows, pos, column)?,
            }
        }
        for region in extra {
            w.begin_region()?;
            w.put(region.bytes)?;
            w.end_region(region.kind, region.column);
        }
        let file_len = w.finish(rows.len() as u64)?;
        dir.rename(&tmp, name)?;
        dir.sync_dir()?;
        Ok(file_len)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        self.offset += bytes.len() as u64;
        if self.buf.len() >= WRITE_CHUNK {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.raw(bytes)
    }

    fn begin_region(&mut self) -> Result<()> {
        let pad = (REGION_ALIGN - self.offset % REGION_ALIGN) % REGION_ALIGN;
        self.raw(&[0u8; REGION_ALIGN as usize][..pad as usize])?;
        self.region_start = self.offset;
        self.hasher = crc32fast::Hasher::new();
        Ok(())
    }

    fn end_region(&mut self, kind: RegionKind, column: ColumnId) {
        let crc = std::mem::take(&mut self.hasher).finalize();
        self.regions.push(Region {
            kind,
            column,
            offset: self.region_start,
            len: self.offset - self.region_start,
            crc,
        });
    }

    /// Offsets region then bytes region, from one encoder per row.
    fn write_var(
        &mut self,
        n: usize,
        kinds: (RegionKind, RegionKind),
        column: ColumnId,
        mut encode: impl FnMut(usize, &mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        // Pass 1: offsets (needs each row's encoded length).
        self.begin_region()?;
        let mut scratch = Vec::new();
        let mut total = 0u64;
        self.put(&0u64.to_le_bytes())?;
        for row in 0..n {
            scratch.clear();
            encode(row, &mut scratch)?;
            total += scratch.len() as u64;
            self.put(&total.to_le_bytes())?;
        }
        self.end_region(kinds.0, column);
        // Pass 2: bytes.
        self.begin_region()?;
        for row in 0..n {
            scratch.clear();
            encode(row, &mut scratch)?;
            self.put(&scratch)?;
        }
        self.end_region(kinds.1, column);
        Ok(())
    }

    fn write_ids(&mut self, rows: &dyn RowSource) -> Result<()> {
        let mut previous: Option<String> = None;
        for row in 0..rows.len() {
            let id = rows.id(row)?;
            if previous.as_deref().is_some_and(|p| p >= id) {
                return Err(Error::InvalidArgument(format!(
                    "segment rows must be sorted by unique id; {id:?} follows {previous:?}"
                )));
            }
            previous = Some(id.to_string());
        }
        let kinds = (RegionKind::IdOffsets, RegionKind::IdBytes);
        self.write_var(rows.len(), kinds, ColumnId(0), |row, out| {
            out.extend_from_slice(rows.id(row)?.as_bytes());
            Ok(())
        })
    }

    fn write_vectors(
        &mut self,
        rows: &dyn RowSource,
        pos: usize,
        column: &Column,
        dim: usize,
    ) -> Result<()> {
        let dtype = column.expect_vector()?.dtype;
        let zeros = vec![0u8; dim * dtype.size_bytes()];
        let mut validity = vec![0u64; rows.len().div_ceil(64)];
        let mut narrowed = Vec::new();
        self.begin_region()?;
        for row in 0..rows.len() {
            match rows.vector(row, pos, column)? {
                Some(v) if v.len() == dim => {
                    validity[row / 64] |= 1 << (row % 64);
                    let bytes = stored_bytes(v, dtype, &mut narrowed, column)?;
                    self.put(bytes)?;
                }
                Some(v) => {
                    return Err(Error::DimensionMismatch {
                        column: column.name.clone(),
                        expected: dim,
                        got: v.len(),
                    });
                }
                None => self.put(&zeros)?,
            }
        }
        self.end_region(RegionKind::Vectors, column.id);
        if column.nullable {
            self.begin_region()?;
            self.put(bytemuck::cast_slice(&validity))?;
            self.end_region(RegionKind::Validity, column.id);
        }
        Ok(())
    }

    /// Element offsets, then every row's vectors back to back.
    fn write_multi(
        &mut self,
        rows: &dyn RowSource,
        pos: usize,
        column: &Column,
        dim: usize,
    ) -> Result<()> {
        self.begin_region()?;
        let mut total = 0u64;
        self.put(&0u64.to_le_bytes())?;
        for row in 0..rows.len() {
            let flat = rows.vectors(row, pos, column)?.unwrap_or(&[]);
            if !flat.len().is_multiple_of(dim) {
                return Err(Error::InvalidArgument(format!(
                    "column {}: row {row} holds {} values, not a whole number of {dim}-dimensional vectors",
                    column.name,
                    flat.len()
                )));
            }
            total += (flat.len() / dim) as u64;
            self.put(&total.to_le_bytes())?;
        }
        self.end_region(RegionKind::MultiOffsets, column.id);
        self.begin_region()?;
        for row in 0..rows.len() {
            if let Some(flat) = rows.vectors(row, pos, column)? {
                self.put(bytemuck::cast_slice(flat))?;
            }
        }
        self.end_region(RegionKind::MultiVectors, column.id);
        Ok(())
    }

    fn write_attrs(&mut self, rows: &dyn RowSource, pos: usize, column: &Column) -> Result<()> {
        let kinds = (RegionKind::AttrOffsets, RegionKind::AttrBytes);
        self.write_var(rows.len(), kinds, column.id, |row, out| {
            let value = rows.attr(row, pos, column)?;
            if !value.is_null() {
                let mut w = ByteWriter {
                    buf: std::mem::take(out),
                };
                encode_value(&value, &mut w);
                *out = w.buf;
            }
            Ok(())
        })
    }

    fn finish(mut self, rows: u64) -> Result<u64> {
        self.begin_region()?;
        let directory = encode_directory(&self.regions);
        let header = Header {
            rows,
            directory_offset: self.offset,
            directory_len: directory.len() as u64,
            directory_crc: crc32fast::hash(&directory),
            file_len: self.offset + directory.len() as u64 + super::layout::HEADER_LEN as u64,
        };
        self.raw(&directory)?;
        self.raw(&header.encode())?;
        self.file.write_all(&self.buf)?;
        self.file.sync()?;
        Ok(header.file_len)
    }
}

/// The bytes a segment stores for vector `v` in a column of type `dtype`: `v`'s own
/// when it already has that type (a compaction copies half-precision rows as they
/// are), else `v` narrowed into `buffer` (memtable rows were rounded at write, so
/// narrowing them is exact; a component out of range is refused).
fn stored_bytes<'a>(
    v: Vectors<'a>,
    dtype: DType,
    buffer: &'a mut Vec<u8>,
    column: &Column,
) -> Result<&'a [u8]> {
    if v.dtype() == dtype {
        return Ok(v.bytes());
    }
    let mut wide = v.to_f32().into_owned();
    crate::row::round_to(&column.name, dtype, &mut wide)?;
    buffer.clear();
    match dtype {
        DType::F32 => buffer.extend_from_slice(bytemuck::cast_slice(&wide)),
        DType::F16 => {
            for x in wide {
                buffer.extend_from_slice(&half::f16::from_f32(x).to_le_bytes());
            }
        }
        DType::Bf16 => {
            for x in wide {
                buffer.extend_from_slice(&half::bf16::from_f32(x).to_le_bytes());
            }
        }
    }
    Ok(buffer)
}
