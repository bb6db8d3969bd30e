//! A collector that falls behind costs spans, never steps or memory, and every span it costs
//! is counted and reported.

use std::net::TcpListener;
use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, TelemetryError};

#[test]
fn spans_beyond_the_export_queue_are_dropped_counted_and_reported_at_shutdown() {
    // The kernel completes the handshake; nobody ever replies, so the first batch's export
    // holds the queue full until its timeout.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    logging::init_console_only();
    let mut config = TelemetryConfig::default()
        .with_enabled(true)
        .with_endpoint(format!("http://{addr}"));
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
