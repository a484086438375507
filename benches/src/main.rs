//! `quiver-bench`: the ANN recall/QPS suite (see `quiver_bench::ann`).
//!
//! ```text
//! quiver-bench ann --data DIR --index hnsw --m 16 --ef-construction 200 --threads 1 --out FILE.json
//! quiver-bench ann --data DIR --index ivfpq [--nlist N --pq-m M --refine R] --threads 1 --out FILE.json
//! quiver-bench table [--out FILE.md] A.json B.json ...   # one combined table per dataset
//! quiver-bench plot --out curves.png A.json B.json ...   # recall vs QPS curves
//! quiver-bench fused --data DIR --db FOLDER [--queries N --ef EF]   # fused vs single
//! quiver-bench batch --data DIR --db FOLDER [--ef EF --k K --threads T --reps R]
//! quiver-bench remote --data DIR --db FOLDER|s3://... [--cache C --load --reps R]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use quiver::Quantize;
use quiver_bench::ann::report::{ResultsFile, combined};
use quiver_bench::ann::run::{AnnOptions, IndexKind, run};

#[derive(Debug, Parser)]
#[command(
    name = "quiver-bench",
    version,
    about = "Quiver's ANN recall/QPS benchmark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build an index over a prepared dataset and sweep its search parameter.
    Ann {
        /// Dataset folder: base.fvecs, query.fvecs, gt.ivecs, gt_dist.fvecs, meta.json.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_enum, default_value_t = IndexKind::Hnsw)]
        index: IndexKind,
        /// Codes HNSW walks or FLAT scans: none, sq8, rabitq4, rabitq2 or rabitq1.
        #[arg(long, default_value = "none", value_parser = parse_quantize)]
        quantize: Quantize,
        /// HNSW links per node (level 0 keeps 2 * m).
        #[arg(long, default_value_t = 16)]
        m: usize,
        /// HNSW beam width while building.
        #[arg(long, default_value_t = 200)]
        ef_construction: usize,
        /// HNSW level seed (default: HnswParams::default()'s).
        #[arg(long)]
        seed: Option<u64>,
        /// IVF-PQ lists (default: 4·√n, as run.py gives FAISS).
        #[arg(long)]
        nlist: Option<usize>,
        /// IVF-PQ bytes per code (default: dim / 8, as run.py).
        #[arg(long)]
        pq_m: Option<usize>,
        /// IVF-PQ re-ranking factor of the second nprobe sweep.
        #[arg(long, default_value_t = 10)]
        refine: usize,
        /// Threads of the rayon pool that builds and searches.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Repetitions of the whole sweep (medians are reported).
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Use only the first NQ queries (0: all).
        #[arg(long, default_value_t = 0)]
        nq: usize,
        /// Results JSON; the Markdown summary is written beside it (.md).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print one combined Markdown table per dataset of several results files
    /// (quiver-bench's and run.py's), with QPS ratios against the peers.
    #[command(alias = "merge")]
    Table {
        /// Also write the Markdown to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Draw recall@10 vs QPS (log scale) of every library in the files into one PNG.
    Plot {
        #[arg(long)]
        out: PathBuf,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// A fused two-column query vs a one-column query through the engine, same ef.
    Fused {
        #[arg(long)]
        data: PathBuf,
        /// Folder for the bench database (created; must not hold one already).
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        #[arg(long, default_value_t = 64)]
        ef: usize,
    },
    /// A batch of top-k queries on one column through the engine, in a pool of
    /// `threads` (the Rust side of the Python `search_batch` comparison).
    Batch {
        #[arg(long)]
        data: PathBuf,
        /// The bench database folder (`fused`'s; built when missing).
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = 64)]
        ef: usize,
        #[arg(long, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
    /// Open a database (a folder, or an s3:// URL through a cache folder) and time
    /// the open, the first query and passes over all queries; one JSON line.
    Remote {
        #[arg(long)]
        data: PathBuf,
        /// A database folder, or `s3://bucket/prefix`.
        #[arg(long)]
        db: String,
        /// The cache folder of an s3:// database.
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Build the folder's database from `data` when it lacks it, then stop.
        #[arg(long)]
        load: bool,
        /// With --load: how column `v` is stored (f32, f16, bf16).
        #[arg(long, default_value = "f32")]
        dtype: String,
        /// A name for this run, copied into the JSON line.
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long, default_value_t = 64)]
        ef: usize,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 3)]
        reps: usize,
    },
    /// MATCH (BM25) through the engine on a text corpus: index build time, QPS, and
    /// each query's top k written as JSON lines (scripts/bench/bm25.py compares them).
    Bm25 {
        /// JSON lines `{"id", "text"}`.
        #[arg(long)]
        docs: PathBuf,
        /// One query per line.
        #[arg(long)]
        queries: PathBuf,
        /// Folder for the database (created; must not hold one already).
        #[arg(long)]
        db: PathBuf,
        /// The answers, one JSON line per query.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "simple")]
        analyzer: String,
        #[arg(long, default_value_t = 10)]
        k: usize,
        #[arg(long, default_value_t = 3)]
        reps: usize,
    },
    /// An encoder's texts or images per second on the CPU (weights from
    /// scripts/fetch-models).
    Encode {
        /// The encoder's registry name.
        #[arg(long, default_value = "minilm")]
        encoder: String,
        /// A text file, one text per line.
        #[arg(long, conflicts_with = "images", required_unless_present = "images")]
        texts: Option<PathBuf>,
        /// A folder of image files.
        #[arg(long)]
        images: Option<PathBuf>,
        #[arg(long, default_value_t = 32)]
        batch: usize,
        #[arg(long, default_value_t = 1)]
        reps: usize,
    },
}

