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

/// A complete framed record (`len | crc(len) | crc | payload`) ready to append.
pub fn encode_record(
    lsn: Lsn,
    collection: CollectionId,
    schema: &Schema,
    ops: &[WalOp],
) -> Result<Vec<u8>> {
    let mut record = RecordBuilder::new(lsn, collection);
    for op in ops {
        match op {
            WalOp::Put(row) => record.put(schema, row),
            WalOp::Delete(id) => record.delete(id),
        }
    }
    record.finish()
}

/// Encodes a record op by op, so a writer can log a row and then move it elsewhere
/// without keeping a copy.
#[derive(Debug)]
pub struct RecordBuilder {
    w: ByteWriter,
    ops: u32,
}

/// Where the op count sits: after the frame, the LSN and the collection id.
const OPS_AT: usize = FRAME_LEN + 16;

impl RecordBuilder {
    pub fn new(lsn: Lsn, collection: CollectionId) -> Self {
        let mut w = ByteWriter::with_capacity(4096);
        w.buf.resize(FRAME_LEN, 0); // length and checksums, patched by `finish`
        w.u64(lsn.0);
        w.u64(collection.0);
        w.u32(0); // op count, patched by `finish`
        RecordBuilder { w, ops: 0 }
    }

    pub fn put(&mut self, schema: &Schema, row: &Row) {
        self.w.u8(OP_PUT);
        row.encode(schema, &mut self.w);
        self.ops += 1;
    }

    pub fn delete(&mut self, id: &ItemId) {
        self.w.u8(OP_DELETE);
        self.w.str(id.as_str());
        self.ops += 1;
    }

    pub fn ops(&self) -> u32 {
        self.ops
    }

    /// Patches the frame; fails if the payload exceeds [`MAX_PAYLOAD`].
    pub fn finish(self) -> Result<Vec<u8>> {
        let mut buf = self.w.buf;
        let payload_len = buf.len() - FRAME_LEN;
        if payload_len > MAX_PAYLOAD {
            return Err(Error::InvalidArgument(format!(
                "a batch encodes to {payload_len} bytes; the limit is {MAX_PAYLOAD}: split it"
            )));
        }
        buf[OPS_AT..OPS_AT + 4].copy_from_slice(&self.ops.to_le_bytes());
        let crc = crc32fast::hash(&buf[FRAME_LEN..]);
        let len = (payload_len as u32).to_le_bytes();
        buf[0..4].copy_from_slice(&len);
        buf[4..8].copy_from_slice(&crc32fast::hash(&len).to_le_bytes());
        buf[8..12].copy_from_slice(&crc.to_le_bytes());
        Ok(buf)
    }
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
