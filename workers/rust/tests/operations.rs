//! Running serving workers as an operator does: their `/metrics` and `/health/ready`, and
//! many processes sharing one queue under load.

mod common;

use std::time::Duration;

use common::{
    get, migrated, sample, serve_on, status, submit, template_file, terminate, wait_until,
};
use serde_json::Value;
use tasker_testkit::free_port;

#[test]
fn a_serving_worker_reports_queue_depth_claims_and_whether_the_database_answers() {
    let (pg, env) = migrated(&["metered"]);
    let template = template_file(
        "metered.yaml",
        "namespace: metered\nname: nap\nsteps:\n  - {name: nap, handler: sleep}\n",
    );
    let tasks: Vec<String> = (0..3)
        .map(|_| submit(&env, &template, r#"{"sleep_ms": 1500}"#))
        .collect();
    let addr = free_port();
    let server = serve_on(&env, "metered", "metered", addr);
    let metrics = || get(addr, "/metrics").1;
    let ready = || {
        let (code, body) = get(addr, "/health/ready");
        (
            code,
            serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
        )
    };

    // Two held (concurrency 2), one waiting: all three are still in the queue.
    assert!(
        wait_until(Duration::from_secs(15), || {
            let m = metrics();
            sample(&m, r#"tasker_queue_depth{queue="metered"}"#) == Some(3.0)
                && sample(&m, r#"tasker_queue_visible{queue="metered"}"#) == Some(1.0)
        }),
        "{}",
        metrics()
    );
    let m = metrics();
    assert_eq!(
        sample(&m, r#"tasker_queue_claims_total{queue="metered"}"#),
        Some(2.0),
        "{m}"
    );
    assert!(
        sample(
            &m,
            r#"tasker_queue_oldest_message_age_seconds{queue="metered"}"#
        )
        .is_some()
    );
    assert!(m.contains("# TYPE tasker_queue_depth gauge"), "{m}");
    let (code, body) = ready();
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["checks"]["database"],
        serde_json::json!({"status": "up"})
    );

    pg.stop_server();
    assert!(
        wait_until(Duration::from_secs(15), || ready().0 == 503),
        "{:?}",
        ready()
    );
    let (_, body) = ready();
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["checks"]["database"]["status"], "down", "{body}");
    assert!(
        body["checks"]["database"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    pg.start_server();
    assert!(
        wait_until(Duration::from_secs(30), || ready().0 == 200),
        "{:?}",
        ready()
    );

    assert!(wait_until(Duration::from_secs(30), || {
        tasks
            .iter()
            .all(|t| status(&env, t)["status"] == "complete")
    }));
    assert!(
        wait_until(Duration::from_secs(10), || {
            sample(&metrics(), r#"tasker_queue_depth{queue="metered"}"#) == Some(0.0)
        }),
        "{}",
        metrics()
    );
    assert_eq!(
        sample(&metrics(), r#"tasker_queue_claims_total{queue="metered"}"#),
        Some(3.0)
    );
    assert_eq!(terminate(server)["recorded"], 3);
}
