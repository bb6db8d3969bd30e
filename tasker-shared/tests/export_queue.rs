//! A collector that falls behind costs spans, never steps or memory, and every span it costs
//! is counted and reported.

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, TelemetryError};

#[test]
fn spans_beyond_the_export_queue_are_dropped_counted_and_reported_at_shutdown() {
    // The first two batches (8 spans each, the queue's size) go to the two export threads,
    // whose sends hang until their timeout; 8 more fill the queue behind them, and the rest
    // are dropped.
    let silent = tasker_testkit::silent_collector();
    logging::init_console_only();
    let mut config = TelemetryConfig::default()
        .with_enabled(true)
        .with_endpoint(&silent.endpoint);
    config.export_timeout = Duration::from_secs(1);
    config.export_queue_size = 8;
    logging::init_with_config(config).expect("phase 2");

    for batch in 0..2 {
        for i in 0..8 {
            let _ = tracing::info_span!("overflow", batch, i).entered();
        }
        // An export thread, woken by the full batch, takes it out of the queue.
        std::thread::sleep(Duration::from_millis(300));
    }
    for i in 16..100 {
        let _ = tracing::info_span!("overflow", i).entered();
    }
    let stats = logging::telemetry_stats();
    assert_eq!(
        (stats.spans_exported, stats.spans_dropped),
        (0, 76),
        "{stats:?}"
    );

    let err = logging::shutdown_telemetry().expect_err("spans were lost");
    let TelemetryError::Shutdown(message) = &err else {
        panic!("expected a shutdown error, got {err:?}");
    };
    assert!(
        message.starts_with("24 span(s) could not be exported: "),
        "{message}"
    );
    assert!(
        message.ends_with(
            "; 76 span(s) were dropped because the export queue was full \
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
        (0, 24, 76),
        "{stats:?}"
    );
    drop(silent);
}
