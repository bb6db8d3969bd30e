//! Broken export is reported, never silent, and never stops console logging.

use tasker_shared::logging::{self, OtlpProtocol, TelemetryConfig, TelemetryError};

#[test]
fn spans_sent_to_a_dead_endpoint_are_reported_lost_at_shutdown() {
    logging::init_console_only();

    // gRPC outside a multi-thread runtime is refused with a clear error, not a panic.
    let grpc = TelemetryConfig::default()
        .with_enabled(true)
        .with_protocol(OtlpProtocol::Grpc);
    assert_eq!(
        logging::init_with_config(grpc),
        Err(TelemetryError::GrpcNeedsRuntime)
    );
    let current_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let grpc = TelemetryConfig::default()
        .with_enabled(true)
        .with_protocol(OtlpProtocol::Grpc);
    assert_eq!(
        current_thread.block_on(async { logging::init_with_config(grpc) }),
        Err(TelemetryError::GrpcNeedsRuntime)
    );

    // Nothing listens on this port once the probe socket is closed.
    let dead = tasker_testkit::free_port();
    logging::init_with_config(
        TelemetryConfig::default()
            .with_enabled(true)
            .with_endpoint(format!("http://{dead}")),
    )
    .expect("building the exporter does not connect");
    let _ = tracing::info_span!("lost").entered();
    let err = logging::shutdown_telemetry().expect_err("the span could not be exported");
    let TelemetryError::Shutdown(message) = &err else {
        panic!("expected a shutdown error, got {err:?}");
    };
    assert!(
        message.starts_with("1 span(s) could not be exported: "),
        "{message}"
    );
    let stats = logging::telemetry_stats();
    assert_eq!(
        (stats.spans_exported, stats.spans_failed),
        (0, 1),
        "{stats:?}"
    );
    assert!(stats.last_error.is_some());
    tracing::info!("console logging survives a failed export");
}
