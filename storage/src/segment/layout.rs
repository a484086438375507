//! The segment header and region directory, encoded and checked.

use std::path::Path;

use crate::codec::{ByteReader, ByteWriter};
use crate::error::{Error, Result};
use crate::ids::ColumnId;

pub const SEGMENT_MAGIC: [u8; 8] = *b"QVSEG\0\0\0";
/// The newest segment version this build reads and writes. Version 2 is version 1
/// plus the HNSW 8-bit code regions ([`RegionKind::Sq8Ranges`], [`RegionKind::Sq8Codes`]);
/// version 3 adds the multi-vector regions ([`RegionKind::MultiOffsets`],
/// [`RegionKind::MultiVectors`]); version 4 the RaBitQ code regions
/// ([`RegionKind::RabitqMeta`] ..= [`RegionKind::RabitqCodes`]) and half-precision
/// Vectors regions (2-byte elements, the column's `DType` saying which). A segment is written as the oldest version that has
/// its regions, so older builds refuse exactly the segments they cannot read
/// (`UnsupportedVersion`) and keep reading the rest.
pub const SEGMENT_VERSION: u32 = 4;
/// The oldest segment version this build reads.
pub const FIRST_SEGMENT_VERSION: u32 = 1;
pub const HEADER_LEN: usize = 64;
/// Every region starts at a multiple of this (cache line; enough for any SIMD load).
pub const REGION_ALIGN: u64 = 64;

