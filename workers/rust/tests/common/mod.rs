//! What the distributed tests share: the CLI as a user runs it, a migrated private
//! PostgreSQL, and plain HTTP for a serving worker's `/metrics` and `/health/ready`.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tasker_testkit::PgCluster;

pub fn command(env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tasker-worker-rust"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TASKER_DATABASE_URL")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} exited {:?}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// `serve --queue queue --concurrency n` as `service`, its output piped.
pub fn serve_command(env: &[(&str, String)], queue: &str, service: &str, n: usize) -> Command {
    let mut cmd = command(env);
    cmd.args(["serve", "--queue", queue, "--concurrency", &n.to_string()])
        .env("OTEL_SERVICE_NAME", service)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

pub fn serve(env: &[(&str, String)], queue: &str, service: &str) -> Child {
    serve_command(env, queue, service, 2)
        .spawn()
        .expect("spawn serve")
}

/// SIGTERM, then the report it prints as it exits.
pub fn terminate(child: Child) -> Value {
    // SAFETY: signals a child process this test spawned and still owns.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "serve did not exit 0 on SIGTERM: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report")
}

pub fn template_file(name: &str, yaml: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tasker-distributed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("write");
    path
}

/// A private cluster, migrated with `queues` declared, and the environment that names it.
pub fn migrated(queues: &[&str]) -> (PgCluster, [(&'static str, String); 1]) {
    let pg = PgCluster::start();
    let env = [("DATABASE_URL", pg.url())];
    let mut migrate = command(&env);
    migrate.arg("migrate");
    for q in queues {
        migrate.args(["--queue", q]);
    }
    let report = json_of(&mut migrate);
    assert_eq!(
        report["queues"].as_array().map(Vec::len),
        Some(queues.len())
    );
    (pg, env)
}

/// Submits `template` with `context`; returns the task uuid.
pub fn submit(env: &[(&str, String)], template: &std::path::Path, context: &str) -> String {
    json_of(
        command(env)
            .args(["submit", "--template"])
            .arg(template)
            .args(["--context", context]),
    )["task_uuid"]
        .as_str()
        .expect("uuid")
        .to_owned()
}

pub fn status(env: &[(&str, String)], task_uuid: &str) -> Value {
    json_of(command(env).args(["status", task_uuid]))
}

/// Whether a worker holds the one message of `queue`: it has read it and set its visibility
/// to the step's own timeout (which it does just before running the step), so a kill now
/// leaves the message to reappear after that timeout, not the worker-wide default.
pub fn claimed(pg: &PgCluster, queue: &str) -> bool {
    pg.psql(&format!(
        "SELECT count(*) FROM pgmq.q_worker_{queue}_queue WHERE read_ct = 1 AND vt < now() + interval '15 seconds'"
    )) == "1"
}

pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `GET path` on a worker's web address: the status and the body; status 0, with the
/// reason as the body, while nothing listens there yet.
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(e) => return (0, e.to_string()),
    };
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    (status, body.to_owned())
}

/// The value of the Prometheus sample `name{labels}` in `text`, if present.
pub fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// `serve` with `/health` and `/metrics` on `addr`.
pub fn serve_on(env: &[(&str, String)], queue: &str, service: &str, addr: SocketAddr) -> Child {
    serve_command(env, queue, service, 2)
        .env("TASKER_WEB_BIND_ADDRESS", addr.to_string())
        .spawn()
        .expect("spawn serve")
}

/// The environment of a process that exports to `collector` and uses `pg`.
pub fn traced_env(
    pg: &PgCluster,
    collector: &tasker_testkit::Collector,
) -> [(&'static str, String); 3] {
    [
        ("DATABASE_URL", pg.url()),
        ("TELEMETRY_ENABLED", "true".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
    ]
}

/// Submits `template` with `context` as service `submitter`; returns the task uuid and its
/// trace id.
pub fn submit_traced(
    env: &[(&str, String)],
    template: &std::path::Path,
    context: &str,
) -> (String, String) {
    let submitted = json_of(
        command(env)
            .args(["submit", "--template"])
            .arg(template)
            .args(["--context", context])
            .env("OTEL_SERVICE_NAME", "submitter"),
    );
    let field = |k: &str| submitted[k].as_str().expect(k).to_owned();
    (field("task_uuid"), field("trace_id"))
}

/// A child process killed when the guard drops: a test that fails part-way must not leave
/// serving workers behind (they would hold the test harness's output pipe open).
pub struct Reaped(Option<Child>);

impl Reaped {
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// The child, no longer killed on drop (to stop it the way the test means to).
    pub fn take(mut self) -> Child {
        self.0.take().expect("a child")
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The spans of trace `trace_id` at `collector`, once `completions` of its steps have
/// exported their `worker.step_completion_received` (at most 20 s).
pub fn trace_of(
    collector: &tasker_testkit::Collector,
    trace_id: &str,
    completions: usize,
) -> Vec<tasker_testkit::CollectedSpan> {
    let spans = collector.wait_for(Duration::from_secs(20), |s| {
        s.iter()
            .filter(|x| x.trace_id == trace_id && x.name == "worker.step_completion_received")
            .count()
            >= completions
    });
    spans
        .into_iter()
        .filter(|s| s.trace_id == trace_id)
        .collect()
}
