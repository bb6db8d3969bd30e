//! Rust side of `make bench`: prints one JSON object of measurements.
//! `bench <run|startup|leak|sdk_pipeline> [--endpoint URL] [--concurrency N] [--samples N] [--steps N]`

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

/// CPU time of this process's threads whose name starts with one of `prefixes`, from the
/// scheduler. Export threads are the pipeline's own and reqwest's I/O thread.
fn thread_cpu_ns(prefixes: &[&str]) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| prefixes.iter().any(|p| c.trim().starts_with(p)))
        })
        .filter_map(|t| {
            std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// User plus system CPU of the whole process, in µs (clock ticks of 10 ms).
fn process_cpu_us() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // After the command name: state is field 0, utime 11 and stime 12.
            let fields: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks: u64 = fields
                .get(11..13)?
                .iter()
                .filter_map(|f| f.parse::<u64>().ok())
                .sum();
            Some(ticks as f64 * 10_000.0)
        })
        .unwrap_or(0.0)
}

/// The export figures of a run: spans exported per second of the run, and the export
/// thread's CPU per exported span.
fn export_figures(out: &mut Value, exported: u64, elapsed: Duration, export_thread_ns: u64) {
    out["exported_spans_per_s"] = json!(exported as f64 / elapsed.as_secs_f64());
    out["export_thread_cpu_us_per_span"] =
        json!(export_thread_ns as f64 / 1000.0 / (exported.max(1)) as f64);
}

/// The peer: the OpenTelemetry SDK's batch processor and opentelemetry-otlp's HTTP/protobuf
/// exporter, with their defaults, fed spans shaped like a step's (five attributes and an
/// event) by `threads` threads at full speed.
fn sdk_pipeline(endpoint: &str, threads: usize, spans: usize) -> Value {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_otlp::WithExportConfig;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Debug)]
    struct Counted(opentelemetry_otlp::SpanExporter, Arc<AtomicU64>);
    impl opentelemetry_sdk::trace::SpanExporter for Counted {
        async fn export(
            &self,
            batch: Vec<opentelemetry_sdk::trace::SpanData>,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            let n = batch.len() as u64;
            let r = self.0.export(batch).await;
            if r.is_ok() {
                self.1.fetch_add(n, Ordering::Relaxed);
            }
            r
        }
        fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
            self.0.set_resource(resource);
        }
    }

    // opentelemetry-otlp's reqwest client is built without a crypto provider of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exported = Arc::new(AtomicU64::new(0));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .expect("exporter");
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(Counted(exporter, exported.clone()))
        .build();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let tracer = provider.tracer("bench");
            scope.spawn(move || {
                for i in 0..spans / threads {
                    let mut span = tracer
                        .span_builder("worker.step_execution")
                        .with_attributes([
                            KeyValue::new("correlation_id", format!("corr-{t}-{i}")),
                            KeyValue::new("task_uuid", format!("task-{t}-{i}")),
                            KeyValue::new("step_uuid", format!("step-{t}-{i}")),
                            KeyValue::new("step_name", "s1"),
                            KeyValue::new("namespace", "bench"),
                        ])
                        .start(&tracer);
                    span.add_event(
                        "step.execution_started",
                        vec![KeyValue::new("message", "step.execution_started")],
                    );
                    span.end();
                }
            });
        }
    });
    let _ = provider.force_flush();
    let elapsed = start.elapsed();
    let export_ns = thread_cpu_ns(&["OpenTelemetry", "reqwest"]);
    let made = (spans / threads * threads) as u64;
    let done = exported.load(Ordering::Relaxed);
    let _ = provider.shutdown();
    let mut out =
        json!({"spans_made": made, "spans_exported": done, "spans_lost": made - done.min(made)});
    export_figures(&mut out, done, elapsed, export_ns);
    out
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
    match w.stop() {
        Ok(report) => {
            if let Some(e) = report.error {
                let _ = EXPORT_ERROR.set(e.to_string());
            }
        }
        Err(e) => {
            let _ = EXPORT_ERROR.set(e.to_string());
        }
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
            let exported_before = tasker_shared::logging::telemetry_stats().spans_exported;
            let (cpu0, export0, start) = (
                process_cpu_us(),
                thread_cpu_ns(&["tasker-otlp", "reqwest"]),
                Instant::now(),
            );
            let rounds = (steps / 1000).max(1);
            for _ in 0..rounds {
                w.run_task(batch.clone(), json!({}), t).expect("task");
            }
            let grown = rss_kb() as i64 - base as i64;
            // Every span of the run has reached the collector (or failed) once this returns.
            let _ = tasker_shared::logging::flush_telemetry();
            let elapsed = start.elapsed();
            let export_ns = thread_cpu_ns(&["tasker-otlp", "reqwest"]) - export0;
            let cpu = process_cpu_us() - cpu0;
            let exported =
                tasker_shared::logging::telemetry_stats().spans_exported - exported_before;
            stop(&w);
            let mut out = json!({"steps": rounds * 1000, "rss_growth_kb": grown, "rss_kb": base as i64 + grown,
                                 "process_cpu_us_per_step": cpu / (rounds * 1000) as f64});
            if endpoint.is_some() {
                export_figures(&mut out, exported, elapsed, export_ns);
            }
            out
        }
        "sdk_pipeline" => sdk_pipeline(
            endpoint.as_deref().expect("sdk_pipeline needs --endpoint"),
            concurrency,
            steps * 2,
        ),
        other => {
            eprintln!("unknown mode {other:?}");
            std::process::exit(2);
        }
    };
    let mut out = out;
    let stats = tasker_shared::logging::telemetry_stats();
    if mode != "sdk_pipeline" {
        out["spans_exported"] = json!(stats.spans_exported);
        out["spans_dropped"] = json!(stats.spans_dropped + stats.spans_failed);
    }
    if let Some(e) = EXPORT_ERROR.get() {
        out["export_error"] = json!(e);
    }
    out["language"] = json!("rust");
    out["mode"] = json!(mode);
    out["telemetry"] = json!(endpoint.is_some());
    out["concurrency"] = json!(concurrency);
    println!("BENCH {out}");
}
