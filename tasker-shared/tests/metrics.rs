//! The meter provider: Prometheus text for `/metrics`, and the optional OTLP push.

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, metrics};
use tasker_testkit::Collector;

#[test]
fn metrics_render_as_prometheus_text_and_push_to_the_collector() {
    let collector = Collector::start();
    logging::init_console_only();
    let mut config = TelemetryConfig::default()
        .with_enabled(true)
        .with_endpoint(collector.http_endpoint());
    config.metrics_export = true;
    config.metrics_interval = Duration::from_secs(3600);
    logging::init_with_config(config).expect("phase 2 with metrics push");

    let meter = metrics::meter("tasker-shared-test");
    let dispatched = meter.u64_counter("tasker.steps.dispatched").build();
    dispatched.add(
        3,
        &[opentelemetry::KeyValue::new("namespace", "linear_workflow")],
    );

    let text = metrics::render_prometheus().expect("render");
    assert!(
        text.contains("tasker_steps_dispatched_total{namespace=\"linear_workflow\"} 3\n"),
        "{text}"
    );

    // The push interval is an hour: only an explicit flush can have sent it.
    logging::flush_telemetry().expect("flush pushes metrics");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !collector.output().contains("tasker.steps.dispatched")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        collector.output().contains("tasker.steps.dispatched"),
        "metric not received:\n{}",
        collector.output()
    );
    logging::shutdown_telemetry().expect("shutdown stops the pusher");
    // /metrics keeps working with export shut down.
    assert!(
        metrics::render_prometheus()
            .expect("render")
            .contains("tasker_steps_dispatched_total")
    );
}
