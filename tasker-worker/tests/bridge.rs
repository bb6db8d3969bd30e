//! The event bridge on its own: backpressure, timeouts, completions, stop.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::json;
use tasker_shared::TaskerError;
use tasker_shared::types::{
    StepExecutionCompletionEvent, StepExecutionEvent, TaskInfo, TaskSequenceStep, WorkflowStepInfo,
};
use tasker_worker::{BridgeOutcome, EventBridge};
use uuid::Uuid;

fn event() -> StepExecutionEvent {
    let (task_uuid, step_uuid, correlation_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    StepExecutionEvent {
        event_id: Uuid::new_v4(),
        task_uuid,
        step_uuid,
        correlation_id,
        parent_correlation_id: None,
        trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        span_id: Some("00f067aa0ba902b7".into()),
        traceparent: None,
        timeout_ms: 30_000,
        task_sequence_step: TaskSequenceStep {
            task: TaskInfo {
                task_uuid,
                correlation_id,
                namespace_name: "n".into(),
                task_name: "t".into(),
                version: "1".into(),
                context: json!({}),
            },
            workflow_step: WorkflowStepInfo {
                step_uuid,
                name: "s".into(),
                handler: "h".into(),
                attempt: 1,
                max_attempts: 1,
                timeout_ms: None,
            },
            dependency_results: Default::default(),
        },
    }
}

/// A handler timeout long enough never to fire in these tests.
const T: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt")
}

#[test]
fn poll_never_blocks_and_wait_returns_none_on_timeout() {
    let bridge = EventBridge::new(4);
    assert!(bridge.poll().expect("open").is_none());
    assert!(
        bridge
            .wait(Duration::from_millis(20))
            .expect("open")
            .is_none()
    );
}

#[test]
fn a_completed_event_resolves_its_dispatch_with_the_host_result() {
    let rt = runtime();
    let bridge = Arc::new(EventBridge::new(4));
    let e = event();
    let pending = rt
        .block_on(bridge.dispatch(e.clone(), T))
        .expect("dispatch");
    assert_eq!(bridge.in_flight(), 1);
    assert_eq!(bridge.queued(), 1);
    let taken = bridge.poll().expect("open").expect("queued event");
    assert_eq!(taken.event_id, e.event_id);
    let mut c = StepExecutionCompletionEvent::for_event(&taken, true);
    c.result = Some(json!(42));
    bridge.complete(taken.event_id, c).expect("in flight");
    match rt.block_on(pending.outcome()) {
        BridgeOutcome::Completed { completion, .. } => {
            assert_eq!(completion.result, Some(json!(42)));
            assert_eq!(
                completion.trace_id.as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
        }
        other => panic!("expected a completion, got {other:?}"),
    }
    assert_eq!(bridge.in_flight(), 0);
}

#[test]
fn a_duplicate_completion_is_refused_with_a_clear_error() {
    let rt = runtime();
    let bridge = EventBridge::new(4);
    let e = event();
    let _pending = rt
        .block_on(bridge.dispatch(e.clone(), T))
        .expect("dispatch");
    let taken = bridge
        .wait(Duration::from_secs(1))
        .expect("open")
        .expect("event");
    bridge
        .complete(
            taken.event_id,
            StepExecutionCompletionEvent::for_event(&taken, true),
        )
        .expect("first");
    let err = bridge
        .complete(
            taken.event_id,
            StepExecutionCompletionEvent::for_event(&taken, true),
        )
        .expect_err("second");
    assert_eq!(
        err,
        TaskerError::InvalidCompletion(format!(
            "no step is in flight for event {}: it is unknown, already completed, or timed out",
            e.event_id
        ))
    );
}

#[test]
fn an_unknown_or_mismatched_completion_is_refused() {
    let bridge = EventBridge::new(4);
    let e = event();
    let err = bridge
        .complete(
            e.event_id,
            StepExecutionCompletionEvent::for_event(&e, true),
        )
        .expect_err("unknown");
    assert!(matches!(err, TaskerError::InvalidCompletion(_)), "{err}");
    let other = Uuid::new_v4();
    let err = bridge
        .complete(other, StepExecutionCompletionEvent::for_event(&e, true))
        .expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        format!("completion is for event {}, not {other}", e.event_id)
    );
}

