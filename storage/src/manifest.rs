//! The manifest: which collections exist, their schemas, their live segments and
//! tombstone files, and how far each collection's data is sealed into segments. It is
//! replaced atomically (temp, fsync, rename, fsync dir) and framed with magic, version,
//! length and CRC around a JSON body.

use serde::{Deserialize, Serialize};

use crate::directory::{Directory, publish};
use crate::error::{Error, Result};
use crate::ids::{CollectionId, Lsn, SegmentId};
use crate::schema::Schema;

pub const MANIFEST_FILE: &str = "MANIFEST";
const MAGIC: [u8; 8] = *b"QVMANIF\0";
pub const MANIFEST_VERSION: u32 = 1;
const HEADER_LEN: usize = 20;

/// One live segment of a collection.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SegmentEntry {
    pub id: SegmentId,
    pub rows: u32,
    /// Current tombstone file, if any row was deleted.
    pub tombstones: Option<String>,
    pub deleted: u32,
}

/// One collection.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct CollectionEntry {
    pub id: CollectionId,
    pub name: String,
    pub schema: Schema,
    /// Every WAL record of this collection with an LSN at or below this is in segments.
    pub flushed_lsn: Lsn,
    /// Oldest first.
    pub segments: Vec<SegmentEntry>,
}

/// The whole manifest.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize, Default)]
pub struct Manifest {
    pub next_segment_id: u64,
    pub next_collection_id: u64,
    /// The highest LSN handed out when this manifest was written.
    pub last_lsn: Lsn,
    pub next_tombstone_generation: u64,
    pub collections: Vec<CollectionEntry>,
}

impl Manifest {
    /// Reads the manifest; `None` for a database folder that has none yet.
    pub fn load(dir: &dyn Directory) -> Result<Option<Manifest>> {
        if !dir.exists(MANIFEST_FILE) {
            return Ok(None);
        }
        let bytes = dir.read(MANIFEST_FILE)?;
        Self::decode(&bytes, &dir.path_of(MANIFEST_FILE)).map(Some)
    }

    pub fn decode(bytes: &[u8], path: &std::path::Path) -> Result<Manifest> {
        if bytes.len() < HEADER_LEN || bytes[..8] != MAGIC {
            return Err(Error::corrupted(
                path,
                0,
                "not a Quiver manifest (bad magic or too short)",
            ));
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(8);
        if version != MANIFEST_VERSION {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: MANIFEST_VERSION,
            });
        }
        let len = word(12) as usize;
        let crc = word(16);
        let body = &bytes[HEADER_LEN..];
        if body.len() != len {
            return Err(Error::corrupted(
                path,
                12,
                format!("body is {} bytes, header says {len}", body.len()),
            ));
        }
        if crc32fast::hash(body) != crc {
            return Err(Error::corrupted(
                path,
                HEADER_LEN as u64,
                "manifest checksum mismatch",
            ));
        }
        let manifest: Manifest = serde_json::from_slice(body).map_err(|e| {
            Error::corrupted(path, HEADER_LEN as u64, format!("manifest body: {e}"))
        })?;
        for c in &manifest.collections {
            c.schema.check().map_err(|e| {
                Error::corrupted(
                    path,
                    HEADER_LEN as u64,
                    format!("collection {}: {e}", c.name),
                )
            })?;
        }
        Ok(manifest)
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        let body =
            serde_json::to_vec_pretty(self).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Replaces the manifest on disk atomically and durably.
    pub fn store(&self, dir: &dyn Directory) -> Result<()> {
        publish(dir, MANIFEST_FILE, &self.encode()?)
    }

    pub fn collection(&self, name: &str) -> Option<&CollectionEntry> {
        self.collections.iter().find(|c| c.name == name)
    }
}
