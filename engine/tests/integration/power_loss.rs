//! Power loss: 60 simulated cuts at random operations of a seeded workload (commits,
//! deletes, updates, flushes, compactions, an index build); after each, only fsynced
//! bytes and names survive, and the reopened database holds every acknowledged commit.
//! The long run (1,000+ cuts): `cargo run --release -p quiver --example power_loss_soak`.

use crate::support::power_loss;

#[test]
fn every_acknowledged_commit_survives_a_power_cut() {
    let base = tempfile::tempdir().unwrap();
    let summary = power_loss::run(base.path(), 60, 7);
    assert_eq!(summary.losses, 60);
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
}
