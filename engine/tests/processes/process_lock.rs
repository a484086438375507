//! The writer lock holds across processes: a second process gets `Locked` for a
//! writable open and can still open read-only. The child is this test binary re-run.

use std::process::Command;

use quiver::{Database, Error, Item, Metric, OpenOptions, Schema};

const CHILD_ENV: &str = "QUIVER_LOCK_CHILD_DIR";
const LOCKED: i32 = 10;
const OPENED: i32 = 11;

/// In the child: try a writable open, then a read-only one, and report by exit code.
#[test]
fn lock_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let writable = Database::open(&dir);
    let reader = OpenOptions::new()
        .read_only(true)
        .open(&dir)
        .expect("a read-only open is allowed");
    assert_eq!(reader.collection("c").unwrap().count().unwrap(), 1);
    std::process::exit(match writable {
        Err(Error::Locked { .. }) => LOCKED,
        Ok(_) => OPENED,
        Err(e) => panic!("unexpected {e}"),
    });
}

fn run_child(dir: &std::path::Path) -> i32 {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "process_lock::lock_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .status()
        .unwrap();
    status.code().unwrap_or(-1)
}

#[test]
fn a_second_process_gets_locked_and_may_read() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::open(tmp.path()).unwrap();
    let c = db
        .create_collection(
            "c",
            Schema::builder()
                .vector("v", 2, Metric::L2)
                .build()
                .unwrap(),
        )
        .unwrap();
    c.insert(Item::new("a").set("v", vec![1.0, 2.0])).unwrap();
    assert_eq!(run_child(tmp.path()), LOCKED);
    drop((c, db));
    assert_eq!(
        run_child(tmp.path()),
        OPENED,
        "the lock is released when the writer closes"
    );
}
