//! `RustWorker::run_task` runs the handler of a step it takes on the calling thread.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use serde_json::{Value, json};
use tasker_shared::logging::TelemetryConfig;
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::WorkerConfig;
use tasker_worker_rust::{HandlerRegistry, RustWorker};

#[test]
fn a_single_step_runs_on_the_thread_that_runs_the_task() {
    let seen: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
    let mut registry = HandlerRegistry::new();
    let s = seen.clone();
    registry.register_fn("where", move |_ctx| {
        s.lock().expect("lock").push(std::thread::current().id());
        async { Ok(Value::Null) }
    });
    let worker = RustWorker::start(
        WorkerConfig {
            telemetry: Some(TelemetryConfig::default().with_enabled(false)),
            ..WorkerConfig::default()
        },
        registry,
    )
    .expect("worker");
    let template = TaskTemplate::from_value(
        json!({"namespace": "n", "name": "t", "steps": [{"name": "s", "handler": "where"}]}),
    )
    .expect("template");
    for _ in 0..20 {
        let result = worker
            .run_task(template.clone(), json!({}), None)
            .expect("task");
        assert!(result.is_complete(), "{result:?}");
    }
    worker.stop().expect("stop");
    let here = std::thread::current().id();
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 20);
    assert!(seen.iter().all(|t| *t == here), "{seen:?} vs {here:?}");
}
