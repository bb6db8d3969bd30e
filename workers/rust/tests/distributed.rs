//! The distributed path end to end, as a user runs it: `migrate`, two `serve` processes on
//! two queues, `submit`, `status`, against a private PostgreSQL and a real collector. The
//! task's steps run in two processes, dependency results cross between them, and every span
//! of the task, from both processes and the submitter, shares ONE trace id.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{
    claimed, command, json_of, migrated, serve, status, submit, template_file, terminate,
    wait_until,
};
use tasker_testkit::{Collector, PgCluster};

const TWO_QUEUES: &str = "namespace: distributed
name: two_queues
steps:
  - {name: first, handler: square, queue: alpha}
  - {name: second, handler: square, depends_on: [first], queue: beta}
";

#[test]
fn a_task_across_two_queues_and_two_serving_processes_completes_as_one_trace() {
    let pg = PgCluster::start();
    let collector = Collector::start();
    let env = common::traced_env(&pg, &collector);
    json_of(command(&env).args(["migrate", "--queue", "alpha", "--queue", "beta"]));
    let alpha = serve(&env, "alpha", "serve-alpha");
    let beta = serve(&env, "beta", "serve-beta");

    let dir = std::env::temp_dir().join(format!("tasker-distributed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let template = dir.join("two_queues.yaml");
    std::fs::write(&template, TWO_QUEUES).expect("write");
    let (task_uuid, trace_id) = common::submit_traced(&env, &template, r#"{"even_number": 2}"#);

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let s = status(&env, &task_uuid);
        if s["status"] != "running" || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status["status"], "complete", "{status:#}");
    assert_eq!(status["step_results"]["first"], 4);
    assert_eq!(
        status["step_results"]["second"], 16,
        "the dependency result crossed processes"
    );
    assert_eq!(status["trace_id"], trace_id.as_str());

    let (a, b) = (terminate(alpha), terminate(beta));
    assert_eq!(
        (a["recorded"].as_u64(), b["recorded"].as_u64()),
        (Some(1), Some(1))
    );

    let spans = collector.wait_for(Duration::from_secs(15), |s| {
        s.iter().filter(|x| x.trace_id == trace_id).count() >= 5
    });
    let mine: Vec<_> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
    let named = |n: &str| mine.iter().filter(|s| s.name == n).collect::<Vec<_>>();
    assert_eq!(named("worker.task_execution").len(), 1, "{mine:#?}");
    assert_eq!(
        named("worker.task_execution")[0].resource["service.name"],
        "submitter"
    );
    let execs = named("worker.step_execution");
    assert_eq!(execs.len(), 2, "{mine:#?}");
    let mut services: Vec<&str> = execs
        .iter()
        .map(|s| s.resource["service.name"].as_str())
        .collect();
    services.sort_unstable();
    assert_eq!(services, ["serve-alpha", "serve-beta"]);
    let root = &named("worker.task_execution")[0].span_id;
    for e in &execs {
        assert_eq!(
            &e.parent_id, root,
            "execution spans are children of the root"
        );
    }
    for c in named("worker.step_completion_received") {
        assert!(
            execs
                .iter()
                .any(|e| c.links.iter().any(|l| l.span_id == e.span_id)),
            "every completion links to its execution: {c:#?}"
        );
    }
}

#[test]
fn a_step_held_by_a_worker_killed_with_sigkill_is_redelivered_and_the_task_completes() {
    let (pg, env) = migrated(&["naps"]);
    let template = template_file(
        "nap.yaml",
        "namespace: naps\nname: nap\nsteps:\n  - {name: nap, handler: sleep, timeout_ms: 3000, max_attempts: 2}\n",
    );
    let doomed = serve(&env, "naps", "doomed");
    let submitted = json_of(
        command(&env)
            .args(["submit", "--template"])
            .arg(&template)
            .args(["--context", r#"{"sleep_ms": 1500}"#]),
    );
    let task_uuid = submitted["task_uuid"].as_str().expect("uuid").to_owned();
    // The doomed worker has claimed the step (read once, hidden) when we kill it.
    assert!(
        wait_until(Duration::from_secs(20), || { claimed(&pg, "naps") }),
        "the step was never claimed"
    );
    let mut doomed = doomed;
    doomed.kill().expect("SIGKILL");
    let _ = doomed.wait();

    let rescuer = serve(&env, "naps", "rescuer");
    let done = status(&env, &task_uuid);
    assert_eq!(done["status"], "running");
    assert!(
        wait_until(Duration::from_secs(30), || {
            status(&env, &task_uuid)["status"] != "running"
        }),
        "the task never finished"
    );
    let status = status(&env, &task_uuid);
    assert_eq!(status["status"], "complete", "{status:#}");
    assert_eq!(status["step_results"]["nap"], 1500);
    assert_eq!(
        status["steps"]["nap"]["attempts"], 2,
        "the lost attempt counts"
    );
    let report = terminate(rescuer);
    assert_eq!(report["redelivered"], 1, "{report}");
    assert_eq!(report["recorded"], 1, "{report}");
}

#[test]
fn a_step_delivered_twice_is_recorded_once_and_submit_wait_prints_the_result() {
    let (pg, env) = migrated(&["dups"]);
    let template = template_file(
        "dup.yaml",
        "namespace: dups\nname: dup\nsteps:\n  - {name: only, handler: square}\n",
    );
    let submitted = json_of(
        command(&env)
            .args(["submit", "--template"])
            .arg(&template)
            .args(["--context", r#"{"even_number": 6}"#]),
    );
    let task_uuid = submitted["task_uuid"].as_str().expect("uuid").to_owned();
    // A second copy of the same attempt's message: as if PGMQ or a client sent it twice.
    pg.psql(
        "SELECT pgmq.send('worker_dups_queue', message, headers) FROM pgmq.q_worker_dups_queue",
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM pgmq.q_worker_dups_queue"),
        "2"
    );
    let server = serve(&env, "dups", "dups");
    assert!(wait_until(Duration::from_secs(30), || {
        status(&env, &task_uuid)["status"] == "complete"
    }));
    assert!(
        wait_until(Duration::from_secs(10), || {
            pg.psql("SELECT count(*) FROM pgmq.q_worker_dups_queue") == "0"
        }),
        "both copies are archived"
    );
    let status = status(&env, &task_uuid);
    assert_eq!(status["step_results"]["only"], 36);
    assert_eq!(status["steps"]["only"]["attempts"], 1);

    // submit --wait prints run's shape once the task ends, and exits 0 when it completed.
    let waited = json_of(
        command(&env)
            .args(["submit", "--wait", "--timeout", "30", "--template"])
            .arg(&template)
            .args(["--context", r#"{"even_number": 4}"#]),
    );
    assert_eq!(waited["status"], "complete");
    assert_eq!(waited["step_results"]["only"], 16);
    let report = terminate(server);
    assert_eq!(report["recorded"], 2, "{report}");
    assert_eq!(report["duplicates"], 1, "{report}");
}

#[test]
fn restarting_postgresql_mid_run_loses_no_task_and_the_outage_is_logged_once() {
    let (pg, env) = migrated(&["restarts"]);
    let template = template_file(
        "restart.yaml",
        "namespace: restarts\nname: nap\nsteps:\n  - {name: nap, handler: sleep}\n  - {name: after, handler: sleep, depends_on: [nap]}\n",
    );
    let server = serve(&env, "restarts", "restarts");
    let tasks: Vec<String> = (0..4)
        .map(|_| submit(&env, &template, r#"{"sleep_ms": 800}"#))
        .collect();
    // Down while steps are running, for longer than a connection attempt waits (5 s): their
    // results wait for the database to come back, and claims fail until it does.
    std::thread::sleep(Duration::from_millis(300));
    pg.stop_server();
    std::thread::sleep(Duration::from_secs(7));
    pg.start_server();
    for task in &tasks {
        assert!(
            wait_until(Duration::from_secs(40), || {
                status(&env, task)["status"] == "complete"
            }),
            "task {task} did not complete after the restart"
        );
    }
    // Steps held through the outage were recorded, not lost: every step ran once.
    assert_eq!(
        pg.psql("SELECT count(*) FROM tasker.steps WHERE attempts <> 1 OR error_type IS NOT NULL"),
        "0",
        "{}",
        pg.psql("SELECT name, attempts, error_type, error FROM tasker.steps")
    );
    // SAFETY: signals a child process this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGTERM) }, 0);
    let out = server.wait_with_output().expect("wait");
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        log.matches("serve: the database is unreachable; retrying with backoff until it is back")
            .count(),
        1,
        "one line per outage, not per retry:\n{log}"
    );
    assert!(log.contains("serve: the database is back"), "{log}");
}

#[test]
fn sigterm_during_a_step_finishes_it_before_exiting() {
    let (pg, env) = migrated(&["terms"]);
    let template = template_file(
        "term.yaml",
        "namespace: terms\nname: nap\nsteps:\n  - {name: nap, handler: sleep, timeout_ms: 5000}\n",
    );
    let server = serve(&env, "terms", "terms");
    let task = submit(&env, &template, r#"{"sleep_ms": 1500}"#);
    assert!(wait_until(Duration::from_secs(20), || {
        claimed(&pg, "terms")
    }));
    let report = terminate(server);
    assert_eq!(
        report["recorded"], 1,
        "the held step was finished: {report}"
    );
    let status = status(&env, &task);
    assert_eq!(status["status"], "complete", "{status:#}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM pgmq.q_worker_terms_queue"),
        "0"
    );
}

#[test]
fn a_waiting_worker_is_woken_by_notify_without_polling() {
    let (pg, env) = migrated(&["wakes"]);
    let template = template_file(
        "notify.yaml",
        "namespace: wakes\nname: chain\nsteps:\n  - {name: one, handler: square}\n  - {name: two, handler: square, depends_on: [one]}\n",
    );
    // Polling once a minute: only a notification can wake it within the test's wait.
    let server = command(&env)
        .args(["serve", "--queue", "wakes", "--poll-interval-ms", "60000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    assert!(
        wait_until(Duration::from_secs(20), || {
            pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'") != "0"
        }),
        "the worker never listened"
    );
    let waited = json_of(
        command(&env)
            .args(["submit", "--wait", "--timeout", "20", "--template"])
            .arg(&template)
            .args(["--context", r#"{"even_number": 2}"#]),
    );
    assert_eq!(waited["status"], "complete", "{waited:#}");
    assert_eq!(waited["step_results"]["two"], 16);
    assert_eq!(terminate(server)["recorded"], 2);
}

#[test]
fn a_lost_worker_with_no_attempts_left_fails_the_step_as_worker_lost_with_the_reason() {
    let (pg, env) = migrated(&["lost"]);
    let template = template_file(
        "lost.yaml",
        "namespace: lost\nname: nap\nsteps:\n  - {name: nap, handler: sleep, timeout_ms: 2000}\n  - {name: after, handler: square, depends_on: [nap]}\n",
    );
    let mut doomed = serve(&env, "lost", "doomed");
    let task = submit(&env, &template, r#"{"sleep_ms": 1500}"#);
    assert!(wait_until(Duration::from_secs(20), || {
        claimed(&pg, "lost")
    }));
    doomed.kill().expect("SIGKILL");
    let _ = doomed.wait();
    let addr = tasker_testkit::free_port();
    let rescuer = common::serve_on(&env, "lost", "rescuer", addr);
    assert!(wait_until(Duration::from_secs(30), || {
        status(&env, &task)["status"] != "running"
    }));
    let status = status(&env, &task);
    assert_eq!(status["status"], "error", "{status:#}");
    assert_eq!(status["steps"]["nap"]["status"], "failed");
    assert_eq!(status["steps"]["nap"]["error_type"], "worker_lost");
    assert_eq!(
        status["steps"]["nap"]["error"],
        "the worker running attempt 1 was lost before it recorded a result"
    );
    assert_eq!(status["steps"]["after"]["status"], "skipped");
    let metrics = common::get(addr, "/metrics").1;
    assert_eq!(
        common::sample(&metrics, r#"tasker_queue_redeliveries_total{queue="lost"}"#),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        common::sample(&metrics, r#"tasker_steps_worker_lost_total{queue="lost"}"#),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(terminate(rescuer)["redelivered"], 1);
}

#[test]
fn a_retried_step_execution_links_to_the_attempt_before_it_through_the_database() {
    let (_pg, env) = migrated(&["retries"]);
    let collector = Collector::start();
    let env = [
        env[0].clone(),
        ("TELEMETRY_ENABLED", "true".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint()),
    ];
    // Each attempt times out; the second is a retry, dispatched from the database's record
    // of the first (every result is recorded by a machine reloaded from the rows).
    let template = template_file(
        "retries.yaml",
        "namespace: retries\nname: slow\nsteps:\n  - {name: slow, handler: sleep, timeout_ms: 300, max_attempts: 2}\n",
    );
    let server = serve(&env, "retries", "retries");
    let task = submit(&env, &template, r#"{"sleep_ms": 1000}"#);
    assert!(wait_until(Duration::from_secs(30), || {
        status(&env, &task)["status"] != "running"
    }));
    let result = status(&env, &task);
    assert_eq!(result["steps"]["slow"]["attempts"], 2, "{result:#}");
    assert_eq!(result["steps"]["slow"]["error_type"], "timeout");
    assert!(
        result["steps"]["slow"].get("last_traceparent").is_none(),
        "the link's bookkeeping is not part of the result: {result:#}"
    );
    terminate(server);

    let trace_id = result["trace_id"].as_str().expect("trace").to_owned();
    let spans = collector.wait_for(Duration::from_secs(15), |s| {
        s.iter()
            .filter(|x| x.trace_id == trace_id && x.name == "worker.step_execution")
            .count()
            >= 2
    });
    let attempt = |n: &str| {
        spans
            .iter()
            .find(|s| {
                s.trace_id == trace_id
                    && s.name == "worker.step_execution"
                    && s.attr("attempt") == Some(n)
            })
            .unwrap_or_else(|| panic!("no execution span of attempt {n}: {spans:#?}"))
    };
    let (first, second) = (attempt("1"), attempt("2"));
    assert!(first.links.is_empty(), "{first:#?}");
    assert_eq!(second.links.len(), 1, "{second:#?}");
    assert_eq!(second.links[0].span_id, first.span_id);
    assert_eq!(second.links[0].trace_id, trace_id);
    assert_eq!(
        second.parent_id, first.parent_id,
        "both attempts are children of the task's root"
    );
}

#[test]
fn a_next_step_kept_by_the_worker_that_recorded_its_dependency_is_redelivered_when_that_worker_dies()
 {
    let (pg, env) = migrated(&["keeps"]);
    // The worker that records `first` keeps `second` (its queue is served here) and runs it
    // without a claim: killed then, it must still leave `second` to another worker.
    let template = template_file(
        "keeps.yaml",
        "namespace: keeps\nname: chain\nsteps:\n  - {name: first, handler: square}\n  - {name: second, handler: sleep, depends_on: [first], timeout_ms: 3000, max_attempts: 2}\n",
    );
    let mut doomed = serve(&env, "keeps", "doomed");
    let task = submit(&env, &template, r#"{"even_number": 2, "sleep_ms": 1500}"#);
    assert!(
        wait_until(Duration::from_secs(20), || {
            status(&env, &task)["steps"]["first"]["status"] == "complete" && claimed(&pg, "keeps")
        }),
        "the second step was never held"
    );
    doomed.kill().expect("SIGKILL");
    let _ = doomed.wait();
    let rescuer = serve(&env, "keeps", "rescuer");
    assert!(wait_until(Duration::from_secs(30), || {
        status(&env, &task)["status"] != "running"
    }));
    let status = status(&env, &task);
    assert_eq!(status["status"], "complete", "{status:#}");
    assert_eq!(status["step_results"]["second"], 1500);
    assert_eq!(
        status["steps"]["second"]["attempts"], 2,
        "the lost attempt counts"
    );
    assert_eq!(terminate(rescuer)["redelivered"], 1);
}
