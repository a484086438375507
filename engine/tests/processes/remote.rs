//! Databases served from object storage, against a real S3 API on this machine:
//! moto's server (`moto.rs`), started and stopped by each test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use quiver::{Database, Item, Metric, OpenOptions, Schema, WriteBatch};

use crate::moto::{Moto, start, start_with};

/// The S3 settings for `moto`.
fn config(moto: &Moto) -> Vec<(&str, &str)> {
    config_for(&moto.endpoint)
}

fn config_for(endpoint: &str) -> Vec<(&str, &str)> {
    credentials(endpoint, "test", "test")
}

fn credentials<'a>(endpoint: &'a str, key: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("aws_endpoint", endpoint),
        ("aws_allow_http", "true"),
        ("aws_access_key_id", key),
        ("aws_secret_access_key", secret),
        ("aws_region", "us-east-1"),
    ]
}

/// Options serving a database from `endpoint` through `cache`, polling left off.
fn served(settings: &[(&str, &str)], cache: &std::path::Path) -> OpenOptions {
    let mut options = OpenOptions::new().cache_dir(cache).poll_remote_every(None);
    for (key, value) in settings {
        options = options.s3_setting(*key, *value);
    }
    options
}

/// A database in `dir` with collection `c` holding items `0..n`.
fn database(dir: &std::path::Path, n: usize) -> Database {
    let db = Database::open(dir).unwrap();
    let schema = Schema::builder()
        .vector("v", 2, Metric::L2)
        .build()
        .unwrap();
    db.create_collection("c", schema)
        .unwrap()
        .commit(batch(0, n))
        .unwrap();
    db
}