/// What a region holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum RegionKind {
    /// `u64[rows + 1]` byte offsets into [`RegionKind::IdBytes`].
    IdOffsets = 1,
    /// Concatenated UTF-8 ids, sorted ascending.
    IdBytes = 2,
    /// `f32[rows * dim]`, row-major; rows without a value are zero-filled.
    Vectors = 3,
    /// `u64[ceil(rows / 64)]` bitmap, bit set = row has a value (nullable columns only).
    Validity = 4,
    /// `u64[rows + 1]` byte offsets into [`RegionKind::AttrBytes`].
    AttrOffsets = 5,
    /// Concatenated tagged values (`row::encode_value`); an empty range is NULL.
    AttrBytes = 6,
    /// HNSW graph of a vector column: `u32[4]` = m, m0, entry node, top level.
    HnswMeta = 7,
    /// HNSW: `u8[rows]`, each row's level.
    HnswLevels = 8,
    /// HNSW: `u32[rows * (1 + m0)]`, level-0 slots `[count, links..]`.
    HnswLevel0 = 9,
    /// HNSW: `u32[rows]`, start of each row's upper slots in `HnswUpper` (or u32::MAX).
    HnswUpperOffsets = 10,
    /// HNSW: upper-level slots of `1 + m` words.
    HnswUpper = 11,
    /// IVF-PQ of a vector column: `u32[4]` = nlist, m (code bytes), dim, 1 if the
    /// coarse quantizer has a graph (regions 19..=23) else 0.
    IvfMeta = 12,
    /// IVF-PQ: `f32[nlist * dim]` coarse centroids.
    IvfCentroids = 13,
    /// IVF-PQ: `f32[m * dsub * 256]` PQ codebooks, dimension-major per sub-quantizer.
    IvfCodebooks = 14,
    /// IVF-PQ: `u32[nlist + 1]`, list `l` holds entries `offsets[l]..offsets[l + 1]`.
    IvfOffsets = 15,
    /// IVF-PQ: `u32[entries]`, the segment row of each entry.
    IvfRows = 16,
    /// IVF-PQ: `u8[entries * m]` codes.
    IvfCodes = 17,
    /// IVF-PQ, L2 only: `f32[entries]`, `|r|² + 2<c, r>` per entry (absent otherwise).
    IvfCorrections = 18,
    /// IVF-PQ coarse graph (HNSW over the centroids): as `HnswMeta` ..= `HnswUpper`.
    IvfGraphMeta = 19,
    IvfGraphLevels = 20,
    IvfGraphLevel0 = 21,
    IvfGraphUpperOffsets = 22,
    IvfGraphUpper = 23,
    /// The column index's recall curve: `u32` pairs `[parameter, f32 recall bits]`
    /// (HNSW ef or IVF nprobe -> recall@10 on held-out rows), parameters ascending.
    IndexCalibration = 24,
    /// IVF-PQ, inner-product columns only: `f32[nlist * dim]` unit directions the
    /// lists are chosen by (the centroids of region 13 are then the lists' means).
    IvfDirections = 25,
    /// The column's typical distances on the calibration sample: `f32` bits
    /// `[near, far]` (mean nearest-other-row distance, mean random-pair distance),
    /// the scale of its fused scores.
    ColumnSpan = 26,
    /// HNSW traversed on 8-bit codes: `f32[2 * dim]`, each dimension's lowest value
    /// then its step (a code `c` decodes to `low + step * c`).
    Sq8Ranges = 27,
    /// HNSW 8-bit codes: `rows` rows of `quiver_index::sq8::stride(dim)` bytes.
    Sq8Codes = 28,
    /// BM25 of a TEXT column: `u32[7]` = terms, rows, analyzer (0 simple, 1 english),
    /// layout version (1), rows with a term, total terms (low, high word).
    Bm25Meta = 29,
    /// BM25: `u32[terms + 1]` byte offsets into [`RegionKind::Bm25TermBytes`].
    Bm25TermOffsets = 30,
    /// BM25: the terms, UTF-8, concatenated in ascending byte order.
    Bm25TermBytes = 31,
    /// BM25: `u32[terms + 1]`, term `t`'s postings are `offsets[t]..offsets[t + 1]`.
    Bm25PostingOffsets = 32,
    /// BM25: `u32[postings]`, each posting's segment row, ascending within a term.
    Bm25PostingRows = 33,
    /// BM25: `u32[postings]`, each posting's term frequency in its row.
    Bm25PostingTfs = 34,
    /// BM25: `u32[rows]`, each row's length in terms (0: NULL or no term).
    Bm25DocLengths = 35,
    /// A multi-vector column: `u64[rows + 1]` element offsets into
    /// [`RegionKind::MultiVectors`]; row `r` holds elements `offsets[r]..offsets[r + 1]`
    /// (an empty range is NULL).
    MultiOffsets = 36,
    /// A multi-vector column: `f32[elements * dim]`, every row's vectors back to back in
    /// row order. An index on the column is built over these elements.
    MultiVectors = 37,
    /// RaBitQ codes of a vector column (HNSW or FLAT `quantize = 'rabitqN'`):
    /// `u32[4]` = bits, dim, padded dimension, rotation rounds, then the rotation's
    /// `rounds * padded / 32` words of sign bits.
    RabitqMeta = 38,
    /// RaBitQ: `f32[dim]`, the column's mean (of unit vectors under cosine).
    RabitqCentroid = 39,
    /// RaBitQ: `rows` rows of `quiver_index::rabitq::stride(dim, bits)` bytes.
    RabitqCodes = 40,
}

impl RegionKind {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::IdOffsets,
            2 => Self::IdBytes,
            3 => Self::Vectors,
            4 => Self::Validity,
            5 => Self::AttrOffsets,
            6 => Self::AttrBytes,
            7 => Self::HnswMeta,
            8 => Self::HnswLevels,
            9 => Self::HnswLevel0,
            10 => Self::HnswUpperOffsets,
            11 => Self::HnswUpper,
            12 => Self::IvfMeta,
            13 => Self::IvfCentroids,
            14 => Self::IvfCodebooks,
            15 => Self::IvfOffsets,
            16 => Self::IvfRows,
            17 => Self::IvfCodes,
            18 => Self::IvfCorrections,
            19 => Self::IvfGraphMeta,
            20 => Self::IvfGraphLevels,
            21 => Self::IvfGraphLevel0,
            22 => Self::IvfGraphUpperOffsets,
            23 => Self::IvfGraphUpper,
            24 => Self::IndexCalibration,
            25 => Self::IvfDirections,
            26 => Self::ColumnSpan,
            27 => Self::Sq8Ranges,
            28 => Self::Sq8Codes,
            29 => Self::Bm25Meta,
            30 => Self::Bm25TermOffsets,
            31 => Self::Bm25TermBytes,
            32 => Self::Bm25PostingOffsets,
            33 => Self::Bm25PostingRows,
            34 => Self::Bm25PostingTfs,
            35 => Self::Bm25DocLengths,
            36 => Self::MultiOffsets,
            37 => Self::MultiVectors,
            38 => Self::RabitqMeta,
            39 => Self::RabitqCentroid,
            40 => Self::RabitqCodes,
            _ => return None,
        })
    }

    /// True for the regions that hold the rows themselves (ids, vectors, attributes):
    /// what cannot be recomputed. Every other region is derived from them (indexes,
    /// calibration) and can be rebuilt.
    pub fn holds_rows(self) -> bool {
        matches!(
            self,
            Self::IdOffsets
                | Self::IdBytes
                | Self::Vectors
                | Self::Validity
                | Self::AttrOffsets
                | Self::AttrBytes
                | Self::MultiOffsets
                | Self::MultiVectors
        )
    }
}

