//! Rust side of `make bench`: prints one JSON object of measurements.
//! `bench <run|startup|leak> [--endpoint URL] [--concurrency N] [--samples N] [--steps N]`

#![allow(clippy::print_stdout, reason = "prints its measurements")]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tasker_shared::logging::TelemetryConfig;
use tasker_shared::workflow::TaskTemplate;
use tasker_worker::WorkerConfig;
use tasker_worker_rust::{HandlerRegistry, RustWorker};

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn pct(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[i.min(samples.len() - 1)]
}

fn template(n: usize) -> TaskTemplate {
    let steps: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("s{i}"), "handler": "noop"}))
        .collect();
    TaskTemplate::from_value(json!({"namespace": "bench", "name": "t", "steps": steps}))
        .expect("template")
}

fn worker(endpoint: Option<&str>, concurrency: usize) -> RustWorker {
    let telemetry = match endpoint {
        Some(e) => TelemetryConfig::default()
            .with_enabled(true)
            .with_endpoint(e)
            .with_service_name("bench-rust"),
        None => TelemetryConfig::default().with_enabled(false),
    };
    let mut r = HandlerRegistry::new();
    r.register_fn("noop", |_ctx| async { Ok(Value::Null) });
    RustWorker::start(
        WorkerConfig {
            concurrency,
            telemetry: Some(telemetry),
            ..WorkerConfig::default()
        },
        r,
    )
    .expect("worker")
}

/// A worker whose collector fell behind still reports its figures, and says so.
static EXPORT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn stop(w: &RustWorker) {
    if let Err(e) = w.stop() {
        let _ = EXPORT_ERROR.set(e.to_string());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().cloned().unwrap_or_default();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let endpoint = get("--endpoint");
    let concurrency: usize = get("--concurrency")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let samples: usize = get("--samples")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let steps: usize = get("--steps").and_then(|v| v.parse().ok()).unwrap_or(5000);
    let t = Some(Duration::from_secs(600));
    let out = match mode.as_str() {
        "run" => {
            let w = worker(endpoint.as_deref(), concurrency);
            let one = template(1);
            for _ in 0..samples.min(200) {
                w.run_task(one.clone(), json!({}), t).expect("task");
            }
            let mut lat: Vec<f64> = (0..samples)
                .map(|_| {
                    let s = Instant::now();
                    w.run_task(one.clone(), json!({}), t).expect("task");
                    s.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            let many = template(steps);
            let best = (0..3)
                .map(|_| {
                    let s = Instant::now();
                    assert!(
                        w.run_task(many.clone(), json!({}), t)
                            .expect("task")
                            .is_complete()
                    );
                    steps as f64 / s.elapsed().as_secs_f64()
                })
                .fold(0.0, f64::max);
            stop(&w);
            let mean = lat.iter().sum::<f64>() / lat.len() as f64;
            json!({"p50_us": pct(&mut lat, 50.0), "p99_us": pct(&mut lat, 99.0), "mean_us": mean, "throughput_steps_per_s": best})
        }
        "startup" => {
            let rss0 = rss_kb();
            let s = Instant::now();
            tasker_shared::logging::init_console_only();
            let p1 = s.elapsed();
            let rss1 = rss_kb();
            let w = worker(endpoint.as_deref(), 1);
            let p2 = s.elapsed() - p1;
            let rss2 = rss_kb();
            stop(&w);
            json!({"phase1_ms": p1.as_secs_f64() * 1e3, "bootstrap_ms": p2.as_secs_f64() * 1e3,
                   "rss_before_kb": rss0, "rss_after_phase1_kb": rss1, "rss_after_bootstrap_kb": rss2})
        }
        "leak" => {
            let w = worker(endpoint.as_deref(), concurrency);
            let batch = template(1000);
            w.run_task(batch.clone(), json!({}), t).expect("task");
            let base = rss_kb();
            let rounds = (steps / 1000).max(1);
            for _ in 0..rounds {
                w.run_task(batch.clone(), json!({}), t).expect("task");
            }
            let grown = rss_kb() as i64 - base as i64;
            stop(&w);
            json!({"steps": rounds * 1000, "rss_growth_kb": grown, "rss_kb": base as i64 + grown})
        }
        other => {
            eprintln!("unknown mode {other:?}");
            std::process::exit(2);
        }
    };
    let mut out = out;
    let stats = tasker_shared::logging::telemetry_stats();
    out["spans_exported"] = json!(stats.spans_exported);
    out["spans_dropped"] = json!(stats.spans_dropped + stats.spans_failed);
    if let Some(e) = EXPORT_ERROR.get() {
        out["export_error"] = json!(e);
    }
    out["language"] = json!("rust");
    out["mode"] = json!(mode);
    out["telemetry"] = json!(endpoint.is_some());
    out["concurrency"] = json!(concurrency);
    println!("BENCH {out}");
}
