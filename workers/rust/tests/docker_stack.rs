//! The docker/ stack without Docker: each service of `docker/docker-compose.test.yml` is run
//! here as a process, with the command and the environment the compose file gives it, on
//! the installed gem and wheel and the built binary. Only the addresses change: the private
//! PostgreSQL for `postgres:5432`, a real collector's gRPC port for `observability:4317`, a
//! free port for each worker's `0.0.0.0:8082`. So a compose file whose workers would not
//! start, not serve `/health`, not complete the example task or not export its one trace
//! fails here, where no Docker engine runs. Run by `make test-polyglot` (feature
//! `polyglot`), which installs the gem and the wheel first.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Reaped, get, json_of, terminate, wait_until};
use serde_yaml::Value;
use tasker_testkit::{Collector, PgCluster, free_port};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn compose() -> Value {
    let text = std::fs::read_to_string(repo().join("docker/docker-compose.test.yml"))
        .expect("docker/docker-compose.test.yml");
    let mut value: Value = serde_yaml::from_str(&text).expect("YAML");
    value.apply_merge().expect("merge keys");
    value
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run these tests through `make test-polyglot`, which installs the gem and the wheel")
    })
}

/// One compose service, with the stack's addresses mapped to this test's.
struct Service<'a> {
    spec: &'a Value,
    pg: &'a PgCluster,
    collector: &'a Collector,
}

impl Service<'_> {
    fn command(&self) -> Vec<String> {
        self.spec["command"]
            .as_sequence()
            .expect("a command list")
            .iter()
            .map(|a| {
                a.as_str().expect("a string").replace(
                    "/app/templates/",
                    &format!("{}/workers/rust/templates/", repo().display()),
                )
            })
            .collect()
    }

    /// The service's environment; its web address, when it serves one, is `web`.
    fn env(&self, web: Option<SocketAddr>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in self.spec["environment"]
            .as_mapping()
            .expect("an environment map")
        {
            let key = k.as_str().expect("a name").to_owned();
            let value = match (key.as_str(), v) {
                ("DATABASE_URL", _) => self.pg.url(),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", Value::String(s)) => {
                    assert_eq!(s, "http://observability:4317", "the spec's endpoint");
                    self.collector.grpc_endpoint()
                }
                ("TASKER_WEB_BIND_ADDRESS", _) => web.expect("a web address").to_string(),
                (_, Value::String(s)) => s.clone(),
                (_, other) => panic!("{key} is not a string: {other:?}"),
            };
            out.push((key, value));
        }
        out
    }

    /// The process this service runs: `entrypoint` then the compose `command`.
    fn spawn(&self, entrypoint: Command, web: Option<SocketAddr>) -> Command {
        let mut cmd = entrypoint;
        cmd.args(self.command())
            .envs(self.env(web))
            .env_remove("TASKER_DATABASE_URL")
            .env("NO_COLOR", "1")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        cmd
    }
}

fn rust_binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tasker-worker-rust"))
}

fn ruby_worker() -> Command {
    let mut c = Command::new("ruby");
    c.env("GEM_HOME", required("TASKER_GEM_HOME"))
        .arg(repo().join("docker/workers/worker.rb"));
    c
}

fn python_worker() -> Command {
    let mut c = Command::new(required("TASKER_PYTHON"));
    c.arg(repo().join("docker/workers/worker.py"));
    c
}

fn healthy(addr: SocketAddr) -> bool {
    let (code, body) = get(addr, "/health");
    code == 200
        && serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|h| h["status"] == "healthy")
}

#[test]
fn the_compose_services_run_as_written_complete_the_example_task_as_one_trace() {
    let compose = compose();
    let services = &compose["services"];
    let pg = PgCluster::start();
    let collector = Collector::start();
    let service = |name: &str| Service {
        spec: &services[name],
        pg: &pg,
        collector: &collector,
    };

    let migrated = json_of(&mut service("migrate").spawn(rust_binary(), None));
    assert_eq!(
        migrated["queues"].as_array().map(Vec::len),
        Some(3),
        "{migrated}"
    );

    let mut workers: Vec<(&str, Reaped, SocketAddr)> = Vec::new();
    for (name, entrypoint) in [
        ("rust-worker", rust_binary()),
        ("ruby-worker", ruby_worker()),
        ("python-worker", python_worker()),
    ] {
        let addr = free_port();
        let child = service(name)
            .spawn(entrypoint, Some(addr))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        workers.push((name, Reaped::new(child), addr));
    }
    for (name, _, addr) in &workers {
        assert!(
            wait_until(Duration::from_secs(60), || healthy(*addr)),
            "{name} never answered /health as the compose healthcheck asks"
        );
    }

    let result = json_of(&mut service("submitter").spawn(rust_binary(), None));
    assert_eq!(result["status"], "complete", "{result:#}");
    assert_eq!(result["step_results"]["doubled"], 6, "Ruby doubled 3");
    assert_eq!(result["step_results"]["plus_one"], 7, "Python added one");
    assert_eq!(result["step_results"]["squared"], 49, "Rust squared 7");
    let trace_id = result["trace_id"].as_str().expect("trace_id").to_owned();

    let mut rust = None;
    for (name, child, _) in workers {
        let mut child = child.take();
        if name == "rust-worker" {
            rust = Some(child);
            continue;
        }
        // SAFETY: signals a child process this test spawned and still owns.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
        let status = child.wait().expect("wait");
        assert!(status.success(), "{name} exited {status:?} on SIGTERM");
    }
    terminate(rust.expect("the rust worker"));

    let spans = common::trace_of(&collector, &trace_id, 3);
    let mine: Vec<_> = spans.iter().collect();
    let roots: Vec<_> = mine
        .iter()
        .filter(|s| s.name == "worker.task_execution")
        .collect();
    assert_eq!(roots.len(), 1, "{mine:#?}");
    assert_eq!(roots[0].resource["service.name"], "tasker-submitter");
    let mut services: Vec<&str> = mine
        .iter()
        .filter(|s| s.name == "worker.step_execution")
        .map(|s| s.resource["service.name"].as_str())
        .collect();
    services.sort_unstable();
    assert_eq!(
        services,
        [
            "tasker-python-worker",
            "tasker-ruby-worker",
            "tasker-rust-worker"
        ],
        "each worker exported its step over gRPC, in the task's one trace"
    );
}
