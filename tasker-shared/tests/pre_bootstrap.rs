//! With TELEMETRY_ENABLED=true at load, spans made before phase 2 are kept and exported by
//! it; spans still open across the switch are exported whole.

use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig, TelemetryState};
use tasker_shared::trace_context;
use tasker_testkit::Collector;

#[test]
fn spans_made_between_phase_one_and_phase_two_are_exported_by_phase_two() {
    let collector = Collector::start();
    // SAFETY: set before any thread of ours reads the environment.
    unsafe { std::env::set_var("TELEMETRY_ENABLED", "true") };
    logging::init_console_only();
    assert_eq!(logging::telemetry_state(), TelemetryState::Deferred);

    let early = tracing::info_span!("phase_one.finished", n = 1);
    let early_ids = trace_context::span_ids(&early).expect("ids");
    assert!(
        early_ids.traceparent.ends_with("-01"),
        "sampled: export is only deferred"
    );
    drop(early);
    let straddling = tracing::info_span!("phase_one.straddling");
    let straddling_ids = trace_context::span_ids(&straddling).expect("ids");

    logging::init_with_config(TelemetryConfig::from_env().with_endpoint(collector.http_endpoint()))
        .expect("phase 2");
    let child = tracing::info_span!(parent: &straddling, "phase_two.child");
    let child_ids = trace_context::span_ids(&child).expect("ids");
    drop(child);
    drop(straddling);
    logging::shutdown_telemetry().expect("shutdown");

    let spans = collector.wait_for(Duration::from_secs(10), |s| s.len() >= 3);
    let find = |n: &str| {
        spans
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("{n} missing: {spans:#?}"))
    };
    assert_eq!(find("phase_one.finished").span_id, early_ids.span_id);
    assert_eq!(find("phase_one.finished").trace_id, early_ids.trace_id);
    assert_eq!(find("phase_one.straddling").span_id, straddling_ids.span_id);
    let c = find("phase_two.child");
    assert_eq!(c.span_id, child_ids.span_id);
    assert_eq!(
        (c.trace_id.as_str(), c.parent_id.as_str()),
        (
            straddling_ids.trace_id.as_str(),
            straddling_ids.span_id.as_str()
        )
    );
}
