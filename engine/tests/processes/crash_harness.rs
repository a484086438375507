//! Kill -9 harness shared by `tests/processes/crash.rs` and `examples/crash_soak.rs`.
//!
//! Protocol: the parent re-runs its own executable with [`DIR_VAR`] and [`START_VAR`]
//! set. The child (see [`writer_from_env`]) opens the database with
//! `Durability::SyncEveryCommit`, prints `READY`, then commits batch `start`,
//! `start + 1`, ... printing `ACK <batch>` (flushed) after each commit returns Ok, with
//! flushes and compactions mixed in. The parent SIGKILLs it after a random delay, reads
//! the ACK lines, reopens the database and checks it: every acknowledged batch whole,
//! no batch half there, deletions kept, nothing unknown. It then commits the next batch
//! itself (the recovered database accepts writes) and starts the next child on the same
//! database: recovery after recovery.
//!
//! Batch `k` inserts items `b{k}-0 .. b{k}-{ITEMS-1}` with vectors fixed by `(k, j)`; every
//! [`DELETE_EVERY`]th batch also deletes item 0 of batch `k - DELETE_LAG`, so a batch's
//! effect is all-or-nothing across inserts AND a delete that may hit a sealed segment.
//! The child also prints `FLUSH`/`FLUSHED` and `COMPACT`/`COMPACTED` around those steps,
//! so the parent can tell where its kills landed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::{JoinHandle, sleep};
use std::time::{Duration, Instant};

use quiver::{Collection, Database, Durability, Item, Metric, OpenOptions, Schema, WriteBatch};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Database folder of the child writer; unset in a normal run.
pub const DIR_VAR: &str = "QUIVER_CRASH_WRITER_DIR";
/// First batch number the child writes.
pub const START_VAR: &str = "QUIVER_CRASH_WRITER_START";

const COLLECTION: &str = "c";
const ITEMS: usize = 6;
const DIM: usize = 8;
const FLUSH_EVERY: u64 = 4;
const COMPACT_EVERY: u64 = 11;
const DELETE_EVERY: u64 = 3;
const DELETE_LAG: u64 = 5;
/// A child left alone (parent gone) stops by itself after this long.
const CHILD_LIFETIME: Duration = Duration::from_secs(20);

fn item_id(batch: u64, j: usize) -> String {
    format!("b{batch}-{j}")
}

fn vector(batch: u64, j: usize) -> Vec<f32> {
    (0..DIM)
        .map(|d| batch as f32 * 0.25 + j as f32 * 1000.0 + d as f32 / 8.0)
        .collect()
}

/// The batch whose item 0 batch `k` deletes.
fn victim_of(k: u64) -> Option<u64> {
    (k % DELETE_EVERY == DELETE_EVERY - 1 && k >= DELETE_LAG).then(|| k - DELETE_LAG)
}

/// The batch that deletes item 0 of batch `k`, if any.
fn deleter_of(k: u64) -> Option<u64> {
    let d = k + DELETE_LAG;
    (victim_of(d) == Some(k)).then_some(d)
}

fn write_batch(coll: &Collection, k: u64) -> quiver::Result<()> {
    let mut b = WriteBatch::new();
    for j in 0..ITEMS {
        b.insert(Item::new(item_id(k, j)).set("v", vector(k, j)));
    }
    if let Some(v) = victim_of(k) {
        b.delete(item_id(v, 0));
    }
    coll.commit(b).map(|_| ())
}

fn open(dir: &Path) -> quiver::Result<Database> {
    OpenOptions::new()
        .durability(Durability::SyncEveryCommit)
        .open(dir)
}

fn fail(what: &str, e: quiver::Error) -> ! {
    println!("ERR {what}: {e}");
    std::process::exit(2)
}

/// Acts as the child writer when [`DIR_VAR`] is set (and never returns then).
pub fn writer_from_env() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let start: u64 = std::env::var(START_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("START_VAR holds the first batch number");
    let db = open(Path::new(&dir)).unwrap_or_else(|e| fail("open", e));
    let coll = db
        .collection(COLLECTION)
        .unwrap_or_else(|e| fail("open", e));
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY").and_then(|_| out.flush()).unwrap();
    let born = Instant::now();
    for k in start.. {
        write_batch(&coll, k).unwrap_or_else(|e| fail(&format!("commit {k}"), e));
        writeln!(out, "ACK {k}").and_then(|_| out.flush()).unwrap();
        if (k + 1) % FLUSH_EVERY == 0 {
            writeln!(out, "FLUSH").and_then(|_| out.flush()).unwrap();
            coll.flush().unwrap_or_else(|e| fail("flush", e));
            writeln!(out, "FLUSHED").and_then(|_| out.flush()).unwrap();
        }
        if (k + 1) % COMPACT_EVERY == 0 {
            writeln!(out, "COMPACT").and_then(|_| out.flush()).unwrap();
            coll.compact().unwrap_or_else(|e| fail("compact", e));
            writeln!(out, "COMPACTED")
                .and_then(|_| out.flush())
                .unwrap();
        }
        if born.elapsed() > CHILD_LIFETIME {
            writeln!(out, "DONE").and_then(|_| out.flush()).unwrap();
            std::process::exit(0);
        }
    }
}

