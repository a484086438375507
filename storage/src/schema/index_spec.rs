//! The index a column declares (`IndexSpec`: HNSW, IVF-PQ, IVF or FLAT on a vector column,
//! BM25 on a TEXT column, and their parameters), which codes a vector index searches
//! (`Quantize`)
//! and how BM25 cuts text into terms (`Analyzer`), with their checks.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The codes a vector index searches instead of the column's vectors (then re-scoring
/// its best candidates exactly from the vectors): HNSW traverses its graph on them, a
/// FLAT index scans them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantize {
    /// The column's vectors themselves.
    #[default]
    None,
    /// 8-bit scalar codes, one byte per dimension.
    Sq8,
    /// RaBitQ codes (a random rotation, then 1, 2 or 4 bits per dimension plus two
    /// floats per row).
    Rabitq1,
    Rabitq2,
    Rabitq4,
}

impl Quantize {
    /// Every kind, in SQL-name order of precision.
    pub const ALL: [Quantize; 5] = [
        Quantize::None,
        Quantize::Sq8,
        Quantize::Rabitq4,
        Quantize::Rabitq2,
        Quantize::Rabitq1,
    ];

    pub fn is_none(&self) -> bool {
        *self == Quantize::None
    }

    /// The SQL name: `none`, `sq8`, `rabitq1`, `rabitq2` or `rabitq4`.
    pub fn name(self) -> &'static str {
        match self {
            Quantize::None => "none",
            Quantize::Sq8 => "sq8",
            Quantize::Rabitq1 => "rabitq1",
            Quantize::Rabitq2 => "rabitq2",
            Quantize::Rabitq4 => "rabitq4",
        }
    }

    /// By SQL name, any case.
    pub fn parse(name: &str) -> Result<Quantize> {
        Quantize::ALL
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "quantize must be 'none', 'sq8', 'rabitq4', 'rabitq2' or 'rabitq1', got '{name}'"
                ))
            })
    }

    /// Bits per dimension of RaBitQ codes; `None` for the others.
    pub fn rabitq_bits(self) -> Option<u32> {
        match self {
            Quantize::Rabitq1 => Some(1),
            Quantize::Rabitq2 => Some(2),
            Quantize::Rabitq4 => Some(4),
            Quantize::None | Quantize::Sq8 => None,
        }
    }

    /// How many candidates per result a search re-scores exactly by default: coarser
    /// codes misorder more of the near neighbours, so they need a deeper candidate
    /// list for the same recall (measured in `benches/results/2026-12-08-quantized`).
    pub fn default_refine(self) -> u32 {
        match self {
            Quantize::None => 1,
            Quantize::Sq8 => 2,
            Quantize::Rabitq4 => 3,
            Quantize::Rabitq2 => 5,
            Quantize::Rabitq1 => 10,
        }
    }
}

/// How text becomes BM25 terms (`docs/SQL.md` defines both precisely). Terms are
/// stored in segments, so an analyzer's output must never change for a given name.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analyzer {
    /// Unicode lower case; a term is a maximal run of alphanumeric characters.
    #[default]
    Simple,
    /// `simple`, without English stop words, each term reduced by the Snowball English
    /// stemmer.
    English,
}

impl Analyzer {
    /// The SQL name: `simple` or `english`.
    pub fn name(self) -> &'static str {
        match self {
            Analyzer::Simple => "simple",
            Analyzer::English => "english",
        }
    }

    /// By SQL name, any case.
    pub fn parse(name: &str) -> Result<Analyzer> {
        match name.to_ascii_lowercase().as_str() {
            "simple" => Ok(Analyzer::Simple),
            "english" => Ok(Analyzer::English),
            _ => Err(Error::InvalidArgument(format!(
                "analyzer must be 'simple' or 'english', got '{name}'"
            ))),
        }
    }
}

/// The index declared on a column; segments sealed after the declaration carry it
/// (built at flush and compaction, and for the older segments by `create_index`).
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
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
    /// IVF on codes: `nlist` lists (IVF-PQ's coarse quantizer), each entry the
    /// `quantize` code (RaBitQ) of its residual from its list's centroid; searches
    /// re-score the best `k * refine` exactly (0: the codes' default).
    Ivf {
        nlist: u32,
        quantize: Quantize,
        refine: u32,
    },
    /// No graph or lists: every row is scanned, on `quantize` codes when given (then
    /// the best `k * refine` re-scored exactly; `refine` 0: the codes' default), on
    /// the vectors otherwise.
    Flat { quantize: Quantize, refine: u32 },
    /// BM25 over a TEXT column (Lucene's formula): term saturation `k1`, length
    /// normalization `b`, terms cut by `analyzer`.
    Bm25 { k1: f32, b: f32, analyzer: Analyzer },
}