impl RegionKind {
    /// True for an index's quantized codes, the part of an index a search reads for
    /// every candidate (8-bit and RaBitQ codes, IVF-PQ's codes).
    pub fn holds_codes(self) -> bool {
        matches!(self, Self::Sq8Codes | Self::IvfCodes | Self::RabitqCodes)
    }
}

/// A region's place in the file. `column` is 0 for id regions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Region {
    pub kind: RegionKind,
    pub column: ColumnId,
    pub offset: u64,
    pub len: u64,
    pub crc: u32,
}

impl Region {
    /// The region's bytes as a range of file offsets (bounds checked at open).
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset as usize..(self.offset + self.len) as usize
    }
}

/// The segment's fixed metadata. It is written as a trailer in the last
/// [`HEADER_LEN`] bytes (the writer streams regions, so sizes are known only at the
/// end); the first [`HEADER_LEN`] bytes are a preamble with magic and version.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Header {
    pub rows: u64,
    pub directory_offset: u64,
    pub directory_len: u64,
    pub directory_crc: u32,
    pub file_len: u64,
}

pub const TRAILER_MAGIC: [u8; 8] = *b"QVSEGEND";

/// The 64-byte preamble at byte 0: magic, version, then zeros (bytes 12..64 are reserved).
pub fn preamble(version: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..8].copy_from_slice(&SEGMENT_MAGIC);
    out[8..12].copy_from_slice(&version.to_le_bytes());
    out
}

/// The version a segment with regions of `kinds` (and half-precision vectors when
/// `half`) is written as: the oldest that has them all.
pub fn version_for(kinds: impl IntoIterator<Item = RegionKind>, half: bool) -> u32 {
    let half = half.then_some(4);
    kinds
        .into_iter()
        .map(|k| match k {
            RegionKind::RabitqMeta | RegionKind::RabitqCentroid | RegionKind::RabitqCodes => 4,
            RegionKind::MultiOffsets | RegionKind::MultiVectors => 3,
            RegionKind::Sq8Ranges | RegionKind::Sq8Codes => 2,
            _ => FIRST_SEGMENT_VERSION,
        })
        .chain(half)
        .max()
        .unwrap_or(FIRST_SEGMENT_VERSION)
}

