//! A Rust program may run the worker on its own runtime.

use std::time::Duration;

use serde_json::json;
use tasker_shared::types::StepExecutionCompletionEvent;
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::{Worker, WorkerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_on_the_callers_runtime_runs_tasks_from_async_code() {
    let worker = Worker::start_on(tokio::runtime::Handle::current(), WorkerConfig::default())
        .expect("worker");
    worker.register_handler("echo").expect("register");
    let host = worker.clone();
    tokio::spawn(async move {
        while let Ok(event) = host.bridge().recv().await {
            let mut c = StepExecutionCompletionEvent::for_event(&event, true);
            c.result = Some(event.task_sequence_step.task.context.clone());
            let _ = host.bridge().complete(event.event_id, c);
        }
    });
    let template =
        TaskTemplate::from_yaml("namespace: n\nname: t\nsteps:\n  - {name: s, handler: echo}\n")
            .expect("t");
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        worker.run_task_async(template, json!({"x": 1})),
    )
    .await
    .expect("finishes")
    .expect("runs");
    assert!(result.is_complete());
    assert_eq!(result.step_results["s"], json!({"x": 1}));
    worker.stop().expect("stop from inside the runtime");
}
