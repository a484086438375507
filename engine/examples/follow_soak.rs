//! Readers in other processes following a writer, for a long time:
//! `cargo run --release -p quiver --example follow_soak -- DIR [SECONDS] [READERS] [KILL_EVERY]`
//! (defaults 600 s, 4 readers, a kill -9 of the writer every 60 s).
//!
//! This executable re-runs itself as one writer and READERS reader processes on the
//! database folder DIR. The writer commits batches of 8 items (about 50 a second),
//! appending `i BATCH NANOS` to DIR/acks.log once each commit returns. Every tenth
//! batch is deleted 20 batches later (`d BATCH NANOS`). It compacts every 100 batches,
//! and its memtable is small, so it also flushes and retires WAL files. The parent
//! SIGKILLs it every KILL_EVERY seconds and starts it again.
//!
//! Each reader opens DIR read-only (default refresh interval) and loops: read the
//! acknowledgements, take a snapshot, scan it. It counts a violation for:
//! - a batch seen in part, or an item twice;
//! - a batch acknowledged more than 1 s before the snapshot but missing (not one of
//!   those scheduled for deletion);
//! - a batch whose deletion was acknowledged more than 1 s before but still present.
//!
//! The commit → visible latency of a batch is the first snapshot that shows it, minus
//! its acknowledgement (0 when seen before it was logged). Prints one JSON summary;
//! exits 1 on any violation.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quiver::{IndexSpec, Item, Metric, OpenOptions, Schema, WriteBatch};

const BATCH: usize = 8;
const ROLE: &str = "QUIVER_FOLLOW_SOAK_ROLE";
const UNTIL: &str = "QUIVER_FOLLOW_SOAK_UNTIL";
/// A commit acknowledged this long before a snapshot must show in it.
const VISIBLE_WITHIN: u128 = 1_000_000_000;

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: follow_soak DIR [SECONDS] [READERS] [KILL_EVERY]");
        return ExitCode::from(2);
    };
    match std::env::var(ROLE).as_deref() {
        Ok("writer") => writer(&dir),
        Ok("reader") => reader(&dir),
        _ => {
            let number = |i: usize, default: u64| args.get(i).map_or(Ok(default), |a| a.parse());
            let (Ok(seconds), Ok(readers), Ok(kill_every)) =
                (number(1, 600), number(2, 4), number(3, 60))
            else {
                eprintln!("usage: follow_soak DIR [SECONDS] [READERS] [KILL_EVERY]");
                return ExitCode::from(2);
            };
            parent(&dir, seconds, readers as usize, kill_every)
        }
    }
}

fn spawn(dir: &Path, role: &str, until: u128) -> Child {
    Command::new(std::env::current_exe().expect("this executable"))
        .arg(dir)
        .env(ROLE, role)
        .env(UNTIL, until.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning a soak process")
}

fn parent(dir: &Path, seconds: u64, readers: usize, kill_every: u64) -> ExitCode {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("creating the soak folder");
    let started = Instant::now();
    let until = now_nanos() + u128::from(seconds) * 1_000_000_000;
    let mut writer = spawn(dir, "writer", until);
    // Readers start once the writer has created the database.
    while !dir.join("acks.log").exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let children: Vec<Child> = (0..readers).map(|_| spawn(dir, "reader", until)).collect();
    let mut kills = 0;
    let mut last_kill = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(100));
        if kill_every > 0 && last_kill.elapsed() >= Duration::from_secs(kill_every) {
            let _ = writer.kill(); // SIGKILL
            let _ = writer.wait();
            kills += 1;
            writer = spawn(dir, "writer", until);
            last_kill = Instant::now();
        }
    }
    let _ = writer.kill();
    let _ = writer.wait();
    let mut summaries = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("a reader's output");
        summaries.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    let mut violations = 0u64;
    let mut latencies: Vec<u64> = Vec::new();
    let mut snapshots = 0u64;
    for s in &summaries {
        let fields: HashMap<&str, &str> = s
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        violations += fields
            .get("violations")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        snapshots += fields
            .get("snapshots")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if let Some(l) = fields.get("latencies_us") {
            latencies.extend(l.split(',').filter_map(|x| x.parse::<u64>().ok()));
        }
    }
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        match latencies.len() {
            0 => f64::NAN,
            n => latencies[((n - 1) as f64 * p).round() as usize] as f64 / 1000.0,
        }
    };
    let acks = std::fs::read_to_string(dir.join("acks.log")).unwrap_or_default();
    let committed = acks.lines().filter(|l| l.starts_with("i ")).count();
    let deleted = acks.lines().filter(|l| l.starts_with("d ")).count();
    println!(
        "{{\"seconds\": {:.1}, \"readers\": {readers}, \"writer_kills\": {kills}, \"batches_acknowledged\": {committed}, \"deletions_acknowledged\": {deleted}, \"snapshots_checked\": {snapshots}, \"violations\": {violations}, \"latency_ms\": {{\"batches_seen\": {}, \"p50\": {:.1}, \"p90\": {:.1}, \"p99\": {:.1}, \"max\": {:.1}}}}}",
        started.elapsed().as_secs_f64(),
        latencies.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    for s in summaries.iter().filter(|s| !s.contains("violations=0")) {
        eprintln!("reader: {}", s.chars().take(400).collect::<String>());
    }
    match violations {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

fn until() -> u128 {
    std::env::var(UNTIL)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn batch_items(b: u64) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in 0..BATCH {
        let v = vec![(b % 1000) as f32, i as f32, 1.0, 0.5];
        w.insert(Item::new(format!("{b:08}-{i}")).set("v", v));
    }
    w
}

fn writer(dir: &Path) -> ExitCode {
    let db = OpenOptions::new()
        .memtable_bytes(256 << 10)
        .open(dir)
        .expect("opening the writer");
    let c = match db.collection("c") {
        Ok(c) => c,
        Err(_) => {
            let schema = Schema::builder()
                .vector("v", 4, Metric::L2)
                .build()
                .expect("schema");
            db.create_collection("c", schema).expect("creating c")
        }
    };
    let mut acks = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("acks.log"))
        .expect("the acknowledgement log");
    // Go on after the newest batch committed (logged or not: a kill may fall between).
    let snap = c.snapshot().expect("snapshot");
    let mut b = snap
        .scan()
        .filter_map(|i| i.id().ok().and_then(|id| id[..8].parse::<u64>().ok()))
        .max()
        .map_or(0, |m| m + 1);
    drop(snap);
    while now_nanos() < until() {
        let tick = Instant::now();
        c.commit(batch_items(b)).expect("commit");
        writeln!(acks, "i {b} {}", now_nanos()).expect("logging an ack");
        if b % 10 == 0 && b >= 20 {
            let gone = b - 20;
            let mut w = WriteBatch::new();
            for i in 0..BATCH {
                w.delete(format!("{gone:08}-{i}"));
            }
            c.commit(w).expect("delete");
            writeln!(acks, "d {gone} {}", now_nanos()).expect("logging a deletion");
        }
        if b % 100 == 99 {
            c.compact().expect("compaction");
        }
        if b % 1000 == 999 {
            c.create_index("v", IndexSpec::hnsw()).expect("index build");
        }
        b += 1;
        if let Some(rest) = Duration::from_millis(20).checked_sub(tick.elapsed()) {
            std::thread::sleep(rest);
        }
    }
    ExitCode::SUCCESS
}

/// What the acknowledgement log said so far.
#[derive(Default)]
struct Acks {
    read: u64,
    partial: String,
    inserted: HashMap<u64, u128>,
    deleted: HashMap<u64, u128>,
}

impl Acks {
    fn update(&mut self, path: &Path) {
        let Ok(mut f) = std::fs::File::open(path) else {
            return;
        };
        if f.seek(SeekFrom::Start(self.read)).is_err() {
            return;
        }
        let mut text = String::new();
        let Ok(n) = f.read_to_string(&mut text) else {
            return;
        };
        self.read += n as u64;
        self.partial.push_str(&text);
        let complete = match self.partial.rfind('\n') {
            Some(at) => at + 1,
            None => return,
        };
        let lines: String = self.partial.drain(..complete).collect();
        for line in lines.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            let (Some(b), Some(t)) = (
                f.get(1).and_then(|x| x.parse().ok()),
                f.get(2).and_then(|x| x.parse().ok()),
            ) else {
                continue;
            };
            match f[0] {
                "i" => self.inserted.insert(b, t),
                _ => self.deleted.insert(b, t),
            };
        }
    }
}

