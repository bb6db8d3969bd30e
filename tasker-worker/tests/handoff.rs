//! The thread that waits for a task takes its steps itself (`TaskRun::wait_or_take`): the
//! first step its driver dispatches comes straight back to it, the rest go to host threads,
//! and a step it takes is timed and ended like any other.

use std::time::Duration;

use serde_json::json;
use tasker_shared::logging::TelemetryConfig;
use tasker_shared::types::{StepExecutionCompletionEvent, StepExecutionEvent};
use tasker_shared::workflow::{StepStatus, TaskTemplate};
use tasker_worker::{TaskRun, Waited, Worker, WorkerConfig};

fn worker() -> Worker {
    let w = Worker::start(WorkerConfig {
        telemetry: Some(TelemetryConfig::default().with_enabled(false)),
        ..WorkerConfig::default()
    })
    .expect("worker");
    w.register_handler("h").expect("register");
    w
}

fn template(steps: serde_json::Value) -> TaskTemplate {
    TaskTemplate::from_value(json!({"namespace": "n", "name": "t", "steps": steps}))
        .expect("template")
}

fn complete(w: &Worker, event: &StepExecutionEvent, result: &str) {
    let mut c = StepExecutionCompletionEvent::for_event(event, true);
    c.result = Some(json!(result));
    w.bridge().complete(event.event_id, c).expect("completion");
}

fn next(run: &mut TaskRun) -> Waited {
    loop {
        match run.wait_or_take(Duration::from_secs(5)).expect("no error") {
            Waited::Elapsed => continue,
            other => return other,
        }
    }
}

#[test]
fn the_waiting_thread_takes_its_own_tasks_step_with_no_host_thread_serving() {
    let w = worker();
    let mut run = w
        .start_task(template(json!([{"name": "s", "handler": "h"}])), json!({}))
        .expect("start");
    let Waited::Event(event) = next(&mut run) else {
        panic!("expected the step's event");
    };
    assert_eq!(event.task_uuid, run.task_uuid());
    assert_eq!(
        w.bridge().queued(),
        0,
        "the event never went to the channel"
    );
    assert_eq!(w.bridge().in_flight(), 1);
    complete(&w, &event, "mine");
    let Waited::Finished(result) = next(&mut run) else {
        panic!("expected the task's end");
    };
    assert!(result.is_complete(), "{result:?}");
    assert_eq!(result.step_results["s"], json!("mine"));
    w.stop().expect("stop");
}

#[test]
fn parallel_steps_beyond_the_one_handed_over_go_to_host_threads() {
    let w = worker();
    let steps = json!([{"name": "a", "handler": "h"}, {"name": "b", "handler": "h"}]);
    let mut run = w.start_task(template(steps), json!({})).expect("start");
    let Waited::Event(mine) = next(&mut run) else {
        panic!("expected one step's event");
    };
    let theirs = w
        .bridge()
        .poll()
        .expect("open")
        .expect("the other step waits in the channel for a host thread");
    assert_ne!(mine.step_uuid, theirs.step_uuid);
    complete(&w, &theirs, "host");
    complete(&w, &mine, "waiter");
    let Waited::Finished(result) = next(&mut run) else {
        panic!("expected the task's end");
    };
    assert!(result.is_complete(), "{result:?}");
    let mut got: Vec<_> = result.step_results.values().cloned().collect();
    got.sort_by_key(ToString::to_string);
    assert_eq!(got, vec![json!("host"), json!("waiter")]);
    w.stop().expect("stop");
}

#[test]
fn a_step_the_waiter_takes_and_never_completes_times_out_like_any_other() {
    let w = worker();
    let steps = json!([{"name": "s", "handler": "h", "timeout_ms": 50, "max_attempts": 1}]);
    let mut run = w.start_task(template(steps), json!({})).expect("start");
    let Waited::Event(event) = next(&mut run) else {
        panic!("expected the step's event");
    };
    let Waited::Finished(result) = next(&mut run) else {
        panic!("expected the task's end");
    };
    assert!(!result.is_complete());
    let step = &result.steps["s"];
    assert_eq!(step.status, StepStatus::Failed);
    assert_eq!(step.error_type.as_deref(), Some("timeout"));
    let error = step.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("handler timed out after "), "{error}");
    let late = StepExecutionCompletionEvent::for_event(&event, true);
    assert!(
        w.bridge().complete(event.event_id, late).is_err(),
        "a late completion is refused"
    );
    w.stop().expect("stop");
}

#[test]
fn a_step_dispatched_while_another_is_in_flight_goes_to_the_host_threads() {
    let w = worker();
    // Another task's step, queued and unserved, keeps the worker busy.
    let mut busy = w
        .start_task(
            template(json!([{"name": "other", "handler": "h"}])),
            json!({}),
        )
        .expect("start");
    assert!(
        busy.wait(Duration::from_millis(20))
            .expect("running")
            .is_none()
    );
    let queued = w.bridge().poll().expect("open").expect("queued for a host");
    let mut run = w
        .start_task(template(json!([{"name": "s", "handler": "h"}])), json!({}))
        .expect("start");
    assert!(matches!(
        run.wait_or_take(Duration::from_millis(50))
            .expect("no error"),
        Waited::Elapsed
    ));
    let theirs = w.bridge().poll().expect("open").expect("on the channel");
    assert_eq!(theirs.task_uuid, run.task_uuid());
    complete(&w, &theirs, "host");
    complete(&w, &queued, "host");
    let Waited::Finished(result) = next(&mut run) else {
        panic!("expected the task's end");
    };
    assert!(result.is_complete(), "{result:?}");
    let Waited::Finished(other) = next(&mut busy) else {
        panic!("expected the other task's end");
    };
    assert!(other.is_complete(), "{other:?}");
    w.stop().expect("stop");
}
