//! The core's tests that spawn child processes (a writer killed with SIGKILL, a second
//! process refused the lock). They run apart from the in-process tests: a child
//! forked while another test holds a database's lock briefly holds that lock too.

mod crash;
mod crash_harness;
mod moto;
mod process_lock;
mod remote;