/// `check` refuses NaN parameters, so equality is reflexive.
impl Eq for IndexSpec {}

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

    /// IVF with 1024 lists on 4-bit RaBitQ codes, the codes' default refine; change
    /// them with [`IndexSpec::nlist`], [`IndexSpec::quantize`] and [`IndexSpec::refine`].
    pub fn ivf() -> Self {
        IndexSpec::Ivf {
            nlist: 1024,
            quantize: Quantize::Rabitq4,
            refine: 0,
        }
    }

    /// FLAT on the vectors themselves (an exact scan); give it codes with
    /// [`IndexSpec::quantize`] and their oversampling with [`IndexSpec::refine`].
    pub fn flat() -> Self {
        IndexSpec::Flat {
            quantize: Quantize::None,
            refine: 0,
        }
    }

    /// BM25 with Lucene's defaults k1 = 1.2, b = 0.75 and the `simple` analyzer.
    pub fn bm25() -> Self {
        IndexSpec::Bm25 {
            k1: 1.2,
            b: 0.75,
            analyzer: Analyzer::Simple,
        }
    }

    /// BM25 only: term-frequency saturation (others ignore it).
    pub fn k1(self, value: f32) -> Self {
        match self {
            IndexSpec::Bm25 { b, analyzer, .. } => IndexSpec::Bm25 {
                k1: value,
                b,
                analyzer,
            },
            other => other,
        }
    }

    /// BM25 only: document-length normalization in [0, 1] (others ignore it).
    pub fn b(self, value: f32) -> Self {
        match self {
            IndexSpec::Bm25 { k1, analyzer, .. } => IndexSpec::Bm25 {
                k1,
                b: value,
                analyzer,
            },
            other => other,
        }
    }

    /// BM25 only: how text becomes terms (others ignore it).
    pub fn analyzer(self, value: Analyzer) -> Self {
        match self {
            IndexSpec::Bm25 { k1, b, .. } => IndexSpec::Bm25 {
                k1,
                b,
                analyzer: value,
            },
            other => other,
        }
    }

    /// Whether it indexes a TEXT column (BM25) rather than a vector column.
    pub fn is_text(&self) -> bool {
        matches!(self, IndexSpec::Bm25 { .. })
    }

    /// HNSW: links per node. IVF-PQ: bytes per code (a divisor of the dimension).
    /// BM25 ignores it.
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
            other => other,
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

    /// HNSW, IVF and FLAT: the codes searched (IVF-PQ and BM25 ignore it).
    pub fn quantize(self, value: Quantize) -> Self {
        match self {
            IndexSpec::Hnsw {
                m, ef_construction, ..
            } => IndexSpec::Hnsw {
                m,
                ef_construction,
                quantize: value,
            },
            IndexSpec::Flat { refine, .. } => IndexSpec::Flat {
                quantize: value,
                refine,
            },
            IndexSpec::Ivf { nlist, refine, .. } => IndexSpec::Ivf {
                nlist,
                quantize: value,
                refine,
            },
            other => other,
        }
    }

    /// IVF-PQ and IVF: lists (others ignore it).
    pub fn nlist(self, value: u32) -> Self {
        match self {
            IndexSpec::IvfPq { m, refine, .. } => IndexSpec::IvfPq {
                nlist: value,
                m,
                refine,
            },
            IndexSpec::Ivf {
                quantize, refine, ..
            } => IndexSpec::Ivf {
                nlist: value,
                quantize,
                refine,
            },
            other => other,
        }
    }

    /// IVF-PQ, IVF and FLAT: re-rank `k * value` candidates exactly (IVF-PQ: 0 or 1 for
    /// no re-ranking; IVF and FLAT: 0 for the codes' default).
    pub fn refine(self, value: u32) -> Self {
        match self {
            IndexSpec::IvfPq { nlist, m, .. } => IndexSpec::IvfPq {
                nlist,
                m,
                refine: value,
            },
            IndexSpec::Flat { quantize, .. } => IndexSpec::Flat {
                quantize,
                refine: value,
            },
            IndexSpec::Ivf {
                nlist, quantize, ..
            } => IndexSpec::Ivf {
                nlist,
                quantize,
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
            IndexSpec::Ivf {
                nlist,
                quantize,
                refine,
            } => {
                if quantize.rabitq_bits().is_none() {
                    return Err(Error::InvalidArgument(format!(
                        "IVF codes are RaBitQ: quantize must be 'rabitq4', 'rabitq2' or 'rabitq1', got '{}' (IVF_PQ has product codes; HNSW and FLAT take 'sq8')",
                        quantize.name()
                    )));
                }
                if !(1..=65_536).contains(&nlist) || refine > 1000 {
                    return Err(Error::InvalidArgument(format!(
                        "IVF needs 1 <= nlist <= 65536 and refine <= 1000, got nlist = {nlist}, refine = {refine}"
                    )));
                }
                Ok(())
            }
            IndexSpec::Flat { refine, .. } => {
                if refine > 1000 {
                    return Err(Error::InvalidArgument(format!(
                        "FLAT needs refine <= 1000, got refine = {refine}"
                    )));
                }
                Ok(())
            }
            IndexSpec::Bm25 { k1, b, .. } => {
                if !(k1.is_finite() && (0.0..=1000.0).contains(&k1) && (0.0..=1.0).contains(&b)) {
                    return Err(Error::InvalidArgument(format!(
                        "BM25 needs 0 <= k1 <= 1000 and 0 <= b <= 1, got k1 = {k1}, b = {b}"
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
