//! A task driven by the thread that waits for it (`Worker::start_task` / `TaskRun`), as the
//! Ruby and Python bindings run every task.

use std::time::Duration;

use serde_json::json;
use tasker_shared::TaskerError;
use tasker_shared::logging::TelemetryConfig;
use tasker_shared::types::StepExecutionCompletionEvent;
use tasker_shared::workflow::{StepStatus, TaskTemplate};
use tasker_worker::{Worker, WorkerConfig};

fn worker(drain: Duration) -> Worker {
    let w = Worker::start(WorkerConfig {
        telemetry: Some(TelemetryConfig::default().with_enabled(false)),
        drain_timeout: drain,
        ..WorkerConfig::default()
    })
    .expect("worker");
    w.register_handler("h").expect("register");
    w
}

fn one_step() -> TaskTemplate {
    TaskTemplate::from_value(
        json!({"namespace": "n", "name": "t", "steps": [{"name": "s", "handler": "h"}]}),
    )
    .expect("template")
}

/// A host thread that completes every event with its step name.
fn serve(w: &Worker) -> std::thread::JoinHandle<()> {
    let w = w.clone();
    std::thread::spawn(move || {
        while let Ok(next) = w.bridge().wait(Duration::from_millis(50)) {
            let Some(event) = next else { continue };
            let mut c = StepExecutionCompletionEvent::for_event(&event, true);
            c.result = Some(json!("done"));
            let _ = w.bridge().complete(event.event_id, c);
        }
    })
}

#[test]
fn a_run_waited_in_short_slices_finishes_with_its_result() {
    let w = worker(Duration::from_secs(5));
    let host = serve(&w);
    let mut run = w.start_task(one_step(), json!({})).expect("start");
    let result = loop {
        if let Some(r) = run.wait(Duration::from_millis(1)).expect("no error") {
            break r;
        }
    };
    assert!(result.is_complete(), "{result:?}");
    assert_eq!(result.step_results["s"], json!("done"));
    assert_eq!(
        run.wait(Duration::from_millis(1)),
        Err(TaskerError::Internal(format!(
            "task {} has already been collected",
            run.task_uuid()
        )))
    );
    w.stop().expect("stop");
    host.join().expect("host");
}

#[test]
fn a_run_dropped_before_its_end_is_cancelled_and_stop_does_not_wait_for_its_steps() {
    let w = worker(Duration::from_secs(30));
    let mut run = w.start_task(one_step(), json!({})).expect("start");
    assert_eq!(run.wait(Duration::from_millis(20)).expect("running"), None);
    assert_eq!(w.bridge().in_flight(), 1);
    drop(run);
    // Nobody waits any more: the queued step is withdrawn, and a host never sees it.
    assert_eq!(w.bridge().in_flight(), 0);
    assert!(
        w.bridge()
            .wait(Duration::from_millis(50))
            .expect("open")
            .is_none()
    );
    let started = std::time::Instant::now();
    w.stop().expect("stop");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stop waited for a cancelled task's step"
    );
}

#[test]
fn a_running_step_of_a_dropped_run_is_refused_when_it_completes_late() {
    let w = worker(Duration::from_secs(30));
    let mut run = w.start_task(one_step(), json!({})).expect("start");
    assert_eq!(run.wait(Duration::from_millis(20)).expect("running"), None);
    let event = w
        .bridge()
        .wait(Duration::from_secs(5))
        .expect("open")
        .expect("queued");
    drop(run);
    let late = w.bridge().complete(
        event.event_id,
        StepExecutionCompletionEvent::for_event(&event, true),
    );
    assert!(
        matches!(late, Err(TaskerError::InvalidCompletion(_))),
        "{late:?}"
    );
    w.stop().expect("stop");
}

#[test]
fn a_run_racing_stop_ends_as_stopped_or_with_its_step_failed_never_a_panic() {
    // No host: the step is never taken, so only stop can end the task.
    let w = worker(Duration::from_millis(50));
    let waiter = {
        let w = w.clone();
        std::thread::spawn(move || {
            let mut run = w.start_task(one_step(), json!({})).expect("start");
            loop {
                match run.wait(Duration::from_millis(5)) {
                    Ok(None) => continue,
                    other => return other,
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    w.stop().expect("stop");
    match waiter.join().expect("the waiting thread did not panic") {
        Err(e) => assert_eq!(e, TaskerError::Stopped),
        Ok(result) => {
            let step = &result.expect("finished").steps["s"];
            assert_eq!(step.status, StepStatus::Failed, "{step:?}");
            assert_eq!(
                step.error_type.as_deref(),
                Some("worker_stopped"),
                "{step:?}"
            );
        }
    }
}