fn reader(dir: &Path) -> ExitCode {
    let db = OpenOptions::new()
        .read_only(true)
        .open(dir)
        .expect("opening the reader");
    let mut acks = Acks::default();
    let mut first_seen: HashMap<u64, u128> = HashMap::new();
    let (mut snapshots, mut violations) = (0u64, 0u64);
    let mut examples: Vec<String> = Vec::new();
    let mut flag = |what: String, violations: &mut u64| {
        *violations += 1;
        if examples.len() < 5 {
            examples.push(what);
        }
    };
    while now_nanos() < until() {
        acks.update(&dir.join("acks.log"));
        let at = now_nanos();
        let Ok(snap) = db.snapshot().collection("c") else {
            continue;
        };
        let mut per_batch: HashMap<u64, usize> = HashMap::new();
        let mut ids = HashSet::new();
        for item in snap.scan() {
            let Ok(id) = item.id() else {
                flag("an unreadable id".into(), &mut violations);
                continue;
            };
            if !ids.insert(id.to_string()) {
                flag(format!("{id} twice"), &mut violations);
            }
            if let Ok(b) = id[..8].parse::<u64>() {
                *per_batch.entry(b).or_default() += 1;
            }
        }
        for (&b, &n) in &per_batch {
            if n != BATCH {
                flag(format!("batch {b} seen with {n} items"), &mut violations);
            }
            first_seen.entry(b).or_insert(at);
        }
        for (&b, &t) in &acks.inserted {
            let due = t + VISIBLE_WITHIN < at;
            if due && b % 10 != 0 && !per_batch.contains_key(&b) {
                flag(
                    format!(
                        "batch {b} acknowledged {} ms before, not seen",
                        (at - t) / 1_000_000
                    ),
                    &mut violations,
                );
            }
        }
        for (&b, &t) in &acks.deleted {
            if t + VISIBLE_WITHIN < at && per_batch.contains_key(&b) {
                flag(
                    format!(
                        "batch {b} deleted {} ms before, still seen",
                        (at - t) / 1_000_000
                    ),
                    &mut violations,
                );
            }
        }
        snapshots += 1;
    }
    acks.update(&dir.join("acks.log"));
    let latencies: Vec<String> = first_seen
        .iter()
        .filter_map(|(b, &seen)| acks.inserted.get(b).map(|&t| seen.saturating_sub(t) / 1000))
        .map(|us| us.to_string())
        .collect();
    println!(
        "snapshots={snapshots} violations={violations} examples={:?} latencies_us={}",
        examples.join("; ").replace(' ', "_"),
        latencies.join(",")
    );
    ExitCode::SUCCESS
}
