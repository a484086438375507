//! Long kill -9 soak: `cargo run --release -p quiver --example crash_soak -- 1000 [seed]`
//! re-runs this executable as the child writer and SIGKILLs it at that many random
//! points, checking after each kill that every acknowledged batch survived whole (the
//! protocol of `tests/processes/crash.rs`). Prints one summary line; exits 1 on any failure.

#[path = "../tests/processes/crash_harness.rs"]
mod crash_harness;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crash_harness::{Config, run_parent, writer_from_env};

fn main() -> ExitCode {
    writer_from_env();
    let mut args = std::env::args().skip(1);
    let kill_points = args.next().map_or(Ok(1000), |a| a.parse());
    let seed = args.next().map_or(Ok(1), |a| a.parse());
    let (Ok(kill_points), Ok(seed)) = (kill_points, seed) else {
        eprintln!("usage: crash_soak [KILL_POINTS] [SEED]");
        return ExitCode::from(2);
    };
    let cfg = Config {
        kill_points,
        cycles_per_db: 50,
        max_delay: Duration::from_millis(80),
        seed,
    };
    let started = Instant::now();
    let summary = run_parent(&cfg, || Command::new(std::env::current_exe().unwrap()));
    for f in &summary.failures {
        eprintln!("FAILURE {f}");
    }
    println!(
        "crash_soak: {summary} (seed {seed}, {:.1?})",
        started.elapsed()
    );
    if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
