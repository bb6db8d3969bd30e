//! The sans-IO task machine, driven by hand.

use serde_json::json;
use tasker_shared::types::StepExecutionResult;
use tasker_shared::workflow::{
    Action, ReadyStep, StepStatus, Task, TaskOutcome, TaskStatus, TaskTemplate, TemplateError,
    WorkflowError,
};
use uuid::Uuid;

const DIAMOND: &str = r#"
namespace: diamond_workflow
name: diamond
version: "1.0.0"
steps:
  - name: start
    handler: double
  - name: left
    handler: add_one
    depends_on: [start]
  - name: right
    handler: add_one
    depends_on: [start]
    max_attempts: 3
  - name: join
    handler: sum
    depends_on: [left, right]
"#;

fn task(yaml: &str) -> Task {
    let t = TaskTemplate::from_yaml(yaml).expect("valid template");
    Task::new(t, json!({"n": 2}), Uuid::new_v4(), Uuid::new_v4()).expect("valid task")
}

fn dispatched(actions: &[Action]) -> Vec<ReadyStep> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dispatch(r) => Some((**r).clone()),
            Action::Finished(_) => None,
        })
        .collect()
}

fn finished(actions: &[Action]) -> Option<TaskOutcome> {
    actions.iter().find_map(|a| match a {
        Action::Finished(o) => Some(o.clone()),
        Action::Dispatch(_) => None,
    })
}

fn ok(step: &ReadyStep, value: serde_json::Value) -> StepExecutionResult {
    StepExecutionResult::success(step.message.step_uuid, value, 1)
}

fn names(steps: &[ReadyStep]) -> Vec<&str> {
    steps
        .iter()
        .map(|s| s.sequence.workflow_step.name.as_str())
        .collect()
}

#[test]
fn a_diamond_runs_in_dependency_order_and_passes_results_on() {
    let mut t = task(DIAMOND);
    let first = dispatched(&t.start());
    assert_eq!(names(&first), ["start"]);
    assert_eq!(first[0].sequence.task.context, json!({"n": 2}));
    assert_eq!(first[0].sequence.task.namespace_name, "diamond_workflow");

    let fan = dispatched(&t.on_result(ok(&first[0], json!(4))).expect("in flight"));
    assert_eq!(names(&fan), ["left", "right"]);
    assert_eq!(
        fan[0].sequence.dependency_results,
        json!({"start": 4}).as_object().cloned().expect("map")
    );

    let after_left = t.on_result(ok(&fan[0], json!(5))).expect("in flight");
    assert!(after_left.is_empty(), "join must wait for right");
    let join = dispatched(&t.on_result(ok(&fan[1], json!(6))).expect("in flight"));
    assert_eq!(names(&join), ["join"]);
    assert_eq!(
        serde_json::Value::Object(join[0].sequence.dependency_results.clone()),
        json!({"left": 5, "right": 6})
    );

    let end = t.on_result(ok(&join[0], json!(11))).expect("in flight");
    let outcome = finished(&end).expect("finished");
    assert_eq!(outcome.status, TaskStatus::Complete);
    assert_eq!(t.status(), TaskStatus::Complete);
    assert_eq!(
        serde_json::Value::Object(outcome.step_results),
        json!({"start": 4, "left": 5, "right": 6, "join": 11})
    );
}

#[test]
fn a_retryable_failure_is_dispatched_again_until_max_attempts() {
    let mut t = task(DIAMOND);
    let start = dispatched(&t.start());
    let fan = dispatched(&t.on_result(ok(&start[0], json!(1))).expect("ok"));
    let right = &fan[1];
    let fail = |r: &ReadyStep| {
        StepExecutionResult::failure(r.message.step_uuid, "flaky", "handler_error", true, 2)
    };
    let again = dispatched(&t.on_result(fail(right)).expect("ok"));
    assert_eq!(names(&again), ["right"]);
    assert_eq!(again[0].sequence.workflow_step.attempt, 2);
    let third = dispatched(&t.on_result(fail(&again[0])).expect("ok"));
    assert_eq!(third[0].sequence.workflow_step.attempt, 3);
    // Out of attempts: failed for good, and join is skipped once left finishes.
    assert!(dispatched(&t.on_result(fail(&third[0])).expect("ok")).is_empty());
    assert_eq!(t.step_status("right"), Some(StepStatus::Failed));
    let end = t.on_result(ok(&fan[0], json!(2))).expect("ok");
    let outcome = finished(&end).expect("finished");
    assert_eq!(outcome.status, TaskStatus::Error);
    assert_eq!(outcome.steps["right"].attempts, 3);
    assert_eq!(outcome.steps["right"].error.as_deref(), Some("flaky"));
    assert_eq!(outcome.steps["join"].status, StepStatus::Skipped);
    assert_eq!(
        outcome.steps["join"].error_type.as_deref(),
        Some("dependency_failed")
    );
    assert_eq!(outcome.steps["left"].status, StepStatus::Complete);
}

