//! A private PostgreSQL cluster per test run: Debian's server binaries, a fresh data
//! directory under `target/`, a free loopback port, stopped (and removed) on drop.
//!
//! Why not the packaged cluster on 5432: tests must neither depend on it nor disturb it, and
//! fault tests stop and restart theirs. `initdb` refuses to run as root, so the cluster is
//! made and run as the `postgres` user when the tests run as root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where Debian puts the server binaries (not on PATH).
const BIN_DIRS: &[&str] = &["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"];

/// A running private cluster.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    /// The loopback port it listens on.
    pub port: u16,
    as_postgres: bool,
}

fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TASKER_PG_BIN") {
        return PathBuf::from(dir);
    }
    BIN_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("initdb").exists())
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server binaries in {BIN_DIRS:?}: run `make setup` (apt package postgresql), or set TASKER_PG_BIN"
            )
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `target/` of the workspace this test binary was built in.
fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("target"));
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| std::env::temp_dir().join("tasker-target"))
}

impl PgCluster {
    /// Creates and starts a cluster; waits until it accepts connections.
    pub fn start() -> Self {
        let bin = bin_dir();
        let port = crate::free_port().port();
        let root = target_dir()
            .join("pg")
            .join(format!("cluster-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (data, socket_dir) = (root.join("data"), root.join("run"));
        std::fs::create_dir_all(&socket_dir).expect("create the cluster directory");
        let as_postgres = is_root();
        let cluster = Self {
            bin,
            data,
            socket_dir,
            port,
            as_postgres,
        };
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .expect("chown");
            assert!(chown.success(), "chown of {root:?} to postgres failed");
        }
        let init = cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(
            init.status.success(),
            "initdb failed:\n{}",
            String::from_utf8_lossy(&init.stderr)
        );
        cluster.start_server();
        cluster
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
    }

    /// Starts the server (again, after [`stop_server`](Self::stop_server)).
    pub fn start_server(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.socket_dir.display()
        );
        let log = self.data.join("server.log");
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown), keeping the data: for restart tests.
    pub fn stop_server(&self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// A libpq URL for database `postgres` as user `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs SQL through `psql`; returns its stdout (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url())
            .args(["-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop_server();
        if let Some(root) = self.data.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}
