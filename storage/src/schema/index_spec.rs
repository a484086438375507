//! The ANN index a vector column declares (`IndexSpec`: HNSW or IVF-PQ and their
//! parameters) and how an HNSW graph is walked (`Quantize`), with their checks.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What an HNSW search traverses the graph on.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantize {
    /// The column's `f32` vectors.
    #[default]
    None,
    /// 8-bit codes of the column (one byte per dimension, stored with the graph); the
    /// search re-ranks its best candidates with the `f32` vectors.
    Sq8,
}

impl Quantize {
    pub fn is_none(&self) -> bool {
        *self == Quantize::None
    }

    /// The SQL name: `none` or `sq8`.
    pub fn name(self) -> &'static str {
        match self {
            Quantize::None => "none",
            Quantize::Sq8 => "sq8",
        }
    }

    /// By SQL name, any case.
    pub fn parse(name: &str) -> Result<Quantize> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Ok(Quantize::None),
            "sq8" => Ok(Quantize::Sq8),
            _ => Err(Error::InvalidArgument(format!(
                "quantize must be 'none' or 'sq8', got '{name}'"
            ))),
        }
    }
}

/// The ANN index declared on a vector column; segments sealed after the declaration
/// carry it (built at flush and compaction).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IndexSpec {
    Hnsw {
        m: u32,
        ef_construction: u32,
        /// Absent in schemas written before it existed: `none`.
        #[serde(default, skip_serializing_if = "Quantize::is_none")]
        quantize: Quantize,
    },
    /// IVF-PQ: `nlist` lists, codes of `m` bytes (0: chosen from the dimension, see
    /// [`IndexSpec::pq_m_for`]), searches re-rank `k * refine` candidates exactly.
    IvfPq { nlist: u32, m: u32, refine: u32 },
}

impl IndexSpec {
    /// HNSW with M = 16, ef_construction = 200, traversed on 8-bit codes; change them
    /// with [`IndexSpec::m`], [`IndexSpec::ef_construction`] and [`IndexSpec::quantize`].
    pub fn hnsw() -> Self {
        IndexSpec::Hnsw {
            m: 16,
            ef_construction: 200,
            quantize: Quantize::Sq8,
        }
    }

    /// IVF-PQ with 1024 lists, `dim / 8` code bytes and refine 10; change them with
    /// [`IndexSpec::nlist`], [`IndexSpec::m`] and [`IndexSpec::refine`].
    pub fn ivf_pq() -> Self {
        IndexSpec::IvfPq {
            nlist: 1024,
            m: 0,
            refine: 10,
        }
    }

    /// HNSW: links per node. IVF-PQ: bytes per code (a divisor of the dimension).
    pub fn m(self, value: u32) -> Self {
        match self {
            IndexSpec::Hnsw {
                ef_construction,
                quantize,
                ..
            } => IndexSpec::Hnsw {
                m: value,
                ef_construction,
                quantize,
            },
            IndexSpec::IvfPq { nlist, refine, .. } => IndexSpec::IvfPq {
                nlist,
                m: value,
                refine,
            },
        }
    }

    /// HNSW only (IVF-PQ ignores it).
    pub fn ef_construction(self, value: u32) -> Self {
        match self {
            IndexSpec::Hnsw { m, quantize, .. } => IndexSpec::Hnsw {
                m,
                ef_construction: value,
                quantize,
            },
            other => other,
        }
    }

    /// HNSW only (IVF-PQ ignores it).
    pub fn quantize(self, value: Quantize) -> Self {
        match self {
            IndexSpec::Hnsw {
                m, ef_construction, ..
            } => IndexSpec::Hnsw {
                m,
                ef_construction,
                quantize: value,
            },
            other => other,
        }
    }

    /// IVF-PQ only (HNSW ignores it).
    pub fn nlist(self, value: u32) -> Self {
        match self {
            IndexSpec::IvfPq { m, refine, .. } => IndexSpec::IvfPq {
                nlist: value,
                m,
                refine,
            },
            other => other,
        }
    }

    /// IVF-PQ only: re-rank `k * value` candidates exactly (0 or 1: no re-ranking).
    pub fn refine(self, value: u32) -> Self {
        match self {
            IndexSpec::IvfPq { nlist, m, .. } => IndexSpec::IvfPq {
                nlist,
                m,
                refine: value,
            },
            other => other,
        }
    }

    /// The IVF-PQ code size for a dimension: the given `m`, or for `m = 0` the largest
    /// divisor of `dim` not above `dim / 8` (at least 1).
    pub fn pq_m_for(m: u32, dim: u32) -> u32 {
        if m != 0 {
            return m;
        }
        (1..=(dim / 8).max(1))
            .rev()
            .find(|d| dim.is_multiple_of(*d))
            .unwrap_or(1)
    }

    /// Rejects parameters no index can be built with.
    pub fn check(&self) -> Result<()> {
        match *self {
            IndexSpec::Hnsw {
                m, ef_construction, ..
            } => {
                if !(2..=128).contains(&m) || !(1..=4096).contains(&ef_construction) {
                    return Err(Error::InvalidArgument(format!(
                        "HNSW needs 2 <= m <= 128 and 1 <= ef_construction <= 4096, got m = {m}, ef_construction = {ef_construction}"
                    )));
                }
                Ok(())
            }
            IndexSpec::IvfPq { nlist, m, refine } => {
                if !(1..=65_536).contains(&nlist) || m > 8192 || refine > 1000 {
                    return Err(Error::InvalidArgument(format!(
                        "IVF-PQ needs 1 <= nlist <= 65536, m <= 8192 and refine <= 1000, got nlist = {nlist}, m = {m}, refine = {refine}"
                    )));
                }
                Ok(())
            }
        }
    }

    /// [`IndexSpec::check`], plus what depends on the column's dimension.
    pub fn check_for(&self, dim: u32) -> Result<()> {
        self.check()?;
        if let IndexSpec::IvfPq { m, .. } = *self
            && m != 0
            && !dim.is_multiple_of(m)
        {
            return Err(Error::InvalidArgument(format!(
                "IVF-PQ code size m = {m} must divide the dimension {dim}"
            )));
        }
        Ok(())
    }
}
