//! Kill -9 mid-write: this test re-runs its own binary as a child writer
//! (`crash_writer_child`), SIGKILLs it at random points, and checks after every kill
//! that each acknowledged batch survived whole and the database accepts writes.
//! `examples/crash_soak.rs` runs the same protocol for thousands of kill points.

use crate::crash_harness;

use std::process::Command;
use std::time::{Duration, Instant};

use crash_harness::{Config, run_parent, writer_from_env};

// The name the test harness knows it by (its module path in this binary).
const CHILD_TEST: &str = "crash::crash_writer_child";

/// The child side: a no-op unless the parent set the writer's environment.
#[test]
fn crash_writer_child() {
    writer_from_env();
}

#[test]
fn acknowledged_batches_survive_sigkill() {
    let seed = std::env::var("QUIVER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_c0de);
    let cfg = Config {
        kill_points: 30,
        cycles_per_db: 30,
        max_delay: Duration::from_millis(150),
        seed,
    };
    let started = Instant::now();
    let summary = run_parent(&cfg, || {
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"]);
        c
    });
    eprintln!("seed {seed:#x}: {summary} in {:.1?}", started.elapsed());
    assert!(
        summary.failures.is_empty(),
        "seed {seed:#x}:\n{}",
        summary.failures.join("\n")
    );
    assert_eq!(summary.kill_points, 30);
    assert!(
        summary.acked > summary.kill_points as u64,
        "the children acknowledged almost nothing: {summary}"
    );
}