/// How a run is shaped.
#[derive(Clone, Debug)]
pub struct Config {
    pub kill_points: usize,
    /// Kill cycles on one database before starting a fresh one.
    pub cycles_per_db: usize,
    /// Kills land uniformly in `0..=max_delay` after the child is READY (most cycles) or
    /// after it was spawned (the rest: kills during recovery).
    pub max_delay: Duration,
    pub seed: u64,
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Summary {
    pub kill_points: usize,
    /// Kills that landed before the child had opened the database (during recovery).
    pub kills_in_open: usize,
    /// Kills that landed during a flush, and during a compaction.
    pub kills_in_flush: usize,
    pub kills_in_compaction: usize,
    /// Batches acknowledged (ACKed by a child or committed by the parent).
    pub acked: u64,
    /// Batch checks passed over all reopens.
    pub verified: u64,
    /// Reopens that found the in-flight, unacknowledged batch whole.
    pub unacked_present: usize,
    pub failures: Vec<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "kill points {}, batches acknowledged {}, batches verified {}, failures {} \
             (kills during open {}, flush {}, compaction {}; in-flight batch found whole {})",
            self.kill_points,
            self.acked,
            self.verified,
            self.failures.len(),
            self.kills_in_open,
            self.kills_in_flush,
            self.kills_in_compaction,
            self.unacked_present
        )
    }
}

/// One database being crashed over and over.
struct Victim {
    dir: tempfile::TempDir,
    /// Next batch to write.
    next: u64,
}

impl Victim {
    fn new() -> Victim {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path()).unwrap();
        let schema = Schema::builder()
            .vector("v", DIM as u32, Metric::L2)
            .build()
            .unwrap();
        db.create_collection(COLLECTION, schema).unwrap();
        Victim { dir, next: 0 }
    }
}

/// The child's stdout, line by line, plus its stderr once it is gone.
struct Watched {
    child: Child,
    lines: Receiver<String>,
    stderr: JoinHandle<String>,
}

fn spawn(mut command: Command, victim: &Victim) -> Watched {
    let mut child = command
        .env(DIR_VAR, victim.dir.path())
        .env(START_VAR, victim.next.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child writer");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    Watched {
        child,
        lines,
        stderr,
    }
}

/// Checks the reopened database; returns how many batches (a prefix) are present.
fn verify(dir: &Path, last_ack: Option<u64>, summary: &mut Summary) -> Result<u64, String> {
    let db = open(dir).map_err(|e| format!("reopen failed: {e}"))?;
    let snap = db
        .snapshot()
        .collection(COLLECTION)
        .map_err(|e| e.to_string())?;
    // Batches that may exist: the acknowledged ones and the one in flight.
    let upper = last_ack.map_or(1, |a| a + 2);
    let mut seen = vec![[false; ITEMS]; upper as usize];
    let mut scanned = 0u64;
    for item in snap.scan() {
        scanned += 1;
        let id = item.id().map_err(|e| e.to_string())?;
        let parsed = id
            .strip_prefix('b')
            .and_then(|s| s.split_once('-'))
            .and_then(|(k, j)| Some((k.parse::<u64>().ok()?, j.parse::<usize>().ok()?)));
        let Some((k, j)) = parsed.filter(|&(k, j)| k < upper && j < ITEMS) else {
            return Err(format!("unexpected item {id:?} (last ACK {last_ack:?})"));
        };
        let v = item.vector("v").map_err(|e| e.to_string())?;
        if v.as_deref() != Some(vector(k, j).as_slice()) {
            return Err(format!("item {id} has vector {v:?}"));
        }
        seen[k as usize][j] = true;
    }
    if scanned != snap.count() {
        return Err(format!(
            "scan found {scanned} items, count says {}",
            snap.count()
        ));
    }
    // Items 1.. of a batch are never deleted: they tell whether the batch is there.
    let mut present = 0u64;
    for (k, items) in seen.iter().enumerate() {
        let n = items[1..].iter().filter(|&&s| s).count();
        if n != 0 && n != ITEMS - 1 {
            return Err(format!("batch {k} is half there: {items:?}"));
        }
        if n != 0 {
            if present != k as u64 {
                return Err(format!("batch {k} is there but batch {present} is not"));
            }
            present += 1;
        }
    }
    if let Some(a) = last_ack
        && present <= a
    {
        return Err(format!(
            "acknowledged batch {present} is lost (last ACK {a})"
        ));
    }
    for (k, items) in seen.iter().enumerate().take(present as usize) {
        let deleted = deleter_of(k as u64).is_some_and(|d| d < present);
        if items[0] == deleted {
            return Err(format!(
                "item {} is {} although its deleting batch is {}",
                item_id(k as u64, 0),
                if deleted { "there" } else { "gone" },
                if deleted { "there" } else { "not" },
            ));
        }
    }
    summary.verified += present;
    if last_ack.map_or(present > 0, |a| present > a + 1) {
        summary.unacked_present += 1;
    }
    // The recovered database accepts a write, visible at once.
    let coll = db.collection(COLLECTION).map_err(|e| e.to_string())?;
    write_batch(&coll, present).map_err(|e| format!("write after recovery: {e}"))?;
    let snap = db.snapshot().collection(COLLECTION).unwrap();
    if snap.get(&item_id(present, 1)).ok().flatten().is_none() {
        return Err(format!(
            "batch {present} written after recovery is not visible"
        ));
    }
    summary.acked += 1;
    Ok(present + 1)
}

