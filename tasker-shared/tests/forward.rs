//! Forwarding Rust log records to a host's logging: bounded, filtered, never blocking.

use std::time::Duration;

use tasker_shared::logging::{self, forward};

#[test]
fn records_at_or_above_the_level_are_forwarded_with_their_fields_and_a_full_channel_drops() {
    logging::init_console_only();
    let rx = forward::forward_logs(tracing::Level::INFO, 2);
    tracing::debug!("below the level");
    let span = tracing::info_span!("worker.step_execution");
    span.in_scope(|| tracing::info!(step = "s1", n = 3, "step.execution_started"));
    tracing::warn!(target: "tasker_python", "came from Python: never echoed back");
    tracing::error!("second");
    tracing::error!("third does not fit and is dropped, not waited for");

    let first = rx
        .recv_timeout(Duration::from_secs(1))
        .expect("first record");
    assert_eq!(first.level, tracing::Level::INFO);
    assert_eq!(first.message, "step.execution_started");
    assert_eq!(first.fields["step"], "s1");
    assert_eq!(first.fields["n"], 3);
    assert_eq!(first.span.as_deref(), Some("worker.step_execution"));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(1))
            .expect("second")
            .message,
        "second"
    );
    assert!(rx.try_recv().is_err());
    assert_eq!(forward::forwarded_dropped(), 1);

    forward::stop_forwarding();
    tracing::error!("after stop");
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
}
