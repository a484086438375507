//! Reading a WAL file back: frames, checksums, torn-tail detection.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::ids::{CollectionId, Lsn};

use super::{FRAME_LEN, MAX_PAYLOAD, MIN_PAYLOAD, WAL_HEADER_LEN, WAL_MAGIC, WAL_VERSION};

/// One checked record: its LSN, collection and the byte range of its ops.
#[derive(Clone, Debug)]
pub struct WalRecord {
    pub lsn: Lsn,
    pub collection: CollectionId,
    /// Offset of the ops in [`WalFile::bytes`].
    pub body_start: usize,
    pub body_end: usize,
}

/// A WAL file read into memory, with its valid records.
#[derive(Debug)]
pub struct WalFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub records: Vec<WalRecord>,
    /// Bytes up to the end of the last valid record.
    pub valid_len: u64,
    /// True when bytes after `valid_len` were a torn (incomplete) last record.
    pub torn_tail: bool,
}

impl WalFile {
    pub fn body(&self, record: &WalRecord) -> &[u8] {
        &self.bytes[record.body_start..record.body_end]
    }
}

/// Parses a whole WAL file. `after` is the LSN the previous file ended with: records
/// must continue strictly above it.
pub fn read_wal_file(path: PathBuf, bytes: Vec<u8>, after: Lsn) -> Result<WalFile> {
    if bytes.len() < WAL_HEADER_LEN {
        // A file whose header never fully reached the disk holds no records.
        return Ok(WalFile {
            path,
            bytes,
            records: Vec::new(),
            valid_len: 0,
            torn_tail: true,
        });
    }
    if bytes[..8] != WAL_MAGIC {
        return Err(Error::corrupted(
            path,
            0,
            "not a Quiver WAL file (bad magic)",
        ));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != WAL_VERSION {
        return Err(Error::UnsupportedVersion {
            path,
            found: version,
            supported: WAL_VERSION,
        });
    }
    frames(path, bytes, WAL_HEADER_LEN, 0, after)
}

/// The records of the part of a WAL file from byte `offset` on (`tail`: a record
/// boundary the file had already been read to, e.g. by a reader following a writer
/// that appends; the header was checked then), `after` being the last LSN before it.
/// Offsets in the result are into `tail`, except `valid_len`, which counts from the
/// start of the file.
pub fn read_wal_tail(path: PathBuf, tail: Vec<u8>, offset: u64, after: Lsn) -> Result<WalFile> {
    if offset < WAL_HEADER_LEN as u64 {
        return Err(Error::corrupted(
            path,
            offset,
            "a WAL tail must start after the header",
        ));
    }
    frames(path, tail, 0, offset, after)
}

/// The frames of `bytes` from `start`, which sits at file offset `base + start`.
fn frames(path: PathBuf, bytes: Vec<u8>, start: usize, base: u64, after: Lsn) -> Result<WalFile> {
    let mut records = Vec::new();
    let mut pos = start;
    let mut last = after;
    let mut torn_tail = false;
    while pos < bytes.len() {
        match check_frame(&bytes, pos) {
            Frame::Valid { end } => {
                let lsn = Lsn(read_u64(&bytes, pos + FRAME_LEN));
                let collection = CollectionId(read_u64(&bytes, pos + FRAME_LEN + 8));
                if lsn <= last {
                    return Err(Error::corrupted(
                        path,
                        base + pos as u64,
                        format!("LSN {lsn} does not follow {last}"),
                    ));
                }
                last = lsn;
                records.push(WalRecord {
                    lsn,
                    collection,
                    body_start: pos + FRAME_LEN + MIN_PAYLOAD,
                    body_end: end,
                });
                pos = end;
            }
            Frame::Torn => {
                torn_tail = true;
                break;
            }
            Frame::Bad(reason) => return Err(Error::corrupted(path, base + pos as u64, reason)),
        }
    }
    Ok(WalFile {
        path,
        valid_len: base + pos as u64,
        bytes,
        records,
        torn_tail,
    })
}

enum Frame {
    Valid {
        end: usize,
    },
    /// The record is incomplete and nothing follows it: a crash mid-append.
    Torn,
    Bad(String),
}

fn check_frame(bytes: &[u8], pos: usize) -> Frame {
    let rest = &bytes[pos..];
    if rest.len() < FRAME_LEN {
        return Frame::Torn;
    }
    let word = |at: usize| u32::from_le_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]]);
    let (len, len_crc, crc) = (word(0) as usize, word(4), word(8));
    if crc32fast::hash(&rest[..4]) != len_crc {
        // A header we wrote always checks; zeros are space the file system extended
        // but the crash kept us from filling.
        return if rest.iter().all(|&b| b == 0) {
            Frame::Torn
        } else {
            Frame::Bad("record length fails its checksum".into())
        };
    }
    if !(MIN_PAYLOAD..=MAX_PAYLOAD).contains(&len) {
        return Frame::Bad(format!("record length {len} is out of range"));
    }
    let end = FRAME_LEN + len;
    if end > rest.len() {
        return Frame::Torn;
    }
    if crc32fast::hash(&rest[FRAME_LEN..end]) != crc {
        let last = end == rest.len();
        let zero_filled = rest[end.saturating_sub(ZERO_TAIL).max(FRAME_LEN)..end]
            .iter()
            .all(|&b| b == 0);
        return if last && zero_filled {
            Frame::Torn
        } else {
            Frame::Bad("record checksum mismatch".into())
        };
    }
    Frame::Valid { end: pos + end }
}

