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
