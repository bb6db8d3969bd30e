//! Nothing is lost: failing, panicking and hanging handlers become failed steps with their
//! reason; bad input is a clear error; handlers run concurrently.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tasker_shared::TaskerError;
use tasker_shared::workflow::{StepStatus, TaskStatus, TaskTemplate};
use tasker_worker::WorkerConfig;
use tasker_worker_rust::{HandlerRegistry, RustWorker, StepContext, StepError};

const T: Option<Duration> = Some(Duration::from_secs(30));

fn template(yaml: &str) -> TaskTemplate {
    TaskTemplate::from_yaml(yaml).expect("valid template")
}

fn worker(r: HandlerRegistry) -> RustWorker {
    let config = WorkerConfig {
        handler_timeout: Duration::from_secs(10),
        ..WorkerConfig::default()
    };
    RustWorker::start(config, r).expect("worker")
}

#[test]
fn failing_panicking_and_hanging_handlers_become_failed_steps_with_their_reason() {
    let mut r = HandlerRegistry::new();
    r.register_fn("fails", |_ctx: StepContext| async {
        Err::<Value, _>(StepError::permanent("card declined").with_type("PaymentError"))
    });
    r.register_fn("panics", |_ctx: StepContext| async {
        panic!("handler bug")
    });
    r.register_fn("hangs", |_ctx: StepContext| async {
        std::future::pending::<()>().await;
        Ok(json!(null))
    });
    r.register_fn("ok", |_ctx: StepContext| async { Ok(json!("fine")) });
    r.register_fn("after", |_ctx: StepContext| async { Ok(json!("never")) });
    let w = worker(r);
    let result = w
        .run_task(
            template(
                "namespace: n\nname: failures\nsteps:
  - {name: a_fails, handler: fails}
  - {name: b_panics, handler: panics}
  - {name: c_hangs, handler: hangs, timeout_ms: 200}
  - {name: d_ok, handler: ok}
  - {name: e_after_failure, handler: after, depends_on: [a_fails]}
",
            ),
            json!({}),
            T,
        )
        .expect("the task runs to its end");
    assert_eq!(result.status, TaskStatus::Error);
    let step = |n: &str| &result.steps[n];
    assert_eq!(step("a_fails").status, StepStatus::Failed);
    assert_eq!(step("a_fails").error.as_deref(), Some("card declined"));
    assert_eq!(step("a_fails").error_type.as_deref(), Some("PaymentError"));
    assert_eq!(step("b_panics").status, StepStatus::Failed);
    assert_eq!(
        step("b_panics").error.as_deref(),
        Some("handler panicked: handler bug")
    );
    assert_eq!(step("b_panics").error_type.as_deref(), Some("panic"));
    assert_eq!(step("c_hangs").status, StepStatus::Failed);
    assert_eq!(step("c_hangs").error_type.as_deref(), Some("timeout"));
    assert!(
        step("c_hangs")
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("handler timed out after"))
    );
    assert_eq!(step("d_ok").status, StepStatus::Complete);
    assert_eq!(step("e_after_failure").status, StepStatus::Skipped);
    w.stop().expect("stop");
}

#[test]
fn a_retryable_failure_is_retried_up_to_max_attempts() {
    let calls = Arc::new(AtomicU32::new(0));
    let mut r = HandlerRegistry::new();
    let c = calls.clone();
    r.register_fn("flaky", move |ctx: StepContext| {
        c.fetch_add(1, Ordering::SeqCst);
        async move {
            if ctx.attempt < 3 {
                Err(StepError::retryable(format!(
                    "attempt {} failed",
                    ctx.attempt
                )))
            } else {
                Ok(json!({"attempt": ctx.attempt}))
            }
        }
    });
    let w = worker(r);
    let result = w
        .run_task(template("namespace: n\nname: retry\nsteps:\n  - {name: s, handler: flaky, max_attempts: 3}\n"), json!({}), T)
        .expect("runs");
    assert_eq!(result.status, TaskStatus::Complete, "{result:#?}");
    assert_eq!(result.steps["s"].attempts, 3);
    assert_eq!(result.step_results["s"], json!({"attempt": 3}));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    w.stop().expect("stop");
}

