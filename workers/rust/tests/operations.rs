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

#[test]
fn four_serving_processes_complete_two_thousand_tasks_and_record_no_step_twice() {
    const TASKS: usize = 2_000;
    let (pg, env) = migrated(&["shared"]);
    let template = tasker_shared::workflow::TaskTemplate::from_yaml(
        "namespace: shared\nname: pair\nsteps:\n  - {name: first, handler: square}\n  - {name: second, handler: square, depends_on: [first]}\n",
    )
    .expect("template");
    let servers: Vec<_> = (0..4)
        .map(|i| {
            common::serve_command(&env, "shared", &format!("shared-{i}"), 4)
                // Thousands of step lines: more than a pipe holds unread.
                .env("RUST_LOG", "warn")
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn serve")
        })
        .collect();
    // Submitted through the library while the four serve: claims race submissions too.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let tasks: Vec<tasker_pgmq::Uuid> = rt.block_on(async {
        let pool = tasker_pgmq::connect(&pg.url(), 4).await.expect("pool");
        let mut tasks = Vec::with_capacity(TASKS);
        for i in 0..TASKS {
            let context = serde_json::json!({ "even_number": 2 * (i % 7) + 2 });
            let submitted = tasker_pgmq::submit(&pool, template.clone(), context)
                .await
                .expect("submit");
            tasks.push(submitted.task_uuid);
        }
        tasks
    });
    let done = || {
        pg.psql("SELECT count(*) FROM tasker.tasks WHERE status = 'complete'") == TASKS.to_string()
    };
    assert!(
        wait_until(Duration::from_secs(180), done),
        "{} of {TASKS} complete",
        pg.psql("SELECT count(*) FROM tasker.tasks WHERE status = 'complete'")
    );
    let reports: Vec<Value> = servers.into_iter().map(terminate).collect();
    let recorded: u64 = reports
        .iter()
        .map(|r| r["recorded"].as_u64().expect("n"))
        .sum();
    assert_eq!(recorded, 2 * TASKS as u64, "{reports:?}");
    assert!(
        reports.iter().all(|r| r["recorded"].as_u64() > Some(0)),
        "every process took a share: {reports:?}"
    );
    // One message per step, each archived once, each step run once.
    assert_eq!(
        pg.psql(
            "SELECT count(*), count(DISTINCT message->>'step_uuid') FROM pgmq.a_worker_shared_queue"
        ),
        format!("{}|{}", 2 * TASKS, 2 * TASKS)
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM tasker.steps WHERE status = 'complete' AND attempts = 1"),
        (2 * TASKS).to_string()
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM pgmq.q_worker_shared_queue"),
        "0"
    );
    let sample_task = status(&env, &tasks[3].to_string());
    assert_eq!(sample_task["step_results"]["second"], 8 * 8 * 8 * 8);
}
