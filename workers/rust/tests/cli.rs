//! The tasker-worker-rust command, run as a user runs it.

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tasker-worker-rust"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TELEMETRY_ENABLED")
        .output()
        .expect("run the command");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_prints_the_task_result_as_json() {
    let (code, result, _) = run(&[
        "run",
        "--template",
        "templates/diamond_workflow.yaml",
        "--context",
        r#"{"even_number": 4}"#,
        "--concurrency",
        "2",
    ]);
    assert_eq!(code, 0);
    assert_eq!(result["status"], "complete");
    assert_eq!(result["step_results"]["diamond_end"], 512);
    assert_eq!(result["trace_id"].as_str().map(str::len), Some(32));
}

#[test]
fn a_task_that_ends_in_error_exits_1_with_the_reason_in_its_result() {
    let (code, result, _) = run(&[
        "run",
        "--template",
        "templates/linear_workflow.yaml",
        "--context",
        r#"{"even_number": 3}"#,
    ]);
    assert_eq!(code, 1);
    assert_eq!(result["status"], "error");
    assert_eq!(
        result["steps"]["linear_step_1"]["error"],
        "even_number must be an even integer, got 3"
    );
    assert_eq!(
        result["steps"]["linear_step_1"]["error_type"],
        "invalid_input"
    );
    assert_eq!(result["steps"]["linear_step_4"]["status"], "skipped");
}

