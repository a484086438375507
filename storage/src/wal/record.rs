//! Encoding of one WAL record: a batch of puts and deletes against one collection.

use std::path::Path;

use crate::codec::{ByteReader, ByteWriter};
use crate::error::{Error, Result};
use crate::ids::{CollectionId, ItemId, Lsn};
use crate::row::Row;
use crate::schema::Schema;

use super::{FRAME_LEN, MAX_PAYLOAD};

const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;

/// One logged change. A put carries the full new row (updates are resolved before
/// logging), so replay never needs to read older state.
#[derive(Clone, PartialEq, Debug)]
pub enum WalOp {
    Put(Row),
    Delete(ItemId),
}

/// A complete framed record (`len | crc | payload`) ready to append.
pub fn encode_record(
    lsn: Lsn,
    collection: CollectionId,
    schema: &Schema,
    ops: &[WalOp],
) -> Result<Vec<u8>> {
    let mut w = ByteWriter::with_capacity(4096);
    w.u32(0); // length, patched below
    w.u32(0); // length's crc, patched below
    w.u32(0); // payload crc, patched below
    w.u64(lsn.0);
    w.u64(collection.0);
    w.u32(ops.len() as u32);
    for op in ops {
        match op {
            WalOp::Put(row) => {
                w.u8(OP_PUT);
                row.encode(schema, &mut w);
            }
            WalOp::Delete(id) => {
                w.u8(OP_DELETE);
                w.str(id.as_str());
            }
        }
    }
    let payload_len = w.len() - FRAME_LEN;
    if payload_len > MAX_PAYLOAD {
        return Err(Error::InvalidArgument(format!(
            "a batch encodes to {payload_len} bytes; the limit is {MAX_PAYLOAD}: split it"
        )));
    }
    let crc = crc32fast::hash(&w.buf[FRAME_LEN..]);
    let len = (payload_len as u32).to_le_bytes();
    w.buf[0..4].copy_from_slice(&len);
    w.buf[4..8].copy_from_slice(&crc32fast::hash(&len).to_le_bytes());
    w.buf[8..12].copy_from_slice(&crc.to_le_bytes());
    Ok(w.buf)
}

/// Decodes the ops of a record body (the payload after lsn and collection id).
pub fn decode_ops(schema: &Schema, body: &[u8], path: &Path, offset: u64) -> Result<Vec<WalOp>> {
    let mut r = ByteReader::new(body, path, offset);
    let n = r.u32()? as usize;
    // Every op takes at least 5 bytes: never allocate more than the input can hold.
    if n > r.remaining() / 5 {
        return Err(r.error(format!("{n} ops cannot fit in the record")));
    }
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        let op = match r.u8()? {
            OP_PUT => WalOp::Put(Row::decode(schema, &mut r)?),
            OP_DELETE => {
                let id = r.str()?;
                WalOp::Delete(ItemId::new(id).map_err(|e| r.error(e.to_string()))?)
            }
            other => return Err(r.error(format!("unknown op {other}"))),
        };
        ops.push(op);
    }
    if !r.is_done() {
        return Err(r.error("trailing bytes after the last op"));
    }
    Ok(ops)
}
