//! The core's integration tests that run in this process, one binary (each module a
//! former test file): one link of the engine instead of one per file. Tests that
//! spawn processes are in `tests/processes`: a child forked while another test holds a
//! database's lock briefly holds that lock too, and a concurrent reopen would fail.

mod api;
mod compaction_faults;
mod concurrency;
mod disk_full;
mod faults;
mod fixtures;
mod follow;
mod footprint;
mod fused;
mod half;
mod ivf_search;
mod lexical;
mod model;
mod multi;
mod ops_model;
mod power_loss;
mod quantized;
mod regressions;
mod repair;
mod search;
mod sparse;
mod stress;
mod support;
mod verify;
