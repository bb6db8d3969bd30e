//! A collector that accepts connections but never answers cannot hang shutdown.

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, TelemetryError};

#[test]
fn shutdown_gives_up_on_a_silent_collector_within_its_bound() {
    let silent = tasker_testkit::silent_collector();
    logging::init_console_only();
    let mut config = TelemetryConfig::default()
        .with_enabled(true)
        .with_endpoint(&silent.endpoint);
    config.export_timeout = Duration::from_secs(120);
    logging::init_with_config(config).expect("phase 2");
    let _ = tracing::info_span!("never.acknowledged").entered();

    let flush = logging::flush_telemetry().expect_err("flush cannot complete");
    assert_eq!(
        flush,
        TelemetryError::Flush(
            "timed out after 5000 ms; 1 span(s) are still waiting for the collector".into()
        )
    );
    let err = logging::shutdown_telemetry().expect_err("shutdown cannot complete");
    assert_eq!(
        err,
        TelemetryError::Shutdown(
            "timed out after 5000 ms; 1 span(s) still waiting for the collector were lost".into()
        )
    );
    assert_eq!(
        logging::telemetry_state(),
        logging::TelemetryState::ConsoleOnly
    );
    tracing::info!("console logging continues");
    drop(silent);
}
