//! Drives the `quiver` binary: scripts from -c, -f and stdin, output formats, and
//! failing statements (one-line error with position on stderr, exit code 1, nothing
//! written).

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn quiver(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SETUP: &str = "CREATE COLLECTION products (title TEXT, category TEXT, price FLOAT,
    text_vec VECTOR(3) COSINE, image_vec VECTOR(3) COSINE NULL);
  INSERT INTO products (id, title, category, price, text_vec, image_vec) VALUES
    ('p1', 'red shoe', 'shoes', 59.5, [1, 0, 0], [0, 1, 0]),
    ('p2', 'blue shoe', 'shoes', 120, [0.9, 0.1, 0], [0, 0, 1]),
    ('p7', 'red hat', 'hats', 20, [0, 1, 0], [0.7, 0.7, 0]);";

#[test]
fn scripts_from_every_source_and_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    let script = dir.path().join("setup.sql");
    std::fs::write(&script, SETUP).unwrap();
    let out = quiver(&[db, "-f", script.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "created collection products\ninserted 3 items\n"
    );

    let out = quiver(
        &[
            db,
            "--format",
            "jsonl",
            "-c",
            "SELECT id, _score FROM products ORDER BY FUSE(RRF(k = 60), text_vec <-> [1, 0, 0], image_vec <-> VECTOR OF 'p7') LIMIT 2",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "p1", "{lines:?}");
    assert!(lines[0]["_score"].as_f64().unwrap() > lines[1]["_score"].as_f64().unwrap());

    let out = quiver(
        &[db, "--format", "csv"],
        Some("SELECT id, title FROM products WHERE category = 'shoes';\n"),
    );
    assert_eq!(text(&out.stdout), "id,title\np1,red shoe\np2,blue shoe\n");

    let out = quiver(&[db, "-c", "SELECT COUNT(*) FROM products"], None);
    assert_eq!(text(&out.stdout), "count\n-----\n3\n(1 row)\n");
}

#[test]
fn errors_are_one_line_exit_1_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    assert!(quiver(&[db, "-c", SETUP], None).status.success());
    let bad = [
        (
            "INSERT INTO products (id) VALUES ('p9');\nSELECT id FROM products WHERE price <",
            "line 2, column 38: expected a value",
        ),
        ("SELECT id FROM nowhere", "unknown collection nowhere"),
        ("SELECT nope FROM products", "nope"),
        (
            "INSERT INTO products (id, price) VALUES ('p9', 'cheap')",
            "price",
        ),
        (
            "SELECT id FROM products ORDER BY text_vec <-> [1, 0]",
            "dimension",
        ),
    ];
    for (sql, message) in bad {
        let out = quiver(&[db, "-c", sql], None);
        assert_eq!(out.status.code(), Some(1), "{sql}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: ") && err.contains(message),
            "{sql}: {err}"
        );
    }
    let out = quiver(&[db, "-c", "SELECT COUNT(*) FROM products"], None);
    assert!(
        text(&out.stdout).contains("\n3\n"),
        "the failed script inserted nothing"
    );
    let out = quiver(&[db, "--format", "xml", "-c", "SHOW COLLECTIONS"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_reports_damage_and_exits_1() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../engine/tests/fixtures");
    let good = quiver(&["verify", fixtures.join("good").to_str().unwrap()], None);
    assert!(good.status.success(), "{}", text(&good.stderr));
    assert!(
        text(&good.stdout).contains(" checks, 0 problems"),
        "{}",
        text(&good.stdout)
    );

    let bad = quiver(
        &[
            "verify",
            fixtures.join("segment_truncated").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(bad.status.code(), Some(1));
    let out = text(&bad.stdout);
    assert!(
        out.contains("PROBLEM ") && out.contains("seg-0000000001.qseg structure"),
        "{out}"
    );
    assert!(out.contains(", 1 problems"), "{out}");
}

#[test]
fn repair_drops_a_broken_segment_only_with_the_flag() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../engine/tests/fixtures/segment_truncated");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let path = dir.path().to_str().unwrap();

    let left = quiver(&["repair", path], None);
    assert_eq!(left.status.code(), Some(1), "{}", text(&left.stderr));
    let out = text(&left.stdout);
    assert!(out.contains("LEFT IN PLACE"), "{out}");
    assert!(
        out.contains("1 damaged segments, 0 items lost, damage left in place"),
        "{out}"
    );

    let dropped = quiver(&["repair", path, "--drop-damaged-segments"], None);
    assert!(dropped.status.success(), "{}", text(&dropped.stderr));
    let out = text(&dropped.stdout);
    assert!(
        out.contains("dropped; its files kept as seg-0000000001.qseg.damaged"),
        "{out}"
    );
    assert!(out.contains("whose ids are unreadable"), "{out}");
    assert!(out.contains("1 damaged segments, 10 items lost\n"), "{out}");
    assert!(dir.path().join("seg-0000000001.qseg.damaged").exists());

    let verify = quiver(&["verify", path], None);
    assert!(verify.status.success(), "{}", text(&verify.stdout));
}

#[test]
fn a_read_only_shell_reads_beside_a_writer_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = path.to_str().unwrap();
    // A writer holds the folder (in this process): a second writer would be refused,
    // a read-only shell is not, and sees what the writer committed.
    let writer = quiver::Database::open(&path).unwrap();
    for statement in quiver::sql::parse_script(SETUP).unwrap() {
        quiver_sql::run(&writer, &statement).unwrap();
    }
    let locked = quiver(&[db, "-c", "SELECT COUNT(*) FROM products"], None);
    assert!(!locked.status.success());
    let out = quiver(
        &[db, "--read-only", "-c", "SELECT COUNT(*) FROM products"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "count\n-----\n3\n(1 row)\n");
    let out = quiver(
        &[
            db,
            "--read-only",
            "-c",
            "DELETE FROM products WHERE id = 'p1'",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );
    let count = writer.collection("products").unwrap().count().unwrap();
    assert_eq!(count, 3);
}

#[path = "../../../engine/tests/processes/moto.rs"]
mod moto;

/// `quiver` with `env` set, and no stdin.
fn quiver_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn publish_then_serve_from_s3_configured_by_the_environment() {
    let Some(moto) = moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = path.to_str().unwrap();
    let out = quiver(&[db, "-c", SETUP], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cache_root = dir.path().join("caches");
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("QUIVER_CACHE_DIR", cache_root.to_str().unwrap()),
    ];
    let out = quiver_env(&["publish", db, "s3://bucket/shop"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("as version 1"),
        "{}",
        text(&out.stdout)
    );

    let count = ["s3://bucket/shop", "-c", "SELECT COUNT(*) FROM products"];
    let out = quiver_env(&count, &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "count\n-----\n3\n(1 row)\n");
    assert!(cache_root.join("bucket/shop/MANIFEST").exists());
    let out = quiver_env(
        &[
            "s3://bucket/shop",
            "-c",
            "DELETE FROM products WHERE id = 'p1'",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );

    // A bound the database cannot fit in: one line naming the cache and the bound.
    let mut bounded = env.to_vec();
    let elsewhere = dir.path().join("small");
    bounded[5] = ("QUIVER_CACHE_DIR", elsewhere.to_str().unwrap());
    bounded.push(("QUIVER_CACHE_BYTES", "1_000"));
    let out = quiver_env(&count, &bounded);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("bound of 1000") && err.contains("small"),
        "{err}"
    );
}
