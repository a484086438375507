//! Deleted rows of one immutable segment: a bitmap kept beside it in its own small file
//! (`seg-<id>-<generation>.del`), rewritten and re-published when deletions grow.

use std::path::Path;

use crate::codec::{ByteReader, ByteWriter};
use crate::error::{Error, Result};
use crate::ids::{RowId, SegmentId};

const MAGIC: [u8; 8] = *b"QVDEL\0\0\0";
const VERSION: u32 = 1;

/// File name of generation `generation` of a segment's tombstones.
pub fn tombstone_file_name(segment: SegmentId, generation: u64) -> String {
    format!("seg-{:010}-{generation:06}.del", segment.0)
}

/// A set of deleted row ids of one segment.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Tombstones {
    bits: Vec<u64>,
    rows: u32,
    count: u32,
}

impl Tombstones {
    /// No deletions in a segment of `rows` rows.
    pub fn new(rows: u32) -> Self {
        Tombstones {
            bits: vec![0; (rows as usize).div_ceil(64)],
            rows,
            count: 0,
        }
    }

    pub fn is_deleted(&self, row: RowId) -> bool {
        let i = row.0 as usize;
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Marks a row deleted; false if it already was (or is out of range).
    pub fn delete(&mut self, row: RowId) -> bool {
        let i = row.0 as usize;
        if row.0 >= self.rows || self.is_deleted(row) {
            return false;
        }
        self.bits[i / 64] |= 1 << (i % 64);
        self.count += 1;
        true
    }

    /// Number of deleted rows.
    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Rows deleted here but not in `older`.
    pub fn newer_than<'a>(&'a self, older: &'a Tombstones) -> impl Iterator<Item = RowId> + 'a {
        (0..self.rows)
            .map(RowId)
            .filter(move |&r| self.is_deleted(r) && !older.is_deleted(r))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = ByteWriter::with_capacity(24 + self.bits.len() * 8);
        w.buf.extend_from_slice(&MAGIC);
        w.u32(VERSION);
        w.u32(self.rows);
        w.u32(self.count);
        w.u32(crc32fast::hash(bytemuck::cast_slice(&self.bits)));
        for word in &self.bits {
            w.u64(*word);
        }
        w.buf
    }

    /// Reads a tombstone file written for a segment of `rows` rows.
    pub fn decode(bytes: &[u8], path: &Path, rows: u32) -> Result<Self> {
        let mut r = ByteReader::new(bytes, path, 0);
        if r.take(8)? != MAGIC {
            return Err(Error::corrupted(
                path,
                0,
                "not a Quiver tombstone file (bad magic)",
            ));
        }
        let version = r.u32()?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: VERSION,
            });
        }
        let file_rows = r.u32()?;
        if file_rows != rows {
            return Err(r.error(format!(
                "tombstones for {file_rows} rows, segment has {rows}"
            )));
        }
        let count = r.u32()?;
        let crc = r.u32()?;
        let words = (rows as usize).div_ceil(64);
        let raw = r.take(words * 8)?;
        if !r.is_done() {
            return Err(r.error("trailing bytes after the tombstone bitmap"));
        }
        if crc32fast::hash(raw) != crc {
            return Err(Error::corrupted(path, 24, "tombstone checksum mismatch"));
        }
        let bits: Vec<u64> = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        let actual: u32 = bits.iter().map(|w| w.count_ones()).sum();
        if actual != count
            || (!rows.is_multiple_of(64) && bits.last().is_some_and(|w| w >> (rows % 64) != 0))
        {
            return Err(Error::corrupted(
                path,
                20,
                "tombstone count or padding is inconsistent",
            ));
        }
        Ok(Tombstones { bits, rows, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut t = Tombstones::new(130);
        assert!(t.delete(RowId(0)));
        assert!(t.delete(RowId(129)));
        assert!(!t.delete(RowId(129)));
        assert!(!t.delete(RowId(130)));
        let bytes = t.encode();
        let back = Tombstones::decode(&bytes, Path::new("t"), 130).unwrap();
        assert_eq!(back, t);
        let mut bad = bytes.clone();
        bad[30] ^= 1;
        assert!(
            Tombstones::decode(&bad, Path::new("t"), 130)
                .unwrap_err()
                .is_corruption()
        );
        assert!(Tombstones::decode(&bytes[..20], Path::new("t"), 130).is_err());
        let older = Tombstones::new(130);
        assert_eq!(
            t.newer_than(&older).collect::<Vec<_>>(),
            vec![RowId(0), RowId(129)]
        );
    }
}
