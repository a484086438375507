//! Read-only memory maps: the one place in Quiver that calls `Mmap::map`.
#![allow(unsafe_code)]

use std::fs::File;
use std::sync::Arc;

/// Immutable bytes of a whole file: a memory map, or an 8-byte-aligned heap copy for
/// empty files and in-memory directories. Cheap to clone.
#[derive(Clone)]
pub struct MappedBytes(Arc<Inner>);

enum Inner {
    Map(memmap2::Mmap),
    /// u64 storage keeps the bytes 8-aligned, so f32/u32/u64 views cast without copying.
    Heap(Vec<u64>, usize),
}

impl MappedBytes {
    /// Maps `file` read-only.
    pub fn map_file(file: &File) -> std::io::Result<Self> {
        if file.metadata()?.len() == 0 {
            return Ok(Self::from_vec(Vec::new()));
        }
        // SAFETY: Quiver maps only files it published immutably (segments)
        // and never writes to them again; the database lock keeps other Quiver writers
        // out. A foreign process truncating the file is outside the contract (documented
        // in docs/FORMAT.md). We only ever hand out `&[u8]` views of the map.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(MappedBytes(Arc::new(Inner::Map(map))))
    }

    /// Copies `bytes` into an aligned heap buffer.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        let mut words = vec![0u64; len.div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..len].copy_from_slice(&bytes);
        MappedBytes(Arc::new(Inner::Heap(words, len)))
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &*self.0 {
            Inner::Map(m) => m,
            Inner::Heap(words, len) => &bytemuck::cast_slice(words)[..*len],
        }
    }

    /// `madvise(MADV_WILLNEED)` on `range` of a map (nothing for heap bytes): the
    /// kernel starts reading those pages in. Advice only; errors are ignored.
    pub fn will_need(&self, range: std::ops::Range<usize>) {
        if let Inner::Map(map) = &*self.0
            && range.start < range.end
            && range.end <= map.len()
        {
            let _ = map.advise_range(memmap2::Advice::WillNeed, range.start, range.len());
        }
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// So a map can back a `bytes::Bytes` (object-storage uploads) without a copy.
impl AsRef<[u8]> for MappedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for MappedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &*self.0 {
            Inner::Map(_) => "mmap",
            Inner::Heap(..) => "heap",
        };
        write!(f, "MappedBytes({kind}, {} bytes)", self.len())
    }
}
