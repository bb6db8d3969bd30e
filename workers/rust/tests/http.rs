//! /health, /health/ready and /metrics over real HTTP.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::get;

use serde_json::{Value, json};
use tasker_worker::WorkerConfig;
use tasker_worker_rust::{RustWorker, handlers, templates};

#[test]
fn health_and_metrics_answer_over_http_only_when_a_bind_address_is_set() {
    let quiet =
        RustWorker::start(WorkerConfig::default(), handlers::example_registry()).expect("worker");
    assert_eq!(quiet.worker().web_address(), None, "no port unless asked");
    quiet.stop().expect("stop");

    let config = WorkerConfig {
        web_bind_address: Some("127.0.0.1:0".parse().expect("addr")),
        ..WorkerConfig::default()
    };
    let worker = RustWorker::start(config, handlers::example_registry()).expect("worker");
    let addr = worker.worker().web_address().expect("serving");

    let (status, body) = get(addr, "/health");
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["worker_id"], worker.worker().worker_id());
    assert!(
        health["worker_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("worker-"))
    );
    assert!(
        health["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(get(addr, "/health/ready").0, 200);

    let result = worker
        .run_task(
            templates::diamond().expect("template"),
            json!({"even_number": 2}),
            Some(Duration::from_secs(30)),
        )
        .expect("runs");
    assert!(result.is_complete());

    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200);
    for line in [
        "# TYPE tasker_steps_dispatched_total counter",
        "tasker_steps_dispatched_total{language=\"rust\",namespace=\"diamond_workflow\"} 4",
        "tasker_steps_completed_total{language=\"rust\",namespace=\"diamond_workflow\",status=\"success\"} 4",
        "# TYPE tasker_step_duration_ms histogram",
        "tasker_step_duration_ms_count{language=\"rust\",namespace=\"diamond_workflow\",status=\"success\"} 4",
        "# TYPE tasker_steps_in_flight gauge",
        "tasker_steps_in_flight{language=\"rust\",namespace=\"diamond_workflow\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert_eq!(get(addr, "/nope").0, 404);

    worker.stop().expect("stop");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
            || get(addr, "/health/ready").0 == 503,
        "a stopped worker is not ready"
    );
}
