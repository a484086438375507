//! Helpers several test modules share.

pub mod hooked_dir;
pub mod power_loss;
