//! moto's S3 server (PyPI `moto[server]`) on a free local port, for the tests of
//! databases served from object storage (the engine's and the shell's, which includes
//! this file by path). `$QUIVER_MOTO_SERVER` names its executable, else
//! `.venv/bin/moto_server` (`scripts/python-setup` installs it). Without one the
//! tests say so and pass, unless `QUIVER_REQUIRE_S3_TESTS=1` (set by `scripts/test`,
//! so CI always runs them).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
    /// The Python beside `moto_server`, with boto3 (moto's dependency).
    python: PathBuf,
}

impl Moto {
    /// Runs boto3 statements against the server, with `s3` a client of it.
    pub fn boto3(&self, statements: &str) {
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
    // The workspace root: both including crates sit below it (engine/, bindings/shell/).
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() && dir.pop() {}
    dir.join(".venv/bin/moto_server")
}

/// A moto server on a free port with a bucket `bucket`; `None` when moto is not
/// installed and the tests are not required.
pub fn start() -> Option<Moto> {
    let moto = start_with(&[])?;
    moto.boto3("s3.create_bucket(Bucket='bucket')");
    Some(moto)
}

/// A moto server with `env` set, and no bucket.
pub fn start_with(env: &[(&str, &str)]) -> Option<Moto> {
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
        .envs(env.iter().copied())
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
    Some(Moto {
        child,
        endpoint,
        python,
    })
}
