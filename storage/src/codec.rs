//! Little-endian byte encoding shared by the WAL and segment formats. The reader never
//! panics: a short or malformed buffer is a [`Error::Corrupted`] naming file and offset.

use std::path::Path;

use crate::error::{Error, Result};

/// Appends little-endian values to a byte vector.
#[derive(Debug, Default)]
pub struct ByteWriter {
    pub buf: Vec<u8>,
}

impl ByteWriter {
    pub fn with_capacity(n: usize) -> Self {
        ByteWriter {
            buf: Vec::with_capacity(n),
        }
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Length-prefixed (u32) bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    /// Raw f32 components, no length prefix.
    pub fn f32s(&mut self, v: &[f32]) {
        self.buf.extend_from_slice(bytemuck::cast_slice(v));
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Reads little-endian values with bounds checks.
#[derive(Debug)]
pub struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
    base: u64,
}

impl<'a> ByteReader<'a> {
    /// `base` is the offset of `buf` inside the file `path`, for error messages.
    pub fn new(buf: &'a [u8], path: &'a Path, base: u64) -> Self {
        ByteReader {
            buf,
            pos: 0,
            path,
            base,
        }
    }

    /// A corruption error at the current position.
    pub fn error(&self, reason: impl Into<String>) -> Error {
        Error::corrupted(self.path, self.base + self.pos as u64, reason)
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(format!("needs {n} bytes, only {} remain", self.remaining())));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<&'a str> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.error("text is not valid UTF-8"))
    }
    /// `n` f32 components, copied out (the WAL buffer has no alignment guarantee).
    pub fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        let bytes = n
            .checked_mul(4)
            .ok_or_else(|| self.error("vector length overflows"))?;
        let raw = self.take(bytes)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    pub fn is_done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_buffers_are_corruption_not_panics() {
        let mut w = ByteWriter::default();
        w.u32(7);
        w.str("héllo");
        w.f32s(&[1.0, -2.5]);
        let path = Path::new("x");
        let mut r = ByteReader::new(&w.buf, path, 0);
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.str().unwrap(), "héllo");
        assert_eq!(r.f32s(2).unwrap(), vec![1.0, -2.5]);
        assert!(r.is_done());
        let mut short = ByteReader::new(&w.buf[..6], path, 100);
        short.u32().unwrap();
        let err = short.str().unwrap_err();
        assert!(matches!(err, Error::Corrupted { offset: 104, .. }), "{err}");
    }
}
