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
