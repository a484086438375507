//! Long power-loss soak: `cargo run --release -p quiver --example power_loss_soak -- 1000 [seed]`
//! cuts the power that many times at random operations of the seeded workload of
//! `tests/integration/power_loss.rs` and checks each reopened database. One summary line; exit 1
//! on any failure (each printed).

#[path = "../tests/integration/support/power_loss.rs"]
mod power_loss;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let losses = args.next().map_or(Ok(1000), |a| a.parse());
    let seed = args.next().map_or(Ok(1), |a| a.parse());
    let (Ok(losses), Ok(seed)) = (losses, seed) else {
        eprintln!("usage: power_loss_soak [LOSSES] [SEED]");
        return ExitCode::from(2);
    };
    let base = tempfile::tempdir().expect("temporary folder");
    let started = Instant::now();
    let summary = power_loss::run(base.path(), losses, seed);
    for failure in &summary.failures {
        println!("FAILED {failure}");
    }
    println!(
        "{} simulated power losses (seed {seed}, mean cut at operation {:.1}), {} failures, {:.1}s",
        summary.losses,
        summary.ops_cut as f64 / summary.losses.max(1) as f64,
        summary.failures.len(),
        started.elapsed().as_secs_f64()
    );
    if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
