//! A host as the FFI bindings are: a plain thread that waits on the bridge (blocking, as it
//! would with the GVL/GIL released) and completes events, sometimes without trace fields,
//! sometimes with its own child span's ids. Checked at a real collector.

use std::time::Duration;

use serde_json::json;
use tasker_shared::logging::TelemetryConfig;
use tasker_shared::types::StepExecutionCompletionEvent;
use tasker_shared::workflow::TaskTemplate;
use tasker_testkit::Collector;
use tasker_worker::{Worker, WorkerConfig};

const HOST_SPAN: &str = "1234567890abcdef";
const FOREIGN_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const FOREIGN_SPAN: &str = "b7ad6b7169203331";

#[test]
fn completions_without_trace_fields_with_a_host_child_span_or_from_a_foreign_trace_stay_linked_in_the_task_trace()
 {
    let collector = Collector::start();
    let worker = Worker::start(WorkerConfig {
        language: "python".into(),
        telemetry: Some(
            TelemetryConfig::default()
                .with_enabled(true)
                .with_endpoint(collector.http_endpoint()),
        ),
        ..WorkerConfig::default()
    })
    .expect("worker");
    worker.register_handler("host").expect("register");

    let host = {
        let worker = worker.clone();
        std::thread::spawn(move || {
            let mut handled = 0;
            while let Ok(next) = worker.bridge().wait(Duration::from_millis(200)) {
                let Some(event) = next else { continue };
                let mut c = StepExecutionCompletionEvent::for_event(&event, true);
                c.result = Some(json!(event.task_sequence_step.workflow_step.name));
                match event.task_sequence_step.workflow_step.name.as_str() {
                    // An older host that drops the trace fields.
                    "no_trace_fields" => (c.trace_id, c.span_id) = (None, None),
                    // A host that made its own child span and returns its ids.
                    "host_child_span" => c.span_id = Some(HOST_SPAN.into()),
                    // A host span that started a trace of its own.
                    "foreign_trace" => {
                        (c.trace_id, c.span_id) =
                            (Some(FOREIGN_TRACE.into()), Some(FOREIGN_SPAN.into()))
                    }
                    // A host that mangles them.
                    "garbage_ids" => {
                        (c.trace_id, c.span_id) = (Some("span-1".into()), Some("x".into()))
                    }
                    _ => {}
                }
                worker
                    .bridge()
                    .complete(event.event_id, c)
                    .expect("in flight");
                handled += 1;
            }
            handled
        })
    };

    let template = TaskTemplate::from_yaml(
        "namespace: interop\nname: t\nsteps:
  - {name: no_trace_fields, handler: host}
  - {name: host_child_span, handler: host}
  - {name: garbage_ids, handler: host}
  - {name: echoed, handler: host}
  - {name: foreign_trace, handler: host}
",
    )
    .expect("template");
    let result = worker
        .run_task(template, json!({}), Some(Duration::from_secs(30)))
        .expect("runs");
    assert!(result.is_complete(), "{result:#?}");
    worker.stop().expect("stop");
    assert_eq!(
        host.join().expect("host thread"),
        5,
        "the host loop ends when the worker stops"
    );

    let trace_id = result.trace_id.clone().expect("trace");
    let spans = collector.wait_for(Duration::from_secs(10), |s| s.len() >= 11);
    let exec = |step: &str| {
        spans
            .iter()
            .find(|s| s.name == "worker.step_execution" && s.attr("step_name") == Some(step))
            .unwrap_or_else(|| panic!("no execution span for {step}: {spans:#?}"))
    };
    let completion_of = |step: &str| {
        let e = exec(step);
        spans
            .iter()
            .find(|s| {
                s.name == "worker.step_completion_received"
                    && s.links.iter().any(|l| l.span_id == e.span_id)
            })
            .unwrap_or_else(|| panic!("no completion linked to {step}: {spans:#?}"))
    };
    for step in [
        "no_trace_fields",
        "host_child_span",
        "garbage_ids",
        "echoed",
        "foreign_trace",
    ] {
        let c = completion_of(step);
        assert_eq!(c.trace_id, trace_id, "{step}");
        assert!(
            c.has_event("step.python_execution_completed"),
            "{step}: {c:#?}"
        );
    }
    // Fallback span: no trace fields recorded, nested under the execution span.
    let fallback = completion_of("no_trace_fields");
    assert_eq!(fallback.parent_id, exec("no_trace_fields").span_id);
    assert_eq!(fallback.attr("trace_id"), None);
    let garbage = completion_of("garbage_ids");
    assert_eq!(garbage.parent_id, exec("garbage_ids").span_id);
    // The host's own span is the completion's parent; the link still points at execution.
    let child = completion_of("host_child_span");
    assert_eq!(child.parent_id, HOST_SPAN);
    assert_eq!(child.attr("span_id"), Some(HOST_SPAN));
    let echoed = completion_of("echoed");
    assert_eq!(echoed.parent_id, exec("echoed").span_id);
    // A foreign trace id does not move the completion out of the task's trace: it stays
    // under its execution span and links to the foreign span as well.
    let foreign = completion_of("foreign_trace");
    assert_eq!(foreign.parent_id, exec("foreign_trace").span_id);
    assert!(
        foreign
            .links
            .iter()
            .any(|l| l.trace_id == FOREIGN_TRACE && l.span_id == FOREIGN_SPAN),
        "{foreign:#?}"
    );
}

/// A host thread that took an event is running its handler until it completes it: a stop
/// from there would wait for that very handler, so it is refused and nothing stops.
#[test]
fn stop_on_a_thread_holding_a_step_event_is_refused_and_the_worker_runs_on() {
    let worker = Worker::start(WorkerConfig {
        telemetry: Some(TelemetryConfig::default().with_enabled(false)),
        ..WorkerConfig::default()
    })
    .expect("worker");
    worker.register_handler("host").expect("register");
    let host = {
        let worker = worker.clone();
        std::thread::spawn(move || {
            let host = tasker_worker::blocking::Plain;
            let mut refusals = Vec::new();
            while let Ok(next) = tasker_worker::blocking::next_event(
                &host,
                worker.bridge(),
                Duration::from_millis(200),
            ) {
                let Some(event) = next else { continue };
                refusals.push(
                    worker
                        .stop()
                        .expect_err("a stop inside the handler")
                        .to_string(),
                );
                let c = StepExecutionCompletionEvent::for_event(&event, true);
                worker
                    .bridge()
                    .complete(event.event_id, c)
                    .expect("complete");
                // Completed: this thread is no longer inside a handler.
                assert!(!tasker_worker::blocking::on_handler_thread());
            }
            refusals
        })
    };
    let template = TaskTemplate::from_yaml(
        "namespace: t\nname: stop_in_handler\nversion: 1.0.0\nsteps:\n  - name: a\n    handler: host\n",
    )
    .expect("template");
    let result = worker
        .run_task(template, json!({}), Some(Duration::from_secs(30)))
        .expect("the task");
    assert!(result.is_complete(), "{result:?}");
    assert!(!worker.is_stopped());
    worker.stop().expect("a stop from outside the handlers");
    let refusals = host.join().expect("the host thread");
    assert_eq!(
        refusals,
        [
            "stop was called from inside a step handler, which the stop would wait for; stop the worker from outside its handlers (after run_task returns, or from another thread)"
        ]
    );
}