#[test]
fn handlers_run_concurrently() {
    // Four branches meet at a barrier for four: if handlers ran one at a time, the first
    // would wait forever and time out.
    let barrier = Arc::new(tokio::sync::Barrier::new(4));
    let mut r = HandlerRegistry::new();
    r.register_fn("meet", move |_ctx: StepContext| {
        let b = barrier.clone();
        async move {
            b.wait().await;
            Ok(json!("met"))
        }
    });
    r.register_fn("ok", |_ctx: StepContext| async { Ok(json!(1)) });
    let w = worker(r);
    let result = w
        .run_task(
            template(
                "namespace: n\nname: fan\nsteps:
  - {name: root, handler: ok}
  - {name: b1, handler: meet, depends_on: [root], timeout_ms: 5000}
  - {name: b2, handler: meet, depends_on: [root], timeout_ms: 5000}
  - {name: b3, handler: meet, depends_on: [root], timeout_ms: 5000}
  - {name: b4, handler: meet, depends_on: [root], timeout_ms: 5000}
",
            ),
            json!({}),
            T,
        )
        .expect("runs");
    assert_eq!(result.status, TaskStatus::Complete, "{result:#?}");
    w.stop().expect("stop");
}

#[test]
fn an_unknown_handler_or_a_bad_template_is_refused_before_anything_runs() {
    let mut r = HandlerRegistry::new();
    r.register_fn("ok", |_ctx: StepContext| async { Ok(json!(1)) });
    let w = worker(r);
    let err = w
        .run_task(
            template("namespace: n\nname: t\nsteps:\n  - {name: s, handler: nobody}\n"),
            json!({}),
            T,
        )
        .expect_err("unknown handler");
    assert_eq!(err, TaskerError::UnknownHandler("nobody".into()));
    assert_eq!(err.to_string(), "no handler registered as \"nobody\"");
    let cyclic = TaskTemplate {
        steps: vec![],
        ..template("namespace: n\nname: t\nsteps:\n  - {name: s, handler: ok}\n")
    };
    let err = w.run_task(cyclic, json!({}), T).expect_err("empty");
    assert_eq!(err.to_string(), "task template n/t@1.0.0 has no steps");
    w.stop().expect("stop");
}

#[test]
fn calls_after_stop_fail_with_a_clear_error() {
    let mut r = HandlerRegistry::new();
    r.register_fn("ok", |_ctx: StepContext| async { Ok(json!(1)) });
    let w = worker(r);
    w.stop().expect("stop");
    w.stop().expect("stop is idempotent");
    let err = w
        .run_task(
            template("namespace: n\nname: t\nsteps:\n  - {name: s, handler: ok}\n"),
            json!({}),
            T,
        )
        .expect_err("stopped");
    assert_eq!(err, TaskerError::Stopped);
    assert_eq!(err.to_string(), "the worker is stopped");
    assert_eq!(w.worker().register_handler("x"), Err(TaskerError::Stopped));
    assert_eq!(w.worker().bridge().poll(), Err(TaskerError::Stopped));
}

#[test]
fn a_task_that_outlives_its_caller_timeout_is_reported() {
    let mut r = HandlerRegistry::new();
    r.register_fn("slow", |_ctx: StepContext| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        Ok(json!(1))
    });
    let w = worker(r);
    let err = w
        .run_task(
            template("namespace: n\nname: t\nsteps:\n  - {name: s, handler: slow}\n"),
            json!({}),
            Some(Duration::from_millis(100)),
        )
        .expect_err("caller gave up");
    assert!(
        matches!(err, TaskerError::TaskTimeout { millis: 100, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with("did not finish within 0.1 s"),
        "{err}"
    );
    w.stop().expect("stop drains the slow step");
}