fn read_all(files: &[PathBuf]) -> Result<Vec<ResultsFile>> {
    files.iter().map(ResultsFile::read).collect()
}

/// Errors print as one line of causes (`error: a: b: c`), without a backtrace.
fn main() -> ExitCode {
    match run_command(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_command(command: Command) -> Result<()> {
    match command {
        Command::Encode {
            encoder,
            texts,
            images,
            batch,
            reps,
        } => {
            use quiver_bench::encode::{Inputs, inputs_per_second};
            let (inputs, unit) = match (&texts, &images) {
                (Some(t), _) => (Inputs::Texts(t), "texts"),
                (None, Some(i)) => (Inputs::Images(i), "images"),
                (None, None) => anyhow::bail!("give --texts or --images"),
            };
            let rate = inputs_per_second(&encoder, inputs, batch, reps)?;
            println!("quiver {encoder}: {rate:.1} {unit}/s (batch {batch})");
        }
        Command::Ann {
            data,
            index,
            quantize,
            m,
            ef_construction,
            seed,
            nlist,
            pq_m,
            refine,
            threads,
            reps,
            nq,
            out,
        } => {
            if cfg!(debug_assertions) {
                eprintln!("warning: a debug build; run with --release for real numbers");
            }
            let opts = AnnOptions {
                data,
                index,
                quantize,
                m,
                ef_construction,
                seed,
                nlist,
                pq_m,
                refine,
                threads,
                reps,
                nq,
            };
            let results = run(&opts)?;
            let md = results.write(&out)?;
            println!("{md}");
            eprintln!(
                "wrote {} and {}",
                out.display(),
                out.with_extension("md").display()
            );
        }
        Command::Remote {
            data,
            db,
            cache,
            load,
            dtype,
            label,
            ef,
            threads,
            reps,
        } => {
            if load {
                let dtype = match dtype.as_str() {
                    "f32" => quiver::DType::F32,
                    "f16" => quiver::DType::F16,
                    "bf16" => quiver::DType::Bf16,
                    other => anyhow::bail!("--dtype {other}: f32, f16 or bf16"),
                };
                quiver_bench::remote::load(&data, std::path::Path::new(&db), dtype)?;
            } else {
                let mut line =
                    quiver_bench::remote::run(&data, &db, cache.as_deref(), ef, threads, reps)?;
                line["label"] = label.into();
                println!("{line}");
            }
        }
        Command::Bm25 {
            docs,
            queries,
            db,
            out,
            analyzer,
            k,
            reps,
        } => {
            let r = quiver_bench::bm25::run(&docs, &queries, &db, &out, &analyzer, k, reps)?;
            let shown: Vec<String> = r.qps.iter().map(|q| format!("{q:.0}")).collect();
            println!(
                "quiver bm25 ({analyzer}): {} docs, index {:.2} s; {} queries, top {k}, 1 thread: QPS per rep {}",
                r.docs,
                r.index_seconds,
                r.queries,
                shown.join(" ")
            );
        }
        Command::Table { out, files } => {
            let md = combined(&read_all(&files)?)?;
            print!("{md}");
            if let Some(out) = out {
                std::fs::write(&out, &md).with_context(|| format!("writing {}", out.display()))?;
            }
        }
        Command::Plot { out, files } => {
            quiver_bench::ann::plot::plot(&read_all(&files)?, &out)?;
            eprintln!("wrote {}", out.display());
        }
        Command::Batch {
            data,
            db,
            ef,
            k,
            threads,
            reps,
        } => {
            let qps = quiver_bench::batch::run(&data, &db, ef, k, threads, reps)?;
            let shown: Vec<String> = qps.iter().map(|q| format!("{q:.0}")).collect();
            println!(
                "rust search_batch: ef {ef}, k {k}, {threads} threads: QPS per rep {}",
                shown.join(" ")
            );
        }
        Command::Fused {
            data,
            db,
            queries,
            ef,
        } => {
            let r = quiver_bench::fused::run(&data, &db, queries, ef)?;
            println!(
                "{} items, {} queries, ef {ef}: single-column {:.0} QPS; fused two-column, 40 candidates: {:.0} QPS, ratio {:.2}; widened until proven: {:.0} QPS, ratio {:.2} ({:.2} rounds, {:.0}% proven)",
                r.rows,
                r.queries,
                r.single_qps,
                r.fused_fixed_qps,
                r.fused_fixed_qps / r.single_qps,
                r.fused_qps,
                r.fused_qps / r.single_qps,
                r.mean_rounds,
                100.0 * r.proven
            );
        }
    }
    Ok(())
}

fn parse_quantize(name: &str) -> std::result::Result<Quantize, String> {
    Quantize::parse(name).map_err(|e| e.to_string())
}
