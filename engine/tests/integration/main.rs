//! The core's integration tests, one binary (each module a former test file): one
//! link of the engine instead of one per file.

mod api;
mod compaction_faults;
mod concurrency;
mod crash;
mod disk_full;
mod faults;
mod fixtures;
mod fused;
mod ivf_search;
mod model;
mod ops_model;
mod power_loss;
mod process_lock;
mod regressions;
mod repair;
mod search;
mod stress;
mod support;
mod verify;