#[test]
fn bad_usage_exits_2_and_says_why() {
    let (code, _, stderr) = run(&["run", "--context", "{}"]);
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("tasker-worker-rust: --template is required"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["run", "--template", "x.yaml", "--context", "{nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--context is not JSON"), "{stderr}");
    let (code, _, stderr) = run(&["run", "--template", "missing.yaml"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot read task template missing.yaml"),
        "{stderr}"
    );
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tasker-worker-rust"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("TELEMETRY_ENABLED")
        .env_remove("DATABASE_URL")
        .env_remove("TASKER_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the command");
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn migrate_installs_pgmq_and_the_schema_once_and_is_idempotent() {
    let pg = tasker_testkit::PgCluster::start();
    let url = pg.url();
    let (code, first, err) = run_env(&["migrate", "--database-url", &url], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first["applied"], 1);
    assert_eq!(first["pgmq_version"], "1.11.1");
    // DATABASE_URL from the environment, and nothing left to apply.
    let (code, again, err) = run_env(&["migrate"], &[("DATABASE_URL", &url)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(again["applied"], 0);
    assert_eq!(again["schema_version"], first["schema_version"]);
}

#[test]
fn migrate_without_a_database_says_how_to_name_one() {
    let (code, _, err) = run_env(&["migrate"], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim_end().lines().last(),
        Some(
            "tasker-worker-rust: no database configured: pass --database-url, or set TASKER_DATABASE_URL or DATABASE_URL (e.g. postgres://tasker@localhost:5432/tasker)"
        )
    );
}

#[test]
fn the_sleep_handler_waits_for_sleep_ms_and_returns_it() {
    let dir = std::env::temp_dir().join(format!("tasker-sleep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let template = dir.join("sleep.yaml");
    std::fs::write(
        &template,
        "namespace: examples\nname: nap\nsteps:\n  - {name: nap, handler: sleep}\n",
    )
    .expect("write");
    let (code, result, err) = run_env(
        &[
            "run",
            "--template",
            &template.to_string_lossy(),
            "--context",
            r#"{"sleep_ms": 20}"#,
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(result["step_results"]["nap"], 20);
    let (code, result, _) = run_env(
        &[
            "run",
            "--template",
            &template.to_string_lossy(),
            "--context",
            r#"{"sleep_ms": "soon"}"#,
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(
        result["steps"]["nap"]["error"],
        "sleep_ms must be a non-negative integer of milliseconds, got \"soon\""
    );
}

#[test]
fn submit_writes_the_task_and_queues_its_first_step_under_one_trace_and_status_reads_it_back() {
    let pg = tasker_testkit::PgCluster::start();
    let url = pg.url();
    let db = [("DATABASE_URL", url.as_str())];
    // Before migrate: refused, with the command that fixes it.
    let (code, _, err) = run_env(
        &["submit", "--template", "templates/diamond_workflow.yaml"],
        &db,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "is not migrated (no tasker schema): run `tasker-worker-rust migrate --database-url {url}`"
        )),
        "{err}"
    );
    let (code, migrated, err) = run_env(&["migrate", "--queue", "diamond_workflow"], &db);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        migrated["queues"],
        serde_json::json!(["worker_diamond_workflow_queue"])
    );

    let (code, submitted, err) = run_env(
        &[
            "submit",
            "--template",
            "templates/diamond_workflow.yaml",
            "--context",
            r#"{"even_number": 2}"#,
        ],
        &db,
    );
    assert_eq!(code, 0, "{err}");
    let task_uuid = submitted["task_uuid"]
        .as_str()
        .expect("task_uuid")
        .to_owned();
    let trace_id = submitted["trace_id"].as_str().expect("trace_id").to_owned();
    assert_eq!(trace_id.len(), 32);
    assert!(submitted["correlation_id"].is_string());

    // The first step waits in its queue; its traceparent (in PGMQ headers) is the task's trace.
    let queued = pg.psql(
        "SELECT message->>'attempt', message->>'task_uuid', headers->>'traceparent' FROM pgmq.q_worker_diamond_workflow_queue",
    );
    let fields: Vec<&str> = queued.split('|').collect();
    assert_eq!(fields[0], "1", "{queued}");
    assert_eq!(fields[1], task_uuid);
    assert!(
        fields[2].starts_with(&format!("00-{trace_id}-")),
        "{queued}"
    );

    let (code, status, err) = run_env(&["status", &task_uuid], &db);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status["status"], "running");
    assert_eq!(status["trace_id"], trace_id.as_str());
    assert_eq!(status["steps"]["diamond_start"]["status"], "in_flight");
    assert_eq!(status["steps"]["diamond_start"]["attempts"], 1);
    assert_eq!(status["steps"]["diamond_end"]["status"], "pending");

    let (code, _, err) = run_env(&["status", "00000000-0000-4000-8000-000000000000"], &db);
    assert_eq!(code, 1);
    assert!(
        err.contains("no task 00000000-0000-4000-8000-000000000000 in this database"),
        "{err}"
    );
}

#[test]
fn an_invalid_template_is_refused_at_submit_and_nothing_is_written() {
    let pg = tasker_testkit::PgCluster::start();
    let url = pg.url();
    let db = [("DATABASE_URL", url.as_str())];
    assert_eq!(run_env(&["migrate"], &db).0, 0);
    let dir = std::env::temp_dir().join(format!("tasker-submit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cyclic = dir.join("cyclic.yaml");
    std::fs::write(
        &cyclic,
        "namespace: cyc\nname: loop\nsteps:\n  - {name: a, handler: square, depends_on: [b]}\n  - {name: b, handler: square, depends_on: [a]}\n",
    )
    .expect("write");
    let (code, _, err) = run_env(&["submit", "--template", &cyclic.to_string_lossy()], &db);
    assert_eq!(code, 1);
    assert!(err.contains("has a dependency cycle: a -> b -> a"), "{err}");
    let bad_queue = dir.join("bad_queue.yaml");
    std::fs::write(
        &bad_queue,
        "namespace: ok\nname: q\nsteps:\n  - {name: a, handler: square, queue: Not-A-Queue}\n",
    )
    .expect("write");
    let (code, _, err) = run_env(&["submit", "--template", &bad_queue.to_string_lossy()], &db);
    assert_eq!(code, 1);
    assert!(
        err.contains("queue \"Not-A-Queue\" cannot be used"),
        "{err}"
    );
    let unknown_queue = dir.join("unknown_queue.yaml");
    std::fs::write(
        &unknown_queue,
        "namespace: ok\nname: q\nsteps:\n  - {name: a, handler: square, queue: nobody}\n",
    )
    .expect("write");
    let (code, _, err) = run_env(
        &["submit", "--template", &unknown_queue.to_string_lossy()],
        &db,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "step \"a\" goes to queue \"nobody\", which no worker has served and nobody declared (known queues: none yet): start `tasker-worker-rust serve --queue nobody`, or declare it first with `tasker-worker-rust migrate --queue nobody`"
        ),
        "{err}"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM tasker.tasks"), "0");
}
