//! Helpers several test modules share.

pub mod crash_harness;
pub mod hooked_dir;
pub mod power_loss;
