//! Databases served from object storage, against a real S3 API on this machine:
//! moto's server (PyPI `moto[server]`), started and stopped here on a free local
//! port. `$QUIVER_MOTO_SERVER` names its executable, else `.venv/bin/moto_server`
//! (`scripts/python-setup` installs it). Without one the tests say so and pass,
//! unless `QUIVER_REQUIRE_S3_TESTS=1` (set by `scripts/test`, so CI always runs them).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quiver::{Database, Item, Metric, Schema, WriteBatch};

struct Moto {
    child: Child,
    endpoint: String,
    /// The Python beside `moto_server`, with boto3 (moto's dependency).
    python: PathBuf,
}

impl Moto {
    /// Runs boto3 statements against the server, with `s3` a client of it.
    fn boto3(&self, statements: &str) {
        let script = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n{statements}",
            self.endpoint
        );
        let out = Command::new(&self.python)
            .args(["-c", &script])
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("QUIVER_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.join(".venv/bin/moto_server")
}

/// A moto server on a free port with a bucket `bucket`; `None` when moto is not
/// installed and the tests are not required.
fn start() -> Option<Moto> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let exe = moto_server();
    if !exe.exists() && std::env::var("QUIVER_REQUIRE_S3_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "skipped: no moto_server at {} (scripts/python-setup installs it)",
            exe.display()
        );
        return None;
    }
    let child = Command::new(&exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "starting {} (scripts/python-setup installs it): {e}",
                exe.display()
            )
        });
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let python = exe.with_file_name("python");
    let moto = Moto {
        child,
        endpoint,
        python,
    };
    moto.boto3("s3.create_bucket(Bucket='bucket')");
    Some(moto)
}

/// The S3 settings for `moto`.
fn config(moto: &Moto) -> Vec<(&str, &str)> {
    config_for(&moto.endpoint)
}

fn config_for(endpoint: &str) -> Vec<(&str, &str)> {
    vec![
        ("aws_endpoint", endpoint),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test"),
        ("aws_region", "us-east-1"),
    ]
}

fn batch(from: usize, n: usize) -> WriteBatch {
    let mut w = WriteBatch::new();
    for i in from..from + n {
        w.insert(Item::new(format!("i{i:05}")).set("v", vec![i as f32, 1.0]));
    }
    w
}

#[test]
fn a_published_database_opens_from_s3_and_refreshes_to_newer_versions() {
    let Some(moto) = start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let schema = Schema::builder()
        .vector("v", 2, Metric::L2)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    c.commit(batch(0, 100)).unwrap();
    let url = "s3://bucket/catalogue";
    let first = db.publish_with(url, &config(&moto)).unwrap();
    assert_eq!(first.version, 1);
    assert!(first.uploaded >= 1);
    let again = db.publish_with(url, &config(&moto)).unwrap();
    assert_eq!(
        (again.version, again.uploaded),
        (2, 0),
        "nothing new to upload"
    );

    let cache = dir.path().join("cache");
    let served = Database::open_remote_with(url, &cache, &config(&moto)).unwrap();
    let snap = served.snapshot().collection("c").unwrap();
    assert_eq!(snap.count(), 100);
    assert!(
        served
            .collection("c")
            .unwrap()
            .commit(batch(100, 1))
            .is_err()
    );

    c.commit(batch(100, 50)).unwrap();
    c.compact().unwrap();
    let third = db.publish_with(url, &config(&moto)).unwrap();
    assert_eq!(third.version, 3);
    assert!(served.refresh().unwrap());
    assert_eq!(served.snapshot().collection("c").unwrap().count(), 150);
    drop(moto);
}

#[test]
fn racing_publishers_never_share_a_version() {
    let Some(moto) = start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = "s3://bucket/raced";
    let dbs: Vec<Database> = (0..2)
        .map(|d| {
            let db = Database::open(dir.path().join(format!("db{d}"))).unwrap();
            let schema = Schema::builder()
                .vector("v", 2, Metric::L2)
                .build()
                .unwrap();
            db.create_collection("c", schema)
                .unwrap()
                .commit(batch(d * 1000, 10))
                .unwrap();
            db
        })
        .collect();
    let barrier = std::sync::Barrier::new(2);
    let versions: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = dbs
            .iter()
            .map(|db| {
                let (barrier, moto) = (&barrier, &moto);
                s.spawn(move || {
                    (0..8)
                        .map(|_| {
                            barrier.wait();
                            db.publish_with(url, &config(moto)).unwrap().version
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = versions.concat();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=16).collect::<Vec<u64>>(),
        "each version written once: {versions:?}"
    );
}

#[test]
fn a_missing_or_damaged_object_or_an_unreachable_store_is_a_typed_error() {
    let Some(moto) = start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let schema = Schema::builder()
        .vector("v", 2, Metric::L2)
        .build()
        .unwrap();
    db.create_collection("c", schema)
        .unwrap()
        .commit(batch(0, 50))
        .unwrap();
    let url = "s3://bucket/faults";
    db.publish_with(url, &config(&moto)).unwrap();
    let segment = std::fs::read_dir(dir.path().join("db"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".qseg"))
        .unwrap();
    let key = format!("faults/{segment}");

    // Damaged: one byte of the segment's object flipped.
    let garbage = dir.path().join("garbage");
    let mut bytes = std::fs::read(dir.path().join("db").join(&segment)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&garbage, &bytes).unwrap();
    moto.boto3(&format!(
        "s3.put_object(Bucket='bucket', Key='{key}', Body=open('{}', 'rb').read())",
        garbage.display()
    ));
    let e = Database::open_remote_with(url, dir.path().join("cache1"), &config(&moto)).unwrap_err();
    assert!(matches!(e, quiver::Error::Corrupted { .. }), "{e:?}");
    assert!(e.to_string().contains(&segment), "{e}");

    // Missing: the object deleted.
    moto.boto3(&format!("s3.delete_object(Bucket='bucket', Key='{key}')"));
    let e = Database::open_remote_with(url, dir.path().join("cache2"), &config(&moto)).unwrap_err();
    assert!(e.to_string().contains(&segment), "{e}");

    // Nothing published at a prefix, and an endpoint nobody listens on.
    let e = Database::open_remote_with("s3://bucket/empty", dir.path().join("c3"), &config(&moto))
        .unwrap_err();
    assert!(e.to_string().contains("no database is published"), "{e}");
    drop(moto);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e =
        Database::open_remote_with(url, dir.path().join("c4"), &config_for(&nowhere)).unwrap_err();
    assert!(matches!(e, quiver::Error::Io { .. }), "{e:?}");
    let e = Database::open_remote_with("file:///tmp/x", dir.path().join("c5"), &[]).unwrap_err();
    assert!(e.to_string().contains("only s3://"), "{e}");
}