/// A last record failing its checksum is a torn write only if it ends in this many zero
/// bytes (the unwritten part of a page); any other damage is corruption.
const ZERO_TAIL: usize = 8;

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Metric, Schema};
    use crate::wal::{WalOp, decode_ops, encode_record, wal_header};
    use crate::{Item, Row};

    fn file_with(n: u64) -> (Schema, Vec<u8>, Vec<usize>) {
        let schema = Schema::builder()
            .vector("v", 2, Metric::L2)
            .build()
            .unwrap();
        let mut bytes = wal_header().to_vec();
        let mut ends = Vec::new();
        for i in 1..=n {
            let row = Row::from_item(
                &schema,
                &Item::new(format!("i{i}")).set("v", vec![i as f32, 0.0]),
            )
            .unwrap();
            let rec = encode_record(Lsn(i), CollectionId(1), &schema, &[WalOp::Put(row)]).unwrap();
            bytes.extend_from_slice(&rec);
            ends.push(bytes.len());
        }
        (schema, bytes, ends)
    }

    #[test]
    fn every_truncation_point_is_a_torn_tail_keeping_whole_records() {
        let (schema, bytes, ends) = file_with(3);
        for cut in WAL_HEADER_LEN..=bytes.len() {
            let f = read_wal_file("w".into(), bytes[..cut].to_vec(), Lsn(0)).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(f.records.len(), whole, "cut at {cut}");
            assert_eq!(f.torn_tail, !ends.contains(&cut) && cut > WAL_HEADER_LEN);
            for r in &f.records {
                decode_ops(&schema, f.body(r), &f.path, 0).unwrap();
            }
        }
    }

    #[test]
    fn a_damaged_length_or_last_record_is_corruption_not_a_torn_tail() {
        let (_, bytes, ends) = file_with(3);
        let mut long = bytes.clone();
        long[WAL_HEADER_LEN] = 0xE8; // first record's length: in range, past the end
        long[WAL_HEADER_LEN + 1] = 0x03;
        let err = read_wal_file("w".into(), long, Lsn(0)).unwrap_err();
        assert!(
            matches!(err, Error::Corrupted { offset: 16, .. }),
            "{err:?}"
        );
        let mut flipped = bytes.clone();
        flipped[ends[1] + FRAME_LEN + 3] ^= 0x04; // inside the last record
        let err = read_wal_file("w".into(), flipped, Lsn(0)).unwrap_err();
        assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
        let mut zero_filled = bytes.clone();
        let n = zero_filled.len();
        zero_filled[n - 20..].fill(0); // the page the crash never wrote
        let f = read_wal_file("w".into(), zero_filled, Lsn(0)).unwrap();
        assert_eq!((f.records.len(), f.torn_tail), (2, true));
        let mut zero_header = bytes[..ends[1]].to_vec();
        zero_header.extend_from_slice(&[0u8; 40]);
        let f = read_wal_file("w".into(), zero_header, Lsn(0)).unwrap();
        assert_eq!((f.records.len(), f.torn_tail), (2, true));
    }

    #[test]
    fn a_tail_read_from_a_record_boundary_holds_the_records_after_it() {
        let (schema, bytes, ends) = file_with(4);
        // As a follower does: the file grew from `ends[1]` to a torn fifth record.
        let mut grown = bytes.clone();
        grown.extend_from_slice(&bytes[ends[2]..ends[3] - 5]);
        let at = ends[1] as u64;
        let tail = read_wal_tail("w".into(), grown[ends[1]..].to_vec(), at, Lsn(2)).unwrap();
        let lsns: Vec<u64> = tail.records.iter().map(|r| r.lsn.0).collect();
        assert_eq!(lsns, [3, 4]);
        assert_eq!((tail.valid_len, tail.torn_tail), (ends[3] as u64, true));
        for r in &tail.records {
            decode_ops(&schema, tail.body(r), &tail.path, 0).unwrap();
        }
        // Offsets in errors count from the start of the file.
        let mut bad = bytes[ends[1]..].to_vec();
        bad[ends[2] - ends[1] + 20] ^= 0x40;
        match read_wal_tail("w".into(), bad, at, Lsn(2)).unwrap_err() {
            Error::Corrupted { offset, .. } => assert_eq!(offset, ends[2] as u64),
            other => panic!("{other:?}"),
        }
        assert!(read_wal_tail("w".into(), Vec::new(), 3, Lsn(0)).is_err());
        let stale = read_wal_tail("w".into(), bytes[ends[1]..].to_vec(), at, Lsn(3));
        assert!(stale.is_err(), "LSNs must go on after `after`");
    }

    #[test]
    fn a_flipped_bit_mid_log_is_corruption_with_offset() {
        let (_, mut bytes, ends) = file_with(3);
        bytes[ends[0] + 20] ^= 0x40;
        let err = read_wal_file("w".into(), bytes, Lsn(0)).unwrap_err();
        match err {
            Error::Corrupted { offset, .. } => assert_eq!(offset, ends[0] as u64),
            other => panic!("{other:?}"),
        }
    }
}
