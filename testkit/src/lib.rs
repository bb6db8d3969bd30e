//! Real parts for tests and the demo: an OTLP collector (rotel) on free loopback ports, and a
//! private PostgreSQL cluster ([`PgCluster`]), and a TLS endpoint in front of the collector
//! ([`TlsEndpoint`]).
//!
//! rotel (from PyPI) prints every span it receives. [`Collector`] runs it with its debug
//! log on, captures that output to a file, and parses it back into [`CollectedSpan`]s, so
//! tests assert on what actually crossed the wire, not on what the exporter meant to send.

mod parse;
mod postgres;
mod tls;

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use parse::{CollectedSpan, SpanEvent, SpanLink, parse_spans};
pub use postgres::PgCluster;
pub use tls::{TestCerts, TlsEndpoint, tls_endpoint_script};

/// A running rotel collector. Stopped (by its pid) on drop.
#[derive(Debug)]
pub struct Collector {
    child: Child,
    output: PathBuf,
    /// Where OTLP/gRPC is received, e.g. `127.0.0.1:40123`.
    pub grpc_addr: SocketAddr,
    /// Where OTLP/HTTP is received.
    pub http_addr: SocketAddr,
}

impl Collector {
    /// Starts rotel and waits until both receivers accept connections.
    ///
    /// The binary is `$ROTEL_AGENT`, else the one `make setup` installs into the
    /// workspace's `.venv`. Panics with the reason if it cannot start: a test that needs a
    /// collector must fail, not skip, without one.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts rotel with its OTLP/HTTP receiver on `http_addr` (gRPC on a free port): for
    /// examples that name a fixed endpoint such as `localhost:4318`.
    pub fn start_on(http_addr: SocketAddr) -> Self {
        let agent = agent_path();
        let grpc_addr = free_port();
        let output = std::env::temp_dir().join(format!(
            "tasker-rotel-{}-{}.log",
            std::process::id(),
            http_addr.port()
        ));
        let log = File::create(&output).expect("create the collector's output file");
        let child = Command::new(&agent)
            .args(["start", "--exporter", "blackhole"])
            .args(["--debug-log", "traces", "--debug-log", "metrics"])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--otlp-grpc-endpoint")
            .arg(grpc_addr.to_string())
            .arg("--otlp-http-endpoint")
            .arg(http_addr.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the output file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the collector {}: {e}", agent.display()));
        let mut collector = Self {
            child,
            output,
            grpc_addr,
            http_addr,
        };
        collector.wait_listening();
        collector
    }

    /// `http://127.0.0.1:PORT`, the OTLP/HTTP base URL.
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// `http://127.0.0.1:PORT`, the OTLP/gRPC URL.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Everything the collector printed so far, colours stripped.
    pub fn output(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.output).unwrap_or_default())
    }

    /// The spans received so far.
    pub fn spans(&self) -> Vec<CollectedSpan> {
        parse_spans(&self.output())
    }

    /// Waits up to `timeout` until `done` holds for the received spans; returns them either
    /// way, for the caller to assert on with a useful message.
    pub fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[CollectedSpan]) -> bool,
    ) -> Vec<CollectedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || Instant::now() >= deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The file rotel writes to (kept after the test, for post-mortems).
    pub fn output_path(&self) -> &Path {
        &self.output
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the collector exited at start ({status}):\n{}",
                    self.output()
                );
            }
            let up =
                |a: &SocketAddr| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok();
            if up(&self.grpc_addr) && up(&self.http_addr) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the collector did not listen within 20 s:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds rotel-agent: `$ROTEL_AGENT`, else `.venv/lib/python3*/site-packages/rotel/rotel-agent`
/// under the workspace root.
pub fn agent_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ROTEL_AGENT") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit sits in the workspace");
    let lib = root.join(".venv").join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path().join("site-packages/rotel/rotel-agent"))
            .find(|p| p.exists())
    });
    found.unwrap_or_else(|| {
        panic!(
            "rotel-agent not found: run `make setup` (it installs rotel into {}) or set ROTEL_AGENT",
            lib.display()
        )
    })
}

/// A loopback address with a port the OS says is free right now.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
}

/// An OTLP endpoint that accepts connections and never answers: the kernel completes the
/// handshake, nobody reads or replies, so every export to it hangs until its timeout.
#[derive(Debug)]
pub struct SilentCollector {
    _listener: TcpListener,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

/// Opens a [`SilentCollector`]; it answers nothing until dropped.
pub fn silent_collector() -> SilentCollector {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    SilentCollector {
        _listener: listener,
        endpoint: format!("http://{addr}"),
    }
}

/// Removes ANSI colour sequences (`ESC [ ... m`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