#[test]
fn a_taken_event_that_is_not_completed_in_time_times_out_and_its_late_completion_is_refused() {
    let rt = runtime();
    let bridge = EventBridge::new(4);
    let e = event();
    let pending = rt
        .block_on(bridge.dispatch(e.clone(), Duration::from_millis(30)))
        .expect("dispatch");
    let taken = bridge.poll().expect("open").expect("event");
    let outcome = rt.block_on(pending.outcome());
    assert!(
        matches!(outcome, BridgeOutcome::TimedOut { .. }),
        "{outcome:?}"
    );
    assert_eq!(bridge.in_flight(), 0);
    let late = bridge.complete(
        taken.event_id,
        StepExecutionCompletionEvent::for_event(&taken, true),
    );
    assert!(matches!(late, Err(TaskerError::InvalidCompletion(_))));
}

#[test]
fn a_queued_event_does_not_time_out_before_a_host_takes_it() {
    let rt = runtime();
    let bridge = Arc::new(EventBridge::new(4));
    let e = event();
    let pending = rt
        .block_on(bridge.dispatch(e.clone(), Duration::from_millis(50)))
        .expect("dispatch");
    let waiter = rt.spawn(pending.outcome());
    // Well past the timeout, the event is still queued and the dispatch still waiting.
    std::thread::sleep(Duration::from_millis(150));
    assert!(!waiter.is_finished());
    let taken = bridge.poll().expect("open").expect("still queued");
    bridge
        .complete(
            taken.event_id,
            StepExecutionCompletionEvent::for_event(&taken, true),
        )
        .expect("in flight");
    let outcome = rt.block_on(waiter).expect("join");
    assert!(
        matches!(outcome, BridgeOutcome::Completed { .. }),
        "{outcome:?}"
    );
}

#[test]
fn a_full_channel_holds_back_dispatch_until_a_host_takes_an_event() {
    let rt = runtime();
    let bridge = Arc::new(EventBridge::new(2));
    let _a = rt.block_on(bridge.dispatch(event(), T)).expect("first");
    let _b = rt.block_on(bridge.dispatch(event(), T)).expect("second");
    let third = {
        let bridge = bridge.clone();
        rt.spawn(async move { bridge.dispatch(event(), T).await.map(|_| ()) })
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        !third.is_finished(),
        "a third event must wait: the channel holds two"
    );
    assert_eq!(bridge.queued(), 2);
    bridge.poll().expect("open").expect("event");
    rt.block_on(third)
        .expect("join")
        .expect("dispatched once there was room");
    assert_eq!(bridge.queued(), 2);
}

#[test]
fn a_cancelled_dispatch_leaves_nothing_in_flight() {
    let rt = runtime();
    let bridge = EventBridge::new(1);
    let _a = rt.block_on(bridge.dispatch(event(), T)).expect("first");
    let _enter = rt.enter();
    assert!(
        bridge.dispatch(event(), T).now_or_never().is_none(),
        "blocked on the full channel"
    );
    assert_eq!(
        bridge.in_flight(),
        1,
        "the cancelled dispatch unregistered itself"
    );
}

#[test]
fn stop_ends_waiting_hosts_and_pending_dispatches_and_refuses_new_ones() {
    let rt = runtime();
    let bridge = Arc::new(EventBridge::new(4));
    let e = event();
    let pending = rt
        .block_on(bridge.dispatch(e.clone(), T))
        .expect("dispatch");
    let _taken = bridge.poll().expect("open").expect("event");
    let host = {
        let bridge = bridge.clone();
        std::thread::spawn(move || bridge.wait(Duration::from_secs(30)))
    };
    std::thread::sleep(Duration::from_millis(50));
    bridge.close();
    assert_eq!(host.join().expect("host thread"), Err(TaskerError::Stopped));
    let outcome = rt.block_on(pending.outcome());
    assert!(matches!(outcome, BridgeOutcome::Stopped), "{outcome:?}");
    assert_eq!(
        rt.block_on(bridge.dispatch(event(), T)).map(|_| ()),
        Err(TaskerError::Stopped)
    );
    assert_eq!(bridge.poll(), Err(TaskerError::Stopped));
}

#[test]
fn a_short_deadline_filed_after_a_long_one_still_times_out_on_time() {
    let rt = runtime();
    let bridge = EventBridge::new(4);
    let long = rt
        .block_on(bridge.dispatch(event(), Duration::from_secs(30)))
        .expect("dispatch");
    let short = rt
        .block_on(bridge.dispatch(event(), Duration::from_millis(40)))
        .expect("dispatch");
    bridge.poll().expect("open").expect("long");
    bridge.poll().expect("open").expect("short");
    let outcome = rt.block_on(short.outcome());
    match outcome {
        BridgeOutcome::TimedOut { after } => {
            assert!(after >= Duration::from_millis(40), "{after:?}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(bridge.in_flight(), 1, "the long step is still running");
    drop(long);
}
