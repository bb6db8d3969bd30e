//! The Grafana dashboard of `docker/` queries only what a serving worker's `/metrics` serves:
//! every metric name in every panel's PromQL, and every label it groups by. Checked against
//! a real `tasker-worker-rust serve` on a private PostgreSQL that has run a task, so that
//! renaming a metric or a label breaks this test instead of silently emptying a panel.
//! Run by `make lint` (lint-docker) as well as `make test`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use common::{
    Reaped, get, migrated, sample, serve_on, submit, template_file, terminate, wait_until,
};
use serde_json::Value;
use tasker_testkit::free_port;

/// Labels a panel may group by that the worker does not serve: `le` is a histogram bucket's
/// (served on `_bucket` series), the rest are added by Prometheus's scrape (`worker` is the
/// target label docker/prometheus.yaml gives each worker).
const ADDED_BY_PROMETHEUS: &[&str] = &["le", "worker", "job", "instance"];

fn docker_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docker")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each series name in a Prometheus text exposition, with the label names it carries.
fn served(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..name_end].to_owned()).or_default();
        if let Some(inner) = line[name_end..]
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
        {
            for pair in inner.0.split(',').filter(|p| !p.is_empty()) {
                labels.insert(pair.split('=').next().unwrap_or(pair).to_owned());
            }
        }
    }
    out
}

/// Every PromQL expression of the dashboard's panels, with its panel's title.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                let title = panel["title"].as_str().unwrap_or("?").to_owned();
                out.push((title, expr.to_owned()));
            }
        }
    }
    out
}

/// The `tasker_*` metric names an expression reads, and the labels of its `by (...)`.
fn names_and_groupings(expr: &str) -> (Vec<String>, Vec<String>) {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let names = expr
        .split(|c: char| !ident(c))
        .filter(|t| t.starts_with("tasker_"))
        .map(str::to_owned)
        .collect();
    let mut groupings = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("by (") {
        let (inner, after) = rest[at + 4..].split_once(')').expect("a closed by (...)");
        groupings.extend(inner.split(',').map(|l| l.trim().to_owned()));
        rest = after;
    }
    (names, groupings)
}

#[test]
fn every_metric_and_label_the_dashboard_queries_is_served_by_a_running_worker() {
    let dashboard: Value =
        serde_json::from_str(&docker_file("grafana/tasker-dashboard.json")).expect("JSON");
    let (pg, env) = migrated(&["dash_q"]);
    let addr = free_port();
    let server = Reaped::new(serve_on(&env, "dash_q", "dashboard-check", addr));
    let template = template_file(
        "dash.yaml",
        "namespace: dash\nname: one\nsteps:\n  - {name: sq, handler: square, queue: dash_q}\n",
    );
    let task = submit(&env, &template, r#"{"even_number": 4}"#);
    assert!(
        wait_until(Duration::from_secs(30), || {
            common::status(&env, &task)["status"] == "complete"
        }),
        "the task did not complete"
    );
    let metrics = || get(addr, "/metrics").1;
    // Queue gauges are sampled every few seconds, not at scrape time.
    assert!(
        wait_until(Duration::from_secs(15), || {
            sample(&metrics(), r#"tasker_queue_depth{queue="dash_q"}"#) == Some(0.0)
        }),
        "{}",
        metrics()
    );
    let text = metrics();
    let served = served(&text);

    let mut missing = Vec::new();
    let queries = queries(&dashboard);
    assert!(queries.len() >= 10, "the dashboard has its panels");
    for (title, expr) in &queries {
        let (names, groupings) = names_and_groupings(expr);
        assert!(!names.is_empty(), "{title}: {expr} reads no tasker_ metric");
        for name in &names {
            let Some(labels) = served.get(name) else {
                missing.push(format!("{title}: metric {name} is not served"));
                continue;
            };
            for label in &groupings {
                if !labels.contains(label) && !ADDED_BY_PROMETHEUS.contains(&label.as_str()) {
                    missing.push(format!("{title}: {name} has no label {label:?}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{}\n\n/metrics served:\n{text}",
        missing.join("\n")
    );

    // The panels the issue asks for read what they say they read.
    for needed in [
        "tasker_queue_results_total",
        "tasker_step_duration_ms_bucket",
        "tasker_steps_in_flight",
        "tasker_queue_depth",
        "tasker_queue_oldest_message_age_seconds",
        "tasker_queue_redeliveries_total",
        "tasker_telemetry_spans_total",
    ] {
        assert!(
            queries.iter().any(|(_, e)| e.contains(needed)),
            "no panel reads {needed}"
        );
    }
    // Counters of events that have not happened yet are served as 0, so their panels
    // show 0 rather than "no data".
    assert_eq!(
        sample(&text, r#"tasker_queue_redeliveries_total{queue="dash_q"}"#),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tasker_queue_results_total{queue="dash_q",status="success"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"tasker_telemetry_spans_total{outcome="dropped"}"#),
        Some(0.0),
        "{text}"
    );
    assert_eq!(terminate(server.take())["recorded"], 1);
    drop(pg);
}

#[test]
fn the_prometheus_config_scrapes_every_worker_the_compose_file_runs() {
    let prometheus = docker_file("prometheus.yaml");
    let compose = docker_file("docker-compose.test.yml");
    for worker in ["rust-worker", "ruby-worker", "python-worker"] {
        assert!(
            compose.contains(&format!("\n  {worker}:\n")),
            "compose runs {worker}"
        );
        assert!(
            prometheus.contains(&format!("\"{worker}:8082\"")),
            "prometheus.yaml scrapes {worker}:8082"
        );
    }
}
