//! A forked child has no exporter thread: reinitialize_after_fork gives it its own pipeline,
//! its spans reach the collector under its own pid, its own phase 2 (another service name)
//! replaces the inherited pipeline, and its ids never repeat the parent's.

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig};
use tasker_testkit::Collector;

#[test]
fn a_forked_child_reinitializes_exports_under_its_own_name_and_never_repeats_the_parents_ids() {
    let collector = Collector::start();
    logging::init_console_only();
    logging::init_with_config(
        TelemetryConfig::default()
            .with_enabled(true)
            .with_endpoint(collector.http_endpoint()),
    )
    .expect("phase 2");
    let _ = tracing::info_span!("parent.before_fork").entered();
    let endpoint = collector.http_endpoint();

    // SAFETY: the child only runs our re-initialisation and exits with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(|| {
            logging::reinitialize_after_fork().is_ok()
                && logging::init_with_config(
                    TelemetryConfig::default()
                        .with_enabled(true)
                        .with_endpoint(endpoint.clone())
                        .with_service_name("forked-child"),
                )
                .is_ok()
                && {
                    for _ in 0..3 {
                        let _ = tracing::info_span!("child.after_fork").entered();
                    }
                    logging::shutdown_telemetry().is_ok()
                }
        })
        .unwrap_or(false);
        // SAFETY: leaves the child without running the parent's test harness again.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child we forked.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );

    for _ in 0..3 {
        let _ = tracing::info_span!("parent.after_fork").entered();
    }
    logging::shutdown_telemetry().expect("parent shutdown");

    let spans = collector.wait_for(Duration::from_secs(10), |s| s.len() >= 7);
    let find = |n: &str| {
        spans
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n} missing: {spans:#?}"))
    };
    let child = find("child.after_fork");
    assert_eq!(child.resource["process.pid"], pid.to_string());
    assert_eq!(
        find("parent.after_fork").resource["process.pid"],
        std::process::id().to_string()
    );
    find("parent.before_fork");
    assert_eq!(child.resource["service.name"], "forked-child");
    assert_ne!(
        find("parent.after_fork").resource["service.name"],
        "forked-child"
    );
    let mut traces: Vec<_> = spans.iter().map(|s| s.trace_id.clone()).collect();
    let mut ids: Vec<_> = spans.iter().map(|s| s.span_id.clone()).collect();
    traces.sort();
    traces.dedup();
    ids.sort();
    ids.dedup();
    assert_eq!(traces.len(), spans.len(), "a trace id repeats: {spans:#?}");
    assert_eq!(ids.len(), spans.len(), "a span id repeats: {spans:#?}");
}