#[test]
fn a_non_retryable_failure_fails_at_once_with_its_reason() {
    let mut t = task(DIAMOND);
    let start = dispatched(&t.start());
    let r =
        StepExecutionResult::failure(start[0].message.step_uuid, "boom", "RuntimeError", false, 3);
    let end = t.on_result(r).expect("ok");
    let outcome = finished(&end).expect("everything else is skipped");
    assert_eq!(outcome.status, TaskStatus::Error);
    assert_eq!(outcome.steps["start"].status, StepStatus::Failed);
    assert_eq!(outcome.steps["start"].error.as_deref(), Some("boom"));
    assert_eq!(
        outcome.steps["start"].error_type.as_deref(),
        Some("RuntimeError")
    );
    for s in ["left", "right", "join"] {
        assert_eq!(outcome.steps[s].status, StepStatus::Skipped, "{s}");
    }
}

#[test]
fn duplicate_and_unknown_results_are_refused() {
    let mut t = task(DIAMOND);
    let start = dispatched(&t.start());
    t.on_result(ok(&start[0], json!(1))).expect("first result");
    let err = t.on_result(ok(&start[0], json!(1))).expect_err("duplicate");
    assert!(
        matches!(err, WorkflowError::NotInFlight { ref step, status: StepStatus::Complete, .. } if step == "start")
    );
    assert!(
        err.to_string().contains("duplicate or late result"),
        "{err}"
    );
    let stray = StepExecutionResult::success(Uuid::new_v4(), json!(null), 0);
    assert!(matches!(
        t.on_result(stray),
        Err(WorkflowError::UnknownStep { .. })
    ));
}

#[test]
fn step_uuids_are_stable_per_task_and_distinct_across_tasks() {
    let tmpl = TaskTemplate::from_yaml(DIAMOND).expect("valid");
    let id = Uuid::new_v4();
    let mut a = Task::new(tmpl.clone(), json!({}), id, Uuid::new_v4()).expect("ok");
    let mut b = Task::new(tmpl.clone(), json!({}), id, Uuid::new_v4()).expect("ok");
    let mut c = Task::new(tmpl, json!({}), Uuid::new_v4(), Uuid::new_v4()).expect("ok");
    let ua = dispatched(&a.start())[0].message.step_uuid;
    assert_eq!(ua, dispatched(&b.start())[0].message.step_uuid);
    assert_ne!(ua, dispatched(&c.start())[0].message.step_uuid);
}

#[test]
fn the_root_traceparent_is_stamped_on_every_message() {
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned();
    let mut t = task(DIAMOND).with_traceparent(Some(tp.clone()));
    let start = dispatched(&t.start());
    assert_eq!(start[0].message.traceparent.as_deref(), Some(tp.as_str()));
}

