//! A collector that falls behind costs spans, never steps or memory, and every span it costs
//! is counted and reported.

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, TelemetryError};

#[test]
fn spans_beyond_the_export_queue_are_dropped_counted_and_reported_at_shutdown() {
    // The first batch's export hangs, holding the queue full until its timeout.
    let silent = tasker_testkit::silent_collector();
    logging::init_console_only();
    let mut config = TelemetryConfig::default()
        .with_enabled(true)
        .with_endpoint(&silent.endpoint);
    config.export_timeout = Duration::from_secs(3);
    config.export_queue_size = 8;
    logging::init_with_config(config).expect("phase 2");

    for i in 0..100 {
        let _ = tracing::info_span!("overflow", i).entered();
    }
    let stats = logging::telemetry_stats();
    assert_eq!(
        (stats.spans_exported, stats.spans_dropped),
        (0, 92),
        "{stats:?}"
    );

    let err = logging::shutdown_telemetry().expect_err("spans were lost");
    let TelemetryError::Shutdown(message) = &err else {
        panic!("expected a shutdown error, got {err:?}");
    };
    assert!(
        message.starts_with("8 span(s) could not be exported: "),
        "{message}"
    );
    assert!(
        message.ends_with(
            "; 92 span(s) were dropped because the export queue was full \
             (the collector did not keep up; see OTEL_BSP_MAX_QUEUE_SIZE)"
        ),
        "{message}"
    );
    let stats = logging::telemetry_stats();
    assert_eq!(
        (
            stats.spans_exported,
            stats.spans_failed,
            stats.spans_dropped
        ),
        (0, 8, 92),
        "{stats:?}"
    );
    drop(silent);
}
