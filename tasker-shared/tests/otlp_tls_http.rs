//! OTLP/HTTP over TLS to a real TLS endpoint (socat, OpenSSL) in front of the collector:
//! a private CA from OTEL_EXPORTER_OTLP_CERTIFICATE, a client certificate the endpoint
//! demands, gzip and headers on the way.

use std::collections::HashMap;
use std::time::Duration;

use tasker_shared::logging::{self, TelemetryConfig};
use tasker_testkit::{Collector, TestCerts, TlsEndpoint};

#[test]
fn spans_reach_the_collector_over_mutual_tls_with_a_private_ca_and_gzip() {
    let collector = Collector::start();
    let certs = TestCerts::generate();
    let tls = TlsEndpoint::start(&certs, collector.http_addr, true);
    logging::init_console_only();

    // Every setting comes from the variables a user sets, as the OTel spec names them.
    let env: HashMap<&str, String> = HashMap::from([
        ("TELEMETRY_ENABLED", "true".to_owned()),
        ("OTEL_SERVICE_NAME", "tasker-tls-http-test".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{}/v1/traces", tls.url()),
        ),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", certs.ca()),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            certs.client_certificate(),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", certs.client_key()),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=blue".to_owned()),
    ]);
    let config = TelemetryConfig::from_lookup(|k| env.get(k).cloned());
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
    logging::init_with_config(config).expect("phase 2 over HTTPS");

    for i in 0..5 {
        let _ = tracing::info_span!("tls.http.span", i).entered();
    }
    logging::flush_telemetry().expect("every span accepted over TLS");
    let spans = collector.wait_for(Duration::from_secs(10), |s| {
        s.iter().filter(|s| s.name == "tls.http.span").count() >= 5
    });
    assert_eq!(
        spans.iter().filter(|s| s.name == "tls.http.span").count(),
        5,
        "{}",
        collector.output()
    );
    let stats = logging::telemetry_stats();
    assert_eq!(
        (stats.spans_exported, stats.spans_failed),
        (5, 0),
        "{stats:?}"
    );
    logging::shutdown_telemetry().expect("shutdown");
    drop(tls);
}
