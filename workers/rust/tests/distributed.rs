//! The distributed path end to end, as a user runs it: `migrate`, two `serve` processes on
//! two queues, `submit`, `status`, against a private PostgreSQL and a real collector. The
//! task's steps run in two processes, dependency results cross between them, and every span
//! of the task, from both processes and the submitter, shares ONE trace id.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tasker_testkit::{Collector, PgCluster};

const TWO_QUEUES: &str = "namespace: distributed
name: two_queues
steps:
  - {name: first, handler: square, queue: alpha}
  - {name: second, handler: square, depends_on: [first], queue: beta}
";

fn command(env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tasker-worker-rust"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TASKER_DATABASE_URL")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn serve(env: &[(&str, String)], queue: &str, service: &str) -> Child {
    command(env)
        .args(["serve", "--queue", queue, "--concurrency", "2"])
        .env("OTEL_SERVICE_NAME", service)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve")
}

/// SIGTERM, then the report it prints as it exits.
fn terminate(child: Child) -> Value {
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

#[test]
fn a_task_across_two_queues_and_two_serving_processes_completes_as_one_trace() {
    let pg = PgCluster::start();
    let collector = Collector::start();
    let env = [
        ("DATABASE_URL", pg.url()),
        ("TELEMETRY_ENABLED", "true".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
    ];
    json_of(command(&env).arg("migrate"));
    let alpha = serve(&env, "alpha", "serve-alpha");
    let beta = serve(&env, "beta", "serve-beta");

    let dir = std::env::temp_dir().join(format!("tasker-distributed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let template = dir.join("two_queues.yaml");
    std::fs::write(&template, TWO_QUEUES).expect("write");
    let submitted = json_of(
        command(&env)
            .args(["submit", "--template"])
            .arg(&template)
            .args(["--context", r#"{"even_number": 2}"#])
            .env("OTEL_SERVICE_NAME", "submitter"),
    );
    let task_uuid = submitted["task_uuid"].as_str().expect("uuid").to_owned();
    let trace_id = submitted["trace_id"].as_str().expect("trace").to_owned();

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let s = json_of(command(&env).args(["status", &task_uuid]));
        if s["status"] != "running" || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status["status"], "complete", "{status:#}");
    assert_eq!(status["step_results"]["first"], 4);
    assert_eq!(
        status["step_results"]["second"], 16,
        "the dependency result crossed processes"
    );
    assert_eq!(status["trace_id"], trace_id.as_str());

    let (a, b) = (terminate(alpha), terminate(beta));
    assert_eq!(
        (a["recorded"].as_u64(), b["recorded"].as_u64()),
        (Some(1), Some(1))
    );

    let spans = collector.wait_for(Duration::from_secs(15), |s| {
        s.iter().filter(|x| x.trace_id == trace_id).count() >= 5
    });
    let mine: Vec<_> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
    let named = |n: &str| mine.iter().filter(|s| s.name == n).collect::<Vec<_>>();
    assert_eq!(named("worker.task_execution").len(), 1, "{mine:#?}");
    assert_eq!(
        named("worker.task_execution")[0].resource["service.name"],
        "submitter"
    );
    let execs = named("worker.step_execution");
    assert_eq!(execs.len(), 2, "{mine:#?}");
    let mut services: Vec<&str> = execs
        .iter()
        .map(|s| s.resource["service.name"].as_str())
        .collect();
    services.sort_unstable();
    assert_eq!(services, ["serve-alpha", "serve-beta"]);
    let root = &named("worker.task_execution")[0].span_id;
    for e in &execs {
        assert_eq!(
            &e.parent_id, root,
            "execution spans are children of the root"
        );
    }
    for c in named("worker.step_completion_received") {
        assert!(
            execs
                .iter()
                .any(|e| c.links.iter().any(|l| l.span_id == e.span_id)),
            "every completion links to its execution: {c:#?}"
        );
    }
}