/// The test harness prints `test <name> ... ` without a newline before the test runs.
fn is_ready(line: &str) -> bool {
    line.ends_with("READY")
}

/// One kill cycle: spawn, wait, SIGKILL, verify.
fn cycle(
    command: Command,
    victim: &mut Victim,
    cfg: &Config,
    rng: &mut StdRng,
    summary: &mut Summary,
) -> Result<(), String> {
    let mut w = spawn(command, victim);
    let mut early = Vec::new();
    let after_ready = rng.random_bool(0.85);
    let delay = if after_ready {
        rng.random_range(Duration::ZERO..=cfg.max_delay)
    } else {
        // Aim at the child's start-up: the open and recovery.
        rng.random_range(Duration::ZERO..=cfg.max_delay / 8)
    };
    if after_ready {
        // Wait for READY (bounded), then the delay.
        let deadline = Instant::now() + Duration::from_secs(30);
        let remaining = || deadline.saturating_duration_since(Instant::now());
        while let Ok(line) = w.lines.recv_timeout(remaining()) {
            let ready = is_ready(&line);
            early.push(line);
            if ready {
                break;
            }
        }
    }
    sleep(delay);
    let _ = w.child.kill(); // SIGKILL on unix
    let status = w.child.wait().map_err(|e| e.to_string())?;
    let stderr = w.stderr.join().unwrap_or_default();
    let lines: Vec<String> = early.into_iter().chain(w.lines.iter()).collect();
    let mut acks = Vec::new();
    for line in &lines {
        if let Some(n) = line.strip_prefix("ACK ") {
            acks.push(n.parse::<u64>().map_err(|e| format!("{line:?}: {e}"))?);
        } else if line.starts_with("ERR") {
            return Err(format!("child failed: {line}\n{stderr}"));
        }
    }
    if status.code().is_some() && !lines.iter().any(|l| l == "DONE") {
        return Err(format!("child exited by itself ({status}):\n{stderr}"));
    }
    match lines.last().map(String::as_str) {
        _ if !lines.iter().any(|l| is_ready(l)) => summary.kills_in_open += 1,
        Some("FLUSH") => summary.kills_in_flush += 1,
        Some("COMPACT") => summary.kills_in_compaction += 1,
        _ => {}
    }
    let expected: Vec<u64> = (victim.next..victim.next + acks.len() as u64).collect();
    if acks != expected {
        return Err(format!("ACKs out of order: {acks:?}"));
    }
    summary.acked += acks.len() as u64;
    let last_ack = acks.last().copied().or(victim.next.checked_sub(1));
    victim.next = verify(victim.dir.path(), last_ack, summary)?;
    Ok(())
}

/// Runs `cfg.kill_points` kill cycles; `command` builds the command that re-runs this
/// executable as the child writer.
pub fn run_parent(cfg: &Config, command: impl Fn() -> Command) -> Summary {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut summary = Summary::default();
    let mut victim = None;
    for point in 0..cfg.kill_points {
        if point % cfg.cycles_per_db.max(1) == 0 {
            victim = Some(Victim::new());
        }
        let v = victim.as_mut().unwrap();
        summary.kill_points += 1;
        if let Err(e) = cycle(command(), v, cfg, &mut rng, &mut summary) {
            // Keep the evidence, go on with a fresh database.
            let dead = std::mem::replace(v, Victim::new());
            let kept = dead.dir.keep();
            summary.failures.push(format!(
                "kill point {point}: {e} (database kept at {})",
                kept.display()
            ));
        }
    }
    summary
}