impl Header {
    /// The 64-byte trailer: rows, directory place and checksum, file length, magic, crc.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut w = ByteWriter::with_capacity(HEADER_LEN);
        w.u64(self.rows);
        w.u64(self.directory_offset);
        w.u64(self.directory_len);
        w.u32(self.directory_crc);
        w.u32(0);
        w.u64(self.file_len);
        w.buf.extend_from_slice(&TRAILER_MAGIC);
        w.u64(0);
        w.u32(0);
        let crc = crc32fast::hash(&w.buf);
        w.u32(crc);
        let mut out = [0u8; HEADER_LEN];
        out.copy_from_slice(&w.buf);
        out
    }

    /// Checks preamble and trailer of a whole segment file.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Header> {
        if bytes.len() >= 8 && bytes[..8] != SEGMENT_MAGIC {
            return Err(Error::corrupted(
                path,
                0,
                "not a Quiver segment (bad magic)",
            ));
        }
        if bytes.len() < 2 * HEADER_LEN {
            return Err(Error::corrupted(
                path,
                0,
                format!(
                    "file is {} bytes, too short for a segment (truncated?)",
                    bytes.len()
                ),
            ));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if !(FIRST_SEGMENT_VERSION..=SEGMENT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: SEGMENT_VERSION,
            });
        }
        let at = bytes.len() - HEADER_LEN;
        let trailer = &bytes[at..];
        let crc = u32::from_le_bytes([trailer[60], trailer[61], trailer[62], trailer[63]]);
        if trailer[40..48] != TRAILER_MAGIC || crc32fast::hash(&trailer[..60]) != crc {
            return Err(Error::corrupted(
                path,
                at as u64,
                "segment trailer is missing or damaged (truncated file?)",
            ));
        }
        let mut r = ByteReader::new(trailer, path, at as u64);
        let rows = r.u64()?;
        let directory_offset = r.u64()?;
        let directory_len = r.u64()?;
        let directory_crc = r.u32()?;
        let _ = r.u32()?;
        let file_len = r.u64()?;
        if file_len != bytes.len() as u64 {
            return Err(Error::corrupted(
                path,
                at as u64,
                format!("file is {} bytes, trailer says {file_len}", bytes.len()),
            ));
        }
        if rows > u32::MAX as u64 {
            return Err(Error::corrupted(
                path,
                at as u64,
                format!("{rows} rows exceed the row id range"),
            ));
        }
        Ok(Header {
            rows,
            directory_offset,
            directory_len,
            directory_crc,
            file_len,
        })
    }
}

const REGION_ENTRY_LEN: usize = 1 + 4 + 8 + 8 + 4;

pub fn encode_directory(regions: &[Region]) -> Vec<u8> {
    let mut w = ByteWriter::with_capacity(4 + regions.len() * REGION_ENTRY_LEN);
    w.u32(regions.len() as u32);
    for r in regions {
        w.u8(r.kind as u8);
        w.u32(r.column.0);
        w.u64(r.offset);
        w.u64(r.len);
        w.u32(r.crc);
    }
    w.buf
}

/// Decodes the directory and checks every region lies inside the data area, aligned.
pub fn decode_directory(bytes: &[u8], header: &Header, path: &Path) -> Result<Vec<Region>> {
    let start = header.directory_offset;
    let end = start.checked_add(header.directory_len);
    let in_file =
        end.is_some_and(|e| e <= header.file_len - HEADER_LEN as u64) && start >= HEADER_LEN as u64;
    if !in_file {
        return Err(Error::corrupted(
            path,
            24,
            "region directory lies outside the file",
        ));
    }
    let raw = &bytes[start as usize..(start + header.directory_len) as usize];
    if crc32fast::hash(raw) != header.directory_crc {
        return Err(Error::corrupted(
            path,
            start,
            "region directory checksum mismatch",
        ));
    }
    let mut r = ByteReader::new(raw, path, start);
    let n = r.u32()? as usize;
    if n > r.remaining() / REGION_ENTRY_LEN {
        return Err(r.error(format!("{n} regions cannot fit in the directory")));
    }
    let mut regions = Vec::with_capacity(n);
    for _ in 0..n {
        let kind_byte = r.u8()?;
        let kind = RegionKind::from_u8(kind_byte)
            .ok_or_else(|| r.error(format!("unknown region kind {kind_byte}")))?;
        let region = Region {
            kind,
            column: ColumnId(r.u32()?),
            offset: r.u64()?,
            len: r.u64()?,
            crc: r.u32()?,
        };
        let fits = region
            .offset
            .checked_add(region.len)
            .is_some_and(|e| e <= start)
            && region.offset >= HEADER_LEN as u64
            && region.offset.is_multiple_of(REGION_ALIGN);
        if !fits {
            return Err(Error::corrupted(
                path,
                region.offset,
                format!(
                    "{kind:?} region of column {} is out of bounds or unaligned",
                    region.column
                ),
            ));
        }
        regions.push(region);
    }
    if !r.is_done() {
        return Err(r.error("trailing bytes after the region directory"));
    }
    Ok(regions)
}