#[test]
fn json_templates_and_files_load_too() {
    let json_text =
        r#"{"namespace":"n","name":"t","steps":[{"name":"a","handler":"h","timeout_ms":500}]}"#;
    let t = TaskTemplate::from_json(json_text).expect("valid");
    assert_eq!(t.version, "1.0.0");
    assert_eq!(t.steps[0].max_attempts, 1);
    assert_eq!(t.steps[0].timeout_ms, Some(500));
    let dir = std::env::temp_dir().join(format!("tasker-template-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("tmp");
    std::fs::write(dir.join("t.json"), json_text).expect("write");
    std::fs::write(dir.join("d.yaml"), DIAMOND).expect("write");
    assert_eq!(
        TaskTemplate::from_path(dir.join("t.json"))
            .expect("json")
            .name,
        "t"
    );
    assert_eq!(
        TaskTemplate::from_path(dir.join("d.yaml"))
            .expect("yaml")
            .steps
            .len(),
        4
    );
    let missing = TaskTemplate::from_path(dir.join("nope.yaml")).expect_err("missing");
    assert!(matches!(missing, TemplateError::Io { .. }), "{missing}");
}

fn invalid(yaml: &str) -> String {
    TaskTemplate::from_yaml(yaml)
        .expect_err("invalid")
        .to_string()
}

#[test]
fn an_unknown_dependency_is_named() {
    assert_eq!(
        invalid("namespace: n\nname: t\nsteps:\n  - {name: a, handler: h, depends_on: [ghost]}\n"),
        "task template n/t@1.0.0: step \"a\" depends on unknown step \"ghost\""
    );
}

#[test]
fn a_cycle_is_shown_as_a_path() {
    assert_eq!(
        invalid(
            "namespace: n\nname: t\nsteps:\n  - {name: a, handler: h, depends_on: [c]}\n  - {name: b, handler: h, depends_on: [a]}\n  - {name: c, handler: h, depends_on: [b]}\n"
        ),
        "task template n/t@1.0.0 has a dependency cycle: a -> c -> b -> a"
    );
    assert_eq!(
        invalid("namespace: n\nname: t\nsteps:\n  - {name: a, handler: h, depends_on: [a]}\n"),
        "task template n/t@1.0.0 has a dependency cycle: a -> a"
    );
}

#[test]
fn a_duplicate_step_name_is_refused() {
    assert_eq!(
        invalid(
            "namespace: n\nname: t\nsteps:\n  - {name: a, handler: h}\n  - {name: a, handler: h}\n"
        ),
        "task template n/t@1.0.0 has two steps named \"a\""
    );
}

#[test]
fn an_empty_template_is_refused() {
    assert_eq!(
        invalid("namespace: n\nname: t\nsteps: []\n"),
        "task template n/t@1.0.0 has no steps"
    );
    assert_eq!(
        invalid("namespace: ''\nname: t\nsteps: [{name: a, handler: h}]\n"),
        "task template /t@1.0.0: namespace must not be empty"
    );
}

#[test]
fn zero_attempts_and_unknown_fields_are_refused() {
    assert_eq!(
        invalid("namespace: n\nname: t\nsteps:\n  - {name: a, handler: h, max_attempts: 0}\n"),
        "task template n/t@1.0.0: step \"a\" has max_attempts 0; it must be at least 1"
    );
    let typo = invalid("namespace: n\nname: t\nsteps:\n  - {name: a, handler: h, depends: [b]}\n");
    assert!(
        typo.starts_with("task template is not valid YAML: steps[0]: unknown field `depends`"),
        "{typo}"
    );
}

#[test]
fn a_failure_skips_only_what_is_downstream_and_the_rest_still_runs() {
    let mut t = task(
        r#"
namespace: n
name: chain
steps:
  - {name: a, handler: h}
  - {name: b, handler: h, depends_on: [a]}
  - {name: c, handler: h, depends_on: [b]}
  - {name: d, handler: h, depends_on: [c, e]}
  - {name: e, handler: h}
"#,
    );
    let first = dispatched(&t.start());
    assert_eq!(names(&first), ["a", "e"]);
    let b = dispatched(&t.on_result(ok(&first[0], json!(1))).expect("a"));
    assert_eq!(names(&b), ["b"]);
    let fail = StepExecutionResult::failure(b[0].message.step_uuid, "no", "E", false, 0);
    assert!(
        t.on_result(fail).expect("b").is_empty(),
        "e is still running"
    );
    assert_eq!(t.step_status("c"), Some(StepStatus::Skipped));
    assert_eq!(t.step_status("d"), Some(StepStatus::Skipped));
    let end = t.on_result(ok(&first[1], json!(2))).expect("e");
    let outcome = finished(&end).expect("nothing is left to run");
    assert_eq!(outcome.status, TaskStatus::Error);
    assert_eq!(outcome.steps["e"].status, StepStatus::Complete);
    assert_eq!(outcome.step_results["e"], json!(2));
}

#[test]
fn a_wide_task_dispatches_every_independent_step_at_start_and_finishes_on_the_last_result() {
    let steps: Vec<_> = (0..2000)
        .map(|i| json!({"name": format!("s{i}"), "handler": "h"}))
        .collect();
    let template =
        TaskTemplate::from_value(json!({"namespace": "n", "name": "wide", "steps": steps}))
            .expect("template");
    let mut t = Task::new(template, json!({}), Uuid::new_v4(), Uuid::new_v4()).expect("task");
    let ready = dispatched(&t.start());
    assert_eq!(ready.len(), 2000);
    let (last, rest) = ready.split_last().expect("steps");
    for r in rest {
        assert!(t.on_result(ok(r, json!(null))).expect("result").is_empty());
    }
    let outcome = finished(&t.on_result(ok(last, json!(null))).expect("last")).expect("done");
    assert_eq!(outcome.status, TaskStatus::Complete);
    assert_eq!(outcome.steps.len(), 2000);
}

/// Rebuilds `t` from its records, as a distributed worker does from the database.
fn reloaded(t: &Task) -> Task {
    Task::restore(
        t.template().clone(),
        json!({"n": 2}),
        t.task_uuid(),
        t.correlation_id(),
        &t.outcome().steps,
    )
    .expect("restores")
}

#[test]
fn a_task_restored_from_its_records_after_every_result_runs_as_one_kept_in_memory() {
    let mut t = task(DIAMOND);
    let start = dispatched(&t.start());
    let mut t = reloaded(&t);
    assert_eq!(t.status(), TaskStatus::Running);
    assert_eq!(t.step_status("start"), Some(StepStatus::InFlight));
    let fan = dispatched(&t.on_result(ok(&start[0], json!(4))).expect("in flight"));
    assert_eq!(names(&fan), ["left", "right"]);

    let mut t = reloaded(&t);
    // A retryable failure of `right`: it is dispatched again, with attempt 2.
    let retry = dispatched(
        &t.on_result(StepExecutionResult::failure(
            fan[1].message.step_uuid,
            "flaky",
            "io",
            true,
            1,
        ))
        .expect("in flight"),
    );
    assert_eq!(names(&retry), ["right"]);
    assert_eq!(retry[0].sequence.workflow_step.attempt, 2);

    let mut t = reloaded(&t);
    assert!(
        t.on_result(ok(&fan[0], json!(5)))
            .expect("in flight")
            .is_empty()
    );
    let mut t = reloaded(&t);
    let join = dispatched(&t.on_result(ok(&retry[0], json!(6))).expect("in flight"));
    assert_eq!(
        serde_json::Value::Object(join[0].sequence.dependency_results.clone()),
        json!({"left": 5, "right": 6}),
        "dependency results survive the reload"
    );

    let mut t = reloaded(&t);
    let outcome =
        finished(&t.on_result(ok(&join[0], json!(11))).expect("in flight")).expect("finished");
    assert_eq!(outcome.status, TaskStatus::Complete);
    assert_eq!(outcome.steps["right"].attempts, 2);
    // A duplicate of a recorded result changes nothing, after a reload too.
    let mut t = reloaded(&t);
    assert_eq!(t.status(), TaskStatus::Complete);
    assert!(matches!(
        t.on_result(ok(&join[0], json!(11))),
        Err(WorkflowError::NotInFlight { .. })
    ));
}

#[test]
fn a_restored_task_with_no_records_is_pending_and_a_failed_one_is_finished_in_error() {
    let fresh = task(DIAMOND);
    let mut t = reloaded(&fresh);
    assert_eq!(t.status(), TaskStatus::Pending);
    let start = dispatched(&t.start());
    assert_eq!(names(&start), ["start"]);
    let outcome = finished(
        &t.on_result(StepExecutionResult::failure(
            start[0].message.step_uuid,
            "bad input",
            "invalid_input",
            false,
            1,
        ))
        .expect("in flight"),
    )
    .expect("finished");
    assert_eq!(outcome.status, TaskStatus::Error);
    let t = reloaded(&t);
    assert_eq!(t.status(), TaskStatus::Error);
    assert_eq!(t.outcome().steps["join"].status, StepStatus::Skipped);
    assert_eq!(
        t.outcome(),
        outcome,
        "the restored record is the same record"
    );
}