fn count(db: &Database) -> u64 {
    db.snapshot().collection("c").unwrap().count()
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
    let db = database(&dir.path().join("db"), 100);
    let c = db.collection("c").unwrap();
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
    let reader = served(&config(&moto), &cache).open(url).unwrap();
    assert!(reader.info().read_only, "a served database is read-only");
    assert_eq!(count(&reader), 100);
    // A second handle on the same cache folder (as another process would be), and
    // one that polls for new versions by itself.
    let sharing = served(&config(&moto), &cache).open(url).unwrap();
    let polling = served(&config(&moto), &dir.path().join("cache-polled"))
        .poll_remote_every(Some(Duration::from_millis(50)))
        .open(url)
        .unwrap();
    assert!(
        reader
            .collection("c")
            .unwrap()
            .commit(batch(100, 1))
            .is_err()
    );

    c.commit(batch(100, 50)).unwrap();
    c.compact().unwrap();
    let third = db.publish_with(url, &config(&moto)).unwrap();
    assert_eq!(third.version, 3);
    assert!(reader.refresh().unwrap());
    assert_eq!(count(&reader), 150);
    // The sharing handle follows the folder the first one synced.
    assert!(sharing.refresh().unwrap());
    assert_eq!(count(&sharing), 150);
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&polling) != 150 {
        assert!(
            Instant::now() < deadline,
            "the polling handle never moved on"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Only the newest version's files stay in the cache.
    let names: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let segments = names.iter().filter(|n| n.ends_with(".qseg")).count();
    assert_eq!(segments, 1, "{names:?}");
    assert!(!names.iter().any(|n| n.contains(".download")), "{names:?}");
    drop(moto);
}

#[test]
fn a_large_segment_goes_up_in_parts_and_comes_down_in_ranges() {
    let Some(moto) = start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let dim = 256;
    let schema = Schema::builder()
        .vector("v", dim, Metric::L2)
        .build()
        .unwrap();
    let c = db.create_collection("c", schema).unwrap();
    let rows = 12_000;
    let mut w = WriteBatch::new();
    for i in 0..rows {
        let v: Vec<f32> = (0..dim)
            .map(|d| ((i * 31 + d as usize * 7) % 1000) as f32)
            .collect();
        w.insert(Item::new(format!("i{i:05}")).set("v", v));
    }
    c.commit(w).unwrap();
    let url = "s3://bucket/large";
    let done = db.publish_with(url, &config(&moto)).unwrap();
    // Over 10 MiB: debug builds upload it in 5 MiB parts (remote.rs).
    assert!(done.bytes > 11 << 20, "{done:?}");
    let reader = served(&config(&moto), &dir.path().join("cache"))
        .open(url)
        .unwrap();
    let snap = reader.snapshot().collection("c").unwrap();
    assert_eq!(snap.count(), rows as u64);
    let probe: Vec<f32> = (0..dim)
        .map(|d| ((777 * 31 + d as usize * 7) % 1000) as f32)
        .collect();
    let hits = snap
        .search("v", &probe, 1, &quiver::SearchOptions::default())
        .unwrap();
    assert_eq!(hits[0].item.id().unwrap(), "i00777");
    assert!(reader.verify().unwrap().is_ok());
}

#[test]
fn racing_publishers_never_share_a_version() {
    let Some(moto) = start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = "s3://bucket/raced";
    let dbs: Vec<Database> = (0..2)
        .map(|d| database(&dir.path().join(format!("db{d}")), 10 + d))
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
    let db = database(&dir.path().join("db"), 50);
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
    let e = served(&config(&moto), &dir.path().join("cache1"))
        .open(url)
        .unwrap_err();
    assert!(matches!(e, quiver::Error::Corrupted { .. }), "{e:?}");
    assert!(e.to_string().contains(&segment), "{e}");
    // The damaged copy was not kept: once the object is mended, the same cache opens.
    moto.boto3(&format!(
        "s3.put_object(Bucket='bucket', Key='{key}', Body=open('{}', 'rb').read())",
        dir.path().join("db").join(&segment).display()
    ));
    let mended = served(&config(&moto), &dir.path().join("cache1"))
        .open(url)
        .unwrap();
    assert_eq!(count(&mended), 50);
    drop(mended);
    moto.boto3(&format!(
        "s3.put_object(Bucket='bucket', Key='{key}', Body=open('{}', 'rb').read())",
        garbage.display()
    ));
    // A header too damaged to open is not kept either.
    let mut torn = std::fs::read(dir.path().join("db").join(&segment)).unwrap();
    torn.truncate(10);
    std::fs::write(dir.path().join("torn"), &torn).unwrap();
    moto.boto3(&format!(
        "s3.put_object(Bucket='bucket', Key='{key}', Body=open('{}', 'rb').read())",
        dir.path().join("torn").display()
    ));
    let torn_cache = dir.path().join("cache-torn");
    let e = served(&config(&moto), &torn_cache).open(url).unwrap_err();
    assert!(matches!(e, quiver::Error::Corrupted { .. }), "{e:?}");
    assert!(!torn_cache.join(&segment).exists());

    // Missing: the object deleted.
    moto.boto3(&format!("s3.delete_object(Bucket='bucket', Key='{key}')"));
    let e = served(&config(&moto), &dir.path().join("cache2"))
        .open(url)
        .unwrap_err();
    assert!(e.to_string().contains(&segment), "{e}");

    // Nothing published at a prefix, and an endpoint nobody listens on.
    let e = served(&config(&moto), &dir.path().join("c3"))
        .open("s3://bucket/empty")
        .unwrap_err();
    assert!(e.to_string().contains("no database is published"), "{e}");
    drop(moto);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = served(&config_for(&nowhere), &dir.path().join("c4"))
        .open(url)
        .unwrap_err();
    assert!(matches!(e, quiver::Error::Io { .. }), "{e:?}");
    let e = Database::open("gs://bucket/x").unwrap_err();
    assert!(e.to_string().contains("only s3://"), "{e}");
}

#[test]
fn the_cache_keeps_to_its_bound() {
    let Some(moto) = start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir.path().join("db"), 200);
    let url = "s3://bucket/bounded";
    db.publish_with(url, &config(&moto)).unwrap();
    let size = |path: &std::path::Path| -> u64 {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    let version_bytes = size(&dir.path().join("db"));

    // Too small for even one version: refused before anything is downloaded.
    let tight = dir.path().join("tight");
    let e = served(&config(&moto), &tight)
        .cache_bytes(100)
        .open(url)
        .unwrap_err();
    match &e {
        quiver::Error::CacheFull { cache, limit, .. } => {
            assert_eq!((cache.as_path(), *limit), (tight.as_path(), 100));
        }
        other => panic!("{other:?}"),
    }
    assert!(size(&tight) <= 100, "nothing downloaded");

    // Room for one version but not two: moving on drops the old files first.
    let bound = version_bytes + version_bytes / 2;
    let cache = dir.path().join("cache");
    let served_db = served(&config(&moto), &cache)
        .cache_bytes(bound)
        .open(url)
        .unwrap();
    let c = db.collection("c").unwrap();
    c.commit(batch(200, 20)).unwrap();
    c.compact().unwrap();
    db.publish_with(url, &config(&moto)).unwrap();
    assert!(served_db.refresh().unwrap());
    assert_eq!(count(&served_db), 220);
    assert!(size(&cache) <= bound, "{} > {bound}", size(&cache));

    // A version that cannot fit: refused, the served one stays, and says why.
    c.commit(batch(1000, 2000)).unwrap();
    db.publish_with(url, &config(&moto)).unwrap();
    let e = served_db.refresh().unwrap_err();
    assert!(matches!(e, quiver::Error::CacheFull { .. }), "{e:?}");
    assert_eq!(count(&served_db), 220);
    let why = served_db.info().refresh_error.expect("the failure is kept");
    assert!(why.contains("bound"), "{why}");
    assert!(size(&cache) <= bound);
}

#[test]
fn wrong_credentials_are_refused_with_a_typed_error() {
    // moto checks credentials once its first 4 requests (the setup below) are done.
    let Some(moto) = start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]) else {
        return;
    };
    let keys = dir_file("keys");
    moto.boto3(&format!(
        "import json
iam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')
s3.create_bucket(Bucket='bucket')
iam.create_user(UserName='publisher')
policy = {{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}}]}}
iam.put_user_policy(UserName='publisher', PolicyName='all', PolicyDocument=json.dumps(policy))
key = iam.create_access_key(UserName='publisher')['AccessKey']
open('{}', 'w').write(key['AccessKeyId'] + ' ' + key['SecretAccessKey'])",
        moto.endpoint,
        keys.1.display()
    ));
    let text = std::fs::read_to_string(&keys.1).unwrap();
    let (key, secret) = text.split_once(' ').unwrap();
    let dir = &keys.0;
    let db = database(&dir.path().join("db"), 20);
    let url = "s3://bucket/guarded";
    db.publish_with(url, &credentials(&moto.endpoint, key, secret))
        .unwrap();
    let good = served(
        &credentials(&moto.endpoint, key, secret),
        &dir.path().join("ok"),
    )
    .open(url)
    .unwrap();
    assert_eq!(count(&good), 20);

    let refused = |key: &str, secret: &str| {
        let settings = credentials(&moto.endpoint, key, secret);
        let e = served(&settings, &dir.path().join("refused"))
            .open(url)
            .unwrap_err();
        let text = format!("{e}: {}", std::error::Error::source(&e).unwrap());
        assert!(matches!(e, quiver::Error::Io { .. }), "{e:?}");
        assert!(text.contains(url), "{text}");
        let e = db.publish_with(url, &settings).unwrap_err();
        assert!(matches!(e, quiver::Error::Io { .. }), "{e:?}");
        text
    };
    let unknown = refused("AKIAUNKNOWN000000000", secret);
    assert!(unknown.contains("InvalidAccessKeyId"), "{unknown}");
    let wrong = refused(key, "not-the-secret");
    assert!(wrong.contains("SignatureDoesNotMatch"), "{wrong}");
    // Nothing the refused publishers sent became a version.
    assert_eq!(count(&good), 20);
    assert!(!good.refresh().unwrap());
}

/// A temporary folder and a file path inside it.
fn dir_file(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    (dir, path)
}
