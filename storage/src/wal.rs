//! The write-ahead log: numbered files `wal-<first lsn>.log`, each a 16-byte header and
//! then records `len u32 | crc32(len) u32 | crc32(payload) u32 | payload`, payload =
//! `lsn u64 | collection u64 | ops`. One record is one committed batch, so a batch is
//! all or nothing.
//!
//! On open, a torn tail (the crash hit mid-append) is cut off: a frame header cut short
//! or all zeros, a payload cut short, or a last record that fails its checksum and ends
//! in zeros. Anything else wrong, including a damaged length, is
//! [`crate::Error::Corrupted`]: the length has its own checksum so a flipped length can
//! never pass for a torn tail and silently drop the records after it.

mod reader;
mod record;
mod writer;

pub use reader::{WalFile, WalRecord, read_wal_file, read_wal_tail};
pub use record::{RecordBuilder, WalOp, decode_ops, encode_record};
pub use writer::{AppendError, WalWriter};

use crate::ids::Lsn;

/// Magic bytes at the start of every WAL file.
pub const WAL_MAGIC: [u8; 8] = *b"QVWAL\0\0\0";
/// WAL format version this build writes and reads.
pub const WAL_VERSION: u32 = 1;
/// Size of the per-file header: magic, version, reserved.
pub const WAL_HEADER_LEN: usize = 16;
/// Size of a record's frame: length, the length's CRC, the payload's CRC.
pub const FRAME_LEN: usize = 12;
/// Smallest payload: lsn and collection id.
pub const MIN_PAYLOAD: usize = 16;
/// Largest payload accepted (a batch must fit in one record).
pub const MAX_PAYLOAD: usize = 1 << 30;

/// File name of the WAL file whose first record has `lsn`.
pub fn wal_file_name(first: Lsn) -> String {
    format!("wal-{:020}.log", first.0)
}

/// The first LSN encoded in a WAL file name, if `name` is one.
pub fn parse_wal_file_name(name: &str) -> Option<Lsn> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if digits.len() != 20 {
        return None;
    }
    digits.parse().ok().map(Lsn)
}

/// The 16-byte header of a new WAL file.
pub fn wal_header() -> [u8; WAL_HEADER_LEN] {
    let mut h = [0u8; WAL_HEADER_LEN];
    h[..8].copy_from_slice(&WAL_MAGIC);
    h[8..12].copy_from_slice(&WAL_VERSION.to_le_bytes());
    h
}
