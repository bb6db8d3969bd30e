//! A collector that accepts connections and never answers: flush and shutdown give up at
//! their bound, and still say how many spans were dropped and how many were left waiting,
//! not only "timed out".

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, TelemetryError};

#[test]
fn a_flush_and_a_shutdown_that_time_out_still_count_the_spans_they_lose() {
    let silent = tasker_testkit::silent_collector();
    logging::init_console_only();
    let mut config = TelemetryConfig::default()
        .with_enabled(true)
        .with_endpoint(&silent.endpoint);
    // Longer than the 5 s shutdown bound: the exporter is still waiting when it passes.
    config.export_timeout = Duration::from_secs(60);
    config.export_queue_size = 64;
    logging::init_with_config(config).expect("phase 2");

    // The first two batches of 64 go to the two export threads, which wait on the
    // collector; 64 more fill the queue behind them, and the rest are dropped.
    for batch in 0..2 {
        for i in 0..64 {
            let _ = tracing::info_span!("unanswered", batch, i).entered();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    for i in 128..1000 {
        let _ = tracing::info_span!("unanswered", i).entered();
    }
    let dropped = logging::telemetry_stats().spans_dropped;
    assert_eq!(dropped, 1000 - 192);

    let TelemetryError::Flush(flush) = logging::flush_telemetry().expect_err("times out") else {
        panic!("expected a flush error");
    };
    assert_eq!(
        flush,
        "timed out after 5000 ms; 808 span(s) were dropped because the export queue was full \
         (the collector did not keep up; see OTEL_BSP_MAX_QUEUE_SIZE); \
         192 span(s) are still waiting for the collector"
    );
    let TelemetryError::Shutdown(shutdown) = logging::shutdown_telemetry().expect_err("times out")
    else {
        panic!("expected a shutdown error");
    };
    assert_eq!(
        shutdown,
        "timed out after 5000 ms; 192 span(s) still waiting for the collector were lost"
    );
    drop(silent);
}
