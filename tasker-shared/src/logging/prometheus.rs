//! Prometheus text exposition (format 0.0.4) of collected OpenTelemetry metrics.
//!
//! Written here rather than pulled from `opentelemetry-prometheus`, which trails the SDK's
//! versions and brings the `prometheus` crate's own registry; a worker only needs counters,
//! gauges and histograms rendered from one collection.

use std::fmt::Write;

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};

pub(super) fn render(rm: &ResourceMetrics) -> String {
    let mut out = String::new();
    for scope in rm.scope_metrics() {
        for metric in scope.metrics() {
            match metric.data() {
                AggregatedMetrics::F64(d) => write_metric(&mut out, metric, d),
                AggregatedMetrics::U64(d) => write_metric(&mut out, metric, d),
                AggregatedMetrics::I64(d) => write_metric(&mut out, metric, d),
            }
        }
    }
    out
}

trait Num: Copy {
    fn text(self) -> String;
}
impl Num for f64 {
    fn text(self) -> String {
        if self.is_nan() {
            "NaN".into()
        } else if self.is_infinite() {
            if self > 0.0 {
                "+Inf".into()
            } else {
                "-Inf".into()
            }
        } else {
            format!("{self}")
        }
    }
}
impl Num for u64 {
    fn text(self) -> String {
        self.to_string()
    }
}
impl Num for i64 {
    fn text(self) -> String {
        self.to_string()
    }
}

fn write_metric<T: Num>(out: &mut String, metric: &Metric, data: &MetricData<T>) {
    let base = sanitize(metric.name());
    let help = metric
        .description()
        .replace('\\', "\\\\")
        .replace('\n', "\\n");
    match data {
        MetricData::Sum(sum) if sum.is_monotonic() => {
            let name = if base.ends_with("_total") {
                base.clone()
            } else {
                format!("{base}_total")
            };
            header(out, &name, &help, "counter");
            for p in sum.data_points() {
                sample(out, &name, p.attributes(), None, &p.value().text());
            }
        }
        MetricData::Sum(sum) => {
            header(out, &base, &help, "gauge");
            for p in sum.data_points() {
                sample(out, &base, p.attributes(), None, &p.value().text());
            }
        }
        MetricData::Gauge(g) => {
            header(out, &base, &help, "gauge");
            for p in g.data_points() {
                sample(out, &base, p.attributes(), None, &p.value().text());
            }
        }
        MetricData::Histogram(h) => {
            header(out, &base, &help, "histogram");
            let bucket = format!("{base}_bucket");
            for p in h.data_points() {
                let mut cumulative = 0u64;
                for (bound, count) in p.bounds().zip(p.bucket_counts()) {
                    cumulative += count;
                    sample(
                        out,
                        &bucket,
                        p.attributes(),
                        Some(&bound.text()),
                        &cumulative.to_string(),
                    );
                }
                sample(
                    out,
                    &bucket,
                    p.attributes(),
                    Some("+Inf"),
                    &p.count().to_string(),
                );
                sample(
                    out,
                    &format!("{base}_sum"),
                    p.attributes(),
                    None,
                    &p.sum().text(),
                );
                sample(
                    out,
                    &format!("{base}_count"),
                    p.attributes(),
                    None,
                    &p.count().to_string(),
                );
            }
        }
        // Exponential histograms have no classic Prometheus text form; none are configured.
        MetricData::ExponentialHistogram(_) => {}
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    if !help.is_empty() {
        let _ = writeln!(out, "# HELP {name} {help}");
    }
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample<'a>(
    out: &mut String,
    name: &str,
    attrs: impl Iterator<Item = &'a KeyValue>,
    le: Option<&str>,
    value: &str,
) {
    let mut labels: Vec<String> = attrs
        .map(|kv| {
            format!(
                "{}=\"{}\"",
                sanitize(kv.key.as_str()),
                escape(&kv.value.to_string())
            )
        })
        .collect();
    labels.sort();
    if let Some(le) = le {
        labels.push(format!("le=\"{le}\""));
    }
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// Metric and label names may only hold `[a-zA-Z0-9_:]` and must not start with a digit.
fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::reader::MetricReader;
    use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
    use std::sync::Arc;

    #[test]
    fn counters_gauges_and_histograms_render_as_prometheus_text() {
        let reader = Arc::new(ManualReader::builder().build());
        let provider = SdkMeterProvider::builder()
            .with_reader(super::super::metrics::test_reader(reader.clone()))
            .build();
        let meter = provider.meter("test");
        let steps = meter
            .u64_counter("tasker.steps.completed")
            .with_description("Steps completed")
            .build();
        steps.add(
            2,
            &[
                KeyValue::new("status", "success"),
                KeyValue::new("language", "rust"),
            ],
        );
        let inflight = meter.i64_up_down_counter("tasker.steps.in_flight").build();
        inflight.add(3, &[]);
        inflight.add(-1, &[]);
        let duration = meter
            .f64_histogram("tasker.step.duration_ms")
            .with_boundaries(vec![1.0, 10.0])
            .build();
        duration.record(0.5, &[]);
        duration.record(5.0, &[]);
        duration.record(50.0, &[]);

        let mut rm = ResourceMetrics::default();
        reader.collect(&mut rm).expect("collect");
        let text = render(&rm);

        assert!(
            text.contains("# HELP tasker_steps_completed_total Steps completed\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tasker_steps_completed_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("tasker_steps_completed_total{language=\"rust\",status=\"success\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE tasker_steps_in_flight gauge\ntasker_steps_in_flight 2\n"),
            "{text}"
        );
        assert!(
            text.contains("tasker_step_duration_ms_bucket{le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("tasker_step_duration_ms_bucket{le=\"10\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("tasker_step_duration_ms_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("tasker_step_duration_ms_sum 55.5\n"),
            "{text}"
        );
        assert!(text.contains("tasker_step_duration_ms_count 3\n"), "{text}");
    }

    #[test]
    fn names_and_label_values_are_made_safe() {
        assert_eq!(sanitize("9lives.per-sec"), "_9lives_per_sec");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
